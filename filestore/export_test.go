package filestore

import "github.com/mlruns-go/mlruns/internal/vfs"

// OpenWithFS is Open whose write paths go through fsys: the fault tests'
// way in (internal/vfs/errorfs), kept out of the public Options.
func OpenWithFS(root string, opts *Options, fsys vfs.FS) (*Store, error) {
	return open(root, opts, fsys)
}
