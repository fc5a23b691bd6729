//go:build !((linux && (amd64 || arm64) && mlruns_nvml) || windows)

package sysmetrics

import (
	"errors"
	"runtime"
)

// loadNVML has no library to open: NVIDIA ships none for this platform,
// or, on Linux, the build did not ask for the dlopen loader (-tags
// mlruns_nvml), which would make a CGO_ENABLED=0 binary dynamically linked.
func loadNVML() (nvmlLib, error) {
	if runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		return nvmlLib{}, errors.New("this build has no NVML loader: build with -tags mlruns_nvml for GPU metrics")
	}
	return nvmlLib{}, errors.New("no NVML loader in this build for " + runtime.GOOS + "/" + runtime.GOARCH)
}
