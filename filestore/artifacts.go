package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// RunArtifacts returns the run's artifact folder (ArtifactDir) as an
// artifact repository. Every access goes through an os.Root of the
// folder, so a symlink inside it that points elsewhere cannot make a read
// or a write land outside it. Files are created with mode 0666 and folders
// 0777, less the umask.
func (s *Store) RunArtifacts(ctx context.Context, runID string) (store.Artifacts, error) {
	dir, err := s.ArtifactDir(ctx, runID)
	if err != nil {
		return nil, err
	}
	return &localArtifacts{dir: dir, what: "run " + runID}, nil
}

// ModelArtifacts is RunArtifacts for a logged model.
func (s *Store) ModelArtifacts(ctx context.Context, modelID string) (store.Artifacts, error) {
	dir, err := s.ModelArtifactDir(ctx, modelID)
	if err != nil {
		return nil, err
	}
	return &localArtifacts{dir: dir, what: "model " + modelID}, nil
}

// ArtifactFolder is the local folder dir as an artifact repository, as
// MLflow's LocalArtifactRepository of a file: artifact URI (a tracking
// server run with --no-serve-artifacts records such URIs, and its clients
// write the folder themselves). The folder is made on the first write if
// missing; until then it lists nothing. Accesses go through an os.Root of
// dir, as for RunArtifacts.
func ArtifactFolder(dir string) store.Artifacts {
	return &localArtifacts{dir: dir, what: dir, lazy: true}
}

// localArtifacts is an artifact folder on a local filesystem.
type localArtifacts struct {
	dir  string // the checked folder (ArtifactDir)
	what string // "run <id>" or "model <id>", for errors
	lazy bool   // dir may be missing: made by the first write
}

// errNoFolder is a lazy folder that no write has made yet.
var errNoFolder = errors.New("filestore: the artifact folder does not exist yet")

// open checks p and opens the folder as an os.Root; write makes a missing
// lazy folder.
func (a *localArtifacts) open(ctx context.Context, p string, write bool) (*os.Root, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	sub, err := validate.ArtifactPath(p)
	if err != nil {
		return nil, "", err
	}
	root, err := os.OpenRoot(a.dir)
	if err != nil && a.lazy && errors.Is(err, fs.ErrNotExist) {
		if !write {
			return nil, "", errNoFolder
		}
		if err = os.MkdirAll(a.dir, 0o777); err == nil {
			root, err = os.OpenRoot(a.dir)
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("filestore: artifacts of %s: %w", a.what, err)
	}
	return root, sub, nil
}

func (a *localArtifacts) Put(ctx context.Context, p string, r io.Reader) error {
	root, sub, err := a.open(ctx, p, true)
	if err != nil {
		return err
	}
	defer root.Close()
	if sub == "." {
		return errs.New(errs.ErrInvalidParameter, "an artifact file needs a name, not the top folder")
	}
	if dir := path.Dir(sub); dir != "." {
		if err := root.MkdirAll(dir, 0o777); err != nil {
			return artifactErr(err)
		}
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := path.Join(path.Dir(sub), layout.ArtifactTempPrefix+hex.EncodeToString(rnd[:]))
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return artifactErr(err)
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, sub)
	}
	if err != nil {
		root.Remove(tmp)
		return artifactErr(err)
	}
	return nil
}

func (a *localArtifacts) MkdirAll(ctx context.Context, p string) error {
	root, sub, err := a.open(ctx, p, true)
	if err != nil {
		return err
	}
	defer root.Close()
	if sub == "." {
		return nil
	}
	if err := root.MkdirAll(sub, 0o777); err != nil {
		return artifactErr(err)
	}
	return nil
}

func (a *localArtifacts) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	root, sub, err := a.open(ctx, p, false)
	if errors.Is(err, errNoFolder) {
		return nil, errs.New(errs.ErrNotFound, fmt.Sprintf("No such artifact: '%s'", p))
	}
	if err != nil {
		return nil, err
	}
	f, err := root.Open(sub)
	if err == nil {
		var fi fs.FileInfo
		if fi, err = f.Stat(); err == nil && !fi.Mode().IsRegular() {
			f.Close()
			err = fs.ErrNotExist // a folder or a special file is no artifact file
		}
	}
	if err != nil {
		root.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errs.New(errs.ErrNotFound, fmt.Sprintf("No such artifact: '%s'", p))
		}
		return nil, artifactErr(err)
	}
	return &rootFile{File: f, root: root}, nil
}

// rootFile closes its os.Root with the file.
type rootFile struct {
	*os.File
	root *os.Root
}

func (f *rootFile) Close() error {
	err := f.File.Close()
	f.root.Close()
	return err
}

func (a *localArtifacts) List(ctx context.Context, p string) ([]store.ArtifactInfo, error) {
	root, sub, err := a.open(ctx, p, false)
	if errors.Is(err, errNoFolder) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	d, err := root.Open(sub)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, artifactErr(err)
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return nil, nil // a file: not a folder, nothing to list (Python's)
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, artifactErr(err)
	}
	var out []store.ArtifactInfo
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), layout.ArtifactTempPrefix) {
			continue // a write in progress
		}
		rel := path.Join(sub, e.Name())
		fi, err := root.Stat(rel) // follows links inside the root only
		if err != nil {
			continue
		}
		info := store.ArtifactInfo{Path: rel, IsDir: fi.IsDir()}
		if !info.IsDir {
			info.FileSize, info.ModTime = fi.Size(), fi.ModTime()
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b store.ArtifactInfo) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// artifactErr marks an attempt to leave the artifact folder (through a
// symlink) as ErrInvalidPath.
func artifactErr(err error) error {
	if strings.Contains(err.Error(), "path escapes from parent") {
		return fmt.Errorf("%w: %v", errs.ErrInvalidPath, err)
	}
	return fmt.Errorf("filestore: artifacts: %w", err)
}
