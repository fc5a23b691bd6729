//go:build linux && !mlruns_portable

package filestore

// The Linux readers' own behaviour: O_NOATIME, which only the owner of a
// file may ask for.

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mlruns-go/mlruns/internal/sysfs"
)

// TestFastReader_NoatimeNotOwner: O_NOATIME is refused (EPERM) on a file
// of another user without CAP_FOWNER; the reader then reads without it.
// Root may ask for O_NOATIME on any file, so as root (CI) the test runs
// itself again as nobody from a copy of the test binary.
func TestFastReader_NoatimeNotOwner(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t, "^TestFastReader_NoatimeNotOwner$")
		return
	}
	var p string
	for _, c := range []string{"/etc/passwd", "/etc/hostname", "/etc/os-release"} {
		var st unix.Stat_t
		if unix.Stat(c, &st) == nil && int(st.Uid) != os.Geteuid() {
			p = c
			break
		}
	}
	if p == "" {
		t.Skip("no readable file of another user")
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	r := getFastReader()
	defer putFastReader(r)
	got, err := r.readFile(sysfs.CWD, p, false)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	require.False(t, r.op.NoAtime, "the reader stopped asking for O_NOATIME")
}

// runAsNobody runs the tests matching pattern in a copy of this test
// binary as user and group 65534, failing t with their output if they fail
// or skip. The copy sits in a folder nobody may enter (go test's are 0700).
func runAsNobody(t *testing.T, pattern string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "mlruns-nobody-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin, err := os.ReadFile(exe)
	require.NoError(t, err)
	copyPath := filepath.Join(dir, "filestore.test")
	require.NoError(t, os.WriteFile(copyPath, bin, 0o755))
	cmd := exec.Command(copyPath, "-test.run", pattern, "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "as nobody:\n%s", out)
	require.Contains(t, string(out), "--- PASS", "as nobody the test must run, not skip:\n%s", out)
	require.NotContains(t, string(out), "--- SKIP", "%s", out)
}
