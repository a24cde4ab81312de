// ONNX Runtime sessions with oneDNN convolutions as custom ops (domain ai.robustlens), for Node: onnxruntime-node's
// binding cannot register custom ops, so this addon drives the same libonnxruntime through its C API (ort_api.h) and
// registers the ai.robustlens kernels of ort_kernels.c, which call oneDNN (dnnl_conv.c: Winograd where it applies).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ort_alloc.h"
#include "ort_api.h"
#include "ort_kernels.h"

static const void* const* api;  // OrtApi's slots
static OrtEnv* ort_env;
static OrtCustomOpDomain* domain;
static OrtMemoryInfo* cpu_info;
static OrtMemoryInfo* alloc_info;  // the shared allocator's (kept for its lifetime: the process's)
static int alloc_shared;           // the environment holds robustlens's allocator
#define FN(slot, type) ((type)api[slot])

static const char* status_message(OrtStatus* s) { return FN(S_GetErrorMessage, const char* (*)(const OrtStatus*))(s); }
static void release_status(OrtStatus* s) { FN(S_ReleaseStatus, void (*)(OrtStatus*))(s); }

// Throws a JS Error from an ORT status (and releases it); returns whether there was one.
static int throw_status(napi_env e, OrtStatus* s, const char* what) {
  if (!s) return 0;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s: %s", what, status_message(s));
  release_status(s);
  napi_throw_error(e, NULL, buf);
  return 1;
}

// ---- N-API ----

