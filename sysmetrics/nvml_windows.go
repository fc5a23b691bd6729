//go:build windows

package sysmetrics

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/windows"
)

// loadNVML opens nvml.dll from System32 (where current drivers put it),
// else from NVSMI under Program Files (older drivers), as pynvml looks.
// Only those two places: a DLL by bare name could be planted elsewhere.
func loadNVML() (nvmlLib, error) {
	lib := nvmlLib{call: func(fn uintptr, args ...uintptr) uintptr {
		r, _, _ := syscall.SyscallN(fn, args...)
		return r
	}}
	sys := windows.NewLazySystemDLL("nvml.dll")
	err := sys.Load()
	if err == nil {
		lib.find = func(name string) (uintptr, error) {
			p := sys.NewProc(name)
			if err := p.Find(); err != nil {
				return 0, err
			}
			return p.Addr(), nil
		}
		return lib, nil
	}
	pf := os.Getenv("ProgramFiles")
	if pf == "" {
		pf = `C:\Program Files`
	}
	dll, err2 := windows.LoadDLL(filepath.Join(pf, "NVIDIA Corporation", "NVSMI", "nvml.dll"))
	if err2 != nil {
		return nvmlLib{}, errors.Join(err, err2)
	}
	lib.find = func(name string) (uintptr, error) {
		p, err := dll.FindProc(name)
		if err != nil {
			return 0, err
		}
		return p.Addr(), nil
	}
	return lib, nil
}
