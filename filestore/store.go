package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/mlenv"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/internal/vfs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/store"
)

// Options configure a Store. The zero value (or nil) gives Python MLflow's
// defaults.
type Options struct {
	// ArtifactRoot is the artifact root under which new experiments get
	// their artifact_location (<root>/<experiment id>). Empty: the file://
	// URI of the absolute store root, as FileStore(root) does. MLflow's
	// client opens a tracking URI as FileStore(uri, uri): set ArtifactRoot
	// to the tracking URI to get the same artifact locations (a plain path
	// then stays a plain path, made absolute).
	ArtifactRoot string
	// TruncateLongValues truncates params over 6000 and tags over 8000
	// characters instead of failing. Nil: MLFLOW_TRUNCATE_LONG_VALUES, whose
	// default is true.
	TruncateLongValues *bool
	// Durable fsyncs every written file and its folder before a call
	// returns. False (the default) leaves data in the page cache, as Python
	// MLflow does; renames are still atomic for readers.
	Durable bool
	// Logger receives warnings about skipped broken entities. Nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil is time.Now. For tests.
	Now func() time.Time
}

// The file store is one backend of the store interface.
var _ store.Store = (*Store)(nil)

// Store is an mlruns tree opened for reading and writing.
type Store struct {
	root         string // absolute path
	trash        string
	artifactRoot string
	truncate     bool
	truncateErr  error // MLFLOW_TRUNCATE_LONG_VALUES holds a value Python refuses
	durable      bool
	log          *slog.Logger
	now          func() time.Time
	fs           vfs.FS
	realRoot     string // root with symlinks resolved; writes stay under it

	// runDirs caches run id -> run folder. An entry is trusted only after
	// a stat of its meta.yaml, so it cannot go stale (experiments move to
	// and from .trash; see runDir).
	runDirs sync.Map
	// runInfos caches run id -> *cachedRun for the logging paths; see
	// runcache.go.
	runInfos sync.Map
	// held keeps recently appended metric files open; see heldfiles.go.
	held heldFiles
	// readCache keeps decoded run files for searches; see readcache.go.
	readCache *readCache
}

// Open opens the store at root (a path or a file: URI), creating it as
// Python MLflow does: a missing root is created with the Default experiment
// "0"; a missing .trash folder is always created. An existing empty root
// gets no Default experiment.
func Open(root string, opts *Options) (*Store, error) { return open(root, opts, vfs.OS) }

// open is Open with the filesystem of the write paths (the fault tests
// pass an error-injecting one through export_test.go).
func open(root string, opts *Options, fsys vfs.FS) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	p, err := LocalPath(root)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	s := &Store{
		root:    abs,
		trash:   filepath.Join(abs, layout.TrashDir),
		durable: opts.Durable,
		log:     opts.Logger,
		now:     opts.Now,
		fs:      fsys,
	}
	s.readCache = newReadCache()
	s.truncate, s.truncateErr = mlenv.Bool("MLFLOW_TRUNCATE_LONG_VALUES", true)
	if opts.TruncateLongValues != nil {
		s.truncate, s.truncateErr = *opts.TruncateLongValues, nil
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(discard{}, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.artifactRoot = opts.ArtifactRoot
	if s.artifactRoot == "" {
		s.artifactRoot = FileURI(abs)
	} else {
		s.artifactRoot = resolveURIIfLocal(s.artifactRoot)
	}
	if err := CheckRoot(abs); errors.Is(err, fs.ErrNotExist) {
		if err := s.bootstrap(); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if s.realRoot, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("filestore: open root: %w", err)
	}
	if err := s.confine(s.trash); err != nil {
		return nil, err
	}
	if err := s.fs.MkdirAll(s.trash, 0o777); err != nil {
		return nil, fmt.Errorf("filestore: create .trash: %w", err)
	}
	return s, nil
}

// CheckRoot says whether the folder at abs can be a store's root without
// creating anything: nil for a folder, an error wrapping fs.ErrNotExist for
// nothing there (Open would create it), and otherwise an
// ErrInvalidParameter that names the path, what is wrong and what to do
// (a file, a dangling symlink, a path through a file, no permission).
func CheckRoot(abs string) error {
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if li, lerr := os.Lstat(abs); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(abs)
			return errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
				"store root %s is a symlink to %s, which does not exist; create that folder or point the root elsewhere", abs, target))
		}
		// Windows says "not found" for a path through a file, where Unix
		// says ENOTDIR: find the nearest part of the path that exists.
		for p := filepath.Dir(abs); p != filepath.Dir(p); p = filepath.Dir(p) {
			pi, perr := os.Stat(p)
			if perr != nil {
				continue
			}
			if !pi.IsDir() {
				return rootError(abs, "cannot be created", &fs.PathError{Op: "mkdir", Path: p, Err: syscall.ENOTDIR})
			}
			break
		}
		return err
	case err != nil:
		return rootError(abs, "cannot be read", err)
	case !fi.IsDir():
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"store root %s is not a folder (it is a %s); point the root (--root, MLFLOW_TRACKING_URI) at a folder, or move the file away",
			abs, fileKind(fi.Mode())))
	}
	return nil
}

