//go:build unix

package procgroup

import (
	"os/exec"
	"syscall"
)

// Own starts cmd as the leader of a new process group, so that Terminate
// and Kill reach the children it starts (the server's workers, the
// browser's renderers).
func Own(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// Terminate asks the process group of leader pid to end (SIGTERM).
func Terminate(pid int) { _ = syscall.Kill(-pid, syscall.SIGTERM) }

// Kill ends the process group of leader pid (SIGKILL).
func Kill(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// Interrupt sends SIGINT to the process group of leader pid (PostgreSQL's
// fast shutdown).
func Interrupt(pid int) { _ = syscall.Kill(-pid, syscall.SIGINT) }

// Gone reports whether no process of the group of leader pid is left.
func Gone(pid int) bool { return syscall.Kill(-pid, 0) == syscall.ESRCH }
