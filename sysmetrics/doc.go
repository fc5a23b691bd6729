// Package sysmetrics is the Go twin of Python MLflow 3.18's system metrics
// logging (mlflow/system_metrics): a Monitor samples the machine every
// interval (MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL, default 10 s),
// averages a window of samples (MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING,
// default 1) and logs the window as one batch at the next step under
// "system/" (or "system/<MLFLOW_SYSTEM_METRICS_NODE_ID>/"), with the names,
// units and rounding of MLflow's CPUMonitor, DiskMonitor, NetworkMonitor and
// GPUMonitor:
//
//	cpu_utilization_percentage       mean of the samples, rounded to 0.1
//	system_memory_usage_megabytes    mean, rounded to 0.1 (used / 1e6)
//	system_memory_usage_percentage   mean, rounded to 0.1
//	disk_usage_percentage            mean, rounded to 0.1 (of the root disk)
//	disk_usage_megabytes             mean, rounded to 0.1
//	disk_available_megabytes         mean, rounded to 0.1
//	network_receive_megabytes        since the monitor started, last sample
//	network_transmit_megabytes       since the monitor started, last sample
//	gpu_<i>_memory_usage_percentage, gpu_<i>_memory_usage_megabytes,
//	gpu_<i>_utilization_percentage, gpu_<i>_power_usage_watts,
//	gpu_<i>_power_usage_percentage   per NVIDIA GPU, mean, rounded to 0.1
//
// Figures come from gopsutil on every platform the module builds for; the
// GPU ones from NVIDIA's management library (libnvidia-ml.so.1, nvml.dll)
// loaded when the first monitor starts, with no build-time dependency:
// without the library or a GPU there are no GPU metrics and one debug
// message, never an error. On Linux the library is opened through
// purego's dlopen only in a build with -tags mlruns_nvml: dlopen makes a
// CGO_ENABLED=0 binary dynamically linked against libc, and a Go program
// that imports a store should stay a static binary unless it asks (as
// Python's GPU metrics need the extra nvidia-ml-py package). Windows loads
// nvml.dll in every build.
//
// Options.GoRuntime adds the Go runtime's own figures, named with the
// prefix "go_" that no MLflow monitor uses (system/go_goroutines,
// system/go_heap_inuse_megabytes, system/go_gc_pause_milliseconds).
//
// A Monitor writes through a Writer (package tracking gives one over its
// asynchronous batching writer), never opens a store, and holds no
// process-wide state but the loaded GPU library. Where Python records
// nothing for a window cut short by the end of the run, Stop logs it, so a
// run shorter than one interval still has one sample.
package sysmetrics
