//go:build !((linux && (amd64 || arm64)) || windows) || mlruns_nonvml

package sysmetrics

import (
	"errors"
	"runtime"
)

// loadNVML has no library to open: NVIDIA ships none for this platform,
// or the build left it out (-tags mlruns_nonvml).
func loadNVML() (nvmlLib, error) {
	return nvmlLib{}, errors.New("no NVML loader in this build for " + runtime.GOOS + "/" + runtime.GOARCH)
}