static napi_value str(napi_env e, const char* s) {
  napi_value v;
  napi_create_string_utf8(e, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static int get_string(napi_env e, napi_value v, char* buf, size_t size) {
  size_t len = 0;
  return napi_get_value_string_utf8(e, v, buf, size, &len) == napi_ok && len < size - 1;
}

// init(libonnxruntimePath): binds the library onnxruntime-node loaded; returns its version string
static napi_value init(napi_env e, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(e, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_string(e, argv[0], path, sizeof path)) {
    napi_throw_type_error(e, NULL, "init: the path of libonnxruntime must be a string");
    return NULL;
  }
  static const OrtApiBase* base;
  if (!api) {
    void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const OrtApiBase* (*get_base)(void) = lib ? (const OrtApiBase* (*)(void))dlsym(lib, "OrtGetApiBase") : NULL;
    if (!get_base) {
      char buf[4200];
      snprintf(buf, sizeof buf, "init: %s: %s", path, lib ? "no OrtGetApiBase" : dlerror());
      napi_throw_error(e, NULL, buf);
      return NULL;
    }
    base = get_base();
    const void* const* a = (const void* const*)base->GetApi(RL_ORT_API_VERSION);
    if (!a) {
      napi_throw_error(e, NULL, "init: this onnxruntime does not serve C API version 13");
      return NULL;
    }
    // the slot table is checked on functions whose behaviour is known before anything else is called
    OrtStatus* probe = ((OrtStatus * (*)(int, const char*)) a[S_CreateStatus])(2, "slot probe");
    int ok = probe && ((int (*)(const OrtStatus*))a[S_GetErrorCode])(probe) == 2 &&
             strcmp(((const char* (*)(const OrtStatus*))a[S_GetErrorMessage])(probe), "slot probe") == 0;
    if (probe) ((void (*)(OrtStatus*))a[S_ReleaseStatus])(probe);
    if (!ok) {
      napi_throw_error(e, NULL, "init: onnxruntime's C API table does not have the expected layout");
      return NULL;
    }
    api = a;
    // ORT keeps one environment per process: this returns onnxruntime-node's, counted once more
    if (throw_status(e, FN(S_CreateEnv, OrtStatus* (*)(int, const char*, OrtEnv**))(3, "robustlens", &ort_env), "init: CreateEnv") ||
        throw_status(e, FN(S_CreateCpuMemoryInfo, OrtStatus* (*)(int, int, OrtMemoryInfo**))(0, 0, &cpu_info), "init: CreateCpuMemoryInfo") ||
        throw_status(e, FN(S_CreateCustomOpDomain, OrtStatus* (*)(const char*, OrtCustomOpDomain**))("ai.robustlens", &domain), "init: CreateCustomOpDomain")) {
      api = NULL;
      return NULL;
    }
    // large tensors of robustlens's sessions come from ort_alloc.c's cache (session.use_env_allocators)
    OrtStatus* ast = FN(S_CreateCpuMemoryInfo, OrtStatus* (*)(int, int, OrtMemoryInfo**))(0, 0, &alloc_info);
    if (!ast) ast = FN(S_RegisterAllocator, OrtStatus* (*)(OrtEnv*, OrtAllocator*))(ort_env, rl_alloc_get(alloc_info));
    if (ast) release_status(ast);  // then each session keeps ORT's default allocator
    alloc_shared = ast == NULL;
    const char* why = NULL;
    if (rl_kernels_add(api, domain, &why)) {
      char buf[600];
      snprintf(buf, sizeof buf, "init: %s", why);
      api = NULL;
      napi_throw_error(e, NULL, buf);
      return NULL;
    }
  }
  return str(e, base->GetVersionString());
}

typedef struct {
  OrtSession* session;
  char** inputs;
  char** outputs;
  size_t n_inputs, n_outputs;
} session_t;

static void free_names(char** names, size_t n) {
  for (size_t i = 0; names && i < n; i++) free(names[i]);
  free(names);
}

static void finalize_session(napi_env e, void* data, void* hint) {
  (void)e, (void)hint;
  session_t* s = data;
  if (s->session) FN(S_ReleaseSession, void (*)(OrtSession*))(s->session);
  free_names(s->inputs, s->n_inputs);
  free_names(s->outputs, s->n_outputs);
  free(s);
}

static char** session_names(OrtSession* session, int outputs, size_t* n) {
  OrtAllocator* alloc = NULL;
  FN(S_GetAllocatorWithDefaultOptions, OrtStatus* (*)(OrtAllocator**))(&alloc);
  OrtStatus* st = FN(outputs ? S_SessionGetOutputCount : S_SessionGetInputCount, OrtStatus* (*)(const OrtSession*, size_t*))(session, n);
  if (st) {
    release_status(st);
    return NULL;
  }
  char** names = calloc(*n ? *n : 1, sizeof(char*));
  for (size_t i = 0; names && i < *n; i++) {
    char* name = NULL;
    st = FN(outputs ? S_SessionGetOutputName : S_SessionGetInputName, OrtStatus* (*)(const OrtSession*, size_t, OrtAllocator*, char**))(
        session, i, alloc, &name);
    if (st) {
      release_status(st);
      free_names(names, i);
      return NULL;
    }
    names[i] = strdup(name);
    FN(S_AllocatorFree, OrtStatus* (*)(OrtAllocator*, void*))(alloc, name);
  }
  return names;
}

static napi_value name_array(napi_env e, char** names, size_t n) {
  napi_value arr;
  napi_create_array_with_length(e, n, &arr);
  for (size_t i = 0; i < n; i++) napi_set_element(e, arr, (uint32_t)i, str(e, names[i]));
  return arr;
}

// createSession(modelBytes, threads, arena, configKeys, configValues[, profilePrefix]) -> { handle, inputNames, outputNames }
static napi_value create_session(napi_env e, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(e, info, &argc, argv, NULL, NULL);
  void* bytes = NULL;
  size_t len = 0;
  int32_t threads = 1;
  bool arena = false, is_ta = false;
  uint32_t n_config = 0;
  if (!api || argc < 5 || napi_is_typedarray(e, argv[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(e, argv[0], NULL, &len, &bytes, NULL, NULL) != napi_ok ||
      napi_get_value_int32(e, argv[1], &threads) != napi_ok || napi_get_value_bool(e, argv[2], &arena) != napi_ok ||
      napi_get_array_length(e, argv[3], &n_config) != napi_ok) {
    napi_throw_type_error(e, NULL, api ? "createSession(bytes, threads, arena, keys, values): bad arguments" : "createSession: init() first");
    return NULL;
  }
  OrtSessionOptions* so = NULL;
  if (throw_status(e, FN(S_CreateSessionOptions, OrtStatus* (*)(OrtSessionOptions**))(&so), "CreateSessionOptions")) return NULL;
  OrtStatus* st = FN(S_SetIntraOpNumThreads, OrtStatus* (*)(OrtSessionOptions*, int))(so, threads);
  if (!st) st = FN(S_SetInterOpNumThreads, OrtStatus* (*)(OrtSessionOptions*, int))(so, 1);
  if (!st) st = FN(S_SetSessionExecutionMode, OrtStatus* (*)(OrtSessionOptions*, int))(so, 0);
  if (!st) st = FN(S_SetSessionGraphOptimizationLevel, OrtStatus* (*)(OrtSessionOptions*, int))(so, 99);
  if (!st) st = FN(S_SetSessionLogSeverityLevel, OrtStatus* (*)(OrtSessionOptions*, int))(so, 4);
  if (!st) st = FN(arena ? S_EnableCpuMemArena : S_DisableCpuMemArena, OrtStatus* (*)(OrtSessionOptions*))(so);
  // without a session arena, tensors come from the environment's caching allocator
  if (!st && !arena && alloc_shared)
    st = FN(S_AddSessionConfigEntry, OrtStatus* (*)(OrtSessionOptions*, const char*, const char*))(so, "session.use_env_allocators", "1");
  if (!st) st = FN(S_AddCustomOpDomain, OrtStatus* (*)(OrtSessionOptions*, OrtCustomOpDomain*))(so, domain);
  char prefix[4096];
  napi_valuetype pt = napi_undefined;
  if (argc > 5) napi_typeof(e, argv[5], &pt);
  if (!st && pt == napi_string) {
    if (!get_string(e, argv[5], prefix, sizeof prefix)) {
      FN(S_ReleaseSessionOptions, void (*)(OrtSessionOptions*))(so);
      napi_throw_type_error(e, NULL, "createSession: the profile prefix is too long");
      return NULL;
    }
    st = FN(S_EnableProfiling, OrtStatus* (*)(OrtSessionOptions*, const char*))(so, prefix);
  }
  for (uint32_t i = 0; !st && i < n_config; i++) {
    napi_value k, v;
    char key[256], value[1024];
    napi_get_element(e, argv[3], i, &k);
    napi_get_element(e, argv[4], i, &v);
    if (!get_string(e, k, key, sizeof key) || !get_string(e, v, value, sizeof value)) {
      FN(S_ReleaseSessionOptions, void (*)(OrtSessionOptions*))(so);
      napi_throw_type_error(e, NULL, "createSession: config entries must be strings");
      return NULL;
    }
    st = FN(S_AddSessionConfigEntry, OrtStatus* (*)(OrtSessionOptions*, const char*, const char*))(so, key, value);
  }
  session_t* s = calloc(1, sizeof *s);
  if (!st && s) st = FN(S_CreateSessionFromArray, OrtStatus* (*)(OrtEnv*, const void*, size_t, OrtSessionOptions*, OrtSession**))(ort_env, bytes, len, so, &s->session);
  FN(S_ReleaseSessionOptions, void (*)(OrtSessionOptions*))(so);
  if (st || !s) {
    free(s);
    if (!st) napi_throw_error(e, NULL, "createSession: out of memory");
    else throw_status(e, st, "onnxruntime");
    return NULL;
  }
  s->inputs = session_names(s->session, 0, &s->n_inputs);
  s->outputs = session_names(s->session, 1, &s->n_outputs);
  napi_value handle, result;
  if (!s->inputs || !s->outputs) {
    finalize_session(e, s, NULL);
    napi_throw_error(e, NULL, "createSession: cannot read the session's input and output names");
    return NULL;
  }
  napi_create_external(e, s, finalize_session, NULL, &handle);
  napi_create_object(e, &result);
  napi_set_named_property(e, result, "handle", handle);
  napi_set_named_property(e, result, "inputNames", name_array(e, s->inputs, s->n_inputs));
  napi_set_named_property(e, result, "outputNames", name_array(e, s->outputs, s->n_outputs));
  return result;
}

// releaseSession(handle): frees the session now (the handle's finalizer does nothing after)
static napi_value release_session(napi_env e, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  napi_get_cb_info(e, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_external(e, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(e, NULL, "releaseSession: not a session handle");
    return NULL;
  }
  session_t* s = data;
  if (s->session) FN(S_ReleaseSession, void (*)(OrtSession*))(s->session);
  s->session = NULL;
  return NULL;
}

// endProfiling(handle) -> the path of the profile ORT wrote
static napi_value end_profiling(napi_env e, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  napi_get_cb_info(e, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_external(e, argv[0], &data) != napi_ok || !data || !((session_t*)data)->session) {
    napi_throw_type_error(e, NULL, "endProfiling: not a live session handle");
    return NULL;
  }
  OrtAllocator* alloc = NULL;
  FN(S_GetAllocatorWithDefaultOptions, OrtStatus* (*)(OrtAllocator**))(&alloc);
  char* path = NULL;
  if (throw_status(e, FN(S_SessionEndProfiling, OrtStatus* (*)(OrtSession*, OrtAllocator*, char**))(((session_t*)data)->session, alloc, &path), "endProfiling")) return NULL;
  napi_value v = str(e, path ? path : "");
  if (path) FN(S_AllocatorFree, OrtStatus* (*)(OrtAllocator*, void*))(alloc, path);
  return v;
}

typedef struct {
  session_t* s;
  napi_ref session_ref;
  size_t n_in, n_out;
  char** in_names;
  char** out_names;
  OrtValue** in_values;
  OrtValue** out_values;
  napi_ref* in_refs;  // the feeds' typed arrays, alive until the run ends
  OrtStatus* status;
  char error[600];
  napi_deferred deferred;
  napi_async_work work;
} run_t;

static void run_free(napi_env e, run_t* r) {
  for (size_t i = 0; i < r->n_in; i++) {
    if (r->in_values && r->in_values[i]) FN(S_ReleaseValue, void (*)(OrtValue*))(r->in_values[i]);
    if (r->in_refs && r->in_refs[i]) napi_delete_reference(e, r->in_refs[i]);
  }
  for (size_t i = 0; r->out_values && i < r->n_out; i++)
    if (r->out_values[i]) FN(S_ReleaseValue, void (*)(OrtValue*))(r->out_values[i]);
  free_names(r->in_names, r->n_in);
  free_names(r->out_names, r->n_out);
  free(r->in_values), free(r->out_values), free(r->in_refs);
  if (r->session_ref) napi_delete_reference(e, r->session_ref);
  if (r->status) release_status(r->status);
  free(r);
}

static void run_execute(napi_env e, void* data) {
  (void)e;
  run_t* r = data;
  rl_kernels_clear_error();
  r->status = FN(S_Run, OrtStatus* (*)(OrtSession*, const OrtRunOptions*, const char* const*, const OrtValue* const*, size_t,
                                       const char* const*, size_t, OrtValue**))(
      r->s->session, NULL, (const char* const*)r->in_names, (const OrtValue* const*)r->in_values, r->n_in,
      (const char* const*)r->out_names, r->n_out, r->out_values);
  if (rl_kernels_error()[0]) snprintf(r->error, sizeof r->error, "%s", rl_kernels_error());
}

static void release_ort_value(napi_env e, void* data, void* hint) {
  (void)e, (void)data;
  FN(S_ReleaseValue, void (*)(OrtValue*))((OrtValue*)hint);
}

static int element_size(int type) {
  switch (type) {
    case RL_FLOAT: case RL_INT32: return 4;
    case RL_INT64: case RL_DOUBLE: return 8;
    case RL_UINT8: case RL_BOOL: return 1;
    default: return 0;
  }
}

// one output as { type, dims, data: ArrayBuffer } (the buffer is the ORT tensor's own memory, freed with it)
static napi_value output_value(napi_env e, run_t* r, size_t i) {
  OrtValue* v = r->out_values[i];
  size_t rank = 0;
  int type = 0;
  int64_t dims[16] = {0};
  if (rl_tensor_info(api, v, &type, dims, 16, &rank) || !element_size(type)) return NULL;
  size_t count = 1;
  napi_value dim_arr, obj, buf, t;
  napi_create_array_with_length(e, rank, &dim_arr);
  for (size_t d = 0; d < rank; d++) {
    napi_value n;
    napi_create_int64(e, dims[d], &n);
    napi_set_element(e, dim_arr, (uint32_t)d, n);
    count *= (size_t)dims[d];
  }
  void* data = NULL;
  FN(S_GetTensorMutableData, OrtStatus* (*)(OrtValue*, void**))(v, &data);
  size_t bytes = count * (size_t)element_size(type);
  if (bytes && napi_create_external_arraybuffer(e, data, bytes, release_ort_value, v, &buf) == napi_ok) {
    r->out_values[i] = NULL;  // owned by the ArrayBuffer now
  } else {
    void* copy = NULL;
    if (napi_create_arraybuffer(e, bytes, &copy, &buf) != napi_ok) return NULL;
    if (bytes) memcpy(copy, data, bytes);
  }
  napi_create_object(e, &obj);
  napi_create_int32(e, type, &t);
  napi_set_named_property(e, obj, "type", t);
  napi_set_named_property(e, obj, "dims", dim_arr);
  napi_set_named_property(e, obj, "data", buf);
  return obj;
}

static void run_complete(napi_env e, napi_status status, void* data) {
  run_t* r = data;
  napi_value result = NULL;
  const char* fail = status != napi_ok ? "run cancelled" : r->error[0] ? r->error : r->status ? status_message(r->status) : NULL;
  if (!fail) {
    napi_create_array_with_length(e, r->n_out, &result);
    for (size_t i = 0; i < r->n_out && result; i++) {
      napi_value o = output_value(e, r, i);
      if (!o) fail = "cannot read an output tensor";
      else napi_set_element(e, result, (uint32_t)i, o);
    }
  }
  if (fail) {
    napi_value msg, err;
    napi_create_string_utf8(e, fail, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(e, NULL, msg, &err);
    napi_reject_deferred(e, r->deferred, err);
  } else {
    napi_resolve_deferred(e, r->deferred, result);
  }
  napi_delete_async_work(e, r->work);
  run_free(e, r);
}

static char* dup_string(napi_env e, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(e, v, NULL, 0, &len) != napi_ok) return NULL;
  char* s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(e, v, s, len + 1, &len);
  return s;
}

// run(handle, inputNames, inputs: {type, dims, data: TypedArray}[], outputNames) -> Promise<{type, dims, data}[]>
static napi_value run(napi_env e, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(e, info, &argc, argv, NULL, NULL);
  void* handle = NULL;
  uint32_t n_in = 0, n_out = 0, n_vals = 0;
  if (argc < 4 || napi_get_value_external(e, argv[0], &handle) != napi_ok || !handle || !((session_t*)handle)->session ||
      napi_get_array_length(e, argv[1], &n_in) != napi_ok || napi_get_array_length(e, argv[2], &n_vals) != napi_ok ||
      napi_get_array_length(e, argv[3], &n_out) != napi_ok || n_vals != n_in) {
    napi_throw_type_error(e, NULL, "run(handle, names, inputs, outputNames): bad arguments or a released session");
    return NULL;
  }
  run_t* r = calloc(1, sizeof *r);
  r->s = handle;
  r->n_in = n_in, r->n_out = n_out;
  r->in_names = calloc(n_in + 1, sizeof(char*));
  r->out_names = calloc(n_out + 1, sizeof(char*));
  r->in_values = calloc(n_in + 1, sizeof(OrtValue*));
  r->out_values = calloc(n_out + 1, sizeof(OrtValue*));
  r->in_refs = calloc(n_in + 1, sizeof(napi_ref));
  napi_create_reference(e, argv[0], 1, &r->session_ref);
  const char* bad = NULL;
  for (uint32_t i = 0; i < n_in && !bad; i++) {
    napi_value name, val, type_v, dims_v, data_v;
    napi_get_element(e, argv[1], i, &name);
    napi_get_element(e, argv[2], i, &val);
    r->in_names[i] = dup_string(e, name);
    int32_t type = 0;
    uint32_t rank = 0;
    bool is_ta = false;
    void* data = NULL;
    size_t length = 0;
    napi_typedarray_type ta_type;
    if (!r->in_names[i] || napi_get_named_property(e, val, "type", &type_v) != napi_ok ||
        napi_get_value_int32(e, type_v, &type) != napi_ok || !element_size(type) ||
        napi_get_named_property(e, val, "dims", &dims_v) != napi_ok || napi_get_array_length(e, dims_v, &rank) != napi_ok || rank > 16 ||
        napi_get_named_property(e, val, "data", &data_v) != napi_ok || napi_is_typedarray(e, data_v, &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(e, data_v, &ta_type, &length, &data, NULL, NULL) != napi_ok) {
      bad = "run: each input needs a type, dims and a typed array";
      break;
    }
    int64_t dims[16];
    size_t count = 1;
    for (uint32_t d = 0; d < rank; d++) {
      napi_value dv;
      napi_get_element(e, dims_v, d, &dv);
      napi_get_value_int64(e, dv, &dims[d]);
      count *= (size_t)dims[d];
    }
    size_t elem = (size_t)element_size(type);
    napi_create_reference(e, data_v, 1, &r->in_refs[i]);
    static float empty;
    OrtStatus* st = FN(S_CreateTensorWithDataAsOrtValue, OrtStatus* (*)(const OrtMemoryInfo*, void*, size_t, const int64_t*, size_t, int, OrtValue**))(
        cpu_info, data ? data : &empty, count * elem, dims, rank, type, &r->in_values[i]);
    if (st) {
      snprintf(r->error, sizeof r->error, "input \"%s\": %s", r->in_names[i], status_message(st));
      release_status(st);
      bad = r->error;
    }
  }
  for (uint32_t i = 0; i < n_out && !bad; i++) {
    napi_value name;
    napi_get_element(e, argv[3], i, &name);
    if (!(r->out_names[i] = dup_string(e, name))) bad = "run: output names must be strings";
  }
  if (bad) {
    napi_throw_error(e, NULL, bad);
    run_free(e, r);
    return NULL;
  }
  napi_value promise, resource;
  napi_create_promise(e, &r->deferred, &promise);
  napi_create_string_utf8(e, "robustlens.ortdnnl.run", NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(e, NULL, resource, run_execute, run_complete, r, &r->work);
  napi_queue_async_work(e, r->work);
  return promise;
}

// allocatorStats() -> { shared, live, cached, peak, hits, misses } of the environment's allocator (bytes, counts)
static napi_value allocator_stats(napi_env e, napi_callback_info info) {
  (void)info;
  rl_alloc_stats st = rl_alloc_get_stats();
  const char* names[] = {"live", "cached", "peak", "hits", "misses"};
  size_t values[] = {st.live, st.cached, st.peak, st.hits, st.misses};
  napi_value o, v;
  napi_create_object(e, &o);
  napi_get_boolean(e, alloc_shared, &v);
  napi_set_named_property(e, o, "shared", v);
  for (int i = 0; i < 5; i++) {
    napi_create_double(e, (double)values[i], &v);
    napi_set_named_property(e, o, names[i], v);
  }
  return o;
}

// trimAllocator(): unmaps the blocks the allocator keeps for reuse
static napi_value trim_allocator(napi_env e, napi_callback_info info) {
  (void)e, (void)info;
  rl_alloc_trim();
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"init", NULL, init, NULL, NULL, NULL, napi_default, NULL},
      {"createSession", NULL, create_session, NULL, NULL, NULL, napi_default, NULL},
      {"releaseSession", NULL, release_session, NULL, NULL, NULL, napi_default, NULL},
      {"run", NULL, run, NULL, NULL, NULL, napi_default, NULL},
      {"endProfiling", NULL, end_profiling, NULL, NULL, NULL, napi_default, NULL},
      {"allocatorStats", NULL, allocator_stats, NULL, NULL, NULL, napi_default, NULL},
      {"trimAllocator", NULL, trim_allocator, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
