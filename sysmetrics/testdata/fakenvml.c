/* A stand-in for NVIDIA's libnvidia-ml.so.1 with two GPUs and fixed
   readings, built by TestGPU_FakeNVML to check the dlopen path and the
   GPU metrics on machines without a GPU. Signatures as nvml.h. */
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef void *nvmlDevice_t;
static int devs[2];
int nvmlInit_v2(void) { return 0; }
int nvmlDeviceGetCount_v2(unsigned int *n) { *n = 2; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
  if (i >= 2) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
  *d = &devs[i]; return 0;
}
int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
  m->total = 16000000000ULL; m->used = d == &devs[0] ? 4000000000ULL : 1000000000ULL;
  m->free = m->total - m->used; return 0;
}
int nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
  u->gpu = d == &devs[0] ? 37 : 0; u->memory = 5; return 0;
}
int nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) {
  if (d == &devs[1]) return 3; /* NVML_ERROR_NOT_SUPPORTED: skipped */
  *mw = 150000; return 0;
}
int nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int *mw) { *mw = 300000; return 0; }
