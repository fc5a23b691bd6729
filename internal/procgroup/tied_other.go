//go:build !linux

package procgroup

import "os/exec"

// dieWithParent does nothing where the kernel has no parent-death signal:
// there a killed parent can leave its helper processes running.
func dieWithParent(*exec.Cmd) {}
