package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/mlruns-go/mlruns/internal/sysfs"
)

// The syscall floors F1-F3: plain Go loops doing only the system calls an
// appender cannot avoid, the ceiling our store is measured against.

// floors measures the three plain loops on their own, so the table shows
// them side by side.
func (d *driver) floors() ([]row, error) {
	var f1, f2, f3 best
	n := d.sz.s1Go
	err := d.rounds(
		goStep(&f1, func() (result, error) { return floorOpenAppend(d.dir("f1"), n) }),
		goStep(&f2, func() (result, error) { return floorHeld(d.dir("f2"), n) }),
		goStep(&f3, func() (result, error) { return floorBatched(d.dir("f3"), d.sz.s3Go, d.sz.floorBuffer) }),
	)
	return []row{
		mkRow("F1 floor: open+flock+append+close", best{}, best{}, f1, fmt.Sprintf("%d points, one open(O_APPEND)+flock+write+close each", n)),
		mkRow("F2 floor: held fd, flock+write", best{}, best{}, f2, fmt.Sprintf("%d points, one flock+write+unlock each on a held descriptor", n)),
		mkRow("F3 floor: 64 KiB batched writes", best{}, best{}, f3, fmt.Sprintf("%d points formatted into 64 KiB buffers, one flock+write each", d.sz.s3Go)),
	}, err
}

// Floors: plain Go loops writing metric lines ("ts value step\n", as
// MLflow's metric files) with the syscalls an appender cannot avoid.

func appendLine(b []byte, i int) []byte {
	b = strconv.AppendInt(b, ts0+int64(i), 10)
	b = append(b, " 0.5 "...)
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, '\n')
}

func floorFile(dir string) (string, error) {
	return filepath.Join(dir, "loss"), os.MkdirAll(dir, 0o755)
}

// openAppend opens a metric file for appending, as every floor writes it.
func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}

// openFloor creates dir's metric file and holds it open, for the floors
// (F2, F3) that write through one descriptor.
func openFloor(dir string) (*os.File, error) {
	path, err := floorFile(dir)
	if err != nil {
		return nil, err
	}
	return openAppend(path)
}

func appendUnderLock(path string, line []byte) error {
	f, err := openAppend(path)
	if err != nil {
		return err
	}
	if err := sysfs.Lock(f.Fd(), sysfs.Exclusive); err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(line)
	return errors.Join(err, f.Close())
}

// floorOpenAppend is F1: open+flock+append+close per point.
func floorOpenAppend(dir string, n int) (result, error) {
	path, err := floorFile(dir)
	if err != nil {
		return result{}, err
	}
	var buf []byte
	return timed(n, func() error {
		for i := range n {
			buf = appendLine(buf[:0], i)
			if err := appendUnderLock(path, buf); err != nil {
				return err
			}
		}
		return nil
	})
}

// floorHeld is F2: one descriptor, flock+write+unlock per point.
func floorHeld(dir string, n int) (result, error) {
	f, err := openFloor(dir)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	fd := f.Fd()
	var buf []byte
	return timed(n, func() error {
		for i := range n {
			buf = appendLine(buf[:0], i)
			if err := sysfs.Lock(fd, sysfs.Exclusive); err != nil {
				return err
			}
			if _, err := f.Write(buf); err != nil {
				return err
			}
			if err := sysfs.Unlock(fd); err != nil {
				return err
			}
		}
		return nil
	})
}

// floorBatched is F3: lines formatted into size-byte buffers, each written
// with one flock+write on a held descriptor.
func floorBatched(dir string, n, size int) (result, error) {
	f, err := openFloor(dir)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	fd := f.Fd()
	buf := make([]byte, 0, size)
	flush := func() error {
		if err := sysfs.Lock(fd, sysfs.Exclusive); err != nil {
			return err
		}
		_, err := f.Write(buf)
		buf = buf[:0]
		return errors.Join(err, sysfs.Unlock(fd))
	}
	return timed(n, func() error {
		for i := range n {
			if len(buf)+64 > size {
				if err := flush(); err != nil {
					return err
				}
			}
			buf = appendLine(buf, i)
		}
		return flush()
	})
}
