package sysfs_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/sysfs"
)

func write(t *testing.T, p, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(p, []byte(data), 0o666))
}

// A signature tells versions of a file apart: the same file unchanged
// keeps it, a rename over it (new identity) or a write in place (new size
// or times) changes it, and a file replaced while open loses its name.
func TestStat_Signatures(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	write(t, p, "one")
	a, err := sysfs.PathStat(p)
	require.NoError(t, err)
	b, err := sysfs.PathStat(p)
	require.NoError(t, err)
	require.Equal(t, a.Sig(), b.Sig(), "unchanged")
	require.True(t, a.IsRegular())
	require.False(t, a.IsDir())
	require.EqualValues(t, 3, a.Size)

	f, err := sysfs.Open(p)
	require.NoError(t, err)
	defer f.Close()
	held, err := sysfs.FileStat(f.Fd())
	require.NoError(t, err)
	require.Equal(t, a.Sig(), held.Sig(), "fstat and stat agree")
	require.True(t, held.Linked())

	write(t, p+".new", "two")
	if !sysfs.HoldOpen {
		// Windows 10 replaces an open file too (POSIX-semantics rename),
		// but Wine and older systems refuse; the store holds nothing open
		// there, so close it first.
		require.NoError(t, f.Close())
	}
	require.NoError(t, sysfs.Rename(p+".new", p), "replace a file (open where HoldOpen)")
	c, err := sysfs.PathStat(p)
	require.NoError(t, err)
	require.NotEqual(t, a.Sig(), c.Sig(), "replaced by a rename")
	require.False(t, sysfs.SameFile(&a, &c))
	if sysfs.HoldOpen {
		gone, err := sysfs.FileStat(f.Fd())
		require.NoError(t, err)
		require.False(t, gone.Linked(), "the open file lost its name")
	}

	time.Sleep(20 * time.Millisecond) // past coarse timestamps
	require.NoError(t, os.WriteFile(p, []byte("six"), 0o666))
	d, err := sysfs.PathStat(p)
	require.NoError(t, err)
	require.True(t, sysfs.SameFile(&c, &d), "written in place")
	require.NotEqual(t, c.Sig(), d.Sig(), "same size, new times")

	dst, err := sysfs.PathStat(dir)
	require.NoError(t, err)
	require.True(t, dst.IsDir())
	_, err = sysfs.PathStat(filepath.Join(dir, "nothing"))
	require.True(t, sysfs.IsNotExist(err))
}

