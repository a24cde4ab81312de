// ai.robustlens custom-op kernels: 2-D float32 convolutions and their gradients on oneDNN, for ONNX Runtime sessions
// created through its C API (native/ortdnnl.c). Attributes are scalar ints (dnnlConvs in src/runtime/node/dnnl.ts).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnnl_conv.h"
#include "ort_kernels.h"

static const void* const* api;  // OrtApi's slots
static rl_conv_cache* cache;    // one for every session: its buffers are shared, its use serialized
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread char kernel_error[512];

#define FN(slot, type) ((type)api[slot])

static void release_status(OrtStatus* s) { FN(S_ReleaseStatus, void (*)(OrtStatus*))(s); }

static void set_kernel_error(const char* op, const char* msg) {
  if (!kernel_error[0]) snprintf(kernel_error, sizeof kernel_error, "ai.robustlens %s: %s", op, msg);
}

typedef enum { K_CONV, K_GRAD_DATA, K_GRAD_WEIGHT } kind_t;
typedef struct {
  kind_t kind;
  int64_t sh, sw, pt, pl, pb, pr;  // strides and pads (begin top/left, end bottom/right)
  int64_t a, b;                    // ConvGradData: input H, W; ConvGradWeight: kernel h, w
  int64_t relu;                    // Conv: ReLU fused after it
  int64_t sum;                     // Conv: a residual (input 3) added before the ReLU
  int64_t mask;                    // Conv: output zeroed where input 4 (a ReLU's output) is not positive
  int blocked;                     // RL_BLK_* flags: which tensors are nChw16c (attributes *_blocked)
} kernel_t;

static int64_t attr(const OrtKernelInfo* info, const char* name, int64_t fallback) {
  int64_t v = fallback;
  OrtStatus* s = FN(S_KernelInfoGetAttribute_int64, OrtStatus* (*)(const OrtKernelInfo*, const char*, int64_t*))(info, name, &v);
  if (s) release_status(s);
  return v;
}

static void* create_kernel(kind_t kind, const OrtKernelInfo* info) {
  kernel_t* k = calloc(1, sizeof *k);
  if (!k) return NULL;
  k->kind = kind;
  k->sh = attr(info, "stride_h", 1), k->sw = attr(info, "stride_w", 1);
  k->pt = attr(info, "pad_top", 0), k->pl = attr(info, "pad_left", 0);
  k->pb = attr(info, "pad_bottom", 0), k->pr = attr(info, "pad_right", 0);
  k->a = attr(info, kind == K_GRAD_DATA ? "in_h" : "kernel_h", 0);
  k->b = attr(info, kind == K_GRAD_DATA ? "in_w" : "kernel_w", 0);
  k->relu = kind == K_CONV && attr(info, "relu", 0);
  k->sum = kind == K_CONV && attr(info, "sum", 0);
  k->mask = kind == K_CONV && attr(info, "mask", 0);
  k->blocked = (attr(info, "in_blocked", 0) ? RL_BLK_IN0 : 0) | (attr(info, "in1_blocked", 0) ? RL_BLK_IN1 : 0) |
               (attr(info, "out_blocked", 0) ? RL_BLK_OUT : 0) | (attr(info, "res_blocked", 0) ? RL_BLK_RES : 0) |
               (attr(info, "w_blocked", 0) ? RL_BLK_WEI : 0);
  return k;
}

// A float32 input's data and 4-D dims, or NULL when it is absent; *err set on a bad one.
static const float* input4(OrtKernelContext* ctx, size_t i, int64_t dims[4], const char** err) {
  size_t count = 0;
  FN(S_KernelContext_GetInputCount, OrtStatus* (*)(const OrtKernelContext*, size_t*))(ctx, &count);
  if (i >= count) return NULL;
  const OrtValue* v = NULL;
  OrtStatus* s = FN(S_KernelContext_GetInput, OrtStatus* (*)(const OrtKernelContext*, size_t, const OrtValue**))(ctx, i, &v);
  if (s || !v) {
    if (s) release_status(s);
    return NULL;
  }
  size_t rank = 0;
  int type = 0;
  int64_t d[8] = {0};
  if (rl_tensor_info(api, v, &type, d, 8, &rank)) {
    *err = "cannot read an input's shape";
    return NULL;
  }
  if (type != RL_FLOAT || (rank != 4 && !(i == 2 && rank == 1))) {
    *err = "inputs must be float32 and 4-D (bias 1-D)";
    return NULL;
  }
  memcpy(dims, d, sizeof(int64_t) * 4);
  void* data = NULL;
  FN(S_GetTensorMutableData, OrtStatus* (*)(OrtValue*, void**))((OrtValue*)v, &data);
  return data;
}

