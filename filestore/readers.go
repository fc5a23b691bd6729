package filestore

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/layout"
)

// Searching and reading whole runs is bound by syscalls, not by parsing:
// a run is dozens of files of a few hundred bytes. os.ReadFile spends six
// syscalls on each (openat, fstat, epoll_ctl, read, read, close) and
// os.Open plus an (*os.File).Fd per flock adds fcntls; the helpers below,
// over sysfs's Linux readers, spend three (openat, read, close), four with
// the shared flock of a metric file, and open names relative to a held
// folder descriptor. Elsewhere sysfs gives the same calls over package os.
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
	dents []byte // folder listing records (sysfs.Dir.ReadDir)
	// eof: a read shorter than asked is the end of the file. True of
	// regular files on the local file systems of sysfs.Dir.Local;
	// elsewhere (FUSE with direct_io, say) a read may come back short, so
	// read until the end.
	eof bool
	// op opens files, with O_NOATIME while it may (sysfs.Opener): under
	// relatime the first read of a file after a write dirties and journals
	// its inode to set the access time, which costs more than the read
	// (~8 µs instead of ~5 µs here); in a store with live runs that is every
	// metric file, every search.
	op sysfs.Opener
	// cache, when its c is set, serves decoded files and folder listings
	// of a search (readcache.go).
	cache cacheCtx
}

var fastReaders = sync.Pool{New: func() any {
	return &fastReader{buf: make([]byte, 4<<10), dents: make([]byte, 8<<10)}
}}

func getFastReader() *fastReader {
	r := fastReaders.Get().(*fastReader)
	r.op.NoAtime = true
	return r
}

func putFastReader(r *fastReader) {
	if cap(r.buf) > 1<<20 {
		r.buf = make([]byte, 4<<10) // one long history must not pin its size
	}
	r.cache = cacheCtx{}
	fastReaders.Put(r)
}

// openDir opens a folder for relative opens and listing. follow false
// refuses a symlink, as filepath.WalkDir does for its root.
func (r *fastReader) openDir(d sysfs.Dir, name string, follow bool) (sysfs.Dir, error) {
	return r.op.OpenDir(d, name, follow)
}

// readFile reads the file name relative to d (following symlinks, as
// os.ReadFile), under a shared lock when lock is set (see readlock.go;
// closing the file releases it). Errors are bare errnos on Linux.
func (r *fastReader) readFile(d sysfs.Dir, name string, lock bool) ([]byte, error) {
	return r.readFileStat(d, name, lock, nil)
}

// readFileStat is readFile that also fstats the open file into st (when
// not nil) after taking the lock and before reading: the state of the
// file at the latest when the contents were read.
func (r *fastReader) readFileStat(d sysfs.Dir, name string, lock bool, st *sysfs.Stat) ([]byte, error) {
	data, _, err := r.readFileHead(d, name, lock, st, 0)
	return data, err
}

