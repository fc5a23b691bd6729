package filestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/layout"
)

// Searching and reading whole runs is bound by syscalls, not by parsing:
// a run is dozens of files of a few hundred bytes. os.ReadFile spends six
// syscalls on each (openat, fstat, epoll_ctl, read, read, close) and
// os.Open plus an (*os.File).Fd per flock adds fcntls; the helpers below
// spend three (openat, read, close), four with the shared flock of a
// metric file, and open names relative to a held folder descriptor.
//
// They take the fast way only through the plain shape of a run folder.
// Anything else (a sub-folder that is a symlink or a file, an entry that
// cannot be read or decoded) makes them report !ok, and the caller asks
// the path-based reader (readLatestMetrics, readKeyFiles, readInputs,
// readOutputs), whose answer and error stay the reference. Like those,
// they follow a symlinked file and never descend into a symlinked folder.

// fastReader holds the buffers of one goroutine's reads. A slice returned
// by readFile is valid until its next call.
type fastReader struct {
	buf   []byte // file contents
	dents []byte // getdents records
	// eof: a read(2) shorter than asked is the end of the file. True of
	// regular files on the local file systems of localFS; elsewhere (FUSE
	// with direct_io, say) a read may come back short, so read until 0.
	eof bool
	// noatime: open with O_NOATIME. Under relatime the first read of a file
	// after a write dirties and journals its inode to set the access time,
	// which costs more than the read (~8 µs instead of ~5 µs here); in a
	// store with live runs that is every metric file, every search. Only
	// the owner (or CAP_FOWNER) may ask: on EPERM the reader stops asking.
	noatime bool
	// cache, when its c is set, serves decoded files and folder listings
	// of a search (readcache.go).
	cache cacheCtx
}

var fastReaders = sync.Pool{New: func() any {
	return &fastReader{buf: make([]byte, 4<<10), dents: make([]byte, 8<<10)}
}}

func getFastReader() *fastReader {
	r := fastReaders.Get().(*fastReader)
	r.noatime = true
	return r
}

func putFastReader(r *fastReader) {
	if cap(r.buf) > 1<<20 {
		r.buf = make([]byte, 4<<10) // one long history must not pin its size
	}
	r.cache = cacheCtx{}
	fastReaders.Put(r)
}

// localFS reports whether the folder open at fd is on a file system whose
// regular files read(2) returns short only at the end of the file.
func localFS(fd int) bool {
	var st unix.Statfs_t
	for {
		err := unix.Fstatfs(fd, &st)
		if err == nil {
			return localMagic(uint32(st.Type))
		}
		if err != unix.EINTR {
			return false
		}
	}
}

// statfsLocal is localFS for a path.
func statfsLocal(path string) bool {
	var st unix.Statfs_t
	for {
		err := unix.Statfs(path, &st)
		if err == nil {
			return localMagic(uint32(st.Type))
		}
		if err != unix.EINTR {
			return false
		}
	}
}

func localMagic(typ uint32) bool {
	switch typ {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC, unix.F2FS_SUPER_MAGIC, unix.RAMFS_MAGIC,
		0x2fc12fc1, // zfs
		0xca451a4e: // bcachefs
		return true
	}
	return false
}

