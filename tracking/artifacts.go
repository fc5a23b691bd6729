package tracking

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
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
)

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
// symlink out of the store's root is refused). An artifact URI that is
// not a plain path or a file: URI is ErrNotSupported.
func (c *Client) ArtifactDir(ctx context.Context, runID string) (string, error) {
	return c.store.ArtifactDir(ctx, runID)
}

// LogArtifact copies the local file localPath into the run's artifacts, in
// the folder artifactPath ("" for the top), keeping its base name, as
// MlflowClient.log_artifact.
func (c *Client) LogArtifact(ctx context.Context, runID, localPath, artifactPath string) error {
	return c.logArtifact(ctx, c.runArtifacts(runID), localPath, artifactPath)
}

// LogArtifacts copies the content of the local folder dir into the run's
// artifacts under artifactPath, merging with what is there, as
// MlflowClient.log_artifacts. Symlinks in dir are followed when they point
// to files or folders; the copies are plain files.
func (c *Client) LogArtifacts(ctx context.Context, runID, dir, artifactPath string) error {
	return c.logArtifacts(ctx, c.runArtifacts(runID), dir, artifactPath)
}

// LogModelArtifact is LogArtifact into a logged model's artifacts
// (MlflowClient.log_model_artifact).
func (c *Client) LogModelArtifact(ctx context.Context, modelID, localPath, artifactPath string) error {
	return c.logArtifact(ctx, c.modelArtifacts(modelID), localPath, artifactPath)
}

// LogModelArtifacts is LogArtifacts into a logged model's artifacts
// (MlflowClient.log_model_artifacts).
func (c *Client) LogModelArtifacts(ctx context.Context, modelID, dir, artifactPath string) error {
	return c.logArtifacts(ctx, c.modelArtifacts(modelID), dir, artifactPath)
}

// artifactFolder finds the local artifact folder of a run or a model.
type artifactFolder struct {
	what string // "run <id>" or "model <id>", for errors
	dir  func(ctx context.Context) (string, error)
}

func (c *Client) runArtifacts(runID string) artifactFolder {
	return artifactFolder{"run " + runID, func(ctx context.Context) (string, error) { return c.ArtifactDir(ctx, runID) }}
}

func (c *Client) modelArtifacts(modelID string) artifactFolder {
	return artifactFolder{"model " + modelID, func(ctx context.Context) (string, error) { return c.ModelArtifactDir(ctx, modelID) }}
}

func (c *Client) logArtifact(ctx context.Context, f artifactFolder, localPath, artifactPath string) error {
	fi, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("tracking: log artifact: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("%s is not a regular file; use LogArtifacts for folders", localPath))
	}
	root, sub, err := openArtifactRoot(ctx, f, artifactPath)
	if err != nil {
		return err
	}
	defer root.Close()
	return copyFile(root, path.Join(sub, filepath.Base(localPath)), localPath)
}

func (c *Client) logArtifacts(ctx context.Context, f artifactFolder, dir, artifactPath string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("tracking: log artifacts: %w", err)
	}
	if !fi.IsDir() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("%s is not a folder; use LogArtifact for files", dir))
	}
	root, sub, err := openArtifactRoot(ctx, f, artifactPath)
	if err != nil {
		return err
	}
	defer root.Close()
	return copyTree(ctx, root, sub, dir)
}

// ArtifactInfo is one entry of an artifact listing, as MLflow's FileInfo.
type ArtifactInfo struct {
	Path     string // slash path from the top of the artifacts
	IsDir    bool
	FileSize int64 // bytes; 0 for a folder (Python's None)
}

// ListArtifacts lists the files and folders directly in the run's
// artifact folder artifactPath ("" for the top), sorted by path, as
// MlflowClient.list_artifacts; a path that is no folder lists nothing.
func (c *Client) ListArtifacts(ctx context.Context, runID, artifactPath string) ([]ArtifactInfo, error) {
	return listArtifacts(ctx, c.runArtifacts(runID), artifactPath)
}

// ListLoggedModelArtifacts is ListArtifacts for a logged model
// (MlflowClient.list_logged_model_artifacts).
func (c *Client) ListLoggedModelArtifacts(ctx context.Context, modelID, artifactPath string) ([]ArtifactInfo, error) {
	return listArtifacts(ctx, c.modelArtifacts(modelID), artifactPath)
}

func listArtifacts(ctx context.Context, f artifactFolder, artifactPath string) ([]ArtifactInfo, error) {
	sub, err := checkArtifactPath(artifactPath)
	if err != nil {
		return nil, err
	}
	dir, err := f.dir(ctx)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("tracking: artifacts of %s: %w", f.what, err)
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
		return nil, nil // a file, as Python: not a folder, nothing to list
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, artifactErr(err)
	}
	var out []ArtifactInfo
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempArtifactPrefix) {
			continue // a write in progress
		}
		p := path.Join(sub, e.Name())
		if sub == "." {
			p = e.Name()
		}
		fi, err := root.Stat(path.Join(sub, e.Name())) // follows links inside the root only
		if err != nil {
			continue
		}
		info := ArtifactInfo{Path: p, IsDir: fi.IsDir()}
		if !info.IsDir {
			info.FileSize = fi.Size()
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ArtifactInfo) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// DownloadArtifacts copies the run's artifact artifactPath (a file or a
// folder; "" for all) into the local folder dst, created if missing, and
// returns the local path of the copy, as MlflowClient.download_artifacts.
// Reads go through the artifact folder's os.Root, so a symlink in it
// cannot make the copy read outside it.
func (c *Client) DownloadArtifacts(ctx context.Context, runID, artifactPath, dst string) (string, error) {
	sub, err := checkArtifactPath(artifactPath)
	if err != nil {
		return "", err
	}
	dir, err := c.ArtifactDir(ctx, runID)
	if err != nil {
		return "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("tracking: artifacts of run %s: %w", runID, err)
	}
	defer root.Close()
	fi, err := root.Stat(sub)
	if errors.Is(err, fs.ErrNotExist) {
		return "", errs.New(errs.ErrNotFound, fmt.Sprintf("No such artifact: '%s'", artifactPath))
	}
	if err != nil {
		return "", artifactErr(err)
	}
	if err := os.MkdirAll(dst, 0o777); err != nil {
		return "", fmt.Errorf("tracking: download artifacts: %w", err)
	}
	local := dst
	if sub != "." {
		local = filepath.Join(dst, filepath.FromSlash(sub))
	}
	if !fi.IsDir() {
		return local, downloadFile(root, sub, local)
	}
	return local, downloadTree(ctx, root, sub, local)
}

