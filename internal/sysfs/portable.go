//go:build !linux || mlruns_portable

package sysfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Fast is false where Dir and File are the portable readers.
const Fast = false

// Dir is a folder for relative opens and listing: its path ("" is the
// working directory). Nothing is held open; Close does nothing.
type Dir struct{ path string }

// CWD is the working directory: names relative to it are paths.
var CWD = Dir{}

// Opener opens files for reading. NoAtime has no effect here.
type Opener struct{ NoAtime bool }

func (d Dir) join(name string) string {
	name = filepath.FromSlash(name)
	if d.path == "" {
		return name
	}
	return filepath.Join(d.path, name)
}

// errLoop is what OpenDir gives for a symlink it must not follow, as
// O_NOFOLLOW does on Unix.
var errLoop = errors.New("sysfs: a symlink where a folder was asked for")

// OpenDir checks that name relative to d is a folder (following a symlink
// only when follow is set) and returns it.
func (o *Opener) OpenDir(d Dir, name string, follow bool) (Dir, error) {
	p := d.join(name)
	var fi fs.FileInfo
	var err error
	if follow {
		fi, err = os.Stat(p)
	} else {
		fi, err = os.Lstat(p)
	}
	switch {
	case err != nil:
		return Dir{}, err
	case fi.Mode()&fs.ModeSymlink != 0:
		return Dir{}, &fs.PathError{Op: "open", Path: p, Err: errLoop}
	case !fi.IsDir():
		return Dir{}, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOTDIR}
	}
	return Dir{p}, nil
}

// OpenFile opens the file name relative to d for reading, without waiting
// for a writer if it is a named pipe (ONonBlock); a symlink as the last
// element is followed only when follow is set (where ONoFollow exists).
func (o *Opener) OpenFile(d Dir, name string, follow bool) (File, error) {
	flag := os.O_RDONLY | ONonBlock
	if !follow {
		flag |= ONoFollow
	}
	f, err := OpenFile(d.join(name), flag, 0)
	if err != nil {
		return File{}, err
	}
	return File{f}, nil
}

// Close does nothing: a portable Dir holds nothing open.
func (d Dir) Close() error { return nil }

// Stat is the signature of the folder.
func (d Dir) Stat() (Stat, error) {
	if d.path == "" {
		return PathStat(".")
	}
	return PathStat(d.path)
}

// StatAt is the signature of name relative to d, following a symlink when
// follow is set.
func (d Dir) StatAt(name string, follow bool) (Stat, error) {
	if follow {
		return PathStat(d.join(name))
	}
	return PathLstat(d.join(name))
}

// ReadDir lists the folder ("." and ".." left out); buf is not used.
func (d Dir) ReadDir(buf *[]byte) ([]Dirent, error) {
	p := d.path
	if p == "" {
		p = "."
	}
	f, err := Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]Dirent, len(ents))
	for i, e := range ents {
		kind := KindOther
		if e.IsDir() {
			kind = KindDir
		}
		out[i] = Dirent{e.Name(), kind}
	}
	return out, nil
}

// Local is false: files are read until end of file and nothing is cached
// by signature (see the package doc).
func (d Dir) Local() bool { return false }

// PathLocal is Dir.Local for a path.
func PathLocal(path string) bool { return false }

// File is a file open for reading.
type File struct{ f *os.File }

// Read reads into p, io.EOF at the end of the file.
func (f File) Read(p []byte) (int, error) {
	n, err := f.f.Read(p)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// Lock takes the file's lock (see Lock), released by Close.
func (f File) Lock(how LockHow) error { return Lock(f.f.Fd(), how) }

// Unlock releases the file's lock.
func (f File) Unlock() error { return Unlock(f.f.Fd()) }

// Stat is the signature of the open file.
func (f File) Stat() (Stat, error) { return FileStat(f.f.Fd()) }

// Close closes the file.
func (f File) Close() error { return f.f.Close() }
