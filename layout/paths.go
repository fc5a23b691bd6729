package layout

import (
	"fmt"
	"path"
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

// ReservedExperimentDirs are the folders inside an experiment that are never
// runs (FileStore.RESERVED_EXPERIMENT_FOLDERS).
var ReservedExperimentDirs = []string{TagsDir, DatasetsDir, TracesDir, ModelsDir}

// IsReservedExperimentDir reports whether name inside an experiment folder
// is not a run.
func IsReservedExperimentDir(name string) bool {
	for _, r := range ReservedExperimentDirs {
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

// IsTempName reports whether a file name is one of our temporary files.
func IsTempName(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// Kind is the kind of a path in the tree.
type Kind int

const (
	KindInvalid Kind = iota
	KindExperimentMeta
	KindExperimentTag
	KindRunMeta
	KindMetric
	KindParam
	KindTag
	KindArtifacts
	KindInputMeta
	KindOutputMeta
	KindDatasetMeta
	KindModelMeta
)

// Path names one file or folder of the tree. Rel renders it; ParsePath reads
// it back. Key is a metric, param or tag name and may contain '/'.
type Path struct {
	Kind         Kind
	Trash        bool // the experiment sits in .trash
	ExperimentID string
	RunID        string
	Key          string // metric/param/tag key
	ID           string // input, output, dataset or model id
}

// Rel returns the slash-separated path relative to the root.
func (p Path) Rel() string {
	exp := p.ExperimentID
	if p.Trash {
		exp = TrashDir + "/" + exp
	}
	switch p.Kind {
	case KindExperimentMeta:
		return exp + "/" + MetaFile
	case KindExperimentTag:
		return exp + "/" + TagsDir + "/" + p.Key
	case KindRunMeta:
		return exp + "/" + p.RunID + "/" + MetaFile
	case KindMetric:
		return exp + "/" + p.RunID + "/" + MetricsDir + "/" + p.Key
	case KindParam:
		return exp + "/" + p.RunID + "/" + ParamsDir + "/" + p.Key
	case KindTag:
		return exp + "/" + p.RunID + "/" + TagsDir + "/" + p.Key
	case KindArtifacts:
		return exp + "/" + p.RunID + "/" + ArtifactsDir
	case KindInputMeta:
		return exp + "/" + p.RunID + "/" + InputsDir + "/" + p.ID + "/" + MetaFile
	case KindOutputMeta:
		return exp + "/" + p.RunID + "/" + OutputsDir + "/" + p.ID + "/" + MetaFile
	case KindDatasetMeta:
		return exp + "/" + DatasetsDir + "/" + p.ID + "/" + MetaFile
	case KindModelMeta:
		return exp + "/" + ModelsDir + "/" + p.ID + "/" + MetaFile
	}
	return ""
}

// ParsePath reads a slash-separated path relative to the root. It accepts
// exactly the shapes Rel produces; anything else is ErrInvalidPath.
func ParsePath(rel string) (Path, error) {
	bad := func() (Path, error) {
		return Path{}, fmt.Errorf("%w: %q is not a path of the mlruns tree", errs.ErrInvalidPath, rel)
	}
	if rel == "" || path.Clean(rel) != rel || strings.HasPrefix(rel, "/") {
		return bad()
	}
	parts := strings.Split(rel, "/")
	var p Path
	if parts[0] == TrashDir {
		p.Trash = true
		parts = parts[1:]
	}
	if len(parts) < 2 || !plainName(parts[0]) {
		return bad()
	}
	p.ExperimentID = parts[0]
	rest := parts[1:]
	switch {
	case len(rest) == 1 && rest[0] == MetaFile:
		p.Kind = KindExperimentMeta
	case rest[0] == TagsDir && len(rest) >= 2:
		p.Kind, p.Key = KindExperimentTag, strings.Join(rest[1:], "/")
	case rest[0] == DatasetsDir && len(rest) == 3 && rest[2] == MetaFile && plainName(rest[1]):
		p.Kind, p.ID = KindDatasetMeta, rest[1]
	case rest[0] == ModelsDir && len(rest) == 3 && rest[2] == MetaFile && plainName(rest[1]):
		p.Kind, p.ID = KindModelMeta, rest[1]
	case IsReservedExperimentDir(rest[0]) || !plainName(rest[0]) || len(rest) < 2:
		return bad()
	default:
		p.RunID = rest[0]
		run := rest[1:]
		switch {
		case len(run) == 1 && run[0] == MetaFile:
			p.Kind = KindRunMeta
		case len(run) == 1 && run[0] == ArtifactsDir:
			p.Kind = KindArtifacts
		case len(run) >= 2 && run[0] == MetricsDir:
			p.Kind, p.Key = KindMetric, strings.Join(run[1:], "/")
		case len(run) >= 2 && run[0] == ParamsDir:
			p.Kind, p.Key = KindParam, strings.Join(run[1:], "/")
		case len(run) >= 2 && run[0] == TagsDir:
			p.Kind, p.Key = KindTag, strings.Join(run[1:], "/")
		case len(run) == 3 && run[0] == InputsDir && run[2] == MetaFile && plainName(run[1]):
			p.Kind, p.ID = KindInputMeta, run[1]
		case len(run) == 3 && run[0] == OutputsDir && run[2] == MetaFile && plainName(run[1]):
			p.Kind, p.ID = KindOutputMeta, run[1]
		default:
			return bad()
		}
	}
	return p, nil
}

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
