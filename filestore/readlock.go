package filestore

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// A write(2) still copying an append into the page cache is visible to a
// concurrent read(2) of the same file: a reader could see half a line and
// take it for a broken file. Go writers hold an exclusive flock for each
// append, so Go readers of metric files take a shared one for each read.
// (Python writers take no locks; a reader racing one can still see half a
// line, as Python's own readers can.)

// readMetricFile reads a whole metric file under a shared flock.
func readMetricFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := lockedReader{f}
	size := 0
	if fi, err := f.Stat(); err == nil {
		size = int(fi.Size())
	}
	buf := make([]byte, 0, size+512)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
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
