// The caching CPU allocator registered in ORT's environment for robustlens's sessions (ort_alloc.c).
#ifndef RL_ORT_ALLOC_H
#define RL_ORT_ALLOC_H
#include "ort_api.h"

typedef struct {
  size_t live;    // bytes of mapped blocks in use
  size_t cached;  // bytes of freed mapped blocks kept for reuse
  size_t peak;    // the most live at once since the last trim (the cache's bound)
  size_t hits, misses;
} rl_alloc_stats;

// The allocator, answering with `cpu_device_info` (a CPU OrtDeviceAllocator info that outlives it).
OrtAllocator* rl_alloc_get(const OrtMemoryInfo* cpu_device_info);
rl_alloc_stats rl_alloc_get_stats(void);
// Unmaps every cached block and restarts the peak from what is live.
void rl_alloc_trim(void);

#endif