// readFileHead is readFileStat reading at most about limit bytes (no
// limit when 0): for a longer file it returns what it read and the open
// file, lock held, positioned after it, for the caller to read on and
// close.
func (r *fastReader) readFileHead(d sysfs.Dir, name string, lock bool, st *sysfs.Stat, limit int) (data []byte, more *sysfs.File, err error) {
	f, err := r.op.OpenFile(d, name, false) // a symlink: the path readers decide (linkInside)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if more == nil {
			f.Close()
		}
	}()
	if lock {
		if err := f.Lock(sysfs.Shared); err != nil {
			return nil, nil, err
		}
	}
	if st != nil {
		if *st, err = f.Stat(); err != nil {
			return nil, nil, err
		}
		if !st.IsRegular() {
			return nil, nil, errNotRegular
		}
	}
	n := 0
	for {
		m, err := f.Read(r.buf[n:])
		if err == io.EOF {
			if n == 0 && st == nil { // empty, or a pipe without a writer (regular.go)
				if now, err := f.Stat(); err != nil || !now.IsRegular() {
					return nil, nil, errNotRegular
				}
			}
			return r.buf[:n], nil, nil
		}
		if err != nil {
			return nil, nil, err // EAGAIN: a pipe with a writer
		}
		n += m
		switch {
		case n < len(r.buf):
			if r.eof {
				return r.buf[:n], nil, nil
			}
		case limit > 0 && n >= limit:
			if now, err := f.Stat(); err != nil || !now.IsRegular() {
				return nil, nil, errNotRegular // streaming a device would never end
			}
			return r.buf[:n], &f, nil
		case limit == 0 && n >= maxSmallFile:
			return nil, nil, errNotRegular // too big to be read whole; the path readers say so
		default: // full: size the rest by the file, which may have grown
			size := 0
			now, err := f.Stat() // not st: that is the state before the read
			if err == nil && !now.IsRegular() {
				return nil, nil, errNotRegular // a device (a link to /dev/zero, say)
			}
			if err == nil {
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

// errNotRegular is what the fast readers give for what regular.go refuses:
// a file that is not a regular one, or one too large to read whole.
// Callers ask the path readers, which name it.
var errNotRegular = errors.New("filestore: not a regular file of a readable size")

// absent reports whether a failed read of name means "no such key": the
// file is missing, or the name is a folder (of longer keys: a/b makes a).
func absent(d sysfs.Dir, name string, err error) bool {
	if sysfs.IsNotExist(err) {
		return true
	}
	st, serr := d.StatAt(name, true)
	return serr == nil && st.IsDir()
}

// list returns the entries of the open folder d but "." and "..", in the
// order of the file system.
func (r *fastReader) list(d sysfs.Dir) ([]sysfs.Dirent, error) {
	return d.ReadDir(&r.dents)
}

// isDirEntry tells a folder from anything else without following a
// symlink, as an lstat; a listing may not say (sysfs.KindUnknown).
func isDirEntry(d sysfs.Dir, e sysfs.Dirent) (bool, error) {
	if e.Kind != sysfs.KindUnknown {
		return e.Kind == sysfs.KindDir, nil
	}
	st, err := d.StatAt(e.Name, false)
	if err != nil {
		return false, err
	}
	return st.IsDir(), nil
}

// walkKeys calls visit for every non-folder under the folder name (not
// followed if a symlink), with its key (path relative to that folder,
// joined with '/'), its open folder and its name there. A
// missing folder has no keys. ok is false when the walk could not be done
// the plain way or visit returned false. path is the folder's path, the
// key of its listings in r's cache.
func (r *fastReader) walkKeys(base sysfs.Dir, name, path string, visit func(key string, d sysfs.Dir, name string) bool) (ok bool) {
	d, err := r.openDir(base, name, false)
	if sysfs.IsNotExist(err) {
		return true
	}
	if err != nil {
		return false
	}
	defer d.Close()
	return r.walkOpen(d, "", path, visit)
}

func (r *fastReader) walkOpen(d sysfs.Dir, prefix, path string, visit func(key string, d sysfs.Dir, name string) bool) bool {
	ents, ok := r.cachedList(d, path+"/"+prefix)
	if !ok {
		return false
	}
	for _, e := range ents {
		if !e.dir {
			if !visit(prefix+e.name, d, e.name) {
				return false
			}
			continue
		}
		sub, err := r.openDir(d, e.name, false)
		if err != nil {
			return false
		}
		ok := r.walkOpen(sub, prefix+e.name+"/", path, visit)
		sub.Close()
		if !ok {
			return false
		}
	}
	return true
}

// latestMetrics is latestMetricsAt on a run folder rel that is its own
// path (base sysfs.CWD).
func (r *fastReader) latestMetrics(base sysfs.Dir, rel string, known map[string]entities.Metric) (map[string]entities.Metric, bool) {
	return r.latestMetricsAt(base, rel, rel, known)
}

// latestMetricsAt is readLatestMetrics on the metrics folder of the run
// folder rel (relative to base) whose path is dir; ok false means ask
// readLatestMetrics. The values of the keys in known are taken from there,
// not read again.
func (r *fastReader) latestMetricsAt(base sysfs.Dir, rel, dir string, known map[string]entities.Metric) (map[string]entities.Metric, bool) {
	out := map[string]entities.Metric{}
	path := dir + "/" + layout.MetricsDir
	ok := r.walkKeys(base, rel+"/"+layout.MetricsDir, path, func(key string, d sysfs.Dir, name string) bool {
		if m, ok := known[key]; ok {
			out[key] = m
			return true
		}
		e, _, err := r.cachedMetric(d, name, path+"/"+key, key)
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
func (r *fastReader) cachedMetric(d sysfs.Dir, name, cacheKey, key string) (e *cached, decodeErr, err error) {
	e, _, err = r.cachedRead(d, name, cacheKey, kindMetric, func(st *sysfs.Stat) (*cached, []byte, error) {
		data, more, err := r.readFileHead(d, name, true, st, streamMetricPast)
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
// sysfs.CWD).
func (r *fastReader) keyFiles(base sysfs.Dir, rel, sub string, known map[string]string) (map[string]string, bool) {
	return r.keyFilesAt(base, rel, rel, sub, known)
}

// keyFilesAt is readKeyFiles on the sub folder sub of the run folder rel
// whose path is dir; ok false means ask readKeyFiles. The values of the
// keys in known are taken from there, not read again.
func (r *fastReader) keyFilesAt(base sysfs.Dir, rel, dir, sub string, known map[string]string) (map[string]string, bool) {
	out := map[string]string{}
	path := dir + "/" + sub
	ok := r.walkKeys(base, rel+"/"+sub, path, func(key string, d sysfs.Dir, name string) bool {
		if layout.IsTempName(name) {
			return true
		}
		if v, ok := known[key]; ok {
			out[key] = v
			return true
		}
		e, _, err := r.cachedFile(d, name, path+"/"+key, kindString, false, stringEntry)
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
func (r *fastReader) eachMeta(base sysfs.Dir, rel, sub string, fn func(entry string, data []byte) bool) bool {
	d, err := r.openDir(base, rel+"/"+sub, true) // os.ReadDir follows
	if sysfs.IsNotExist(err) {
		return true
	}
	if err != nil {
		return false
	}
	defer d.Close()
	ents, err := r.list(d)
	if err != nil {
		return false
	}
	slices.SortFunc(ents, func(a, b sysfs.Dirent) int { return strings.Compare(a.Name, b.Name) })
	for _, e := range ents {
		data, err := r.readFile(d, e.Name+"/"+layout.MetaFile, false)
		if err != nil || !fn(e.Name, data) {
			return false
		}
	}
	return true
}

// readInputsAt is readInputs on the run folder rel (relative to base)
// whose path is dir.
func (s *Store) readInputsAt(r *fastReader, base sysfs.Dir, rel, dir string) (entities.RunInputs, error) {
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
			dd, err := r.readFile(sysfs.CWD, filepath.Join(dsRoot, meta.SourceID, layout.MetaFile), false)
			if sysfs.IsNotExist(err) {
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
func (s *Store) readOutputsAt(r *fastReader, base sysfs.Dir, rel, dir string) (entities.RunOutputs, error) {
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
// with base sysfs.CWD) whose path is dir. known, when not nil, holds values
// of some keys read a moment before (by a search's filter): a key still
// there keeps that value instead of being read again.
func (s *Store) readRunAt(r *fastReader, base sysfs.Dir, rel, dir string, info entities.RunInfo, known *entities.RunData) (entities.Run, error) {
	if known == nil {
		known = &entities.RunData{}
	}
	run := entities.Run{Info: info}
	var ok bool
	var err error
	if run.Data.Metrics, ok = r.latestMetricsAt(base, rel, dir, known.Metrics); !ok {
		if run.Data.Metrics, err = s.readLatestMetrics(dir, info.ExperimentID); err != nil {
			return run, err
		}
	}
	if run.Data.Params, ok = r.keyFilesAt(base, rel, dir, layout.ParamsDir, known.Params); !ok {
		if run.Data.Params, err = s.readKeyFiles(filepath.Join(dir, layout.ParamsDir)); err != nil {
			return run, err
		}
	}
	if run.Data.Tags, ok = r.keyFilesAt(base, rel, dir, layout.TagsDir, known.Tags); !ok {
		if run.Data.Tags, err = s.readKeyFiles(filepath.Join(dir, layout.TagsDir)); err != nil {
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
