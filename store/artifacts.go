package store

import (
	"context"
	"io"
	"time"
)

// ArtifactInfo is one entry of an artifact listing, as MLflow's FileInfo.
type ArtifactInfo struct {
	Path     string // slash path from the top of the artifacts
	IsDir    bool
	FileSize int64 // bytes; 0 for a folder (Python's None)
	// ModTime is a file's modification time where the repository knows
	// it (a local folder); zero otherwise (a tracking server's listing
	// has none). A sync tells changed files by it and the size.
	ModTime time.Time
}

// Artifacts is the artifact repository of one run or logged model, as
// MLflow's ArtifactRepository: a local folder for the file store, the
// server's artifact proxy for a tracking server. Paths are slash paths
// relative to the top, checked with validate.ArtifactPath ("" is the top).
type Artifacts interface {
	// Put writes what r reads to the file path, replacing it; a reader
	// never sees a partial file.
	Put(ctx context.Context, path string, r io.Reader) error
	// MkdirAll makes the folder path (a no-op where folders exist only
	// through their files, as on a server).
	MkdirAll(ctx context.Context, path string) error
	// Open opens the file path for reading; a missing file is
	// errs.ErrNotFound.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// List lists the entries directly in the folder path, sorted by path;
	// a missing folder or a file lists nothing, as in MLflow.
	List(ctx context.Context, path string) ([]ArtifactInfo, error)
}
