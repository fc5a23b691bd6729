//go:build linux && (amd64 || arm64) && mlruns_nvml

package sysmetrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/sysmetrics"
)

// TestGPU_FakeNVML builds a stand-in libnvidia-ml.so.1 (testdata/fakenvml.c:
// two GPUs, the second without power readings) and runs
// TestGPU_FakeNVMLChild in a process that finds it first, so the dlopen
// path and the GPU metrics are checked without a GPU. Skipped without a C
// compiler.
func TestGPU_FakeNVML(t *testing.T) {
	if os.Getenv("MLRUNS_FAKE_NVML") != "" {
		t.Skip("the child's run")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to build the stand-in NVML")
	}
	dir := t.TempDir()
	out, err := exec.Command(cc, "-shared", "-fPIC", "-o", filepath.Join(dir, "libnvidia-ml.so.1"), filepath.Join("testdata", "fakenvml.c")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGPU_FakeNVMLChild$", "-test.v")
	cmd.Env = append(os.Environ(), "MLRUNS_FAKE_NVML=1", "LD_LIBRARY_PATH="+dir)
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "--- PASS: TestGPU_FakeNVMLChild")
}

// TestGPU_FakeNVMLChild is the child of TestGPU_FakeNVML: the window has
// GPUMonitor's keys and values for each GPU.
func TestGPU_FakeNVMLChild(t *testing.T) {
	if os.Getenv("MLRUNS_FAKE_NVML") == "" {
		t.Skip("run by TestGPU_FakeNVML")
	}
	w := &fakeWriter{}
	m, err := sysmetrics.Start(t.Context(), w, &sysmetrics.Options{Interval: time.Hour, Lookup: noEnv})
	require.NoError(t, err)
	m.Stop()
	got := map[string]float64{}
	for _, mt := range w.got()[0] {
		got[mt.Key] = mt.Value
	}
	want := map[string]float64{
		"system/gpu_0_memory_usage_percentage": 25, "system/gpu_0_memory_usage_megabytes": 4000,
		"system/gpu_0_utilization_percentage": 37, "system/gpu_0_power_usage_watts": 150,
		"system/gpu_0_power_usage_percentage":  50,
		"system/gpu_1_memory_usage_percentage": 6.2, // round(6.25, 1): ties to even, as Python "system/gpu_1_memory_usage_megabytes": 1000,
		"system/gpu_1_utilization_percentage":  0,
	}
	for k, v := range want {
		require.Contains(t, got, k)
		require.Equal(t, v, got[k], k)
	}
	require.NotContains(t, got, "system/gpu_1_power_usage_watts", "a reading NVML refuses is skipped")
	require.Contains(t, got, "system/cpu_utilization_percentage")
}
