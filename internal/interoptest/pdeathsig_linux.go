package interoptest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel send cmd SIGINT when the test binary dies
// (a -timeout panic, a kill), so a daemon it started does not outlive it.
// Set after ownGroup and runAs, which make SysProcAttr.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGINT
}
