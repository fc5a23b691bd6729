package filestore

import (
	"fmt"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/validate"
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
	if err := validate.UTF8(field, id); err != nil {
		return err
	}
	return checkComponents(field, id)
}

// checkUTF8 is validate.UTF8 for (field, value) pairs.
func checkUTF8(fieldValues ...string) error {
	for i := 0; i+1 < len(fieldValues); i += 2 {
		if err := validate.UTF8(fieldValues[i], fieldValues[i+1]); err != nil {
			return err
		}
	}
	return nil
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
