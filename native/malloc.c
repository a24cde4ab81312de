// glibc's malloc settings from JS (Linux/glibc only): a fixed mmap threshold, so that large freed tensors go back to the OS
// instead of staying in the heap after glibc's dynamic threshold has risen (bench/README.md, "Memory, 2026-12-03").
#include <limits.h>
#include <malloc.h>
#include <node_api.h>

// setMmapThreshold(bytes): mallopt(M_MMAP_THRESHOLD, bytes), which also stops glibc raising it; true when glibc took it
static napi_value set_mmap_threshold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t bytes = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int64(env, argv[0], &bytes) != napi_ok || bytes < 0 || bytes > INT_MAX) {
    napi_throw_range_error(env, NULL, "setMmapThreshold: bytes must be an integer in [0, 2^31)");
    return NULL;
  }
  napi_value result;
  napi_get_boolean(env, mallopt(M_MMAP_THRESHOLD, (int)bytes) == 1, &result);
  return result;
}

// trim(): malloc_trim(0), returning free heap pages to the OS; true when some were released
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, malloc_trim(0) == 1, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "setMmapThreshold", NAPI_AUTO_LENGTH, set_mmap_threshold, NULL, &fn);
  napi_set_named_property(env, exports, "setMmapThreshold", fn);
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn);
  napi_set_named_property(env, exports, "trim", fn);
  return exports;
}
