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
	fi, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("tracking: log artifact: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("%s is not a regular file; use LogArtifacts for folders", localPath))
	}
	root, sub, err := c.openArtifactRoot(ctx, runID, artifactPath)
	if err != nil {
		return err
	}
	defer root.Close()
	return copyFile(root, path.Join(sub, filepath.Base(localPath)), localPath)
}

// LogArtifacts copies the content of the local folder dir into the run's
// artifacts under artifactPath, merging with what is there, as
// MlflowClient.log_artifacts. Symlinks in dir are followed when they point
// to files or folders; the copies are plain files.
func (c *Client) LogArtifacts(ctx context.Context, runID, dir, artifactPath string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("tracking: log artifacts: %w", err)
	}
	if !fi.IsDir() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("%s is not a folder; use LogArtifact for files", dir))
	}
	root, sub, err := c.openArtifactRoot(ctx, runID, artifactPath)
	if err != nil {
		return err
	}
	defer root.Close()
	if sub != "." {
		if err := root.MkdirAll(sub, 0o777); err != nil {
			return artifactErr(err)
		}
	}
	return copyTree(ctx, root, sub, dir)
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

// openArtifactRoot opens the run's artifact folder as an os.Root and
// returns the checked artifact path inside it ("." for the top), its
// folders created.
func (c *Client) openArtifactRoot(ctx context.Context, runID, artifactPath string) (*os.Root, string, error) {
	sub, err := checkArtifactPath(artifactPath)
	if err != nil {
		return nil, "", err
	}
	dir, err := c.ArtifactDir(ctx, runID)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, "", fmt.Errorf("tracking: artifacts of run %s: %w", runID, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", fmt.Errorf("tracking: artifacts of run %s: %w", runID, err)
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

// writeArtifact writes what r reads to dst inside root through a temporary
// file renamed into place, so a reader never sees a partial artifact.
func writeArtifact(root *os.Root, dst string, r io.Reader) error {
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := path.Join(path.Dir(dst), ".mlruns-tmp-"+hex.EncodeToString(rnd[:]))
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
	root, sub, err := c.openArtifactRoot(ctx, runID, path.Dir(file))
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
