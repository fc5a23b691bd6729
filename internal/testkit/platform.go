// Package testkit holds what the tests of several packages share: platform
// facts a test must respect (NotOnWindows, Symlink), temporary folders and
// fixture copies, golden files and the one -update flag, float equality.
// It imports testing and is used only by tests.
package testkit

import (
	"os"
	"runtime"
	"testing"
)

// NotOnWindows skips a test, or a case of one, that needs what Windows file
// names or file systems do not have (why says what), when the test binary
// runs on Windows (scripts/wine-test.sh). CI's main run is on Linux, where
// such a test always runs.
func NotOnWindows(t testing.TB, why string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("not on Windows: " + why)
	}
}

// Symlink is os.Symlink for a test's planted tree; on Windows, where making
// symlinks needs a privilege and their resolution differs, the test is
// skipped.
func Symlink(t testing.TB, oldname, newname string) {
	t.Helper()
	NotOnWindows(t, "the test plants symlinks")
	if err := os.Symlink(oldname, newname); err != nil {
		t.Fatalf("symlink %s -> %s: %v", newname, oldname, err)
	}
}

// FastTempDir is a temporary folder on /dev/shm where Linux has one
// (metadata operations there cost nothing, so a test measures the store,
// not the disk), else t.TempDir(). It is removed when the test ends.
func FastTempDir(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		return t.TempDir()
	}
	d, err := os.MkdirTemp("/dev/shm", "mlruns-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
