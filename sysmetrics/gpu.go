package sysmetrics

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"unsafe"
)

// nvmlLib is NVIDIA's management library as the platform's loader
// (nvml_*.go) opened it: find gives a function's address, call runs it
// (every NVML function returns an nvmlReturn_t; 0 is NVML_SUCCESS).
type nvmlLib struct {
	find func(name string) (uintptr, error)
	call func(fn uintptr, args ...uintptr) uintptr
}

// nvmlAPI is the library with the functions the GPU collector uses.
type nvmlAPI struct {
	call  func(fn uintptr, args ...uintptr) uintptr
	procs struct {
		init, count, handle, memory, util, power, limit uintptr
	}
}

// nvmlFuncs are the functions the GPU collector uses, the names pynvml
// calls (nvmlInit and friends in their _v2 forms).
var nvmlFuncs = []string{
	"nvmlInit_v2", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2",
	"nvmlDeviceGetMemoryInfo", "nvmlDeviceGetUtilizationRates",
	"nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit",
}

// bind finds nvmlFuncs in lib.
func bind(lib nvmlLib) (*nvmlAPI, error) {
	a := &nvmlAPI{call: lib.call}
	ps := []*uintptr{&a.procs.init, &a.procs.count, &a.procs.handle, &a.procs.memory,
		&a.procs.util, &a.procs.power, &a.procs.limit}
	for i, name := range nvmlFuncs {
		p, err := lib.find(name)
		if err != nil {
			return nil, err
		}
		*ps[i] = p
	}
	return a, nil
}

type nvmlError struct {
	fn   string
	code uintptr
}

func (e *nvmlError) Error() string { return fmt.Sprintf("%s returned NVML error %d", e.fn, e.code) }

// The GPUs, found once per process: NVML is initialised once and stays
// initialised (it counts its users; shutting it down would race with other
// monitors).
var gpus struct {
	once    sync.Once
	api     *nvmlAPI
	handles []uintptr
	err     error
}

func findGPUs() {
	lib, err := loadNVML()
	if err != nil {
		gpus.err = err
		return
	}
	api, err := bind(lib)
	if err != nil {
		gpus.err = err
		return
	}
	if r := api.call(api.procs.init); r != 0 {
		gpus.err = fmt.Errorf("failed to initialize NVML: %w", &nvmlError{"nvmlInit_v2", r})
		return
	}
	var n uint32
	if r := api.call(api.procs.count, uintptr(unsafe.Pointer(&n))); r != 0 {
		gpus.err = &nvmlError{"nvmlDeviceGetCount_v2", r}
		return
	}
	for i := uint32(0); i < n; i++ {
		h := new(uintptr)
		if r := api.call(api.procs.handle, uintptr(i), uintptr(unsafe.Pointer(h))); r != 0 {
			gpus.err = &nvmlError{"nvmlDeviceGetHandleByIndex_v2", r}
			return
		}
		gpus.handles = append(gpus.handles, *h)
	}
	if n == 0 {
		gpus.err = fmt.Errorf("NVML found no GPU")
		return
	}
	gpus.api = api
}

// gpuCollector is GPUMonitor: per GPU i, gpu_<i>_memory_usage_percentage
// (rounded per sample, as MLflow does), gpu_<i>_memory_usage_megabytes,
// gpu_<i>_utilization_percentage, gpu_<i>_power_usage_watts and
// gpu_<i>_power_usage_percentage; a figure NVML refuses is skipped with a
// warning, as MLflow's.
type gpuCollector struct {
	api     *nvmlAPI
	handles []uintptr
	warnOnce
}

// newGPUCollector is nil, after one debug message, without NVML or a GPU.
func newGPUCollector(log *slog.Logger) collector {
	gpus.once.Do(findGPUs)
	if gpus.err != nil {
		log.Debug("sysmetrics: no GPU metrics: NVIDIA's management library (NVML) is not usable", "err", gpus.err)
		return nil
	}
	return &gpuCollector{api: gpus.api, handles: gpus.handles, warnOnce: warnOnce{log: log}}
}

func (c *gpuCollector) collect(_ context.Context, w *window) {
	for i, h := range c.handles {
		p := fmt.Sprintf("gpu_%d_", i)
		var memory struct{ total, free, used uint64 } // nvmlMemory_t
		if r := c.api.call(c.api.procs.memory, h, uintptr(unsafe.Pointer(&memory))); r != 0 {
			c.warn("GPU memory", &nvmlError{"nvmlDeviceGetMemoryInfo", r})
		} else if memory.total > 0 {
			w.add(p+"memory_usage_percentage", round1(float64(memory.used)/float64(memory.total)*100), aggMean)
			w.add(p+"memory_usage_megabytes", float64(memory.used)/1e6, aggMean)
		}
		var util struct{ gpu, memory uint32 } // nvmlUtilization_t
		if r := c.api.call(c.api.procs.util, h, uintptr(unsafe.Pointer(&util))); r != 0 {
			c.warn("GPU utilization", &nvmlError{"nvmlDeviceGetUtilizationRates", r})
		} else {
			w.add(p+"utilization_percentage", float64(util.gpu), aggMean)
		}
		var mw, limit uint32
		if r := c.api.call(c.api.procs.power, h, uintptr(unsafe.Pointer(&mw))); r != 0 {
			c.warn("GPU power usage", &nvmlError{"nvmlDeviceGetPowerUsage", r})
		} else if r := c.api.call(c.api.procs.limit, h, uintptr(unsafe.Pointer(&limit))); r != 0 {
			c.warn("GPU power usage", &nvmlError{"nvmlDeviceGetEnforcedPowerLimit", r})
		} else {
			w.add(p+"power_usage_watts", float64(mw)/1000, aggMean)
			if limit > 0 {
				w.add(p+"power_usage_percentage", float64(mw)/float64(limit)*100, aggMean)
			}
		}
	}
}
