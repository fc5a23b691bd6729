package filestore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/internal/vfs"
	"github.com/mlruns-go/mlruns/layout"
)

// Logging a point must not re-read and re-parse the run's meta.yaml, nor
// resolve every folder of the absolute path, each time. The run cache below
// is checked against one stat per use, so it cannot go stale.

// A file's version is its sysfs.Sig: which file (device, inode) and its
// size, mode and change times. A rename (our rewrites) gives a new inode;
// an in-place rewrite (Python's) a new size or times.

// pathSig is the signature of the file at path.
func pathSig(path string) (sysfs.Sig, error) {
	st, err := sysfs.PathStat(path)
	return st.Sig(), err
}

// fstatSig is the signature of an open file, and whether it still has a
// name. A file of the error-injecting FS is asked for its Stat first, so
// that tests can fail it.
func fstatSig(f vfs.File) (sig sysfs.Sig, linked bool, err error) {
	if _, ok := f.(*os.File); !ok {
		if _, err := f.Stat(); err != nil {
			return sig, false, err
		}
	}
	st, err := sysfs.FileStat(f.Fd())
	if err != nil {
		return sig, false, &fs.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return st.Sig(), st.Linked(), nil
}

// cachedRun is a run's folder and the info read from its meta.yaml when the
// file had signature meta.
type cachedRun struct {
	dir     string
	meta    sysfs.Sig
	info    entities.RunInfo
	metaKey string // metaKey(dir), built once
}

// runForLogging returns the folder and info of a run, re-reading meta.yaml
// only when a stat shows it changed. Only the logging paths use it: what
// they need from the info (stage, ids) never changes without the file's
// size or inode changing (deletion adds deleted_time; our rewrites rename a
// new file in; a moved experiment moves the path). Reads that return the
// info to callers read the file.
func (s *Store) runForLogging(runID string) (string, entities.RunInfo, error) {
	if v, ok := s.runInfos.Load(runID); ok {
		c := v.(*cachedRun)
		if sig, err := pathSig(filepath.Join(c.dir, layout.MetaFile)); err == nil && sig == c.meta {
			return c.dir, c.info, nil
		}
		s.runInfos.Delete(runID)
	}
	dir, err := s.runDir(runID)
	if err != nil {
		return "", entities.RunInfo{}, err
	}
	metaPath := filepath.Join(dir, layout.MetaFile)
	before, errBefore := pathSig(metaPath)
	info, err := readRunInfo(dir)
	if err != nil {
		return "", info, err
	}
	// cache only if the file did not change while we read it
	if after, err := pathSig(metaPath); err == nil && errBefore == nil && before == after {
		s.runInfos.Store(runID, &cachedRun{dir: dir, meta: after, info: info, metaKey: metaKey(dir)})
	}
	return dir, info, nil
}

// metaKey is the held-files key of a run's meta.yaml (opened for stat,
// not append); the NUL keeps it apart from every metric path.
func metaKey(dir string) string { return "\x00meta\x00" + dir }

// errRunMoved says a run's folder is no longer where the cache says
// (its experiment moved to or from .trash); the caller looks it up again.
var errRunMoved = errors.New("filestore: run folder moved")

// runForMetrics is runForLogging for LogMetric, which writes through a
// held descriptor: it checks the cached meta.yaml with an fstat of a held
// descriptor instead of a stat of its path (a third of LogMetric's time).
// The descriptor follows the file, not the path, so a run whose folder
// moved still passes; that is fine for a held metric file, which moved
// with it, and viaFd says the folder must be verified by path
// (verifyRunDir) before a file is opened there.
func (s *Store) runForMetrics(runID string) (dir string, info entities.RunInfo, viaFd bool, err error) {
	if v, ok := s.runInfos.Load(runID); ok {
		c := v.(*cachedRun)
		if hf := s.held.acquire(c.metaKey); hf != nil {
			sig, linked, err := fstatSig(hf.f)
			if err == nil && linked && sig == c.meta {
				s.held.release(hf)
				return c.dir, c.info, true, nil
			}
			s.held.drop(hf)
			s.held.release(hf)
		}
	}
	dir, info, err = s.runForLogging(runID)
	if err != nil {
		return "", info, false, err
	}
	s.holdMeta(runID, dir)
	return dir, info, false, nil
}

// holdMeta keeps the run's meta.yaml open when it is still the version
// cached for the run.
func (s *Store) holdMeta(runID, dir string) {
	if !sysfs.HoldOpen {
		return
	}
	v, ok := s.runInfos.Load(runID)
	if !ok || v.(*cachedRun).dir != dir {
		return
	}
	f, err := sysfs.Open(filepath.Join(dir, layout.MetaFile))
	if err != nil {
		return
	}
	if sig, _, err := fstatSig(f); err != nil || sig != v.(*cachedRun).meta {
		f.Close()
		return
	}
	s.held.release(s.held.add(v.(*cachedRun).metaKey, f))
}

// verifyRunDir checks, by path, that the run's meta.yaml is still the
// cached one in dir: before a file is created under a folder known only
// through a descriptor.
func (s *Store) verifyRunDir(runID, dir string) error {
	v, ok := s.runInfos.Load(runID)
	if !ok {
		return errRunMoved
	}
	sig, err := pathSig(filepath.Join(dir, layout.MetaFile))
	if err != nil || v.(*cachedRun).dir != dir || sig != v.(*cachedRun).meta {
		return errRunMoved
	}
	return nil
}

// realDirsBelowRoot reports whether dir lies under the root and every
// folder between the root and it (dir included) exists and is a real
// folder, not a symlink: then dir is confined without resolving the whole
// path (an lstat per component below the root instead of per component of
// the absolute path). Anything else takes the full check in confine.
func (s *Store) realDirsBelowRoot(dir string) bool {
	rel, err := filepath.Rel(s.root, dir)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return false
	}
	p := s.root
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}
