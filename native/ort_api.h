// The part of ONNX Runtime's C API that native/ortdnnl.c calls, declared here because onnxruntime-node ships its shared
// library without headers. OrtApi is a table of function pointers that only ever grows (the API's ABI rule); each entry
// below is its slot number in that table, counted from the OrtApi struct of onnxruntime_c_api.h (API version 13, which
// every later library still serves through GetApi(13)). OrtCustomOp is the version-13 layout of the custom-op record.
#ifndef RL_ORT_API_H
#define RL_ORT_API_H
#include <stddef.h>
#include <stdint.h>

#define RL_ORT_API_VERSION 13

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtCustomOpDomain OrtCustomOpDomain;
typedef struct OrtKernelInfo OrtKernelInfo;
typedef struct OrtKernelContext OrtKernelContext;
typedef struct OrtRunOptions OrtRunOptions;
typedef struct OrtAllocator OrtAllocator;
typedef void OrtApi;  // used only through the slot table below

// the version-13 layout of a user allocator (later versions only append members, read when version says so)
struct OrtAllocator {
  uint32_t version;
  void* (*Alloc)(struct OrtAllocator* self, size_t size);
  void (*Free)(struct OrtAllocator* self, void* p);
  const OrtMemoryInfo* (*Info)(const struct OrtAllocator* self);
};

typedef struct {
  const OrtApi* (*GetApi)(uint32_t version);
  const char* (*GetVersionString)(void);
} OrtApiBase;

// element types (ONNX TensorProto.DataType numbers)
enum { RL_FLOAT = 1, RL_UINT8 = 2, RL_INT32 = 6, RL_INT64 = 7, RL_BOOL = 9, RL_DOUBLE = 11 };

// slot numbers in OrtApi
enum {
  S_CreateStatus = 0,
  S_GetErrorCode = 1,
  S_GetErrorMessage = 2,
  S_CreateEnv = 3,
  S_CreateSessionFromArray = 8,
  S_Run = 9,
  S_CreateSessionOptions = 10,
  S_SetSessionExecutionMode = 13,
  S_EnableProfiling = 14,
  S_EnableCpuMemArena = 18,
  S_DisableCpuMemArena = 19,
  S_SetSessionLogSeverityLevel = 22,
  S_SetSessionGraphOptimizationLevel = 23,
  S_SetIntraOpNumThreads = 24,
  S_SetInterOpNumThreads = 25,
  S_CreateCustomOpDomain = 26,
  S_CustomOpDomain_Add = 27,
  S_AddCustomOpDomain = 28,
  S_SessionGetInputCount = 30,
  S_SessionGetOutputCount = 31,
  S_SessionGetInputName = 36,
  S_SessionGetOutputName = 37,
  S_CreateTensorWithDataAsOrtValue = 49,
  S_GetTensorMutableData = 51,
  S_GetTensorElementType = 60,
  S_GetDimensionsCount = 61,
  S_GetDimensions = 62,
  S_GetTensorTypeAndShape = 65,
  S_CreateCpuMemoryInfo = 69,
  S_AllocatorFree = 76,
  S_GetAllocatorWithDefaultOptions = 78,
  S_KernelInfoGetAttribute_int64 = 86,
  S_KernelContext_GetInputCount = 88,
  S_KernelContext_GetInput = 90,
  S_KernelContext_GetOutput = 91,
  S_ReleaseStatus = 93,
  S_ReleaseMemoryInfo = 94,
  S_ReleaseSession = 95,
  S_ReleaseValue = 96,
  S_ReleaseTensorTypeAndShapeInfo = 99,
  S_ReleaseSessionOptions = 100,
  S_SessionEndProfiling = 110,
  S_AddSessionConfigEntry = 130,
  S_RegisterAllocator = 176,
};

typedef struct OrtCustomOp {
  uint32_t version;
  void* (*CreateKernel)(const struct OrtCustomOp* op, const OrtApi* api, const OrtKernelInfo* info);
  const char* (*GetName)(const struct OrtCustomOp* op);
  const char* (*GetExecutionProviderType)(const struct OrtCustomOp* op);
  int (*GetInputType)(const struct OrtCustomOp* op, size_t index);
  size_t (*GetInputTypeCount)(const struct OrtCustomOp* op);
  int (*GetOutputType)(const struct OrtCustomOp* op, size_t index);
  size_t (*GetOutputTypeCount)(const struct OrtCustomOp* op);
  void (*KernelCompute)(void* op_kernel, OrtKernelContext* context);
  void (*KernelDestroy)(void* op_kernel);
  int (*GetInputCharacteristic)(const struct OrtCustomOp* op, size_t index);  // 0 required, 1 optional
  int (*GetOutputCharacteristic)(const struct OrtCustomOp* op, size_t index);
  int (*GetInputMemoryType)(const struct OrtCustomOp* op, size_t index);  // 0: the EP's default
} OrtCustomOp;

// A tensor's element type, rank and dims (when rank <= max_rank); 0 on success. Frees the status or info it gets.
static inline int rl_tensor_info(const void* const* api, const OrtValue* v, int* type, int64_t* dims, size_t max_rank, size_t* rank) {
  OrtTensorTypeAndShapeInfo* ti = NULL;
  OrtStatus* s = ((OrtStatus * (*)(const OrtValue*, OrtTensorTypeAndShapeInfo**)) api[S_GetTensorTypeAndShape])(v, &ti);
  if (s) {
    ((void (*)(OrtStatus*))api[S_ReleaseStatus])(s);
    return 1;
  }
  ((OrtStatus * (*)(const OrtTensorTypeAndShapeInfo*, size_t*)) api[S_GetDimensionsCount])(ti, rank);
  ((OrtStatus * (*)(const OrtTensorTypeAndShapeInfo*, int*)) api[S_GetTensorElementType])(ti, type);
  if (*rank <= max_rank) ((OrtStatus * (*)(const OrtTensorTypeAndShapeInfo*, int64_t*, size_t)) api[S_GetDimensions])(ti, dims, *rank);
  ((void (*)(OrtTensorTypeAndShapeInfo*))api[S_ReleaseTensorTypeAndShapeInfo])(ti);
  return *rank > max_rank;
}

#endif
