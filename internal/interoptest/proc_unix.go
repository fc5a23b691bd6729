//go:build unix

package interoptest

import (
	"os/exec"
	"syscall"

	"github.com/mlruns-go/mlruns/internal/procgroup"
)

// GroupGone reports whether no process of the group of leader pid is left.
func GroupGone(pid int) bool { return procgroup.Gone(pid) }

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
