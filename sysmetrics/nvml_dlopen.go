//go:build linux && (amd64 || arm64) && mlruns_nvml

package sysmetrics

import (
	"fmt"

	"github.com/ebitengine/purego"
)

// loadNVML opens libnvidia-ml.so.1 (the driver's library, as pynvml
// does) through purego: no cgo, no build-time dependency.
func loadNVML() (nvmlLib, error) {
	h, err := purego.Dlopen("libnvidia-ml.so.1", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nvmlLib{}, err
	}
	return nvmlLib{
		find: func(name string) (uintptr, error) {
			p, err := purego.Dlsym(h, name)
			if err != nil {
				return 0, fmt.Errorf("libnvidia-ml.so.1: %w", err)
			}
			return p, nil
		},
		call: func(fn uintptr, args ...uintptr) uintptr {
			r, _, _ := purego.SyscallN(fn, args...)
			return r
		},
	}, nil
}
