package layout

import (
	"fmt"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
)

// Names in the tree. Part of the on-disk format.
const (
	MetaFile     = "meta.yaml"
	TrashDir     = ".trash"
	MetricsDir   = "metrics"
	ParamsDir    = "params"
	TagsDir      = "tags"
	ArtifactsDir = "artifacts"
	InputsDir    = "inputs"
	OutputsDir   = "outputs"
	DatasetsDir  = "datasets"
	ModelsDir    = "models"
	TracesDir    = "traces"
	// RegistryDir is the model registry's folder at the root; it is not an
	// experiment.
	RegistryDir = "models"
	// DefaultExperimentID is the id of the "Default" experiment.
	DefaultExperimentID = "0"
	// DefaultExperimentName is its name.
	DefaultExperimentName = "Default"
)

// reservedExperimentDirs are the folders inside an experiment that are never
// runs (FileStore.RESERVED_EXPERIMENT_FOLDERS).
var reservedExperimentDirs = []string{TagsDir, DatasetsDir, TracesDir, ModelsDir}

// IsReservedExperimentDir reports whether name inside an experiment folder
// is not a run.
func IsReservedExperimentDir(name string) bool {
	for _, r := range reservedExperimentDirs {
		if name == r {
			return true
		}
	}
	return false
}

// TempPrefix starts the names of our temporary files. They are files, never
// folders, and sit next to the file they replace: Python lists only folders
// as experiments and runs and only files under metrics/, params/ and tags/
// as keys, so it never sees them.
const TempPrefix = ".mlruns-tmp-"

// ArtifactTempPrefix starts the name of an artifact being written: Python's
// LocalArtifactRepository prefix (".artifact.uploading."), so Python's
// listings leave our unfinished files out as they do its own.
const ArtifactTempPrefix = ".artifact.uploading."

// IsTempName reports whether a file name is one of our temporary files.
func IsTempName(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// plainName is a single path element that is not "." or "..".
func plainName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

// CheckKey refuses a key that would not stay a file inside its folder when
// joined: absolute, with "." or ".." elements, empty elements or NUL. The
// validate package enforces MLflow's own rules first; this is the last line
// of defence before a path reaches the filesystem.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("%w: key %q cannot be a file name", errs.ErrInvalidPath, key)
	}
	for el := range strings.SplitSeq(key, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("%w: key %q cannot be a file name", errs.ErrInvalidPath, key)
		}
	}
	return nil
}

// CheckID refuses an id that is not a single plain path element.
func CheckID(field, id string) error {
	if !plainName(id) {
		return fmt.Errorf("%w: %s %q is not a single path element", errs.ErrInvalidPath, field, id)
	}
	return nil
}
