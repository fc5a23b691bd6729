package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
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

// LogMetric appends one value to a run's metric. A metric with a ModelID
// is also appended to the logged model's metric file.
func (s *Store) LogMetric(runID string, m entities.Metric) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	if err := validate.Metric(m); err != nil {
		return err
	}
	return s.logValidated(context.Background(), runID, []entities.Metric{m}, nil, nil)
}

// LogParam logs a param. Params are immutable: logging another value for
// a key is ErrInvalidParameter; logging the same value again is a no-op.
func (s *Store) LogParam(runID, key, value string) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	p, err := validate.Param(entities.Param{Key: key, Value: value}, s.truncate)
	if err != nil {
		return err
	}
	return s.logValidated(context.Background(), runID, nil, []entities.Param{p}, nil)
}

// SetTag sets a run tag; setting mlflow.runName also renames the run.
func (s *Store) SetTag(runID, key, value string) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	if err := validate.TagName(key); err != nil {
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
		if err := s.renameRunMeta(u, dir, value); err != nil {
			return u.rollback(err)
		}
	}
	return nil
}

// renameRunMeta mirrors the mlflow.runName tag into meta run_name, as
// Python's update_run_info does (which also drops deleted_time).
func (s *Store) renameRunMeta(u *undoLog, dir, name string) error {
	return s.updateRunMetaUndo(context.Background(), u, dir, func(info *entities.RunInfo) error {
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
func (s *Store) DeleteTag(runID, key string) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	dir, _, err := s.activeRunDir(runID)
	if err != nil {
		return err
	}
	if err := validate.TagName(key); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	p := filepath.Join(dir, layout.TagsDir, filepath.FromSlash(key))
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return errs.New(errs.ErrNotFound, fmt.Sprintf("No tag with name: %s in run with id %s", key, runID))
	}
	if err := s.confine(filepath.Dir(p)); err != nil {
		return err
	}
	if err := s.fs.Remove(p); err != nil {
		return fmt.Errorf("filestore: delete tag: %w", err)
	}
	return nil
}

// LogBatch logs metrics, params and tags to an active run. Everything is
// validated first, and param conflicts are checked before anything is
// written, so a rejected batch writes nothing. Metric values of one key go
// to disk in one write.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	params, tags, err := validate.LogBatch(metrics, params, tags, s.truncate)
	if err != nil {
		return err
	}
	dir, info, err := s.activeRunDir(runID)
	if err != nil {
		return err
	}
	// Like FileStore.log_batch, failures past the run lookup are
	// INTERNAL_ERROR (their kind is kept for errors.Is).
	return errs.Internal(s.writeBatch(ctx, dir, info, metrics, params, tags))
}

// logValidated writes validated metrics, params and tags to an active run.
func (s *Store) logValidated(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	dir, info, err := s.activeRunDir(runID)
	if err != nil {
		return err
	}
	return s.writeBatch(ctx, dir, info, metrics, params, tags)
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
	return errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EEXIST)
}