static float* output4(OrtKernelContext* ctx, const int64_t dims[4]) {
  OrtValue* v = NULL;
  OrtStatus* s = FN(S_KernelContext_GetOutput, OrtStatus* (*)(OrtKernelContext*, size_t, const int64_t*, size_t, OrtValue**))(
      ctx, 0, dims, 4, &v);
  if (s) {
    release_status(s);
    return NULL;
  }
  void* data = NULL;
  FN(S_GetTensorMutableData, OrtStatus* (*)(OrtValue*, void**))(v, &data);
  return data;
}

static const char* op_name(kind_t kind) {
  return kind == K_CONV ? "Conv" : kind == K_GRAD_DATA ? "ConvGradData" : "ConvGradWeight";
}

// y = y · (m > 0): a ReLU's backward mask (m its output), over the output just written (one element-wise pass, any layout
// shared by both)
static void apply_mask(float* y, const float* m, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) y[i] = m[i] > 0.0f ? y[i] : 0.0f;
}

static void compute(void* op_kernel, OrtKernelContext* ctx) {
  const kernel_t* k = op_kernel;
  const char* err = NULL;
  int64_t d0[4] = {0}, d1[4] = {0}, d2[4] = {0}, d3[4] = {0}, d4[4] = {0};
  const float* in0 = input4(ctx, 0, d0, &err);
  const float* in1 = input4(ctx, 1, d1, &err);
  const float* bias = k->kind == K_CONV ? input4(ctx, 2, d2, &err) : NULL;
  const float* residual = k->kind == K_CONV && k->sum ? input4(ctx, 3, d3, &err) : NULL;
  const float* mask = k->kind == K_CONV && k->mask ? input4(ctx, 4, d4, &err) : NULL;
  if (!err && k->sum && !residual) err = "sum=1 needs the residual input";
  if (!err && k->mask && !mask) err = "mask=1 needs the mask input";
  if (err || !in0 || !in1) {
    set_kernel_error(op_name(k->kind), err ? err : "missing input");
    return;
  }
  rl_conv_shape sp = {.sh = k->sh, .sw = k->sw, .ph0 = k->pt, .pw0 = k->pl, .ph1 = k->pb, .pw1 = k->pr, .has_bias = bias != NULL, .relu = (int)k->relu, .sum = residual != NULL, .blocked = k->blocked};
  int64_t out[4];
  if (k->kind == K_CONV) {  // x [N,C,H,W], w [O,C,kh,kw]
    sp.n = d0[0], sp.c = d0[1], sp.h = d0[2], sp.w = d0[3], sp.o = d1[0], sp.kh = d1[2], sp.kw = d1[3];
    if (d1[1] != sp.c) err = "weight channels differ from the input's";
  } else if (k->kind == K_GRAD_DATA) {  // dy [N,O,oh,ow], w [O,C,kh,kw] -> dx [N,C,in_h,in_w]
    sp.n = d0[0], sp.o = d0[1], sp.c = d1[1], sp.h = k->a, sp.w = k->b, sp.kh = d1[2], sp.kw = d1[3];
    if (d1[0] != sp.o) err = "weight outputs differ from the gradient's channels";
  } else {  // x [N,C,H,W], dy [N,O,oh,ow] -> dw [O,C,kernel_h,kernel_w]
    sp.n = d0[0], sp.c = d0[1], sp.h = d0[2], sp.w = d0[3], sp.o = d1[1], sp.kh = k->a, sp.kw = k->b;
    if (d1[0] != sp.n) err = "batch sizes differ";
  }
  sp.oh = (sp.h + sp.ph0 + sp.ph1 - sp.kh) / sp.sh + 1;
  sp.ow = (sp.w + sp.pw0 + sp.pw1 - sp.kw) / sp.sw + 1;
  if (!err && (sp.kh < 1 || sp.kw < 1 || sp.h < 1 || sp.w < 1 || sp.oh < 1 || sp.ow < 1)) err = "empty window";
  if (!err && k->kind == K_GRAD_DATA && (d0[2] != sp.oh || d0[3] != sp.ow)) err = "gradient size does not match in_h/in_w";
  if (!err && k->kind == K_GRAD_WEIGHT && (d1[2] != sp.oh || d1[3] != sp.ow)) err = "gradient size does not match the window";
  if (!err && bias && d2[0] != sp.o) err = "bias size differs from the output channels";
  if (!err && residual && (d3[0] != sp.n || d3[1] != sp.o || d3[2] != sp.oh || d3[3] != sp.ow)) err = "residual shape differs from the output's";
  if (!err && mask && (d4[0] != sp.n || d4[1] != sp.o || d4[2] != sp.oh || d4[3] != sp.ow)) err = "mask shape differs from the output's";
  if (err) {
    set_kernel_error(op_name(k->kind), err);
    return;
  }
  if (k->kind == K_CONV) out[0] = sp.n, out[1] = sp.o, out[2] = sp.oh, out[3] = sp.ow;
  else if (k->kind == K_GRAD_DATA) out[0] = sp.n, out[1] = sp.c, out[2] = sp.h, out[3] = sp.w;
  else out[0] = sp.o, out[1] = sp.c, out[2] = sp.kh, out[3] = sp.kw;
  float* y = output4(ctx, out);
  if (!y) {
    set_kernel_error(op_name(k->kind), "cannot allocate the output");
    return;
  }
  pthread_mutex_lock(&cache_lock);
  int rc = residual                 ? rl_conv_forward_residual(cache, &sp, in0, in1, bias, residual, y)
           : k->kind == K_CONV      ? rl_conv_forward(cache, &sp, in0, in1, bias, y)
           : k->kind == K_GRAD_DATA ? rl_conv_backward_data(cache, &sp, in0, in1, y)
                                    : rl_conv_backward_weights(cache, &sp, in0, in1, y, NULL);
  if (rc) set_kernel_error(op_name(k->kind), rl_conv_last_error());
  pthread_mutex_unlock(&cache_lock);
  if (!rc && mask) apply_mask(y, mask, sp.n * sp.o * sp.oh * sp.ow);
}