// rootError is the error of a root that cannot be used: what failed (how)
// and why, naming the path.
func rootError(abs, how string, err error) error {
	why := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		why = pe.Err.Error()
		if pe.Path != abs {
			why = pe.Path + ": " + why
		}
	}
	hint := "check the path and its permissions"
	switch {
	case errors.Is(err, fs.ErrPermission):
		hint = "choose a folder you may write, or fix its permissions"
	case sysfs.IsNameConflict(err):
		hint = "a part of the path is a file, not a folder"
	}
	return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("store root %s %s (%s); %s", abs, how, why, hint))
}

// fileKind names what a non-folder is, for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// truncating runs a value check that may truncate long values. Python
// reads MLFLOW_TRUNCATE_LONG_VALUES only for a value over its limit, so
// a value Python refuses there fails only the calls that would truncate:
// the check passes without truncation, or the variable's error is
// returned.
func truncating[T any](s *Store, check func(truncate bool) (T, error)) (T, error) {
	if s.truncateErr == nil {
		return check(s.truncate)
	}
	v, err := check(false)
	if err == nil {
		return v, nil
	}
	if _, terr := check(true); terr == nil {
		var zero T
		return zero, s.truncateErr // only truncation would have passed it
	}
	return v, err
}

// bootstrap creates a missing root with the Default experiment, under the
// root lock so that two processes opening a new root race safely.
func (s *Store) bootstrap() error {
	if err := s.fs.MkdirAll(s.root, 0o777); err != nil {
		return rootError(s.root, "cannot be created", err)
	}
	var err error
	if s.realRoot, err = filepath.EvalSymlinks(s.root); err != nil {
		return fmt.Errorf("filestore: create root: %w", err)
	}
	return s.withRootLock(context.Background(), func() error {
		if _, err := os.Stat(filepath.Join(s.root, layout.DefaultExperimentID, layout.MetaFile)); err == nil {
			return nil
		}
		_, err := s.createExperimentLocked(layout.DefaultExperimentName, layout.DefaultExperimentID, "", nil)
		return err
	})
}

// Root returns the absolute path of the store.
func (s *Store) Root() string { return s.root }

// ArtifactRoot returns the artifact root URI new experiments live under.
func (s *Store) ArtifactRoot() string { return s.artifactRoot }

func (s *Store) nowMillis() int64 { return s.now().UnixMilli() }

// ---- locks and atomic files ----

// withRootLock runs fn holding an exclusive lock of the root folder, which
// serialises experiment creation and renames across Go processes.
func (s *Store) withRootLock(ctx context.Context, fn func() error) error {
	return s.withDirLock(ctx, s.root, fn)
}

// withDirLock runs fn holding an exclusive lock of a folder of the tree
// (sysfs.LockDir), waiting for it until ctx is done.
func (s *Store) withDirLock(ctx context.Context, dir string, fn func() error) error {
	unlock, err := sysfs.LockDir(ctx, s.root, dir)
	if err != nil {
		return fmt.Errorf("filestore: lock %s: %w", dir, err)
	}
	defer unlock()
	return fn()
}

