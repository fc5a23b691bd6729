//go:build !linux

package interoptest

import "os/exec"

// dieWithParent does nothing where the kernel has no parent-death signal:
// there a killed test binary can leave its PostgreSQL cluster running.
func dieWithParent(*exec.Cmd) {}
