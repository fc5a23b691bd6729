package procgroup_test

import (
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/procgroup"
)

// A shell that starts a busy child: both are in the group, the group's CPU
// grows, and Terminate ends the whole group.
func TestCPU_BusyGroup_GrowsAndStops(t *testing.T) {
	if runtime.GOOS != "linux" {
		_, err := procgroup.CPU(1)
		require.Error(t, err)
		t.Skip("/proc accounting is Linux only")
	}
	cmd := exec.Command("sh", "-c", "sh -c 'while :; do :; done' & while :; do :; done")
	procgroup.Own(cmd)
	exited := make(chan struct{})
	require.NoError(t, procgroup.StartTied(cmd, exited))
	pgid := cmd.Process.Pid
	defer procgroup.Kill(pgid)
	var pids []int
	require.Eventually(t, func() bool {
		var err error
		pids, err = procgroup.PIDs(pgid)
		require.NoError(t, err)
		return len(pids) == 2
	}, 5*time.Second, 10*time.Millisecond, "the shell and its child: %v", pids)
	require.Contains(t, pids, pgid)
	c0, err := procgroup.CPU(pgid)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	c1, err := procgroup.CPU(pgid)
	require.NoError(t, err)
	require.Greater(t, c1, c0, "two busy loops used CPU")
	procgroup.Terminate(pgid)
	<-exited
	require.Eventually(t, func() bool { return procgroup.Gone(pgid) }, 5*time.Second, 10*time.Millisecond)
	c2, err := procgroup.CPU(pgid)
	require.NoError(t, err)
	require.Zero(t, c2, "no live process of the group is counted")
}
