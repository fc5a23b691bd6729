package errorfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/vfs"
	"github.com/mlruns-go/mlruns/internal/vfs/errorfs"
)

func TestFailAt(t *testing.T) {
	dir := t.TempDir()
	inj := &errorfs.FailAt{N: 1}
	fsys := errorfs.WithErrors(vfs.OS, inj)
	require.NoError(t, fsys.MkdirAll(filepath.Join(dir, "a"), 0o777)) // op 0
	_, err := fsys.Stat(dir)                                          // op 1 fails
	require.ErrorIs(t, err, errorfs.ErrInjected)
	_, err = fsys.Stat(dir) // op 2: not sticky
	require.NoError(t, err)
	require.Equal(t, 3, inj.Count())
	require.Equal(t, 1, inj.Injected())

	inj.Arm(1, true)
	require.NoError(t, fsys.MkdirAll(filepath.Join(dir, "b"), 0o777))
	require.Error(t, fsys.MkdirAll(filepath.Join(dir, "c"), 0o777))
	require.Error(t, fsys.Remove(filepath.Join(dir, "b")))
	require.NoDirExists(t, filepath.Join(dir, "c"))
}

func TestFailAt_ENOSPCWritesHalf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	inj := &errorfs.FailAt{N: 1, Err: syscall.ENOSPC}
	fsys := errorfs.WithErrors(vfs.OS, inj)
	f, err := fsys.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
	require.NoError(t, err)
	n, err := f.Write([]byte("0123456789"))
	require.True(t, errors.Is(err, syscall.ENOSPC))
	require.Equal(t, 5, n)
	require.NoError(t, f.Close())
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "01234", string(b))
}
