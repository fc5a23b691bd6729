package filestore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/sysfs"
)

// The store reads only regular files. A named pipe, a device or a socket
// in the tree (or a symlink to one: /dev/zero, /dev/urandom) would make a
// read wait forever or never end; on a shared tree that is a denial of
// service that one planted file causes, so every read opens without
// waiting for a pipe's writer (sysfs.ONonBlock), checks what it opened, and
// reads at most maxSmallFile of a file it reads whole. Such an entry is
// reported as a broken entity, as a malformed file is (listings go on), and
// Check names it.

// maxSmallFile bounds the files read whole (meta.yaml, params, tags,
// inputs, outputs): MLflow writes none past a few hundred kilobytes (an
// experiment's tags are its largest, 20,000 characters each).
const maxSmallFile = 64 << 20

// NotRegularError is a file of the tree that is not a regular file.
// It unwraps to errs.ErrCorrupt.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("mlruns: %s is a %s, not a regular file: the store reads only regular files (remove it, or put back the file it replaced)",
		e.Path, fileKind(e.Mode))
}

func (e *NotRegularError) Unwrap() error { return errs.ErrCorrupt }

// TooLargeError is a file read whole that is larger than the store reads
// (maxSmallFile). It unwraps to errs.ErrCorrupt.
type TooLargeError struct {
	Path  string
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("mlruns: %s has %d bytes, more than the %d a file of its kind may hold: not read", e.Path, e.Size, e.Limit)
}

func (e *TooLargeError) Unwrap() error { return errs.ErrCorrupt }

// checkOpened says whether a file opened at p, in state st, may be read
// whole with at most limit bytes (0: no limit).
func checkOpened(p string, st *sysfs.Stat, limit int64) error {
	if !st.IsRegular() {
		return &NotRegularError{Path: p, Mode: st.Mode}
	}
	if limit > 0 && st.Size > limit {
		return &TooLargeError{Path: p, Size: st.Size, Limit: limit}
	}
	return nil
}

// openRegular opens p for reading, never waiting on a named pipe, and
// returns it only if it is a regular file of at most limit bytes (0: any
// size). Open errors keep their *fs.PathError (fs.ErrNotExist for a
// missing file).
func openRegular(p string, limit int64) (*os.File, sysfs.Stat, error) {
	f, err := sysfs.Open(p)
	if err != nil {
		return nil, sysfs.Stat{}, err
	}
	st, err := sysfs.FileStat(f.Fd())
	if err != nil {
		f.Close()
		return nil, st, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if err := checkOpened(p, &st, limit); err != nil {
		f.Close()
		return nil, st, err
	}
	return f, st, nil
}

// readRegular is os.ReadFile for the small files of the tree: only a
// regular file of at most maxSmallFile bytes is read (a file that grows
// past it while read is cut off and refused).
func readRegular(p string) ([]byte, error) {
	f, st, err := openRegular(p, maxSmallFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 0, st.Size+512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > maxSmallFile {
			return nil, &TooLargeError{Path: p, Size: int64(len(buf)), Limit: maxSmallFile}
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
	}
}

// notRegularAt returns the NotRegularError of p when an entry exists there
// and is not a regular file (a symlink is followed), else nil. The write
// paths ask before they open a file to append to.
func notRegularAt(p string) error {
	st, err := sysfs.PathStat(p)
	if err != nil || st.IsRegular() {
		return nil
	}
	return &NotRegularError{Path: p, Mode: st.Mode}
}

// linkInside refuses a symlink at p (d is its entry, or nil to look) that
// leads out of the store's root: reads follow a link only where a write
// through it would be allowed (confine), so a planted link cannot make the
// store read, and echo in a message, a file outside the tree.
func (s *Store) linkInside(p string, d fs.DirEntry) error {
	if d != nil {
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
	} else if fi, err := os.Lstat(p); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil // missing (the read says so) or not a link
	}
	if st, err := sysfs.PathStat(p); err == nil && !st.IsRegular() && !st.IsDir() {
		return &NotRegularError{Path: p, Mode: st.Mode} // a link to /dev/zero, say
	}
	if err := s.confine(p); err != nil {
		target, _ := filepath.EvalSymlinks(p)
		return &LinkOutError{Path: p, Target: target, Root: s.realRoot}
	}
	return nil
}

// LinkOutError is a symlink in the tree that leads out of the store's
// root: the store neither reads nor writes through it. It unwraps to
// errs.ErrInvalidPath.
type LinkOutError struct {
	Path, Target, Root string
}

func (e *LinkOutError) Error() string {
	return fmt.Sprintf("mlruns: %s is a symlink to %s, outside the store root %s: not followed", e.Path, e.Target, e.Root)
}

func (e *LinkOutError) Unwrap() error { return errs.ErrInvalidPath }

// readInside is readRegular of a file of the tree, refusing a symlink out
// of it (linkInside).
func (s *Store) readInside(p string, d fs.DirEntry) ([]byte, error) {
	if err := s.linkInside(p, d); err != nil {
		return nil, err
	}
	return readRegular(p)
}

// Python MLflow rewrites a meta.yaml in place (write_yaml truncates, then
// writes), so a reader can find it empty for a moment, or, for a file
// past Python's write buffer, half written. Python's FileStore reads again
// after an empty read (twice, 0.1 s and 0.2 s later); so do we, and also
// after a decode error when a second read finds other bytes (the file is
// being written), before calling it broken. A read that decodes costs
// nothing more; a file broken for good, one more read (or, empty, a stat
// showing it was not written just now).

// metaRetryFor bounds how long one readMeta waits for a rewrite to
// finish. A writer can stall between its truncate and its write for far
// longer than Python's 0.3 s (a busy disk's journal, a descheduled
// process: CI saw 0.7 s), so the budget is generous; it is spent only on a
// file that is empty or changing.
const metaRetryFor = 2 * time.Second

// metaEmptyStale is how long a meta.yaml must have been empty before a
// read calls it left by a crash and fails at once. It is longer than
// metaRetryFor so that, while one writer is stalled, a reader that comes
// after another reader's wait ran out still waits instead of failing.
const metaEmptyStale = 10 * time.Second

// readMeta reads the meta.yaml at p and decodes it with decode, reading
// again while the file is empty or changing under the read (see above).
// The error is the read's (readErr) or the decoder's (decodeErr).
func readMeta[T any](p string, decode func([]byte) (T, error)) (v T, readErr, decodeErr error) {
	delay := time.Millisecond
	deadline := time.Now().Add(metaRetryFor)
	for {
		data, err := readRegular(p)
		if err != nil {
			return v, err, nil
		}
		v, decodeErr = decode(data)
		if decodeErr == nil || time.Now().After(deadline) {
			return v, nil, decodeErr
		}
		if len(bytes.TrimSpace(data)) > 0 {
			again, err := readRegular(p)
			if err != nil || bytes.Equal(again, data) {
				return v, nil, decodeErr // broken for good
			}
		} else if st, err := sysfs.PathStat(p); err != nil || time.Since(time.Unix(0, st.Mtime)) > metaEmptyStale {
			return v, nil, decodeErr // empty since long before: left by a crash, not being written
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}
