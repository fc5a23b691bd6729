//go:build windows

package interoptest

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/windows"
)

// ownGroup starts cmd in a new process group, so that killGroup can end
// the tree it starts (taskkill /T follows parent ids).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// terminateGroup ends the tree of pid: Windows has no polite signal a
// console program without a console can receive, so this is killGroup.
func terminateGroup(pid int) { killGroup(pid) }

// killGroup ends the process tree of pid.
func killGroup(pid int) {
	_ = exec.Command("taskkill", "/T", "/F", "/PID", strconv.Itoa(pid)).Run()
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// GroupGone reports whether the process pid is gone.
func GroupGone(pid int) bool {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return true
	}
	defer windows.CloseHandle(h)
	ev, err := windows.WaitForSingleObject(h, 0)
	return err == nil && ev == windows.WAIT_OBJECT_0
}

// interruptGroup ends the tree of pid (see terminateGroup).
func interruptGroup(pid int) { killGroup(pid) }

// runAs does nothing: Windows has no root that PostgreSQL refuses, and the
// PostgreSQL harness does not run there (findPostgres says so).
func runAs(*exec.Cmd, int, int) {}