// writeFileAtomic replaces path with data: a temporary file in tmpDir (a
// folder on the same filesystem whose files Python never lists) is written,
// optionally synced, and renamed over path. An existing file keeps its mode;
// a new one gets 0666 less the umask, as Python's open() gives. On error
// path is unchanged and the temporary file is removed.
func (s *Store) writeFileAtomic(tmpDir, path string, data []byte) error {
	if err := s.confine(filepath.Dir(path)); err != nil {
		return err
	}
	var mode fs.FileMode = 0o666
	keepMode := false
	if fi, err := s.fs.Lstat(path); err == nil {
		if fi.Mode().IsRegular() {
			mode, keepMode = fi.Mode().Perm(), true
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: stat %s: %w", path, err)
	}
	tmp, f, err := s.createTemp(tmpDir)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			s.fs.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("filestore: write %s: %w", path, err)
	}
	if keepMode {
		if err := f.Chmod(mode); err != nil {
			return fmt.Errorf("filestore: chmod %s: %w", path, err)
		}
	}
	if s.durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("filestore: sync %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		s.fs.Remove(tmp)
		ok = true
		return fmt.Errorf("filestore: close %s: %w", path, err)
	}
	if err := s.fs.Rename(tmp, path); err != nil {
		s.fs.Remove(tmp)
		ok = true
		return fmt.Errorf("filestore: replace %s: %w", path, err)
	}
	ok = true
	if s.durable {
		return s.syncDir(filepath.Dir(path))
	}
	return nil
}

// createTemp creates a new temporary file in dir (see createTemp) through
// the store's filesystem.
func (s *Store) createTemp(dir string) (string, vfs.File, error) {
	var b [8]byte
	for i := 0; i < 10; i++ {
		if _, err := rand.Read(b[:]); err != nil {
			return "", nil, err
		}
		name := filepath.Join(dir, layout.TempPrefix+hex.EncodeToString(b[:]))
		f, err := s.fs.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("filestore: create temporary file: %w", err)
		}
		return name, f, nil
	}
	return "", nil, fmt.Errorf("filestore: create temporary file in %s: too many collisions", dir)
}

func (s *Store) syncDir(dir string) error {
	if !sysfs.SyncDirs {
		return nil
	}
	d, err := s.fs.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("filestore: sync dir: %w", err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("filestore: sync dir %s: %w", dir, err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("filestore: sync dir %s: %w", dir, err)
	}
	return nil
}

// mkdirs creates a folder and its parents with 0777 less the umask, through
// the store's filesystem and never outside the root.
func (s *Store) mkdirs(dir string) error {
	if s.realDirsBelowRoot(dir) {
		return nil
	}
	if err := s.confine(dir); err != nil {
		return err
	}
	if err := s.fs.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// confine refuses a path whose nearest existing ancestor resolves, through
// symlinks, outside the store root: a symlink planted in the tree (a
// metrics/ folder or a run folder pointing elsewhere) must not make us
// write outside it. Symlinks that stay inside the root, and a root that is
// itself reached through a symlink, are fine. The cost is one
// filepath.EvalSymlinks (an lstat per path component) per write; it is a
// check, not a guarantee against a concurrent attacker swapping folders
// between the check and the write (openat2 RESOLVE_BENEATH would be, and is
// Linux-only).
func (s *Store) confine(p string) error { return confineTo(s.realRoot, p) }

// confineTo is confine with the real (symlinks resolved) folder realBase in
// place of the store's root.
func confineTo(realBase, p string) error {
	for q := p; ; {
		r, err := filepath.EvalSymlinks(q)
		if err == nil {
			if r == realBase || strings.HasPrefix(r, realBase+string(filepath.Separator)) {
				return nil
			}
			return errs.New(errs.ErrInvalidPath, fmt.Sprintf("path %s resolves to %s, outside the store root %s", p, r, realBase))
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("filestore: resolve %s: %w", q, err)
		}
		parent := filepath.Dir(q)
		if parent == q {
			return nil
		}
		q = parent
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
