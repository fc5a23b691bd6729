//go:build unix

package sysfs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ONoFollow makes os.OpenFile refuse a symlink as the last element.
const ONoFollow = unix.O_NOFOLLOW

// OpenFile is os.OpenFile (Unix has no sharing modes to set).
func OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}

// Open opens name for reading, as os.Open, but without waiting for a
// writer if it is a named pipe (ONonBlock).
func Open(name string) (*os.File, error) { return os.OpenFile(name, os.O_RDONLY|ONonBlock, 0) }

func statOf(st *unix.Stat_t) Stat {
	return Stat{
		Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: st.Size,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
		Nlink: uint64(st.Nlink), Mode: unixMode(uint32(st.Mode)),
	}
}

// unixMode is os's conversion of st_mode to fs.FileMode, so modes from
// here and from os.Stat compare equal.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// FileStat is fstat(2) of an open descriptor (f.Fd()), without the
// allocation of (*os.File).Stat. Errors are bare errnos.
func FileStat(fd uintptr) (Stat, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstat(int(fd), &st)
		if err == nil {
			return statOf(&st), nil
		}
		if err != unix.EINTR {
			return Stat{}, err
		}
	}
}

// PathStat is stat(2) of a path (symlinks followed).
func PathStat(path string) (Stat, error) {
	var st unix.Stat_t
	for {
		err := unix.Stat(path, &st)
		if err == nil {
			return statOf(&st), nil
		}
		if err != unix.EINTR {
			return Stat{}, &fs.PathError{Op: "stat", Path: path, Err: err}
		}
	}
}

// PathLstat is lstat(2) of a path (a symlink itself).
func PathLstat(path string) (Stat, error) {
	var st unix.Stat_t
	for {
		err := unix.Lstat(path, &st)
		if err == nil {
			return statOf(&st), nil
		}
		if err != unix.EINTR {
			return Stat{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
		}
	}
}

func flockRetry(fd int, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}

func flockHow(how LockHow) int {
	if how == Exclusive {
		return unix.LOCK_EX
	}
	return unix.LOCK_SH
}

// Lock takes a whole-file flock(2) of the open descriptor fd, waiting for
// it. Closing the descriptor releases it.
func Lock(fd uintptr, how LockHow) error { return flockRetry(int(fd), flockHow(how)) }

// TryLock is Lock that does not wait: ok is false when another holds a
// conflicting lock.
func TryLock(fd uintptr, how LockHow) (ok bool, err error) {
	err = flockRetry(int(fd), flockHow(how)|unix.LOCK_NB)
	if err == unix.EWOULDBLOCK {
		return false, nil
	}
	return err == nil, err
}

// Unlock releases the lock of fd.
func Unlock(fd uintptr) error { return flockRetry(int(fd), unix.LOCK_UN) }

// LockDir takes an exclusive lock of the folder dir of the tree at root
// (flock(2) of the folder), waiting until ctx is done, and returns the
// function that releases it.
func LockDir(ctx context.Context, root, dir string) (unlock func() error, err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := waitLock(ctx, f.Fd(), Exclusive); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "lock", Path: dir, Err: err}
	}
	return f.Close, nil // closing releases the lock
}

// waitLock polls TryLock until it succeeds or ctx is done (a blocking
// lock could not be given up when ctx is cancelled).
func waitLock(ctx context.Context, fd uintptr, how LockHow) error {
	delay := 100 * time.Microsecond
	for {
		ok, err := TryLock(fd, how)
		if err != nil || ok {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Millisecond)
	}
}

// IsCrossDevice reports whether a rename failed because the two paths are
// on different file systems.
func IsCrossDevice(err error) bool { return errors.Is(err, syscall.EXDEV) }

// IsNameConflict reports whether creating or opening a path failed because
// a file stands where a folder is needed, or a folder where a file is.
func IsNameConflict(err error) bool {
	return errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, fs.ErrExist)
}

// IsTransientRenameError reports whether a failed rename may succeed when
// tried again shortly: never on Unix, where a rename does not depend on
// who has the file open.
func IsTransientRenameError(err error) bool { return false }

// SyncDirs is true where a folder opened for reading can be fsynced to make
// its entries durable.
const SyncDirs = true

// Rename is os.Rename: rename(2) replaces a file atomically whoever has
// it open.
func Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// HoldOpen is true where the store may keep files open between calls:
// an open file never stops a rename or removal on Unix.
const HoldOpen = true

// NameProblem says why name cannot be one element of a path here, or ""
// when it can: on Unix any name without '/' or NUL can.
func NameProblem(name string) string { return "" }

// ONonBlock makes an open of a named pipe return at once (Unix would wait
// for the other end); reads and writes of regular files ignore it.
const ONonBlock = unix.O_NONBLOCK
