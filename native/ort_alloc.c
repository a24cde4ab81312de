// A CPU allocator for ONNX Runtime's environment, shared by robustlens's oneDNN sessions (session.use_env_allocators).
// Without an arena every large tensor is a fresh mapping whose pages fault in on first write (8 MB: 3.5 ms to write vs
// 0.36 ms into pages already mapped); ORT's arena keeps every session's high-water mark for good. This one keeps freed
// large blocks for reuse, but never holds more than the most that was ever live at once: its footprint (live + cached) is
// bounded by the peak a run without caching would have reached.
#define _GNU_SOURCE
#include "ort_alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HEADER 64                // bytes before each block's data: keeps ORT's 64-byte alignment
#define MAPPED_FROM (1u << 20)   // smaller requests go to malloc (glibc reuses its heap for those)
#define SLACK_DIV 8              // a cached block serves a request up to 1/8 smaller than itself
#define MAX_CACHED 256

typedef struct {
  size_t mapped;  // bytes mapped for the block (0: from malloc)
  size_t size;
} header_t;

typedef struct {
  void* base;
  size_t mapped;
} cached_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static cached_t cache[MAX_CACHED];  // oldest first
static int n_cached;
static rl_alloc_stats stats;
static const OrtMemoryInfo* info;

static size_t page_round(size_t n) { return (n + 4095) & ~(size_t)4095; }

static void evict(int i) {
  munmap(cache[i].base, cache[i].mapped);
  stats.cached -= cache[i].mapped;
  memmove(&cache[i], &cache[i + 1], sizeof cache[0] * (size_t)(n_cached - i - 1));
  n_cached--;
}

static void* alloc(OrtAllocator* self, size_t size) {
  (void)self;
  if (size + HEADER < MAPPED_FROM) {
    void* p = NULL;
    if (posix_memalign(&p, HEADER, size + HEADER)) return NULL;
    ((header_t*)p)->mapped = 0, ((header_t*)p)->size = size;
    return (char*)p + HEADER;
  }
  size_t need = page_round(size + HEADER);
  void* base = NULL;
  pthread_mutex_lock(&lock);
  int best = -1;
  for (int i = 0; i < n_cached; i++)
    if (cache[i].mapped >= need && cache[i].mapped - need <= cache[i].mapped / SLACK_DIV &&
        (best < 0 || cache[i].mapped < cache[best].mapped))
      best = i;
  size_t mapped = need;
  if (best >= 0) {
    base = cache[best].base, mapped = cache[best].mapped;
    stats.cached -= mapped;
    memmove(&cache[best], &cache[best + 1], sizeof cache[0] * (size_t)(n_cached - best - 1));
    n_cached--;
    stats.hits++;
  } else {
    // the footprint stays within the larger of the peak so far and what is live with this block
    size_t limit = stats.peak > stats.live + need ? stats.peak : stats.live + need;
    while (n_cached > 0 && stats.live + stats.cached + need > limit) evict(0);
    base = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) base = NULL;
    stats.misses++;
  }
  if (base) {
    stats.live += mapped;
    if (stats.live > stats.peak) stats.peak = stats.live;
  }
  pthread_mutex_unlock(&lock);
  if (!base) return NULL;
  ((header_t*)base)->mapped = mapped, ((header_t*)base)->size = size;
  return (char*)base + HEADER;
}

static void release(OrtAllocator* self, void* p) {
  (void)self;
  if (!p) return;
  header_t* h = (header_t*)((char*)p - HEADER);
  if (!h->mapped) {
    free(h);
    return;
  }
  size_t mapped = h->mapped;
  pthread_mutex_lock(&lock);
  stats.live -= mapped;
  if (n_cached == MAX_CACHED) evict(0);
  cache[n_cached].base = h, cache[n_cached].mapped = mapped;
  n_cached++;
  stats.cached += mapped;
  pthread_mutex_unlock(&lock);
}

static const OrtMemoryInfo* memory_info(const OrtAllocator* self) {
  (void)self;
  return info;
}

static OrtAllocator allocator = {RL_ORT_API_VERSION, alloc, release, memory_info};

OrtAllocator* rl_alloc_get(const OrtMemoryInfo* cpu_device_info) {
  info = cpu_device_info;
  return &allocator;
}

rl_alloc_stats rl_alloc_get_stats(void) {
  pthread_mutex_lock(&lock);
  rl_alloc_stats s = stats;
  pthread_mutex_unlock(&lock);
  return s;
}

void rl_alloc_trim(void) {
  pthread_mutex_lock(&lock);
  while (n_cached > 0) evict(0);
  stats.peak = stats.live;
  pthread_mutex_unlock(&lock);
}
