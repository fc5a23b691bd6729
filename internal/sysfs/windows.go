//go:build windows

package sysfs

import (
	"context"
	"errors"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ONoFollow is 0: Windows has no O_NOFOLLOW (see the package doc).
const ONoFollow = 0

// OpenFile is os.OpenFile with FILE_SHARE_DELETE added to the sharing
// mode, so that a file we hold open can still be replaced by a rename (our
// atomic rewrites) or removed. The flags are those os.OpenFile takes.
func OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	if name == "" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	}
	p, err := windows.UTF16PtrFromString(fixLongPath(name))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var access uint32
	switch flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_RDONLY:
		access = windows.GENERIC_READ
	case os.O_WRONLY:
		access = windows.GENERIC_WRITE
	case os.O_RDWR:
		access = windows.GENERIC_READ | windows.GENERIC_WRITE
	}
	if flag&os.O_APPEND != 0 {
		// Append only: the system writes at the end of the file whatever
		// other writers do (os.OpenFile does the same).
		access &^= windows.GENERIC_WRITE
		access |= windows.FILE_APPEND_DATA | windows.FILE_WRITE_ATTRIBUTES | windows.FILE_WRITE_EA |
			windows.STANDARD_RIGHTS_WRITE | windows.SYNCHRONIZE
	}
	var disposition uint32
	switch {
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		disposition = windows.CREATE_NEW
	case flag&(os.O_CREATE|os.O_TRUNC) == os.O_CREATE|os.O_TRUNC:
		disposition = windows.CREATE_ALWAYS
	case flag&os.O_CREATE == os.O_CREATE:
		disposition = windows.OPEN_ALWAYS
	case flag&os.O_TRUNC == os.O_TRUNC:
		disposition = windows.TRUNCATE_EXISTING
	default:
		disposition = windows.OPEN_EXISTING
	}
	attrs := uint32(windows.FILE_ATTRIBUTE_NORMAL)
	if perm&0o200 == 0 && flag&os.O_CREATE != 0 {
		attrs = windows.FILE_ATTRIBUTE_READONLY
	}
	// Folders open only with FILE_FLAG_BACKUP_SEMANTICS, as in os.Open.
	attrs |= windows.FILE_FLAG_BACKUP_SEMANTICS
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	h, err := windows.CreateFile(p, access, share, nil, disposition, attrs, 0)
	if err != nil {
		if err == windows.ERROR_ACCESS_DENIED && access&(windows.GENERIC_WRITE|windows.FILE_APPEND_DATA) != 0 {
			if fa, e := windows.GetFileAttributes(p); e == nil && fa&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
				err = syscall.EISDIR // as os.OpenFile reports it
			}
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if flag&os.O_WRONLY != 0 || flag&os.O_RDWR != 0 {
		// A folder opened for writing is an error, as on Unix.
		var info windows.ByHandleFileInformation
		if windows.GetFileInformationByHandle(h, &info) == nil && info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
			windows.CloseHandle(h)
			return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
		}
	}
	return os.NewFile(uintptr(h), name), nil
}

// Open opens name for reading with FILE_SHARE_DELETE (see OpenFile).
func Open(name string) (*os.File, error) { return OpenFile(name, os.O_RDONLY, 0) }

// fixLongPath leaves paths as they are: Go's os package and Windows 10's
// long-path support take care of long names; kept as one place to change.
func fixLongPath(p string) string { return p }

// fileBasicInfo is FILE_BASIC_INFO.
type fileBasicInfo struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime int64
	FileAttributes                                          uint32
	_                                                       uint32
}

// fileStandardInfo is FILE_STANDARD_INFO.
type fileStandardInfo struct {
	AllocationSize, EndOfFile int64
	NumberOfLinks             uint32
	DeletePending, Directory  bool
	_                         [2]byte
}

// filetimeNs turns a FILETIME count (100 ns since 1601) into ns since 1970.
func filetimeNs(t int64) int64 { return (t - 116444736000000000) * 100 }

