// Package sysfs is the one place the store talks to the operating system
// below package os: file state (stat signatures), locks between processes,
// the descriptor-relative readers of the search and read paths, and the
// errors whose meaning differs between systems. Everything above it
// (filestore, bench) is the same code on every platform.
//
// There are two implementations of the readers (Dir, File):
//
//   - Linux (the default there): raw descriptors, openat relative to a held
//     folder descriptor, getdents64 into a reused buffer, O_NOATIME while
//     the owner may ask for it, and fstatfs to recognise local file systems
//     on which a short read(2) is the end of a file and inode numbers and
//     nanosecond change times can be trusted (what the read cache of
//     filestore needs: Dir.Local).
//   - Portable (darwin, the BSDs, Windows, and Linux built with the tag
//     mlruns_portable, which CI runs the store's tests under): package os,
//     by path. Dir.Local is false, so files are read until end of file and
//     nothing is cached between searches.
//
// # What the store relies on, per system
//
// Appends. A metric line batch is one write on a descriptor opened with
// O_APPEND, under an exclusive lock of the file. Linux, macOS and the BSDs
// append atomically with respect to other appenders (the offset is moved and
// the data written as one step); on Windows, os.OpenFile's O_APPEND opens
// with FILE_APPEND_DATA only, which the system also appends at the end of the
// file whatever other writers do. Our readers take a shared lock for each
// read, so they never see half of a write still being copied in.
//
// Locks between processes. On Unix, flock(2) on the file (metric files) or
// on the folder (the root, a run folder): whole-file advisory locks, released
// when the descriptor closes (and so when a process dies). On Windows,
// LockFileEx, which is mandatory for the bytes it covers: a lock of the data
// would make a plain reader (Python's) fail in the middle of a read, so
// every lock covers one byte far past any real file size (LockOffset), which
// coordinates our processes and leaves the data readable. Windows cannot
// lock a folder, so LockDir takes that byte lock on a file at the root of the
// tree (RootLockFile, a regular file: Python lists only folders there), at an
// offset chosen by the folder's path. Locks are released when the handle
// closes or the process dies, as on Unix. NFS and SMB mounts give what their
// server gives; flock over NFSv4 is emulated with byte-range locks, which
// work between clients.
//
// Atomic replace. Every rewritten file is written to a temporary file and
// renamed over the old one (Rename): rename(2) on Unix; on Windows a rename
// with POSIX semantics (SetFileInformationByHandle, FileRenameInfoEx,
// Windows 10 1607 and later on NTFS), under which the replaced file may
// still be open elsewhere, as on Unix, falling back to MoveFileEx. A reader
// sees the old or the new bytes. MoveFileEx, and older systems, refuse to
// replace a file another handle has open; Rename retries that for a short
// while (IsTransientRenameError), which covers a Python reader or an
// indexer. Files this package opens are opened with FILE_SHARE_DELETE, and
// on Windows the store keeps no file open between calls (HoldOpen), since
// a folder with an open file inside cannot be renamed (experiment deletion
// and gc move folders).
//
// File identity. A signature (Stat) is device, inode, size, mtime, ctime,
// mode and link count: fstat(2) or stat(2) on Unix; on Windows the volume
// serial number, the 64-bit file index, LastWriteTime and ChangeTime of the
// handle (GetFileInformationByHandle, GetFileInformationByHandleEx). A
// rename gives a new identity, an in-place rewrite a new size or times, a
// removed or replaced file a link count of 0 (on Windows also a pending
// delete).
//
// Names. Windows keeps MLflow's Windows name rules (package validate refuses
// keys with characters or names Windows cannot hold), and O_NOFOLLOW does not
// exist there: ONoFollow is 0 and the confinement check of filestore (every
// folder below the root is a real folder, not a link) stands alone.
package sysfs
