// Package errorfs wraps a vfs.FS and fails chosen operations, so tests can
// fail operation i of a call for every i (Pebble's vfs/errorfs). It is a
// test harness: the store never uses it.
package errorfs

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"

	"github.com/mlruns-go/mlruns/internal/vfs"
)

// Op names an operation of vfs.FS or vfs.File, for injectors.
type Op int

const (
	OpOpen Op = iota
	OpRename
	OpRemove
	OpRemoveAll
	OpMkdirAll
	OpStat
	OpLstat
	OpWrite
	OpChmod
	OpTruncate
	OpFileStat
	OpSync
	OpClose
)

var opNames = [...]string{"open", "rename", "remove", "removeall", "mkdirall", "stat", "lstat",
	"write", "chmod", "truncate", "fstat", "sync", "close"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// Injector decides, for each operation, whether it fails.
type Injector interface {
	// MaybeError returns nil to let the operation run, or the error it
	// returns instead.
	MaybeError(op Op, path string) error
}

// ErrInjected is the error FailAt injects unless told otherwise.
var ErrInjected = errors.New("errorfs: injected error")

// FailAt fails operation number N (counting from 0 over every operation
// of the vfs.FS and its files) and, if Sticky, every operation after it, as a
// disk that went bad would. Err defaults to ErrInjected. An error that is
// syscall.ENOSPC on a write first writes half of the data, as a full disk
// does. The zero value with N < 0 never fails and only counts.
type FailAt struct {
	N      int
	Sticky bool
	Err    error

	mu       sync.Mutex
	count    int
	injected int
	last     string
}

// MaybeError implements Injector.
func (f *FailAt) MaybeError(op Op, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.count
	f.count++
	if f.N < 0 || i < f.N || (i > f.N && !f.Sticky) {
		return nil
	}
	f.injected++
	f.last = fmt.Sprintf("%s %s", op, path)
	err := f.Err
	if err == nil {
		err = ErrInjected
	}
	return &fs.PathError{Op: op.String(), Path: path, Err: err}
}

// Arm resets the count and makes operation n fail (n < 0: none).
func (f *FailAt) Arm(n int, sticky bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.N, f.Sticky, f.count, f.injected, f.last = n, sticky, 0, 0, ""
}

// Count is the number of operations seen so far.
func (f *FailAt) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

// Injected is the number of errors injected so far.
func (f *FailAt) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// Last describes the last operation that got an error.
func (f *FailAt) Last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// ErrorFS wraps a vfs.FS and asks an Injector before every operation.
type ErrorFS struct {
	FS  vfs.FS
	Inj Injector
}

// WithErrors returns fs with errors injected by inj.
func WithErrors(fsys vfs.FS, inj Injector) *ErrorFS { return &ErrorFS{FS: fsys, Inj: inj} }

func (e *ErrorFS) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	if err := e.Inj.MaybeError(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &errorFile{f: f, inj: e.Inj}, nil
}

func (e *ErrorFS) Rename(o, n string) error {
	if err := e.Inj.MaybeError(OpRename, o); err != nil {
		return err
	}
	return e.FS.Rename(o, n)
}

func (e *ErrorFS) Remove(name string) error {
	if err := e.Inj.MaybeError(OpRemove, name); err != nil {
		return err
	}
	return e.FS.Remove(name)
}

func (e *ErrorFS) RemoveAll(name string) error {
	if err := e.Inj.MaybeError(OpRemoveAll, name); err != nil {
		return err
	}
	return e.FS.RemoveAll(name)
}

func (e *ErrorFS) MkdirAll(name string, perm fs.FileMode) error {
	if err := e.Inj.MaybeError(OpMkdirAll, name); err != nil {
		return err
	}
	return e.FS.MkdirAll(name, perm)
}

func (e *ErrorFS) Stat(name string) (fs.FileInfo, error) {
	if err := e.Inj.MaybeError(OpStat, name); err != nil {
		return nil, err
	}
	return e.FS.Stat(name)
}

func (e *ErrorFS) Lstat(name string) (fs.FileInfo, error) {
	if err := e.Inj.MaybeError(OpLstat, name); err != nil {
		return nil, err
	}
	return e.FS.Lstat(name)
}

type errorFile struct {
	f   vfs.File
	inj Injector
}

func (e *errorFile) Name() string { return e.f.Name() }
func (e *errorFile) Fd() uintptr  { return e.f.Fd() }

func (e *errorFile) Write(p []byte) (int, error) {
	if err := e.inj.MaybeError(OpWrite, e.f.Name()); err != nil {
		if errors.Is(err, syscall.ENOSPC) && len(p) > 1 {
			n, werr := e.f.Write(p[:len(p)/2])
			if werr != nil {
				return n, werr
			}
			return n, err
		}
		return 0, err
	}
	return e.f.Write(p)
}

func (e *errorFile) Chmod(mode fs.FileMode) error {
	if err := e.inj.MaybeError(OpChmod, e.f.Name()); err != nil {
		return err
	}
	return e.f.Chmod(mode)
}

func (e *errorFile) Truncate(size int64) error {
	if err := e.inj.MaybeError(OpTruncate, e.f.Name()); err != nil {
		return err
	}
	return e.f.Truncate(size)
}

func (e *errorFile) Stat() (fs.FileInfo, error) {
	if err := e.inj.MaybeError(OpFileStat, e.f.Name()); err != nil {
		return nil, err
	}
	return e.f.Stat()
}

func (e *errorFile) Sync() error {
	if err := e.inj.MaybeError(OpSync, e.f.Name()); err != nil {
		return err
	}
	return e.f.Sync()
}

// Close always closes the file (no descriptor leaks); an injected error
// is returned after it.
func (e *errorFile) Close() error {
	ierr := e.inj.MaybeError(OpClose, e.f.Name())
	err := e.f.Close()
	if ierr != nil {
		return ierr
	}
	return err
}
