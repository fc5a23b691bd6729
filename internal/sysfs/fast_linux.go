//go:build linux && !mlruns_portable

package sysfs

import (
	"bytes"
	"encoding/binary"
	"io"

	"golang.org/x/sys/unix"
)

// Fast is true where Dir and File are the Linux descriptor readers.
const Fast = true

// Dir is an open folder for relative opens and listing: a descriptor.
// The zero Dir is not valid; CWD stands for the working directory.
type Dir struct{ fd int }

// CWD is the working directory: names relative to it are paths.
var CWD = Dir{unix.AT_FDCWD}

// Opener opens files for reading. NoAtime asks for O_NOATIME (Linux): a
// first read of a file after a write would otherwise dirty and journal its
// inode to set the access time, which costs more than the read. Only the
// owner (or CAP_FOWNER) may ask; on EPERM the opener stops asking.
type Opener struct{ NoAtime bool }

func openatRetry(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func (o *Opener) open(dirfd int, name string, flags int) (int, error) {
	if o.NoAtime {
		fd, err := openatRetry(dirfd, name, flags|unix.O_NOATIME)
		if err != unix.EPERM {
			return fd, err
		}
		o.NoAtime = false
	}
	return openatRetry(dirfd, name, flags)
}

// OpenDir opens the folder name relative to d. follow false refuses a
// symlink (as filepath.WalkDir does for its root). Errors are bare errnos.
func (o *Opener) OpenDir(d Dir, name string, follow bool) (Dir, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := o.open(d.fd, name, flags)
	if err != nil {
		return Dir{}, err
	}
	return Dir{fd}, nil
}

// OpenFile opens the file name relative to d for reading, without waiting
// for a writer if it is a named pipe (O_NONBLOCK): the caller checks what
// it opened (File.Stat) before it trusts a read. A symlink as the last
// element is followed only when follow is set (else ELOOP). Errors are
// bare errnos.
func (o *Opener) OpenFile(d Dir, name string, follow bool) (File, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := o.open(d.fd, name, flags)
	if err != nil {
		return File{}, err
	}
	return File{fd}, nil
}

// Close closes the folder.
func (d Dir) Close() error { return unix.Close(d.fd) }

// Stat is the signature of the open folder.
func (d Dir) Stat() (Stat, error) { return FileStat(uintptr(d.fd)) }

// StatAt is the signature of name relative to d, following a symlink when
// follow is set.
func (d Dir) StatAt(name string, follow bool) (Stat, error) {
	flags := 0
	if !follow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	var st unix.Stat_t
	for {
		err := unix.Fstatat(d.fd, name, &st, flags)
		if err == nil {
			return statOf(&st), nil
		}
		if err != unix.EINTR {
			return Stat{}, err
		}
	}
}

// ReadDir lists the open folder, "." and ".." left out, in the order of the
// file system; buf holds the getdents64 records between calls (grown for
// a name longer than it). It reads the folder once: call it once per Dir.
func (d Dir) ReadDir(buf *[]byte) ([]Dirent, error) {
	if len(*buf) < 4096 {
		*buf = make([]byte, 8<<10)
	}
	var out []Dirent
	for {
		n, err := unix.Getdents(d.fd, *buf)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EINVAL && len(*buf) < 1<<20 { // one name longer than the buffer
			*buf = make([]byte, 2*len(*buf))
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return out, nil
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
		for b := (*buf)[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return nil, unix.EIO
			}
			ino := binary.NativeEndian.Uint64(b[0:8])
			typ := b[18]
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			if ino == 0 || string(name) == "." || string(name) == ".." {
				continue
			}
			kind := KindOther
			switch typ {
			case unix.DT_DIR:
				kind = KindDir
			case unix.DT_UNKNOWN:
				kind = KindUnknown
			}
			out = append(out, Dirent{string(name), kind})
		}
	}
}

// Local reports whether the open folder is on a file system whose regular
// files read(2) returns short only at their end, with reliable inode
// numbers and fine change times (ext4, xfs, btrfs, tmpfs, overlayfs, f2fs,
// ramfs, zfs, bcachefs): FUSE with direct_io, say, may return short reads,
// and network file systems may reuse inode numbers or round times.
func (d Dir) Local() bool {
	var st unix.Statfs_t
	for {
		err := unix.Fstatfs(d.fd, &st)
		if err == nil {
			return localMagic(int64(st.Type))
		}
		if err != unix.EINTR {
			return false
		}
	}
}

// PathLocal is Dir.Local for a path.
func PathLocal(path string) bool {
	var st unix.Statfs_t
	for {
		err := unix.Statfs(path, &st)
		if err == nil {
			return localMagic(int64(st.Type))
		}
		if err != unix.EINTR {
			return false
		}
	}
}

func localMagic(typ int64) bool {
	switch uint32(typ) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC, unix.F2FS_SUPER_MAGIC, unix.RAMFS_MAGIC,
		0x2fc12fc1, // zfs
		0xca451a4e: // bcachefs
		return true
	}
	return false
}

// File is a file open for reading: a descriptor.
type File struct{ fd int }

// Read reads into p, io.EOF at the end of the file (a read of 0 bytes).
func (f File) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Lock takes a flock(2) of the file, released by Close.
func (f File) Lock(how LockHow) error { return flockRetry(f.fd, flockHow(how)) }

// Unlock releases the file's lock.
func (f File) Unlock() error { return flockRetry(f.fd, unix.LOCK_UN) }

// Stat is the signature of the open file.
func (f File) Stat() (Stat, error) { return FileStat(uintptr(f.fd)) }

// Close closes the file.
func (f File) Close() error { return unix.Close(f.fd) }
