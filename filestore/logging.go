package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/internal/vfs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/validate"
)

// activeRunDir finds a run and checks that it is active (logging to a
// deleted run is refused, as in MLflow). Every caller has checked runID
// with validate.RunID already (which keeps it a single path element); the
// hot path does not repeat it.
func (s *Store) activeRunDir(runID string) (string, entities.RunInfo, error) {
	dir, info, err := s.runForLogging(runID)
	if err != nil {
		return "", info, err
	}
	return dir, info, activeRun(info)
}

// checkRunCall is the opening check of a run write: the context is live
// and the run id valid (activeRunDir relies on the latter).
func checkRunCall(ctx context.Context, runID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return validate.RunID(runID)
}

// LogMetric appends one value to a run's metric. A metric with a ModelID
// is also appended to the logged model's metric file.
func (s *Store) LogMetric(ctx context.Context, runID string, m entities.Metric) error {
	if err := checkRunCall(ctx, runID); err != nil {
		return err
	}
	if err := validate.Metric(m); err != nil {
		return err
	}
	if m.ModelID == "" {
		return s.logOneMetric(runID, m)
	}
	return s.logValidated(ctx, runID, []entities.Metric{m}, nil, nil, false)
}

// lineBufs recycles the buffers single points are formatted into.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

// logOneMetric is LogMetric's path for a run metric (no model): the same
// checks and write as logValidated without its grouping and undo log,
// which a single append does not need (a failed append is undone in
// appendHeld). It allocates only the file path.
func (s *Store) logOneMetric(runID string, m entities.Metric) error {
	for {
		dir, info, viaFd, err := s.runForMetrics(runID)
		if err != nil {
			return err
		}
		if err := activeRun(info); err != nil {
			return err
		}
		if err := checkKey(m.Key); err != nil {
			return err
		}
		path := dir + string(filepath.Separator) + layout.MetricsDir + string(filepath.Separator) + filepath.FromSlash(m.Key)
		var verify func() error
		if viaFd {
			// dir is known through meta.yaml's descriptor only: check it
			// by path before a file is opened there
			verify = func() error { return s.verifyRunDir(runID, dir) }
		}
		bp := lineBufs.Get().(*[]byte)
		*bp = layout.AppendMetricLine((*bp)[:0], m)
		err = s.appendFileUndo(nil, path, *bp, verify)
		lineBufs.Put(bp)
		if errors.Is(err, errRunMoved) {
			s.runInfos.Delete(runID) // look the run up again by path
			continue
		}
		return err
	}
}

// LogParam logs a param. Params are immutable: logging another value for
// a key is ErrInvalidParameter; logging the same value again is a no-op.
func (s *Store) LogParam(ctx context.Context, runID, key, value string) error {
	if err := checkRunCall(ctx, runID); err != nil {
		return err
	}
	p, err := truncating(s, func(truncate bool) (entities.Param, error) {
		return validate.Param(entities.Param{Key: key, Value: value}, truncate)
	})
	if err != nil {
		return err
	}
	return s.logValidated(ctx, runID, nil, []entities.Param{p}, nil, false)
}

// SetTag sets a run tag; setting mlflow.runName also renames the run.
func (s *Store) SetTag(ctx context.Context, runID, key, value string) error {
	if err := checkRunCall(ctx, runID); err != nil {
		return err
	}
	if err := validate.TagName(key); err != nil {
		return err
	}
	if err := validate.UTF8("value", value); err != nil {
		return err
	}
	dir, _, err := s.activeRunDir(runID)
	if err != nil {
		return err
	}
	u := &undoLog{}
	if err := s.writeRunKeyFileUndo(u, dir, layout.TagsDir, key, value); err != nil {
		return u.rollback(err)
	}
	if key == entities.TagRunName {
		if err := s.renameRunMeta(ctx, u, dir, value); err != nil {
			return u.rollback(err)
		}
	}
	return nil
}

// renameRunMeta mirrors the mlflow.runName tag into meta run_name, as
// Python's update_run_info does (which also drops deleted_time).
func (s *Store) renameRunMeta(ctx context.Context, u *undoLog, dir, name string) error {
	return s.updateRunMetaUndo(ctx, u, dir, func(info *entities.RunInfo) error {
		if err := activeRun(*info); err != nil {
			return err
		}
		if name != "" { // MLflow's _copy_with_overrides ignores an empty name
			info.RunName = name
		}
		info.DeletedTime = nil
		return nil
	})
}