func openatRetry(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func readRetry(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// open is openatRetry asking for O_NOATIME while it may.
func (r *fastReader) open(dirfd int, name string, flags int) (int, error) {
	if r.noatime {
		fd, err := openatRetry(dirfd, name, flags|unix.O_NOATIME)
		if err != unix.EPERM {
			return fd, err
		}
		r.noatime = false
	}
	return openatRetry(dirfd, name, flags)
}

// openDir opens a folder for relative opens and listing. follow false
// refuses a symlink (ELOOP), as filepath.WalkDir does for its root.
func (r *fastReader) openDir(dirfd int, name string, follow bool) (int, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	return r.open(dirfd, name, flags)
}

// readFile reads the file name relative to dirfd (following symlinks, as
// os.ReadFile), under a shared flock when lock is set (see readlock.go;
// closing the descriptor releases it). Errors are bare errnos.
func (r *fastReader) readFile(dirfd int, name string, lock bool) ([]byte, error) {
	return r.readFileStat(dirfd, name, lock, nil)
}

// readFileStat is readFile that also fstats the open file into st (when
// not nil) after taking the lock and before reading: the state of the
// file at the latest when the contents were read.
func (r *fastReader) readFileStat(dirfd int, name string, lock bool, st *unix.Stat_t) ([]byte, error) {
	data, _, err := r.readFileHead(dirfd, name, lock, st, 0)
	return data, err
}

// readFileHead is readFileStat reading at most about limit bytes (no
// limit when 0): for a longer file it returns what it read and the open
// file, lock held, positioned after it, for the caller to read on and
// close.
func (r *fastReader) readFileHead(dirfd int, name string, lock bool, st *unix.Stat_t, limit int) (data []byte, more *fdReader, err error) {
	fd, err := r.open(dirfd, name, unix.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if more == nil {
			unix.Close(fd)
		}
	}()
	if lock {
		if err := flockRetry(fd, unix.LOCK_SH); err != nil {
			return nil, nil, err
		}
	}
	if st != nil {
		if err := fstatRetry(fd, st); err != nil {
			return nil, nil, err
		}
	}
	n := 0
	for {
		m, err := readRetry(fd, r.buf[n:])
		if err != nil {
			return nil, nil, err
		}
		n += m
		switch {
		case m == 0:
			return r.buf[:n], nil, nil
		case n < len(r.buf):
			if r.eof {
				return r.buf[:n], nil, nil
			}
		case limit > 0 && n >= limit:
			return r.buf[:n], &fdReader{fd}, nil
		default: // full: size the rest by the file, which may have grown
			size := 0
			var now unix.Stat_t // not st: that is the state before the read
			if unix.Fstat(fd, &now) == nil {
				size = int(now.Size)
			}
			want := max(size-n, n) + 512
			if limit > 0 {
				want = min(want, limit-n)
			}
			r.buf = slices.Grow(r.buf[:n], want)
			r.buf = r.buf[:cap(r.buf)]
		}
	}
}

// fdReader reads on from a descriptor readFileHead left open (a short
// read is not taken for the end: only 0 is) and closes it.
type fdReader struct{ fd int }

func (f *fdReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := readRetry(f.fd, p)
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (f *fdReader) Close() error { return unix.Close(f.fd) }

// absent reports whether a failed read of name means "no such key": the
// file is missing, or the name is a folder (of longer keys: a/b makes a).
func absent(dirfd int, name string, err error) bool {
	if err == unix.ENOENT {
		return true
	}
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, 0) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// dirent is one entry of a folder listing; typ is a DT_* value.
type dirent struct {
	name string
	typ  uint8
}

// list returns the entries of the open folder fd but "." and "..", in
// the order of the file system.
func (r *fastReader) list(fd int) ([]dirent, error) {
	var out []dirent
	for {
		n, err := unix.Getdents(fd, r.dents)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EINVAL && len(r.dents) < 1<<20 { // one name longer than the buffer
			r.dents = make([]byte, 2*len(r.dents))
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return out, nil
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
		for b := r.dents[:n]; len(b) >= 19; {
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
			out = append(out, dirent{string(name), typ})
		}
	}
}

// isDirEntry tells a folder from anything else without following a
// symlink, as an lstat; d_type is DT_UNKNOWN on some file systems.
func isDirEntry(dirfd int, e dirent) (bool, error) {
	if e.typ != unix.DT_UNKNOWN {
		return e.typ == unix.DT_DIR, nil
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, e.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// walkKeys calls visit for every non-folder under the folder name (not
// followed if a symlink), with its key (path relative to that folder,
// joined with '/'), the descriptor of its folder and its name there. A
// missing folder has no keys. ok is false when the walk could not be done
// the plain way or visit returned false. path is the folder's path, the
// key of its listings in r's cache.
func (r *fastReader) walkKeys(dirfd int, name, path string, visit func(key string, dirfd int, name string) bool) (ok bool) {
	fd, err := r.openDir(dirfd, name, false)
	if err == unix.ENOENT {
		return true
	}
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return r.walkOpen(fd, "", path, visit)
}

func (r *fastReader) walkOpen(fd int, prefix, path string, visit func(key string, dirfd int, name string) bool) bool {
	ents, ok := r.cachedList(fd, path+"/"+prefix)
	if !ok {
		return false
	}
	for _, e := range ents {
		if !e.dir {
			if !visit(prefix+e.name, fd, e.name) {
				return false
			}
			continue
		}
		sub, err := r.openDir(fd, e.name, false)
		if err != nil {
			return false
		}
		ok := r.walkOpen(sub, prefix+e.name+"/", path, visit)
		unix.Close(sub)
		if !ok {
			return false
		}
	}
	return true
}

// latestMetrics is latestMetricsAt on a run folder rel that is its own
// path (base AT_FDCWD).
func (r *fastReader) latestMetrics(base int, rel string, known map[string]entities.Metric) (map[string]entities.Metric, bool) {
	return r.latestMetricsAt(base, rel, rel, known)
}

// latestMetricsAt is readLatestMetrics on the metrics folder of the run
// folder rel (relative to base) whose path is dir; ok false means ask
// readLatestMetrics. The values of the keys in known are taken from there,
// not read again.
func (r *fastReader) latestMetricsAt(base int, rel, dir string, known map[string]entities.Metric) (map[string]entities.Metric, bool) {
	out := map[string]entities.Metric{}
	path := dir + "/" + layout.MetricsDir
	ok := r.walkKeys(base, rel+"/"+layout.MetricsDir, path, func(key string, dirfd int, name string) bool {
		if m, ok := known[key]; ok {
			out[key] = m
			return true
		}
		e, _, err := r.cachedMetric(dirfd, name, path+"/"+key, key)
		if err != nil || e == nil {
			return false // on a decode error the reference reader reports it
		}
		if e.metric != nil {
			out[key] = *e.metric
		}
		return true
	})
	return out, ok
}

// streamMetricPast is the size from which a metric file's latest value
// is decoded as the file is read, through the scanner's fixed buffer,
// rather than from the whole file in memory: a 1M-point history is ~40 MB
// that a search or GetRun would otherwise hold for one value.
const streamMetricPast = 256 << 10

// cachedMetric is cachedFile for a metric file's latest value (by MLflow's
// rule, without building the history): an empty file has none (no history,
// no latest value), a file past streamMetricPast is decoded as it is read.
// e is nil when the file does not decode (DecodeLatestMetric accepts
// exactly the files DecodeMetricHistory does and agrees on the latest
// value, fuzz/metric_fuzz_test.go), and decodeErr says why.
func (r *fastReader) cachedMetric(dirfd int, name, cacheKey, key string) (e *cached, decodeErr, err error) {
	e, _, err = r.cachedRead(dirfd, name, cacheKey, kindMetric, func(st *unix.Stat_t) (*cached, []byte, error) {
		data, more, err := r.readFileHead(dirfd, name, true, st, streamMetricPast)
		if err != nil {
			return nil, nil, err
		}
		var m entities.Metric
		if more == nil {
			if len(data) == 0 {
				return &cached{}, data, nil
			}
			m, decodeErr = layout.DecodeLatestMetric(key, data)
		} else {
			m, decodeErr = layout.ScanLatestMetric(io.MultiReader(bytes.NewReader(data), more), key)
			cerr := more.Close()
			var ce *layout.CorruptionError
			if decodeErr != nil && !errors.As(decodeErr, &ce) {
				return nil, nil, decodeErr // the read failed
			}
			if decodeErr == nil && cerr != nil {
				return nil, nil, cerr
			}
		}
		if decodeErr != nil {
			return nil, data, nil
		}
		return &cached{metric: &m}, data, nil
	})
	return e, decodeErr, err
}

func stringEntry(data []byte) *cached { return &cached{str: string(data)} }

// keyFiles is keyFilesAt on a run folder rel that is its own path (base
// AT_FDCWD).
func (r *fastReader) keyFiles(base int, rel, sub string, known map[string]string) (map[string]string, bool) {
	return r.keyFilesAt(base, rel, rel, sub, known)
}

// keyFilesAt is readKeyFiles on the sub folder sub of the run folder rel
// whose path is dir; ok false means ask readKeyFiles. The values of the
// keys in known are taken from there, not read again.
func (r *fastReader) keyFilesAt(base int, rel, dir, sub string, known map[string]string) (map[string]string, bool) {
	out := map[string]string{}
	path := dir + "/" + sub
	ok := r.walkKeys(base, rel+"/"+sub, path, func(key string, dirfd int, name string) bool {
		if layout.IsTempName(name) {
			return true
		}
		if v, ok := known[key]; ok {
			out[key] = v
			return true
		}
		e, _, err := r.cachedFile(dirfd, name, path+"/"+key, kindString, false, stringEntry)
		if err != nil {
			return false
		}
		out[key] = e.str
		return true
	})
	return out, ok
}

// eachMeta is eachMeta (inputs.go) on the sub folder sub of the run folder
// rel: fn gets <sub>/<entry>/meta.yaml of every entry in name order. ok
// false (fn's too) means ask the path-based reader.
func (r *fastReader) eachMeta(base int, rel, sub string, fn func(entry string, data []byte) bool) bool {
	fd, err := r.openDir(base, rel+"/"+sub, true) // os.ReadDir follows
	if err == unix.ENOENT {
		return true
	}
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	ents, err := r.list(fd)
	if err != nil {
		return false
	}
	slices.SortFunc(ents, func(a, b dirent) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	for _, e := range ents {
		data, err := r.readFile(fd, e.name+"/"+layout.MetaFile, false)
		if err != nil || !fn(e.name, data) {
			return false
		}
	}
	return true
}

// readInputsAt is readInputs on the run folder rel (relative to base)
// whose path is dir.
func (s *Store) readInputsAt(r *fastReader, base int, rel, dir string) (entities.RunInputs, error) {
	var in entities.RunInputs
	var missing []string // warned once the fast way is known to hold
	dsRoot := filepath.Join(filepath.Dir(dir), layout.DatasetsDir)
	ok := r.eachMeta(base, rel, layout.InputsDir, func(_ string, data []byte) bool {
		meta, err := layout.DecodeInputMeta(data)
		if err != nil {
			return false
		}
		switch meta.SourceType {
		case layout.VertexDataset:
			dd, err := r.readFile(unix.AT_FDCWD, filepath.Join(dsRoot, meta.SourceID, layout.MetaFile), false)
			if err == unix.ENOENT {
				missing = append(missing, meta.SourceID)
				return true
			}
			if err != nil {
				return false
			}
			ds, err := layout.DecodeDatasetMeta(dd)
			if err != nil {
				return false
			}
			in.DatasetInputs = append(in.DatasetInputs, entities.DatasetInput{Dataset: ds, Tags: meta.Tags})
		case layout.VertexModel:
			in.ModelInputs = append(in.ModelInputs, entities.ModelInput{ModelID: meta.SourceID})
		}
		return true
	})
	if !ok {
		return s.readInputs(dir)
	}
	for _, id := range missing {
		s.log.Warn("mlruns: dataset of a run input is missing; skipping", "dataset", id, "run", filepath.Base(dir))
	}
	return in, nil
}

// readOutputsAt is readOutputs on the run folder rel (relative to base)
// whose path is dir.
func (s *Store) readOutputsAt(r *fastReader, base int, rel, dir string) (entities.RunOutputs, error) {
	var out entities.RunOutputs
	ok := r.eachMeta(base, rel, layout.OutputsDir, func(_ string, data []byte) bool {
		o, err := layout.DecodeOutputMeta(data)
		if err != nil {
			return false
		}
		out.ModelOutputs = append(out.ModelOutputs, o)
		return true
	})
	if !ok {
		return s.readOutputs(dir)
	}
	return out, nil
}

// readRunAt is readRun on the run folder rel (relative to base, or a path
// with base AT_FDCWD) whose path is dir. known, when not nil, holds values
// of some keys read a moment before (by a search's filter): a key still
// there keeps that value instead of being read again.
func (s *Store) readRunAt(r *fastReader, base int, rel, dir string, info entities.RunInfo, known *entities.RunData) (entities.Run, error) {
	if known == nil {
		known = &entities.RunData{}
	}
	run := entities.Run{Info: info}
	var ok bool
	var err error
	if run.Data.Metrics, ok = r.latestMetricsAt(base, rel, dir, known.Metrics); !ok {
		if run.Data.Metrics, err = readLatestMetrics(dir, info.ExperimentID); err != nil {
			return run, err
		}
	}
	if run.Data.Params, ok = r.keyFilesAt(base, rel, dir, layout.ParamsDir, known.Params); !ok {
		if run.Data.Params, err = readKeyFiles(filepath.Join(dir, layout.ParamsDir)); err != nil {
			return run, err
		}
	}
	if run.Data.Tags, ok = r.keyFilesAt(base, rel, dir, layout.TagsDir, known.Tags); !ok {
		if run.Data.Tags, err = readKeyFiles(filepath.Join(dir, layout.TagsDir)); err != nil {
			return run, err
		}
	}
	if run.Info.RunName == "" {
		run.Info.RunName = run.Data.Tags[entities.TagRunName]
	}
	if run.Inputs, err = s.readInputsAt(r, base, rel, dir); err != nil {
		return run, err
	}
	if run.Outputs, err = s.readOutputsAt(r, base, rel, dir); err != nil {
		return run, err
	}
	return run, nil
}

// readErr is the error of a failed read of path, as os.ReadFile gives it.
func readErr(path string, err error) error {
	return &fs.PathError{Op: "read", Path: path, Err: err}
}
