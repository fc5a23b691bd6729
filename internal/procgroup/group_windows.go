//go:build windows

package procgroup

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/windows"
)

// Own starts cmd in a new process group, so that Kill can end the tree it
// starts (taskkill /T follows parent ids).
func Own(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_PROCESS_GROUP
}

// Terminate ends the tree of pid: Windows has no polite signal a console
// program without a console can receive, so this is Kill.
func Terminate(pid int) { Kill(pid) }

// Kill ends the process tree of pid.
func Kill(pid int) {
	_ = exec.Command("taskkill", "/T", "/F", "/PID", strconv.Itoa(pid)).Run()
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// Interrupt ends the tree of pid (see Terminate).
func Interrupt(pid int) { Kill(pid) }

// Gone reports whether the process pid is gone.
func Gone(pid int) bool {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return true
	}
	defer windows.CloseHandle(h)
	ev, err := windows.WaitForSingleObject(h, 0)
	return err == nil && ev == windows.WAIT_OBJECT_0
}
