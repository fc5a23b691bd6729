package tracking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// ArtifactInfo is one entry of an artifact listing, as MLflow's FileInfo.
type ArtifactInfo = store.ArtifactInfo

// ArtifactURI returns the run's artifact URI, as recorded in its meta.yaml.
func (c *Client) ArtifactURI(ctx context.Context, runID string) (string, error) {
	info, err := c.store.GetRunInfo(ctx, runID)
	if err != nil {
		return "", err
	}
	return info.ArtifactURI, nil
}

// ArtifactDir returns the local folder of the run's artifacts, created if
// missing and checked as filestore's Store.ArtifactDir checks it (a
// symlink out of the store's root is refused). A store whose artifacts are
// not local folders (a server) is ErrNotSupported: use the artifact calls.
func (c *Client) ArtifactDir(ctx context.Context, runID string) (string, error) {
	return c.store.ArtifactDir(ctx, runID)
}

// LogArtifact copies the local file localPath into the run's artifacts, in
// the folder artifactPath ("" for the top), keeping its base name, as
// MlflowClient.log_artifact.
func (c *Client) LogArtifact(ctx context.Context, runID, localPath, artifactPath string) error {
	return c.withArtifacts(ctx, runArtifacts(runID), func(a store.Artifacts) error {
		return logArtifact(ctx, a, localPath, artifactPath)
	})
}

// LogArtifacts copies the content of the local folder dir into the run's
// artifacts under artifactPath, merging with what is there, as
// MlflowClient.log_artifacts. Symlinks in dir are followed when they point
// to files or folders; the copies are plain files.
func (c *Client) LogArtifacts(ctx context.Context, runID, dir, artifactPath string) error {
	return c.withArtifacts(ctx, runArtifacts(runID), func(a store.Artifacts) error {
		return logArtifacts(ctx, a, dir, artifactPath)
	})
}

// LogModelArtifact is LogArtifact into a logged model's artifacts
// (MlflowClient.log_model_artifact).
func (c *Client) LogModelArtifact(ctx context.Context, modelID, localPath, artifactPath string) error {
	return c.withArtifacts(ctx, modelArtifacts(modelID), func(a store.Artifacts) error {
		return logArtifact(ctx, a, localPath, artifactPath)
	})
}

// LogModelArtifacts is LogArtifacts into a logged model's artifacts
// (MlflowClient.log_model_artifacts).
func (c *Client) LogModelArtifacts(ctx context.Context, modelID, dir, artifactPath string) error {
	return c.withArtifacts(ctx, modelArtifacts(modelID), func(a store.Artifacts) error {
		return logArtifacts(ctx, a, dir, artifactPath)
	})
}

// LogText writes text to the artifact file artifactFile of the run (a
// slash path such as "notes/summary.txt"), replacing it if it exists, as
// MlflowClient.log_text does (its bytes are the text's UTF-8, as Python
// writes them on Linux and macOS; Python on Windows would turn "\n" into
// "\r\n").
func (c *Client) LogText(ctx context.Context, runID, text, artifactFile string) error {
	file, err := validate.ArtifactPath(artifactFile)
	if err != nil {
		return err
	}
	if file == "." {
		return errs.New(errs.ErrInvalidParameter, "artifact_file must name a file")
	}
	return c.withArtifacts(ctx, runArtifacts(runID), func(a store.Artifacts) error {
		return a.Put(ctx, file, strings.NewReader(text))
	})
}

// ListArtifacts lists the files and folders directly in the run's
// artifact folder artifactPath ("" for the top), sorted by path, as
// MlflowClient.list_artifacts; a path that is no folder lists nothing.
func (c *Client) ListArtifacts(ctx context.Context, runID, artifactPath string) ([]ArtifactInfo, error) {
	var out []ArtifactInfo
	err := c.withArtifacts(ctx, runArtifacts(runID), func(a store.Artifacts) (err error) {
		out, err = a.List(ctx, artifactPath)
		return err
	})
	return out, err
}

// ListLoggedModelArtifacts is ListArtifacts for a logged model
// (MlflowClient.list_logged_model_artifacts).
func (c *Client) ListLoggedModelArtifacts(ctx context.Context, modelID, artifactPath string) ([]ArtifactInfo, error) {
	var out []ArtifactInfo
	err := c.withArtifacts(ctx, modelArtifacts(modelID), func(a store.Artifacts) (err error) {
		out, err = a.List(ctx, artifactPath)
		return err
	})
	return out, err
}

