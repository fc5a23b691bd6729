package procgroup

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel send cmd SIGINT when this process dies, so a
// daemon it started does not outlive it.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGINT
}
