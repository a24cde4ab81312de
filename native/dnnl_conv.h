// 2-D float32 convolution (forward, backward-data, backward-weights) on the oneDNN 2.x C API, with a primitive cache.
//
// Tensors are the caller's dense fp32 buffers: activations NCHW, weights OIHW, bias O. Group 1, dilation 1.
// Internally each primitive is created with format_tag any (oneDNN picks its fastest blocked layouts) and the user
// buffers are reordered in and out through intermediate buffers owned by the cache, on every call (weights too, since
// a trainer changes them between calls).
//
// Algorithm: for 3x3 stride-1 convolutions Winograd is tried first and, if oneDNN has no Winograd implementation for
// that shape/pass on this CPU, direct is used. The default comes from the environment variable
// RL_DNNL_ALGO=auto|winograd|direct, read once per process (unset or unknown: auto). "winograd": Winograd for every
// 3x3 stride-1 pass where oneDNN has it, else direct. "auto": the same except direct for forward and backward-weights
// when c < 16 (there Winograd measured 2-3x slower). "direct": never Winograd. Either way backward-data with
// asymmetric padding (ph0 != ph1 or pw0 != pw1) uses direct: oneDNN 2.6's Winograd gives wrong results there.
// rl_conv_cache_set_algo() overrides the environment for one cache.
//
// Threading: a cache (and everything it returns) may be used by one thread at a time; the library holds no locks.
// Different caches may be used from different threads concurrently. rl_conv_last_error() is per thread where the
// compiler supports __thread (gcc, clang), otherwise process-wide. oneDNN itself parallelises each call with OpenMP
// (OMP_NUM_THREADS).
#ifndef RL_DNNL_CONV_H
#define RL_DNNL_CONV_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// n: batch; c: input channels; h, w: input size; o: output channels; kh, kw: kernel; sh, sw: strides;
// ph0, pw0: padding top/left; ph1, pw1: padding bottom/right; oh, ow: output size (given by the caller and checked:
// oh == (h + ph0 + ph1 - kh) / sh + 1, likewise ow); has_bias: use b / db when non-zero (and the pointer is non-NULL).
// relu: forward only, y = max(conv(x, w) + b [+ r], 0) in the same pass (a oneDNN eltwise post-op).
// sum: forward only, y = conv(x, w) + b + r with r the residual of rl_conv_forward_residual (a sum post-op).
// blocked: which activation tensors are in oneDNN's nChw16c layout instead of NCHW (channels a multiple of 16), so that
// chained convolutions skip the reorders in and out: RL_BLK_IN0 the first input (x, or dy of backward-data),
// RL_BLK_IN1 backward-weights' dy, RL_BLK_OUT y / dx, RL_BLK_RES the residual r; RL_BLK_WEI: forward weights in
// OIhw16i16o (O and C multiples of 16), the layout oneDNN's forward kernels read.
enum { RL_BLK_IN0 = 1, RL_BLK_IN1 = 2, RL_BLK_OUT = 4, RL_BLK_RES = 8, RL_BLK_WEI = 16 };
typedef struct {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph0, pw0, ph1, pw1, oh, ow;
  int has_bias;
  int relu;
  int sum;
  int blocked;
} rl_conv_shape;

// Owns the oneDNN CPU engine and stream, the primitives keyed by (kind, shape, algorithm) and the scratch buffers.
typedef struct rl_conv_cache rl_conv_cache;

typedef enum { RL_CONV_ALGO_AUTO = 0, RL_CONV_ALGO_WINOGRAD = 1, RL_CONV_ALGO_DIRECT = 2 } rl_conv_algo;

// NULL on failure (see rl_conv_last_error()).
rl_conv_cache* rl_conv_cache_new(void);
// Frees everything the cache holds; NULL is allowed.
void rl_conv_cache_free(rl_conv_cache*);

// All return 0 on success, non-zero on failure and then rl_conv_last_error() gives a one-line message.
// y = conv(x, w) + b, y is N,O,oh,ow. b may be NULL (no bias) even when has_bias is set.
int rl_conv_forward(rl_conv_cache*, const rl_conv_shape*, const float* x /*NCHW*/, const float* w /*OIHW*/,
                    const float* b /*O or NULL*/, float* y /*N,O,oh,ow*/);
// y = conv(x, w) + b + r (then ReLU when s->relu), r N,O,oh,ow like y (s->sum must be set).
int rl_conv_forward_residual(rl_conv_cache*, const rl_conv_shape*, const float* x, const float* w, const float* b,
                             const float* r, float* y);
// dx (N,C,H,W) = gradient of the convolution with respect to x given dy (N,O,oh,ow); dx is overwritten.
int rl_conv_backward_data(rl_conv_cache*, const rl_conv_shape*, const float* dy, const float* w, float* dx);
// dw (OIHW) and db (O, when has_bias and db non-NULL) are overwritten (not accumulated).
int rl_conv_backward_weights(rl_conv_cache*, const rl_conv_shape*, const float* x, const float* dy, float* dw /*OIHW*/,
                             float* db /*O or NULL*/);

const char* rl_conv_last_error(void);

// Additions beyond the core interface.
// Overrides the RL_DNNL_ALGO default for this cache (for benchmarks). Returns 0, or non-zero for a bad value.
int rl_conv_cache_set_algo(rl_conv_cache*, rl_conv_algo);
// The algorithm the default comes from (RL_DNNL_ALGO, read once).
rl_conv_algo rl_conv_env_algo(void);
// After a successful call: oneDNN's implementation name of the convolution it ran (e.g. "jit:avx512_core") and whether
// it was Winograd. The string belongs to the cache and lives until rl_conv_cache_free().
const char* rl_conv_cache_last_impl(const rl_conv_cache*);
int rl_conv_cache_last_was_winograd(const rl_conv_cache*);
// Number of cached convolution primitives, and bytes of intermediate + scratchpad buffers currently held.
int64_t rl_conv_cache_size(const rl_conv_cache*);
int64_t rl_conv_cache_buffer_bytes(const rl_conv_cache*);

#ifdef __cplusplus
}
#endif

#endif
