package filestore

import (
	"io/fs"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// A write(2) still copying an append into the page cache is visible to a
// concurrent read(2) of the same file: a reader could see half a line and
// take it for a broken file. Go writers hold an exclusive flock for each
// append, so Go readers of metric files take a shared one for each read.
// (Python writers take no locks; a reader racing one can still see half a
// line, as Python's own readers can.)

// readMetricFile reads a whole metric file under a shared flock, held for
// the whole read and released by the close.
func readMetricFile(p string) ([]byte, error) {
	fd, err := openatRetry(unix.AT_FDCWD, p, unix.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	if err := flockRetry(fd, unix.LOCK_SH); err != nil {
		return nil, &fs.PathError{Op: "flock", Path: p, Err: err}
	}
	size := 0
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		size = int(st.Size)
	}
	buf := make([]byte, size+512)
	n := 0
	for {
		m, err := readRetry(fd, buf[n:])
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if m == 0 {
			return buf[:n], nil
		}
		if n += m; n == len(buf) {
			buf = slices.Grow(buf, len(buf))[:2*len(buf)]
		}
	}
}

// lockedReader reads a file holding a shared flock during each read, so a
// streaming reader never blocks writers for longer than one read.
type lockedReader struct{ f *os.File }

func (r lockedReader) Read(p []byte) (int, error) {
	fd := int(r.f.Fd())
	if err := flockRetry(fd, unix.LOCK_SH); err != nil {
		return 0, err
	}
	n, err := r.f.Read(p)
	if uerr := flockRetry(fd, unix.LOCK_UN); err == nil && uerr != nil {
		err = uerr
	}
	return n, err
}

func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}
