package sysfs

import (
	"errors"
	"io/fs"
	"time"
)

// Stat is the state of a file as the store compares it: which file
// (device and inode, or volume and file index), its size, its change times
// and its mode. Two stats of one file with equal Sig() saw the same
// version of it.
type Stat struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
	Nlink        uint64
	Mode         fs.FileMode
}

// Sig is the part of a stat that identifies a version of a file: what
// changes when the file is replaced, rewritten or changed in place.
type Sig struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64
	Mode         fs.FileMode
}

// Sig returns the version signature of st.
func (st *Stat) Sig() Sig {
	return Sig{Dev: st.Dev, Ino: st.Ino, Size: st.Size, Mtime: st.Mtime, Ctime: st.Ctime, Mode: st.Mode}
}

// IsRegular reports whether st is of a regular file.
func (st *Stat) IsRegular() bool { return st.Mode.IsRegular() }

// IsDir reports whether st is of a folder.
func (st *Stat) IsDir() bool { return st.Mode.IsDir() }

// Linked reports whether the file still has a name: a file removed, or
// replaced by a rename, while open has none.
func (st *Stat) Linked() bool { return st.Nlink > 0 }

// SameFile reports whether a and b are stats of one file.
func SameFile(a, b *Stat) bool { return a.Dev == b.Dev && a.Ino == b.Ino }

// ChangeTime is st's ctime as a time.
func (st *Stat) ChangeTime() time.Time { return time.Unix(0, st.Ctime) }

// Kind is what a folder entry is, as far as the listing tells without a
// stat: KindUnknown asks for one.
type Kind uint8

const (
	KindUnknown Kind = iota
	KindDir
	KindOther // a regular file, a symlink, or anything else that is not a folder
)

// Dirent is one entry of a folder listing.
type Dirent struct {
	Name string
	Kind Kind
}

// LockHow is the kind of lock Lock takes.
type LockHow int

const (
	Shared LockHow = iota + 1
	Exclusive
)

// RootLockFile is the file at the root of a tree that LockDir locks byte
// ranges of where folders cannot be locked (Windows).
const RootLockFile = ".mlruns-lock"

// LockOffset is where the one-byte locks of Lock and LockDir sit on
// Windows: far past any file's data, so a lock never stops a reader.
const LockOffset = 1 << 62

// IsNotExist reports whether err (of this package's readers, a bare errno
// on Linux) means the name does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
