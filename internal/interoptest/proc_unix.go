//go:build unix

package interoptest

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd as the leader of a new process group, so that
// signalGroup reaches the children it starts (the server's worker, the
// browser's renderers).
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// terminateGroup asks the process group of leader pid to end (SIGTERM).
func terminateGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGTERM) }

// killGroup ends the process group of leader pid (SIGKILL).
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// GroupGone reports whether no process of the group of leader pid is left.
func GroupGone(pid int) bool { return syscall.Kill(-pid, 0) == syscall.ESRCH }

// interruptGroup sends SIGINT to the process group of leader pid
// (PostgreSQL's fast shutdown).
func interruptGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGINT) }

// runAs makes cmd run as uid:gid; uid < 0 keeps ours.
func runAs(cmd *exec.Cmd, uid, gid int) {
	if uid < 0 {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}