// DeleteTag removes a run tag; a missing tag is ErrNotFound.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	if err := checkRunCall(ctx, runID); err != nil {
		return err
	}
	dir, _, err := s.activeRunDir(runID)
	if err != nil {
		return err
	}
	if err := validate.TagName(key); err != nil {
		return err
	}
	return s.removeTagFile(dir, key, os.Stat, "delete tag",
		errs.New(errs.ErrNotFound, fmt.Sprintf("No tag with name: %s in run with id %s", key, runID)))
}

// removeTagFile removes the file of tag key under dir (a run's or a
// logged model's folder). stat must find a file there (os.Stat for a run,
// which follows a link, os.Lstat for a model), else the error is
// notFound; a failed removal is wrapped with what.
func (s *Store) removeTagFile(dir, key string, stat func(string) (fs.FileInfo, error), what string, notFound error) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := filepath.Join(dir, layout.TagsDir, filepath.FromSlash(key))
	if fi, err := stat(p); err != nil || fi.IsDir() {
		return notFound
	}
	if err := s.confine(filepath.Dir(p)); err != nil {
		return err
	}
	if err := s.fs.Remove(p); err != nil {
		return fmt.Errorf("filestore: %s: %w", what, err)
	}
	return nil
}

// LogBatch logs metrics, params and tags to an active run. Everything is
// validated first, and param conflicts are checked before anything is
// written, so a rejected batch writes nothing. Metric values of one key go
// to disk in one write.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	if err := checkRunCall(ctx, runID); err != nil {
		return err
	}
	type checked struct {
		params []entities.Param
		tags   []entities.RunTag
	}
	c, err := truncating(s, func(truncate bool) (checked, error) {
		ps, ts, err := validate.LogBatch(metrics, params, tags, truncate)
		return checked{ps, ts}, err
	})
	if err != nil {
		return err
	}
	params, tags = c.params, c.tags
	// Like FileStore.log_batch, failures past the run lookup are
	// INTERNAL_ERROR (their kind is kept for errors.Is).
	return s.logValidated(ctx, runID, metrics, params, tags, true)
}

// logValidated writes validated metrics, params and tags to an active run.
// internal marks write failures INTERNAL_ERROR (log_batch's code).
func (s *Store) logValidated(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag, internal bool) error {
	dir, info, err := s.activeRunDir(runID)
	if err != nil {
		return err
	}
	err = s.writeBatch(ctx, dir, info, metrics, params, tags)
	if internal {
		return errs.Internal(err)
	}
	return err
}

