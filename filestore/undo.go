package filestore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
)

// undoLog makes a call that changes several files all-or-nothing against
// errors: each change first records how to put back what was there, and on
// an error the steps run in reverse. Every single file is replaced or
// appended atomically anyway, so a crash (no chance to undo) still leaves
// only whole files; it can leave some of a call's files changed and not
// others, as Python's FileStore does, and Check finds nothing to repair.
// A nil *undoLog records nothing.
type undoLog struct {
	steps []func() error
}

func (u *undoLog) add(step func() error) {
	if u != nil {
		u.steps = append(u.steps, step)
	}
}

// rollback undoes every recorded step, newest first, and returns err (the
// error that made the call fail) joined with what could not be undone.
func (u *undoLog) rollback(err error) error {
	if u == nil {
		return err
	}
	var failed []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		if uerr := u.steps[i](); uerr != nil && !errors.Is(uerr, fs.ErrNotExist) {
			failed = append(failed, uerr)
		}
	}
	u.steps = nil
	if len(failed) > 0 {
		return fmt.Errorf("%w (and undoing it failed: %w)", err, errors.Join(failed...))
	}
	return err
}

// replace is writeFileAtomic that records how to restore path's previous
// content (or absence). The undo step is recorded before the write, since
// a failed directory sync can follow a successful rename.
func (s *Store) replace(u *undoLog, tmpDir, path string, data []byte) error {
	if u != nil {
		old, err := readRegular(path)
		switch {
		case err == nil:
			u.add(func() error {
				if cur, err := readRegular(path); err == nil && bytes.Equal(cur, old) {
					return nil // never changed (the write failed): nothing to undo
				}
				return s.writeFileAtomic(tmpDir, path, old)
			})
		case errors.Is(err, fs.ErrNotExist):
			u.add(func() error {
				if !exists(path) {
					return nil // never created (the write failed): nothing to undo
				}
				return s.fs.Remove(path)
			})
		default:
			return fmt.Errorf("filestore: read %s: %w", path, err)
		}
	}
	return s.writeFileAtomic(tmpDir, path, data)
}

// createDir creates dir (and parents) and records its removal if it did
// not exist.
func (s *Store) createDir(u *undoLog, dir string) error {
	if u != nil && !exists(dir) {
		u.add(func() error {
			if !exists(dir) {
				return nil // never made (the mkdir failed): nothing to undo
			}
			return s.fs.RemoveAll(dir)
		})
	}
	return s.mkdirs(dir)
}