func downloadTree(ctx context.Context, root *os.Root, sub, local string) error {
	if err := os.MkdirAll(local, 0o777); err != nil {
		return fmt.Errorf("tracking: download artifacts: %w", err)
	}
	d, err := root.Open(sub)
	if err != nil {
		return artifactErr(err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return artifactErr(err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), tempArtifactPrefix) {
			continue
		}
		p := path.Join(sub, e.Name())
		fi, err := root.Stat(p)
		if err != nil {
			return artifactErr(err)
		}
		if fi.IsDir() {
			err = downloadTree(ctx, root, p, filepath.Join(local, e.Name()))
		} else if fi.Mode().IsRegular() {
			err = downloadFile(root, p, filepath.Join(local, e.Name()))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func downloadFile(root *os.Root, src, local string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o777); err != nil {
		return fmt.Errorf("tracking: download artifacts: %w", err)
	}
	in, err := root.Open(src)
	if err != nil {
		return artifactErr(err)
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
		return fmt.Errorf("tracking: download artifacts: %w", err)
	}
	return nil
}

func copyTree(ctx context.Context, root *os.Root, dst, src string) error {
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
			if err := root.Mkdir(d, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
				return artifactErr(err)
			}
			if err := copyTree(ctx, root, d, s); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(root, d, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// openArtifactRoot opens the artifact folder of f as an os.Root and
// returns the checked artifact path inside it ("." for the top), its
// folders created.
func openArtifactRoot(ctx context.Context, f artifactFolder, artifactPath string) (*os.Root, string, error) {
	sub, err := checkArtifactPath(artifactPath)
	if err != nil {
		return nil, "", err
	}
	dir, err := f.dir(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, "", fmt.Errorf("tracking: artifacts of %s: %w", f.what, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", fmt.Errorf("tracking: artifacts of %s: %w", f.what, err)
	}
	if sub != "." {
		if err := root.MkdirAll(sub, 0o777); err != nil {
			root.Close()
			return nil, "", artifactErr(err)
		}
	}
	return root, sub, nil
}

// checkArtifactPath applies MLflow's validate_path_is_safe: no backslash,
// no "..", not absolute, no "#". It returns the cleaned path.
func checkArtifactPath(p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	bad := strings.ContainsAny(p, "\\#\x00") || strings.HasPrefix(p, "/") ||
		(len(p) >= 2 && p[1] == ':')
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			bad = true
		}
	}
	if bad {
		return "", errs.New(errs.ErrInvalidPath, fmt.Sprintf("Invalid artifact path %q", p))
	}
	return path.Clean(p), nil
}

// copyFile copies src to dst inside root; see writeArtifact.
func copyFile(root *os.Root, dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("tracking: log artifact: %w", err)
	}
	defer in.Close()
	return writeArtifact(root, dst, in)
}

// tempArtifactPrefix starts the name of an artifact being written: Python's
// LocalArtifactRepository prefix, so Python's listings leave our
// unfinished files out as they do its own.
const tempArtifactPrefix = ".artifact.uploading."

// writeArtifact writes what r reads to dst inside root through a temporary
// file renamed into place, so a reader never sees a partial artifact.
func writeArtifact(root *os.Root, dst string, r io.Reader) error {
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := path.Join(path.Dir(dst), tempArtifactPrefix+hex.EncodeToString(rnd[:]))
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return artifactErr(err)
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, dst)
	}
	if err != nil {
		root.Remove(tmp)
		return artifactErr(err)
	}
	return nil
}

// LogText writes text to the artifact file artifactFile of the run (a
// slash path such as "notes/summary.txt"), replacing it if it exists, as
// MlflowClient.log_text does (its bytes are the text's UTF-8, as Python
// writes them on Linux and macOS; Python on Windows would turn "\n" into
// "\r\n").
func (c *Client) LogText(ctx context.Context, runID, text, artifactFile string) error {
	file, err := checkArtifactPath(artifactFile)
	if err != nil {
		return err
	}
	if file == "." {
		return errs.New(errs.ErrInvalidParameter, "artifact_file must name a file")
	}
	root, sub, err := openArtifactRoot(ctx, c.runArtifacts(runID), path.Dir(file))
	if err != nil {
		return err
	}
	defer root.Close()
	return writeArtifact(root, path.Join(sub, path.Base(file)), strings.NewReader(text))
}

// artifactErr marks an attempt to leave the artifact folder (through a
// symlink) as ErrInvalidPath.
func artifactErr(err error) error {
	if strings.Contains(err.Error(), "path escapes from parent") {
		return fmt.Errorf("%w: %v", errs.ErrInvalidPath, err)
	}
	return fmt.Errorf("tracking: write artifact: %w", err)
}
