//go:build windows && !mlruns_nonvml

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
func loadNVML() (*nvmlAPI, error) {
	var procs func(name string) (uintptr, error)
	sys := windows.NewLazySystemDLL("nvml.dll")
	if err := sys.Load(); err == nil {
		procs = func(name string) (uintptr, error) {
			p := sys.NewProc(name)
			return p.Addr(), p.Find()
		}
	} else {
		pf := os.Getenv("ProgramFiles")
		if pf == "" {
			pf = `C:\Program Files`
		}
		dll, err2 := windows.LoadDLL(filepath.Join(pf, "NVIDIA Corporation", "NVSMI", "nvml.dll"))
		if err2 != nil {
			return nil, errors.Join(err, err2)
		}
		procs = func(name string) (uintptr, error) {
			p, err := dll.FindProc(name)
			if err != nil {
				return 0, err
			}
			return p.Addr(), nil
		}
	}
	api := &nvmlAPI{call: func(fn uintptr, args ...uintptr) uintptr {
		r, _, _ := syscall.SyscallN(fn, args...)
		return r
	}}
	for i, name := range nvmlFuncs {
		p, err := procs(name)
		if err != nil {
			return nil, err
		}
		api.set(i, p)
	}
	return api, nil
}
