package filestore

import (
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/mlruns-go/mlruns/internal/sysfs"
)

// A write(2) still copying an append into the page cache is visible to a
// concurrent read(2) of the same file: a reader could see half a line and
// take it for a broken file. Go writers hold an exclusive lock for each
// append, so Go readers of metric files take a shared one for each read.
// (Python writers take no locks; a reader racing one can still see half a
// line, as Python's own readers can.)

// readMetricFile reads a whole metric file under a shared lock, held for
// the whole read and released by the close.
func readMetricFile(p string) ([]byte, error) {
	var op sysfs.Opener
	f, err := op.OpenFile(sysfs.CWD, p, true) // callers check links (linkInside)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if err := checkOpened(p, &st, 0); err != nil {
		return nil, err // a pipe or a device: never locked, never read
	}
	if err := f.Lock(sysfs.Shared); err != nil {
		return nil, &fs.PathError{Op: "lock", Path: p, Err: err}
	}
	size := int(st.Size)
	buf := make([]byte, size+512)
	n := 0
	for {
		m, err := f.Read(buf[n:])
		if err == io.EOF {
			return buf[:n], nil
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if n += m; n == len(buf) {
			buf = slices.Grow(buf, len(buf))[:2*len(buf)]
		}
	}
}

// lockedReader reads a file holding a shared lock during each read, so a
// streaming reader never blocks writers for longer than one read.
type lockedReader struct{ f *os.File }

func (r lockedReader) Read(p []byte) (int, error) {
	fd := r.f.Fd()
	if err := sysfs.Lock(fd, sysfs.Shared); err != nil {
		return 0, err
	}
	n, err := r.f.Read(p)
	if uerr := sysfs.Unlock(fd); err == nil && uerr != nil {
		err = uerr
	}
	return n, err
}