// FileStat is the signature of an open handle (f.Fd()).
func FileStat(fd uintptr) (Stat, error) {
	h := windows.Handle(fd)
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return Stat{}, err
	}
	st := Stat{
		Dev:   uint64(info.VolumeSerialNumber),
		Ino:   uint64(info.FileIndexHigh)<<32 | uint64(info.FileIndexLow),
		Size:  int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow),
		Nlink: uint64(info.NumberOfLinks),
		Mtime: filetimeNs(int64(info.LastWriteTime.HighDateTime)<<32 | int64(info.LastWriteTime.LowDateTime)),
	}
	st.Ctime = st.Mtime
	var basic fileBasicInfo
	if windows.GetFileInformationByHandleEx(h, windows.FileBasicInfo, (*byte)(unsafe.Pointer(&basic)), uint32(unsafe.Sizeof(basic))) == nil {
		st.Ctime = filetimeNs(basic.ChangeTime)
	}
	var std fileStandardInfo
	if windows.GetFileInformationByHandleEx(h, windows.FileStandardInfo, (*byte)(unsafe.Pointer(&std)), uint32(unsafe.Sizeof(std))) == nil && std.DeletePending {
		st.Nlink = 0 // removed or replaced, still open
	}
	switch {
	case info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		st.Mode = fs.ModeSymlink | 0o777
	case info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		st.Mode = fs.ModeDir | 0o777
	default:
		st.Mode = 0o666
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_READONLY != 0 {
		st.Mode &^= 0o222
	}
	return st, nil
}

func pathStat(path string, follow bool) (Stat, error) {
	p, err := windows.UTF16PtrFromString(fixLongPath(path))
	if err != nil {
		return Stat{}, err
	}
	attrs := uint32(windows.FILE_FLAG_BACKUP_SEMANTICS)
	if !follow {
		attrs |= windows.FILE_FLAG_OPEN_REPARSE_POINT
	}
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	h, err := windows.CreateFile(p, windows.FILE_READ_ATTRIBUTES, share, nil, windows.OPEN_EXISTING, attrs, 0)
	if err != nil {
		return Stat{}, err
	}
	defer windows.CloseHandle(h)
	return FileStat(uintptr(h))
}

// PathStat is the signature of a path (links followed).
func PathStat(path string) (Stat, error) {
	st, err := pathStat(path, true)
	if err != nil {
		return st, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return st, nil
}

// PathLstat is the signature of a path (a link itself).
func PathLstat(path string) (Stat, error) {
	st, err := pathStat(path, false)
	if err != nil {
		return st, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return st, nil
}

func lockFlags(how LockHow) uint32 {
	if how == Exclusive {
		return windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	return 0
}

func lockAt(fd uintptr, off uint64, flags uint32) error {
	ol := windows.Overlapped{Offset: uint32(off), OffsetHigh: uint32(off >> 32)}
	return windows.LockFileEx(windows.Handle(fd), flags, 0, 1, 0, &ol)
}

func unlockAt(fd uintptr, off uint64) error {
	ol := windows.Overlapped{Offset: uint32(off), OffsetHigh: uint32(off >> 32)}
	return windows.UnlockFileEx(windows.Handle(fd), 0, 1, 0, &ol)
}

// Lock takes a lock of the byte at LockOffset of the open handle fd,
// waiting for it (see the package doc). Closing the handle releases it.
func Lock(fd uintptr, how LockHow) error { return lockAt(fd, LockOffset, lockFlags(how)) }

// TryLock is Lock that does not wait: ok is false when another holds a
// conflicting lock.
func TryLock(fd uintptr, how LockHow) (ok bool, err error) {
	return tryLockAt(fd, LockOffset, how)
}

func tryLockAt(fd uintptr, off uint64, how LockHow) (bool, error) {
	err := lockAt(fd, off, lockFlags(how)|windows.LOCKFILE_FAIL_IMMEDIATELY)
	if err == windows.ERROR_LOCK_VIOLATION || err == windows.ERROR_IO_PENDING {
		return false, nil
	}
	return err == nil, err
}

// Unlock releases the lock of fd.
func Unlock(fd uintptr) error { return unlockAt(fd, LockOffset) }

// LockDir takes an exclusive lock standing for the folder dir of the tree
// at root: a byte lock of RootLockFile at an offset chosen by dir's path
// relative to root (folders cannot be locked on Windows). Two folders may
// share an offset; they then exclude each other, which is only slower.
func LockDir(ctx context.Context, root, dir string) (unlock func() error, err error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err // as opening the folder on Unix
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		rel = dir
	}
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(filepath.ToSlash(rel)))) // names are case-insensitive
	off := uint64(LockOffset) + 1 + h.Sum64()%(1<<40)
	f, err := OpenFile(filepath.Join(root, RootLockFile), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	delay := 100 * time.Microsecond
	for {
		ok, err := tryLockAt(f.Fd(), off, Exclusive)
		if err != nil {
			f.Close()
			return nil, &fs.PathError{Op: "lock", Path: dir, Err: err}
		}
		if ok {
			return f.Close, nil // closing releases the lock
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, &fs.PathError{Op: "lock", Path: dir, Err: ctx.Err()}
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Millisecond)
	}
}

// IsCrossDevice reports whether a rename failed because the two paths are
// on different volumes.
func IsCrossDevice(err error) bool {
	return errors.Is(err, windows.ERROR_NOT_SAME_DEVICE) || errors.Is(err, syscall.EXDEV)
}

// IsNameConflict reports whether creating or opening a path failed because
// a file stands where a folder is needed, or a folder where a file is.
func IsNameConflict(err error) bool {
	return errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, fs.ErrExist) ||
		errors.Is(err, windows.ERROR_DIRECTORY)
}