func (s *Store) writeBatchUndo(ctx context.Context, u *undoLog, dir string, info entities.RunInfo, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	for _, m := range metrics {
		if err := checkKey(m.Key); err != nil {
			return err
		}
		if m.ModelID != "" {
			if err := checkID("model_id", m.ModelID); err != nil {
				return err
			}
		}
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
			if err := s.renameRunMeta(u, dir, t.Value); err != nil {
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
	return withDirLock(ctx, dir, func() error {
		for _, p := range params {
			if err := checkKey(p.Key); err != nil {
				return err
			}
			old, err := os.ReadFile(filepath.Join(dir, layout.ParamsDir, filepath.FromSlash(p.Key)))
			if errors.Is(err, fs.ErrNotExist) {
				continue
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
	var order []string
	groups := map[string]*group{}
	add := func(path string, line func([]byte) []byte) {
		g, ok := groups[path]
		if !ok {
			g = &group{path: path}
			groups[path] = g
			order = append(order, path)
		}
		g.buf = line(g.buf)
	}
	for _, m := range metrics {
		m := m
		add(filepath.Join(runDir, layout.MetricsDir, filepath.FromSlash(m.Key)), func(b []byte) []byte {
			return layout.AppendMetricLine(b, m)
		})
		if m.ModelID != "" {
			modelDir := filepath.Join(filepath.Dir(runDir), layout.ModelsDir, m.ModelID)
			add(filepath.Join(modelDir, layout.MetricsDir, filepath.FromSlash(m.Key)), func(b []byte) []byte {
				return layout.AppendModelMetricLine(b, m, info.RunID)
			})
		}
	}
	for _, p := range order {
		if err := s.appendFileUndo(u, p, groups[p].buf); err != nil {
			return err
		}
	}
	return nil
}

// appendFile appends data to path in one write(2) on an O_APPEND
// descriptor while holding an exclusive flock on it, so lines from
// concurrent Go writers never interleave. It never leaves part of data
// behind: if the write (or, when durable, the sync) fails or is short, the
// file is truncated back to its size before the write, still under the
// lock, and a file that was empty is removed (an empty metric file breaks
// Python's reader). An error from the final close is returned with the data
// in place. The last path component is never followed if it is a symlink.
func (s *Store) appendFile(path string, data []byte) error {
	return s.appendFileUndo(nil, path, data)
}

func (s *Store) appendFileUndo(u *undoLog, path string, data []byte) error {
	if err := s.mkdirs(filepath.Dir(path)); err != nil {
		return err
	}
	f, size, err := s.openLocked(path, os.O_CREATE)
	if err != nil {
		return err
	}
	n, err := f.Write(data)
	if err == nil && n < len(data) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(data))
	}
	if err == nil && s.durable {
		err = f.Sync()
	}
	if err != nil {
		err = s.undoAppendLocked(f, path, size, fmt.Errorf("filestore: append %s: %w", path, err))
		f.Close()
		return err
	}
	end := size + int64(len(data))
	u.add(func() error { return s.truncateAppend(path, size, end) })
	if err := f.Close(); err != nil {
		return err
	}
	if s.durable && size == 0 {
		// A new file: its folder entry must be durable too.
		return s.syncDir(filepath.Dir(path))
	}
	return nil
}

// openLocked opens path for appending and takes its flock, making sure the
// locked descriptor is still the file at path (a failed first append may
// have removed it meanwhile). It returns the size under the lock.
func (s *Store) openLocked(path string, create int) (vfs.File, int64, error) {
	for attempt := 0; ; attempt++ {
		f, err := s.fs.OpenFile(path, os.O_WRONLY|os.O_APPEND|unix.O_NOFOLLOW|create, 0o666)
		if err != nil {
			return nil, 0, fmt.Errorf("filestore: open %s: %w", path, err)
		}
		fd := int(f.Fd())
		for {
			err = unix.Flock(fd, unix.LOCK_EX)
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("filestore: lock %s: %w", path, err)
		}
		fi, err := f.Stat()
		if err != nil {
			s.dropEmptyLocked(f, path)
			return nil, 0, fmt.Errorf("filestore: stat %s: %w", path, err)
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

// dropEmptyLocked closes f, whose flock is held, after an error; if the
// file at path is f and empty (we may just have created it), it is
// removed first: an empty metric file breaks Python's reader.
func (s *Store) dropEmptyLocked(f vfs.File, path string) {
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Size != 0 {
		return
	}
	pi, err := os.Lstat(path)
	if err != nil {
		return
	}
	if ps, ok := pi.Sys().(*syscall.Stat_t); ok && ps.Ino == st.Ino && ps.Dev == st.Dev {
		s.fs.Remove(path)
	}
}

// undoAppendLocked puts a file whose flock f holds back to size, removing
// it if size is 0, and returns cause (joined with any failure to undo).
func (s *Store) undoAppendLocked(f vfs.File, path string, size int64, cause error) error {
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
	f, cur, err := s.openLocked(path, 0)
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
	if err := validate.RunID(runID); err != nil {
		return nil, err
	}
	if err := validate.MetricName(key); err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	dir, err := s.runDir(runID)
	if err != nil {
		return nil, err
	}
	info, err := readRunInfo(dir)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, layout.MetricsDir, filepath.FromSlash(key))
	data, err := readMetricFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return []entities.Metric{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("filestore: read metric: %w", err)
	}
	hist, err := layout.DecodeMetricHistory(key, data)
	if err != nil {
		return nil, withMetricPath(err, p, info.ExperimentID)
	}
	return hist, nil
}

func withMetricPath(err error, path, _ string) error {
	var ce *layout.CorruptionError
	if errors.As(err, &ce) && ce.Path == "" {
		cp := *ce
		cp.Path = path
		return &cp
	}
	return err
}

// readLatestMetrics reads the latest value of every metric of a run.
func readLatestMetrics(runDir, expID string) (map[string]entities.Metric, error) {
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
		data, err := readMetricFile(p)
		if err != nil {
			return err
		}
		hist, err := layout.DecodeMetricHistory(key, data)
		if err != nil {
			return withMetricPath(err, p, expID)
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
