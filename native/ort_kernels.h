// The ai.robustlens custom-op kernels for ONNX Runtime (native/ort_kernels.c): Conv (ReLU and residual post-ops),
// ConvGradData and ConvGradWeight on oneDNN (native/dnnl_conv.c).
#ifndef RL_ORT_KERNELS_H
#define RL_ORT_KERNELS_H
#include "ort_api.h"

// Adds the kernels to `domain`, calling ORT through `api` (OrtApi's slots); 0 on success, else *error says why.
int rl_kernels_add(const void* const* api, OrtCustomOpDomain* domain, const char** error);
// This thread's first kernel failure since rl_kernels_clear_error(), or "" (kernels of API 13 cannot return a status;
// sequential runs execute their kernels on the calling thread).
const char* rl_kernels_error(void);
void rl_kernels_clear_error(void);

#endif