func checkMetricKeys(metrics []entities.Metric) error {
	okKey := ""
	for _, m := range metrics {
		if m.Key != okKey || okKey == "" {
			if err := checkKey(m.Key); err != nil {
				return err
			}
			okKey = m.Key
		}
		if m.ModelID != "" {
			if err := checkID("model_id", m.ModelID); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeBatch writes to the run in dir: params (after checking them all),
// then metrics, then tags. On an I/O error (a failing or full disk)
// everything it wrote is undone. A key that collides with another key's
// folder ("a" vs "a/b": ENOTDIR, EISDIR, EEXIST) fails where Python's
// log_batch fails too, and what was written before it stays, as in Python
// (the differential test pins this).
func (s *Store) writeBatch(ctx context.Context, dir string, info entities.RunInfo, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	u := &undoLog{}
	if err := s.writeBatchUndo(ctx, u, dir, info, metrics, params, tags); err != nil {
		if isKeyCollision(err) {
			return err
		}
		return u.rollback(err)
	}
	return nil
}

func isKeyCollision(err error) bool {
	return sysfs.IsNameConflict(err)
}

func (s *Store) writeBatchUndo(ctx context.Context, u *undoLog, dir string, info entities.RunInfo, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	if err := checkMetricKeys(metrics); err != nil {
		return err
	}
	if len(params) > 0 {
		if err := s.logParams(ctx, u, dir, info.RunID, params); err != nil {
			return err
		}
	}
	if len(metrics) > 0 {
		if err := s.appendMetrics(u, dir, info, metrics); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if t.Key == entities.TagRunName {
			if err := s.renameRunMeta(ctx, u, dir, t.Value); err != nil {
				return err
			}
		}
		if err := s.writeRunKeyFileUndo(u, dir, layout.TagsDir, t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

// logParams checks every param against what is on disk, then writes them,
// holding the run lock so two Go writers cannot both "win" a key.
func (s *Store) logParams(ctx context.Context, u *undoLog, dir, runID string, params []entities.Param) error {
	return s.withDirLock(ctx, dir, func() error {
		for i, p := range params {
			if err := checkKey(p.Key); err != nil {
				return err
			}
			old, err := s.readInside(filepath.Join(dir, layout.ParamsDir, filepath.FromSlash(p.Key)), nil)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if isKeyCollision(err) {
				// Python checks and writes param by param, so the params
				// before a key that collides with a folder or file ("a"
				// vs "a/b") are written when it fails; so are ours.
				for _, q := range params[:i] {
					if werr := s.writeRunKeyFileUndo(u, dir, layout.ParamsDir, q.Key, q.Value); werr != nil {
						return werr
					}
				}
				return fmt.Errorf("filestore: read param: %w", err)
			}
			if err != nil {
				return fmt.Errorf("filestore: read param: %w", err)
			}
			// Python compares what open() reads: universal newlines.
			cur := universalNewlines(string(old))
			if cur != p.Value {
				return errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
					"Changing param values is not allowed. Param with key='%s' was already"+
						" logged with value='%s' for run ID='%s'. Attempted logging"+
						" new value '%s'.", p.Key, cur, runID, p.Value))
			}
		}
		for _, p := range params {
			if err := s.writeRunKeyFileUndo(u, dir, layout.ParamsDir, p.Key, p.Value); err != nil {
				return err
			}
		}
		return nil
	})
}

func universalNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// writeRunKeyFile replaces <run>/<sub>/<key> with value. The temporary file
// sits in the run folder itself, where Python never looks for keys.
func (s *Store) writeRunKeyFile(runDir, sub, key, value string) error {
	return s.writeRunKeyFileUndo(nil, runDir, sub, key, value)
}

func (s *Store) writeRunKeyFileUndo(u *undoLog, runDir, sub, key, value string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := filepath.Join(runDir, sub, filepath.FromSlash(key))
	if err := s.mkdirs(filepath.Dir(p)); err != nil {
		return err
	}
	return s.replace(u, runDir, p, []byte(value))
}

// appendMetrics appends the metrics grouped by key, one write per key, in
// the order the keys first appear; model metrics also go to the model.
func (s *Store) appendMetrics(u *undoLog, runDir string, info entities.RunInfo, metrics []entities.Metric) error {
	type group struct {
		path string
		buf  []byte
	}
	var groups []group
	index := map[string]int{} // run metric key, or NUL model id NUL key
	last, lastIdx := "", -1   // batches are mostly runs of one key
	sep := string(filepath.Separator)
	for i := range metrics {
		m := &metrics[i]
		g := lastIdx
		if g < 0 || m.Key != last {
			var ok bool
			if g, ok = index[m.Key]; !ok {
				g = len(groups)
				index[m.Key] = g
				var buf []byte
				if len(groups) == 0 {
					buf = make([]byte, 0, 28*len(metrics)) // typical line length: one key grows no further
				}
				groups = append(groups, group{path: runDir + sep + layout.MetricsDir + sep + filepath.FromSlash(m.Key), buf: buf})
			}
			last, lastIdx = m.Key, g
		}
		groups[g].buf = layout.AppendMetricLine(groups[g].buf, *m)
		if m.ModelID != "" {
			mk := "\x00" + m.ModelID + "\x00" + m.Key
			mg, ok := index[mk]
			if !ok {
				mg = len(groups)
				index[mk] = mg
				modelDir := filepath.Join(filepath.Dir(runDir), layout.ModelsDir, m.ModelID)
				groups = append(groups, group{path: filepath.Join(modelDir, layout.MetricsDir, filepath.FromSlash(m.Key))})
			}
			groups[mg].buf = layout.AppendModelMetricLine(groups[mg].buf, *m, info.RunID)
		}
	}
	for _, g := range groups {
		if err := s.appendFileUndo(u, g.path, g.buf, nil); err != nil {
			return err
		}
	}
	return nil
}

// appendFileUndo appends data to path in one write(2) on a held O_APPEND
// descriptor (heldfiles.go) while holding an exclusive flock on it, so
// lines from concurrent Go writers never interleave, and records in u how
// to take the append back. It never leaves part of data behind: if the
// write (or, when durable, the sync) fails or is short, the file is
// truncated back to its size before the write, still under the lock, and a
// file that was empty is removed (an empty metric file breaks Python's
// reader). The last path component is never followed if it is a symlink.
//
// verify, when set, is called before the file is opened by path (no
// descriptor held, or the held one lost its name); its error is returned
// with nothing written.
func (s *Store) appendFileUndo(u *undoLog, path string, data []byte, verify func() error) error {
	for attempt := 0; ; attempt++ {
		hf, err := s.holdForAppend(path, verify)
		if err != nil {
			return err
		}
		retry, err := s.appendHeld(u, hf, data)
		if cerr := s.held.release(hf); cerr != nil && err == nil && !retry {
			// the file was not held (Windows), or was let go meanwhile: its
			// close is part of the append
			err = fmt.Errorf("filestore: close %s: %w", path, cerr)
		}
		if !retry {
			return err
		}
		if attempt == 100 {
			return fmt.Errorf("filestore: open %s: file keeps being replaced", path)
		}
	}
}

// holdForAppend returns the held descriptor of path, opening (and
// creating) the file when none is held. Folders are made and confined
// only then: later appends write through the descriptor.
func (s *Store) holdForAppend(path string, verify func() error) (*heldFile, error) {
	if hf := s.held.acquire(path); hf != nil {
		return hf, nil
	}
	if verify != nil {
		if err := verify(); err != nil {
			return nil, err
		}
	}
	if err := s.mkdirs(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := notRegularAt(path); err != nil {
		return nil, err
	}
	f, err := s.fs.OpenFile(path, os.O_WRONLY|os.O_APPEND|sysfs.ONoFollow|sysfs.ONonBlock|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s: %w", path, err)
	}
	return s.held.add(path, f), nil
}

// appendHeld appends data through hf under its flock. retry is true when
// the file lost its name (removed, or replaced by a rename) since it was
// opened: hf is dropped and the caller opens the path again.
func (s *Store) appendHeld(u *undoLog, hf *heldFile, data []byte) (retry bool, err error) {
	hf.mu.Lock()
	defer hf.mu.Unlock()
	f, path := hf.f, hf.path
	fd := f.Fd()
	if err = sysfs.Lock(fd, sysfs.Exclusive); err != nil {
		s.held.drop(hf)
		return false, fmt.Errorf("filestore: lock %s: %w", path, err)
	}
	defer sysfs.Unlock(fd)
	sig, linked, err := fstatSig(f)
	if err != nil {
		s.held.drop(hf)
		s.removeIfEmptyLocked(f, path)
		return false, fmt.Errorf("filestore: stat %s: %w", path, err)
	}
	if !linked {
		s.held.drop(hf)
		return true, nil
	}
	if !sig.Mode.IsRegular() { // swapped in after notRegularAt looked
		s.held.drop(hf)
		return false, &NotRegularError{Path: path, Mode: sig.Mode}
	}
	size := sig.Size
	n, err := f.Write(data)
	if err == nil && n < len(data) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(data))
	}
	if err == nil && s.durable {
		err = f.Sync()
	}
	if err != nil {
		if size == 0 {
			s.held.drop(hf) // undo removes the file
		}
		return false, s.undoAppendLocked(f, path, size, fmt.Errorf("filestore: append %s: %w", path, err))
	}
	end := size + int64(len(data))
	u.add(func() error { return s.truncateAppend(path, size, end) })
	if s.durable && size == 0 {
		// A new file: its folder entry must be durable too.
		return false, s.syncDir(filepath.Dir(path))
	}
	return false, nil
}

// Close releases the metric files the store holds open for appending.
// The store stays usable; later appends open files again.
func (s *Store) Close() error {
	return s.held.closeAll()
}

// openAndLock opens path for appending and takes its flock, making sure the
// locked descriptor is still the file at path (a failed first append may
// have removed it meanwhile). It returns the size under the lock.
func (s *Store) openAndLock(path string, create int) (vfs.File, int64, error) {
	for attempt := 0; ; attempt++ {
		if err := notRegularAt(path); err != nil {
			return nil, 0, err
		}
		f, err := s.fs.OpenFile(path, os.O_WRONLY|os.O_APPEND|sysfs.ONoFollow|sysfs.ONonBlock|create, 0o666)
		if err != nil {
			return nil, 0, fmt.Errorf("filestore: open %s: %w", path, err)
		}
		if err = sysfs.Lock(f.Fd(), sysfs.Exclusive); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("filestore: lock %s: %w", path, err)
		}
		fi, err := f.Stat()
		if err != nil {
			s.dropEmptyLocked(f, path)
			return nil, 0, fmt.Errorf("filestore: stat %s: %w", path, err)
		}
		if !fi.Mode().IsRegular() {
			f.Close()
			return nil, 0, &NotRegularError{Path: path, Mode: fi.Mode()}
		}
		pi, err := s.fs.Lstat(path)
		if err == nil && os.SameFile(fi, pi) {
			return f, fi.Size(), nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.dropEmptyLocked(f, path)
			return nil, 0, fmt.Errorf("filestore: stat %s: %w", path, err)
		}
		f.Close()
		if attempt == 100 {
			return nil, 0, fmt.Errorf("filestore: open %s: file keeps being replaced", path)
		}
	}
}

// removeIfEmptyLocked removes path if it is f (whose flock is held) and
// empty: an empty metric file breaks Python's reader.
// Requires: f's flock held.
func (s *Store) removeIfEmptyLocked(f vfs.File, path string) {
	st, err := sysfs.FileStat(f.Fd())
	if err != nil || st.Size != 0 {
		return
	}
	if ps, err := sysfs.PathLstat(path); err == nil && sysfs.SameFile(&ps, &st) {
		s.fs.Remove(path)
	}
}

// dropEmptyLocked closes f, whose flock is held, after an error; if the
// file at path is f and empty (we may just have created it), it is
// removed first: an empty metric file breaks Python's reader.
// Requires: f's flock held.
func (s *Store) dropEmptyLocked(f vfs.File, path string) {
	defer f.Close()
	s.removeIfEmptyLocked(f, path)
}

// undoAppendLocked puts a file whose flock f holds back to size, removing
// it if size is 0, and returns cause (joined with any failure to undo).
// Requires: f's flock held.
func (s *Store) undoAppendLocked(f vfs.File, path string, size int64, cause error) error {
	if size > 0 {
		if st, err := sysfs.FileStat(f.Fd()); err == nil && st.Size == size {
			return cause // the write left nothing (a full disk, a read-only one): nothing to undo
		}
	}
	var uerr error
	if size == 0 {
		uerr = s.fs.Remove(path)
	} else {
		uerr = f.Truncate(size)
	}
	if uerr != nil {
		if cause == nil {
			return uerr
		}
		return fmt.Errorf("%w (and truncating it back failed: %w)", cause, uerr)
	}
	return cause
}

// truncateAppend undoes an earlier successful append of bytes [size, end):
// only if nothing was appended after it, since another writer's lines must
// not be lost.
func (s *Store) truncateAppend(path string, size, end int64) error {
	f, cur, err := s.openAndLock(path, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if cur != end {
		return fmt.Errorf("filestore: cannot undo append to %s: it was appended to since", path)
	}
	return s.undoAppendLocked(f, path, size, nil)
}

// GetMetricHistory returns every value logged for a metric, in file order.
// A metric never logged gives an empty history.
func (s *Store) GetMetricHistory(ctx context.Context, runID, key string) ([]entities.Metric, error) {
	p, err := s.metricFile(runID, key)
	if err != nil {
		return nil, err
	}
	data, err := readMetricFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return []entities.Metric{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("filestore: read metric: %w", err)
	}
	hist, err := layout.DecodeMetricHistory(key, data)
	if err != nil {
		return nil, withMetricPath(err, p)
	}
	return hist, nil
}

// GetMetricHistoryColumns is GetMetricHistory into columns
// (entities.MetricColumns): the same checks, points and errors, in a
// fifth of the memory, which the garbage collector need not scan.
func (s *Store) GetMetricHistoryColumns(ctx context.Context, runID, key string) (entities.MetricColumns, error) {
	p, err := s.metricFile(runID, key)
	if err != nil {
		return entities.MetricColumns{}, err
	}
	data, err := readMetricFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return entities.MetricColumns{Key: key}, nil
	}
	if err != nil {
		return entities.MetricColumns{}, fmt.Errorf("filestore: read metric: %w", err)
	}
	cols, err := layout.DecodeMetricColumns(key, data)
	if err != nil {
		return entities.MetricColumns{}, withMetricPath(err, p)
	}
	return cols, nil
}

func withMetricPath(err error, path string) error {
	var ce *layout.CorruptionError
	if errors.As(err, &ce) && ce.Path == "" {
		cp := *ce
		cp.Path = path
		return &cp
	}
	return err
}

// readLatestMetrics reads the latest value of every metric of a run.
func (s *Store) readLatestMetrics(runDir, expID string) (map[string]entities.Metric, error) {
	root := filepath.Join(runDir, layout.MetricsDir)
	out := map[string]entities.Metric{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if err := s.linkInside(p, d); err != nil {
			return err
		}
		data, err := readMetricFile(p)
		if err != nil {
			return err
		}
		hist, err := layout.DecodeMetricHistory(key, data)
		if err != nil {
			return withMetricPath(err, p)
		}
		if m, ok := entities.LatestMetric(hist); ok {
			out[key] = m
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