static void destroy(void* op_kernel) { free(op_kernel); }
static int float_type(const OrtCustomOp* op, size_t i) { (void)op, (void)i; return RL_FLOAT; }
static size_t one(const OrtCustomOp* op) { (void)op; return 1; }
static size_t two(const OrtCustomOp* op) { (void)op; return 2; }
static const char* cpu_ep(const OrtCustomOp* op) { (void)op; return NULL; }
static size_t five(const OrtCustomOp* op) { (void)op; return 5; }
static int bias_optional(const OrtCustomOp* op, size_t i) { (void)op; return i >= 2; }  // bias, residual, mask
static int required(const OrtCustomOp* op, size_t i) { (void)op, (void)i; return 0; }
static int default_mem(const OrtCustomOp* op, size_t i) { (void)op, (void)i; return 0; }
static const char* name_conv(const OrtCustomOp* op) { (void)op; return "Conv"; }
static const char* name_data(const OrtCustomOp* op) { (void)op; return "ConvGradData"; }
static const char* name_weight(const OrtCustomOp* op) { (void)op; return "ConvGradWeight"; }
static void* create_conv(const OrtCustomOp* op, const OrtApi* a, const OrtKernelInfo* i) { (void)op, (void)a; return create_kernel(K_CONV, i); }
static void* create_data(const OrtCustomOp* op, const OrtApi* a, const OrtKernelInfo* i) { (void)op, (void)a; return create_kernel(K_GRAD_DATA, i); }
static void* create_weight(const OrtCustomOp* op, const OrtApi* a, const OrtKernelInfo* i) { (void)op, (void)a; return create_kernel(K_GRAD_WEIGHT, i); }

#define CUSTOM_OP(create, name, inputs, characteristic) \
  {RL_ORT_API_VERSION, create, name, cpu_ep, float_type, inputs, float_type, one, compute, destroy, characteristic, required, default_mem}
static OrtCustomOp ops[3] = {
    CUSTOM_OP(create_conv, name_conv, five, bias_optional),
    CUSTOM_OP(create_data, name_data, two, required),
    CUSTOM_OP(create_weight, name_weight, two, required),
};

const char* rl_kernels_error(void) { return kernel_error; }
void rl_kernels_clear_error(void) { kernel_error[0] = 0; }

int rl_kernels_add(const void* const* ort_api, OrtCustomOpDomain* domain, const char** error) {
  api = ort_api;
  if (!cache && !(cache = rl_conv_cache_new())) {
    *error = "oneDNN could not start (no CPU engine)";
    return 1;
  }
  for (int i = 0; i < 3; i++) {
    OrtStatus* st = FN(S_CustomOpDomain_Add, OrtStatus* (*)(OrtCustomOpDomain*, const OrtCustomOp*))(domain, &ops[i]);
    if (st) {
      static char buf[512];
      snprintf(buf, sizeof buf, "CustomOpDomain_Add: %s", FN(S_GetErrorMessage, const char* (*)(const OrtStatus*))(st));
      release_status(st);
      *error = buf;
      return 1;
    }
  }
  return 0;
}
