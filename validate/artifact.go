package validate

import (
	"fmt"
	"path"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
)

// ArtifactPath applies MLflow's validate_path_is_safe to an artifact path:
// a relative slash path with no backslash, no "..", no "#", no NUL, not
// absolute and no drive letter. It returns the cleaned path, "." for the
// top ("").
func ArtifactPath(p string) (string, error) {
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
