package filestore

import (
	"fmt"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/layout"
)

// nameMax is the longest file name (one path component) POSIX file
// systems take (NAME_MAX).
const nameMax = 255

// checkKey is layout.CheckKey plus a length check of each component, so a
// key the file system cannot hold is a typed error before anything is
// written instead of an ENAMETOOLONG from deep inside a write. Its kind is
// ErrInternal (INTERNAL_ERROR), the code MLflow gives the OSError it hits.
func checkKey(key string) error {
	if err := layout.CheckKey(key); err != nil {
		return err
	}
	return checkComponents("key", key)
}

// checkID is layout.CheckID plus the same length check.
func checkID(field, id string) error {
	if err := layout.CheckID(field, id); err != nil {
		return err
	}
	return checkComponents(field, id)
}

func checkComponents(field, name string) error {
	for c := range strings.SplitSeq(name, "/") {
		if len(c) > nameMax {
			return errs.New(errs.ErrInternal, fmt.Sprintf(
				"%s %.40q... has a path component of %d bytes; the file system allows %d", field, name, len(c), nameMax))
		}
		if why := sysfs.NameProblem(c); why != "" {
			return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("%s %q cannot be a file name here: %s", field, name, why))
		}
	}
	return nil
}