// IsTransientRenameError reports whether a failed rename may succeed when
// tried again shortly: another process (Python, an indexer, an antivirus)
// has the target open without FILE_SHARE_DELETE.
func IsTransientRenameError(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}

// SyncDirs is false: FlushFileBuffers cannot be called on a folder opened
// for reading, and NTFS journals folder entries itself.
const SyncDirs = false

// HoldOpen is false: a folder with an open file inside cannot be renamed
// (experiment deletion moves it to .trash, gc moves a run out of the tree),
// so the store keeps no file open between calls.
const HoldOpen = false

// fileRenameInfo is FILE_RENAME_INFO with its flags form (FileRenameInfoEx).
type fileRenameInfo struct {
	Flags          uint32
	RootDirectory  windows.Handle
	FileNameLength uint32
	FileName       [1]uint16
}

// renameRetryFor bounds how long Rename retries a replace that another
// process's open handle refuses.
const renameRetryFor = 2 * time.Second

// Rename replaces newpath with oldpath atomically. It asks for POSIX
// semantics (FileRenameInfoEx with FILE_RENAME_FLAG_POSIX_SEMANTICS,
// Windows 10 1607 and later on NTFS), under which a replaced file may still
// be open elsewhere, as on Unix; where that is not available it falls back
// to MoveFileEx (os.Rename). A replace refused because another process has
// the target open without FILE_SHARE_DELETE (Python, an indexer, an
// antivirus) is retried for a short while.
func Rename(oldpath, newpath string) error {
	delay := time.Millisecond
	deadline := time.Now().Add(renameRetryFor)
	for {
		err := renamePosix(oldpath, newpath)
		if err != nil {
			err = os.Rename(oldpath, newpath)
		}
		if err == nil || !IsTransientRenameError(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

func renamePosix(oldpath, newpath string) error {
	abs, err := filepath.Abs(newpath)
	if err != nil {
		return err
	}
	name, err := windows.UTF16FromString(abs)
	if err != nil {
		return err
	}
	src, err := windows.UTF16PtrFromString(oldpath)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(src, windows.DELETE|windows.SYNCHRONIZE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	var info fileRenameInfo
	nameBytes := (len(name) - 1) * 2 // without the terminating NUL
	buf := make([]byte, int(unsafe.Offsetof(info.FileName))+nameBytes+2)
	ri := (*fileRenameInfo)(unsafe.Pointer(&buf[0]))
	ri.Flags = windows.FILE_RENAME_REPLACE_IF_EXISTS | windows.FILE_RENAME_POSIX_SEMANTICS
	ri.FileNameLength = uint32(nameBytes)
	copy(unsafe.Slice(&ri.FileName[0], len(name)), name)
	return windows.SetFileInformationByHandle(h, windows.FileRenameInfoEx, &buf[0], uint32(len(buf)))
}

// NameProblem says why name cannot be one element of a path on Windows, or
// "" when it can: Windows refuses control characters and <>:"/\|?*, and
// strips a trailing space or dot (so "a." would be the file "a").
func NameProblem(name string) string {
	for _, r := range name {
		if r < 32 || strings.ContainsRune(`<>:"/\|?*`, r) {
			return `Windows file names cannot hold control characters or any of <>:"/\|?*`
		}
	}
	if strings.HasSuffix(name, " ") || strings.HasSuffix(name, ".") && name != "." && name != ".." {
		return "Windows strips a trailing space or dot from file names"
	}
	return ""
}

// ONonBlock is 0: a path in the tree cannot name a pipe on Windows (pipes
// live under \\.\pipe\).
const ONonBlock = 0