// An exclusive lock excludes every other lock of the file, through other
// descriptors; shared locks coexist; closing releases.
func TestLock_Exclusion(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m")
	write(t, p, "data")
	open := func() *os.File {
		f, err := sysfs.OpenFile(p, os.O_RDWR, 0)
		require.NoError(t, err)
		return f
	}
	a, b, c := open(), open(), open()
	defer a.Close()
	defer b.Close()
	require.NoError(t, sysfs.Lock(a.Fd(), sysfs.Exclusive))
	ok, err := sysfs.TryLock(b.Fd(), sysfs.Shared)
	require.NoError(t, err)
	require.False(t, ok, "shared while exclusive is held")

	got := make(chan error, 1)
	go func() { got <- sysfs.Lock(b.Fd(), sysfs.Exclusive) }()
	select {
	case err := <-got:
		t.Fatalf("Lock did not wait: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	data, err := os.ReadFile(p)
	require.NoError(t, err, "a lock never stops a plain reader")
	require.Equal(t, "data", string(data))
	require.NoError(t, sysfs.Unlock(a.Fd()))
	require.NoError(t, <-got, "the waiter gets the lock")
	require.NoError(t, sysfs.Unlock(b.Fd()))

	require.NoError(t, sysfs.Lock(a.Fd(), sysfs.Shared))
	ok, err = sysfs.TryLock(c.Fd(), sysfs.Shared)
	require.NoError(t, err)
	require.True(t, ok, "shared locks coexist")
	ok, err = sysfs.TryLock(b.Fd(), sysfs.Exclusive)
	require.NoError(t, err)
	require.False(t, ok, "exclusive while shared is held")
	require.NoError(t, c.Close(), "closing releases")
	require.NoError(t, sysfs.Unlock(a.Fd()))
	ok, err = sysfs.TryLock(b.Fd(), sysfs.Exclusive)
	require.NoError(t, err)
	require.True(t, ok)
}

// LockDir excludes another LockDir of the same folder until unlocked, and
// gives up when its context ends; other folders are not held up.
func TestLockDir(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, "0", "run")
	require.NoError(t, os.MkdirAll(run, 0o777))
	other := filepath.Join(root, "0", "other")
	require.NoError(t, os.MkdirAll(other, 0o777))
	ctx := context.Background()

	unlock, err := sysfs.LockDir(ctx, root, run)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = sysfs.LockDir(short, root, run)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the folder is held")
	u2, err := sysfs.LockDir(ctx, root, other)
	require.NoError(t, err, "another folder is free")
	require.NoError(t, u2())
	require.NoError(t, unlock())
	u3, err := sysfs.LockDir(ctx, root, run)
	require.NoError(t, err, "free again after unlock")
	require.NoError(t, u3())

	_, err = sysfs.LockDir(ctx, root, filepath.Join(root, "nothing"))
	require.True(t, errors.Is(err, fs.ErrNotExist), "a missing folder: %v", err)
}

// The readers: a folder listing with kinds, relative opens, reads to EOF,
// and symlinks refused where asked.
func TestDir_Readers(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o777))
	write(t, filepath.Join(dir, "sub", "f"), "hello")
	write(t, filepath.Join(dir, "file"), "")
	var op sysfs.Opener
	op.NoAtime = true
	d, err := op.OpenDir(sysfs.CWD, dir, true)
	require.NoError(t, err)
	defer d.Close()
	var buf []byte
	ents, err := d.ReadDir(&buf)
	require.NoError(t, err)
	slices.SortFunc(ents, func(a, b sysfs.Dirent) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	require.Len(t, ents, 2)
	require.Equal(t, "file", ents[0].Name)
	require.NotEqual(t, sysfs.KindDir, ents[0].Kind)
	require.Equal(t, "sub", ents[1].Name)
	require.Contains(t, []sysfs.Kind{sysfs.KindDir, sysfs.KindUnknown}, ents[1].Kind)

	f, err := op.OpenFile(d, "sub/f", false)
	require.NoError(t, err)
	require.NoError(t, f.Lock(sysfs.Shared))
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, "hello", string(data))
	n, err := f.Read(make([]byte, 4))
	require.Equal(t, 0, n)
	require.Equal(t, io.EOF, err)
	st, err := f.Stat()
	require.NoError(t, err)
	require.EqualValues(t, 5, st.Size)
	require.NoError(t, f.Close())

	st, err = d.StatAt("sub", false)
	require.NoError(t, err)
	require.True(t, st.IsDir())
	_, err = op.OpenFile(d, "nothing", false)
	require.True(t, sysfs.IsNotExist(err))
	_, err = op.OpenDir(d, "file", true)
	require.Error(t, err, "a file is not a folder")

	if runtime.GOOS != "windows" {
		require.NoError(t, os.Symlink("sub", filepath.Join(dir, "link")))
		_, err = op.OpenDir(d, "link", false)
		require.Error(t, err, "a symlink is refused when not followed")
		sub, err := op.OpenDir(d, "link", true)
		require.NoError(t, err, "and followed when asked")
		require.NoError(t, sub.Close())
		require.NoError(t, os.Symlink("sub/f", filepath.Join(dir, "flink")))
		_, err = op.OpenFile(d, "flink", false)
		require.Error(t, err, "a symlinked file is refused when not followed")
		lf, err := op.OpenFile(d, "flink", true)
		require.NoError(t, err, "and followed when asked")
		require.NoError(t, lf.Close())
	}
}

// Errors whose meaning differs between systems.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a")
	write(t, file, "")
	err := os.MkdirAll(filepath.Join(file, "b"), 0o777)
	require.True(t, sysfs.IsNameConflict(err), "a file where a folder is needed: %v", err)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o777))
	_, err = sysfs.OpenFile(filepath.Join(dir, "d"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	require.True(t, sysfs.IsNameConflict(err), "a folder where a file is needed: %v", err)
	_, err = sysfs.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	require.True(t, sysfs.IsNameConflict(err), "exists: %v", err)
	require.False(t, sysfs.IsNameConflict(os.ErrNotExist))
	require.False(t, sysfs.IsTransientRenameError(os.ErrNotExist))

	require.Empty(t, sysfs.NameProblem("loss"))
	require.Empty(t, sysfs.NameProblem("a b.c"))
	if runtime.GOOS == "windows" {
		for _, bad := range []string{"a:b", "a\nb", "a ", "a.", `a"b`, "a?"} {
			require.NotEmpty(t, sysfs.NameProblem(bad), bad)
		}
	} else {
		require.Empty(t, sysfs.NameProblem("a:b"))
	}
}
