package filestore

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/layout"
)

// Logging a point must not re-read and re-parse the run's meta.yaml, nor
// resolve every folder of the absolute path, each time. The run cache below
// is checked against one stat per use, so it cannot go stale.

// fileSig identifies a file's version: which file (device, inode) and its
// size and change times. A rename (our rewrites) gives a new inode; an
// in-place rewrite (Python's) a new size or times.
type fileSig struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
	mode         fs.FileMode
}

func sigOf(fi fs.FileInfo) fileSig {
	sig := fileSig{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		sig.dev, sig.ino = uint64(st.Dev), st.Ino
		sig.ctime = st.Ctim.Nano()
	}
	return sig
}

// cachedRun is a run's folder and the info read from its meta.yaml when the
// file had signature meta.
type cachedRun struct {
	dir  string
	meta fileSig
	info entities.RunInfo
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
		if fi, err := os.Stat(filepath.Join(c.dir, layout.MetaFile)); err == nil && sigOf(fi) == c.meta {
			return c.dir, c.info, nil
		}
		s.runInfos.Delete(runID)
	}
	dir, err := s.runDir(runID)
	if err != nil {
		return "", entities.RunInfo{}, err
	}
	metaPath := filepath.Join(dir, layout.MetaFile)
	before, errBefore := os.Stat(metaPath)
	info, err := readRunInfo(dir)
	if err != nil {
		return "", info, err
	}
	// cache only if the file did not change while we read it
	if after, err := os.Stat(metaPath); err == nil && errBefore == nil && sigOf(before) == sigOf(after) {
		s.runInfos.Store(runID, &cachedRun{dir: dir, meta: sigOf(after), info: info})
	}
	return dir, info, nil
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
