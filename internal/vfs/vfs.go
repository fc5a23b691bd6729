// Package vfs is the narrow filesystem seam of the store's write paths: the
// few operations filestore uses to create, replace, append to and remove
// files and folders. OS is the real thing; the test harness in package
// errorfs wraps any FS and injects errors at chosen operations, so tests can
// fail operation i of a call for every i (Pebble's vfs/errorfs).
//
// Reads stay on package os: a failed read changes nothing on disk, so there
// is nothing to prove about it.
package vfs

import (
	"io/fs"
	"os"

	"github.com/mlruns-go/mlruns/internal/sysfs"
)

// File is an open file of an FS.
type File interface {
	Name() string
	Write(p []byte) (int, error)
	Chmod(mode fs.FileMode) error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Sync() error
	Close() error
	// Fd is the descriptor, for flock.
	Fd() uintptr
}

// FS is the set of operations the store's write paths use.
type FS interface {
	// OpenFile is os.OpenFile. Opening a folder O_RDONLY is how a folder
	// is synced.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	RemoveAll(name string) error
	MkdirAll(name string, perm fs.FileMode) error
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
}

// OS is the operating system's filesystem.
var OS FS = osFS{}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := sysfs.OpenFile(name, flag, perm) // FILE_SHARE_DELETE on Windows
	if err != nil {
		return nil, err // not a typed nil
	}
	return f, nil
}
func (osFS) Rename(o, n string) error                     { return sysfs.Rename(o, n) } // POSIX semantics on Windows
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) RemoveAll(name string) error                  { return os.RemoveAll(name) }
func (osFS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }
func (osFS) Stat(name string) (fs.FileInfo, error)        { return os.Stat(name) }
func (osFS) Lstat(name string) (fs.FileInfo, error)       { return os.Lstat(name) }