// DownloadArtifacts copies the run's artifact artifactPath (a file or a
// folder; "" for all) into the local folder dst, created if missing, and
// returns the local path of the copy, as MlflowClient.download_artifacts.
func (c *Client) DownloadArtifacts(ctx context.Context, runID, artifactPath, dst string) (string, error) {
	sub, err := validate.ArtifactPath(artifactPath)
	if err != nil {
		return "", err
	}
	local := dst
	if sub != "." {
		local = filepath.Join(dst, filepath.FromSlash(sub))
	}
	err = c.withArtifacts(ctx, runArtifacts(runID), func(a store.Artifacts) error {
		isDir, err := artifactIsDir(ctx, a, sub)
		if err != nil {
			return err
		}
		if isDir {
			return downloadTree(ctx, a, sub, local)
		}
		return downloadFile(ctx, a, sub, local)
	})
	return local, err
}

// artifactIsDir reports whether sub is a folder, from its parent's
// listing; a path in no listing is ErrNotFound.
func artifactIsDir(ctx context.Context, a store.Artifacts, sub string) (bool, error) {
	if sub == "." {
		return true, nil
	}
	parent := path.Dir(sub)
	if parent == "." {
		parent = ""
	}
	entries, err := a.List(ctx, parent)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Path == sub {
			return e.IsDir, nil
		}
	}
	return false, errs.New(errs.ErrNotFound, fmt.Sprintf("No such artifact: '%s'", sub))
}

// artifactsOf names the repository of a run or a model.
type artifactsOf struct {
	what string // "run <id>" or "model <id>"
	get  func(ctx context.Context, s store.Store) (store.Artifacts, error)
}

func runArtifacts(runID string) artifactsOf {
	return artifactsOf{"run " + runID, func(ctx context.Context, s store.Store) (store.Artifacts, error) {
		return s.RunArtifacts(ctx, runID)
	}}
}

func modelArtifacts(modelID string) artifactsOf {
	return artifactsOf{"model " + modelID, func(ctx context.Context, s store.Store) (store.Artifacts, error) {
		return s.ModelArtifacts(ctx, modelID)
	}}
}

func (c *Client) withArtifacts(ctx context.Context, of artifactsOf, fn func(store.Artifacts) error) error {
	a, err := of.get(ctx, c.store)
	if err != nil {
		return err
	}
	return fn(a)
}

func logArtifact(ctx context.Context, a store.Artifacts, localPath, artifactPath string) error {
	sub, err := validate.ArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	fi, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("tracking: log artifact: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("%s is not a regular file; use LogArtifacts for folders", localPath))
	}
	return putFile(ctx, a, path.Join(sub, filepath.Base(localPath)), localPath)
}

func logArtifacts(ctx context.Context, a store.Artifacts, dir, artifactPath string) error {
	sub, err := validate.ArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("tracking: log artifacts: %w", err)
	}
	if !fi.IsDir() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("%s is not a folder; use LogArtifact for files", dir))
	}
	if err := a.MkdirAll(ctx, sub); err != nil {
		return err
	}
	return copyTree(ctx, a, sub, dir)
}

func copyTree(ctx context.Context, a store.Artifacts, dst, src string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("tracking: log artifacts: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := filepath.Join(src, e.Name())
		d := path.Join(dst, e.Name())
		fi, err := os.Stat(s)
		if err != nil {
			return fmt.Errorf("tracking: log artifacts: %w", err)
		}
		switch {
		case fi.IsDir():
			if err := a.MkdirAll(ctx, d); err != nil {
				return err
			}
			if err := copyTree(ctx, a, d, s); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := putFile(ctx, a, d, s); err != nil {
				return err
			}
		}
	}
	return nil
}

func putFile(ctx context.Context, a store.Artifacts, dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("tracking: log artifact: %w", err)
	}
	defer in.Close()
	return a.Put(ctx, dst, in)
}

func downloadTree(ctx context.Context, a store.Artifacts, sub, local string) error {
	if err := os.MkdirAll(local, 0o777); err != nil {
		return fmt.Errorf("tracking: download artifacts: %w", err)
	}
	list := sub
	if list == "." {
		list = ""
	}
	entries, err := a.List(ctx, list)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		target := filepath.Join(local, path.Base(e.Path))
		if e.IsDir {
			err = downloadTree(ctx, a, e.Path, target)
		} else {
			err = downloadFile(ctx, a, e.Path, target)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func downloadFile(ctx context.Context, a store.Artifacts, src, local string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o777); err != nil {
		return fmt.Errorf("tracking: download artifacts: %w", err)
	}
	in, err := a.Open(ctx, src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(local)
	if err != nil {
		return fmt.Errorf("tracking: download artifacts: %w", err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.Join(fmt.Errorf("tracking: download artifacts: %w", err), os.Remove(local))
	}
	return nil
}
