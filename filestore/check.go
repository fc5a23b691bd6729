package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/validate"
)

// ProblemKind classifies a Problem, so that a command line can print and
// count them and Repair knows which it may fix.
type ProblemKind int

const (
	// ProblemCorrupt: some other file (param, tag, input, dataset) cannot
	// be read. Reported only.
	ProblemCorrupt ProblemKind = iota
	// ProblemTornTail: a metric file's last line has no newline, what an
	// interrupted append leaves. Repair truncates the file after its last
	// complete line (complete lines are kept; a file that was only the
	// torn line is removed). This holds even when the torn line parses: no
	// MLflow version and no writer of ours leaves a line unterminated, and
	// a torn prefix often parses to a wrong value ("1700000000000 0.5 12"
	// cut to "... 0.5 1" is another step; "2 2.0" is a valid 2-field
	// line); a later append would also run into it and make a line neither
	// reader can parse. A file with no complete line is taken as torn only
	// if the line has nothing but the characters of a metric line.
	ProblemTornTail
	// ProblemEmptyMetricFile: an empty metric file, what a crash between
	// creating a metric file and appending to it leaves; Python's get_run
	// fails on it ("No data found"). Repair removes it: it holds no data.
	ProblemEmptyMetricFile
	// ProblemStrayMetricFile: a file in metrics/ that is not a metric file
	// (no complete line parses). Reported only: it may be someone's data.
	ProblemStrayMetricFile
	// ProblemTempFile: one of our temporary files (layout.IsTempName), left
	// by a crash during an atomic replace. Repair removes it.
	ProblemTempFile
	// ProblemMetaMismatch: a meta.yaml whose ids disagree with its folder.
	// Reported only (readers skip the entity).
	ProblemMetaMismatch
	// ProblemUnreadableMeta: a meta.yaml that is missing from an experiment
	// folder, empty, or cannot be decoded. Reported only.
	ProblemUnreadableMeta
	// ProblemBadExperimentDir: a folder at the root (or in .trash) whose
	// name is not an experiment id. Reported only.
	ProblemBadExperimentDir
	// ProblemEmptyDir: an experiment, run, dataset, input or output folder
	// without meta.yaml and without a single file beneath it: what an
	// interrupted creation on a failing disk leaves (creations are undone
	// on an error when the disk lets us). Repair removes it: it holds no
	// data.
	ProblemEmptyDir
	// ProblemGCLeftover: a folder at the root that GC moved a run, model
	// or experiment into to remove it, left by a crash before the removal
	// finished. No reader lists it. Repair removes it.
	ProblemGCLeftover
	// ProblemNotRegular: a named pipe, a device, a socket, or a symlink to
	// one, where the tree holds files (regular.go): no read opens it.
	// Reported only: it was put there by someone, and readers skip the
	// entity it breaks.
	ProblemNotRegular
	// ProblemInvalidUTF8: a param or tag value, or a key's file name, that
	// is not valid UTF-8 (another writer left it; we refuse to write such
	// text). Python MLflow's readers fail on it, for the whole experiment
	// listing. Reported only: the bytes may matter to someone.
	ProblemInvalidUTF8
	// ProblemLinkOut: a file of a run (param, tag, metric) that is a
	// symlink leading out of the store's root (LinkOutError): the store
	// does not follow it. Reported only.
	ProblemLinkOut
)

var problemKindNames = [...]string{"corrupt file", "torn tail", "empty metric file",
	"stray metric file", "temporary file", "meta mismatch", "unreadable meta", "bad experiment dir", "empty folder",
	"gc leftover", "not a regular file", "invalid UTF-8", "symlink out of the tree"}

func (k ProblemKind) String() string {
	if int(k) < len(problemKindNames) {
		return problemKindNames[k]
	}
	return fmt.Sprintf("ProblemKind(%d)", int(k))
}

// Repairable reports whether Repair fixes problems of this kind. Only
// leftovers that hold no data a user could want are removed: torn tails,
// empty metric files, our temporary files and folders without any file.
func (k ProblemKind) Repairable() bool {
	return k == ProblemTornTail || k == ProblemEmptyMetricFile || k == ProblemTempFile || k == ProblemEmptyDir ||
		k == ProblemGCLeftover
}

// Problem is one inconsistency found by Check.
type Problem struct {
	Kind ProblemKind
	Path string // the file or folder at fault
	Err  error  // what is wrong; unwraps to an errs sentinel where one fits

	keep int64 // ProblemTornTail: the length of the complete lines
}

func (p Problem) String() string { return p.Kind.String() + ": " + p.Path + ": " + p.Err.Error() }

// Check reads the whole tree the way Python MLflow and this store read it
// and reports everything that would make a read fail or that a crash left
// behind: unreadable or inconsistent meta.yaml files, metric files that do
// not parse (a torn last line included), our leftover temporary files, and
// experiment folders whose name is not an experiment id. It changes
// nothing. Every store test ends with it (bbolt's habit). o may be nil.
func (s *Store) Check(ctx context.Context, o *CheckOptions) (CheckResult, error) {
	if o == nil {
		o = &CheckOptions{}
	}
	return s.check(ctx, *o)
}

// CheckOptions tune Check and Repair.
type CheckOptions struct {
	// Progress, when non-nil, is called after each folder at the root and
	// in .trash is checked, with the count done and the total, so that a
	// command line can draw a bar over a big store.
	Progress func(done, total int)
}

// CheckResult is what Check found, and how much it read: a clean
// result says how many experiments and runs were checked.
type CheckResult struct {
	Problems    []Problem
	Experiments int // experiment folders whose meta.yaml was read
	Runs        int // run folders whose meta.yaml was read
}

// check is Check.
func (s *Store) check(ctx context.Context, o CheckOptions) (CheckResult, error) {
	var res CheckResult
	add := func(p Problem) {
		var nr *NotRegularError
		var lo *LinkOutError
		switch { // whatever read ran into it, name the file
		case errors.As(p.Err, &nr):
			p.Kind, p.Path = ProblemNotRegular, nr.Path
		case errors.As(p.Err, &lo):
			p.Kind, p.Path = ProblemLinkOut, lo.Path
		}
		res.Problems = append(res.Problems, p)
	}
	type entry struct {
		parent string
		de     fs.DirEntry
	}
	var all []entry
	for _, parent := range []string{s.root, s.trash} {
		ents, err := os.ReadDir(parent)
		if err != nil {
			return CheckResult{}, fmt.Errorf("filestore: check: %w", err)
		}
		for _, de := range ents {
			all = append(all, entry{parent, de})
		}
	}
	for i, e := range all {
		if err := ctx.Err(); err != nil {
			return CheckResult{}, err
		}
		if o.Progress != nil && i > 0 {
			o.Progress(i, len(all))
		}
		parent, de := e.parent, e.de
		name := de.Name()
		p := filepath.Join(parent, name)
		if layout.IsTempName(name) {
			add(tempProblem(p))
			continue
		}
		if parent == s.root && de.IsDir() && isGCLeftover(name) {
			add(Problem{Kind: ProblemGCLeftover, Path: p, Err: errs.New(errs.ErrCorrupt,
				"folder an interrupted gc was removing")})
			continue
		}
		if !de.IsDir() || (parent == s.root && (strings.HasSuffix(name, layout.TrashDir) || name == layout.RegistryDir)) {
			continue
		}
		if err := validate.ExperimentID(name); err != nil {
			add(Problem{Kind: ProblemBadExperimentDir, Path: p, Err: err})
			continue
		}
		if _, err := s.readExperiment(p, name, parent == s.trash); err != nil {
			if !addIfEmptyDir(p, add) {
				add(Problem{Kind: metaKind(err), Path: p, Err: err})
			}
			continue
		}
		res.Experiments++
		res.Runs += s.checkExperiment(ctx, p, add)
	}
	if o.Progress != nil {
		o.Progress(len(all), len(all))
	}
	return res, nil
}

// Repair runs Check and fixes what is safe to fix without losing data (see
// ProblemKind.Repairable): it truncates torn metric tails after the last
// complete line, removes empty metric files and removes our temporary
// files. It returns the problems it fixed and a fresh check after the
// repair (after; o's Progress calls follow those of the first check).
// Metric files are changed under their flock, after checking again that the
// file is still as Check saw it. Run it when no writer is active: a
// writer's temporary file is removed under it, and that write then fails
// with an error (it never corrupts anything). o may be nil.
func (s *Store) Repair(ctx context.Context, o *CheckOptions) (fixed []Problem, after CheckResult, err error) {
	if o == nil {
		o = &CheckOptions{}
	}
	before, err := s.check(ctx, *o)
	if err != nil {
		return nil, CheckResult{}, err
	}
	for _, p := range before.Problems {
		if !p.Kind.Repairable() {
			continue
		}
		var ferr error
		switch p.Kind {
		case ProblemTempFile:
			ferr = s.fs.Remove(p.Path)
		case ProblemEmptyDir:
			if hasNoFiles(p.Path) {
				ferr = s.fs.RemoveAll(p.Path)
			}
		case ProblemGCLeftover:
			if ferr = s.confine(filepath.Dir(p.Path)); ferr == nil {
				ferr = s.fs.RemoveAll(p.Path)
			}
		case ProblemTornTail, ProblemEmptyMetricFile:
			ferr = s.repairMetricFile(p)
		}
		if ferr != nil && !errors.Is(ferr, fs.ErrNotExist) {
			return fixed, CheckResult{}, fmt.Errorf("filestore: repair %s: %w", p.Path, ferr)
		}
		fixed = append(fixed, p)
	}
	after, err = s.check(ctx, *o)
	return fixed, after, err
}

// repairMetricFile truncates a torn tail or removes an empty file, under
// the file's flock and only if the file still has that problem.
func (s *Store) repairMetricFile(p Problem) error {
	if err := s.confine(filepath.Dir(p.Path)); err != nil {
		return err
	}
	f, _, err := s.openAndLock(p.Path, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	r, _, err := openRegular(p.Path, 0) // not readMetricFile: its shared lock would wait for ours
	if err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return err
	}
	q, ok := classifyMetricFile(p.Path, data)
	if !ok || q.Kind != p.Kind {
		return nil // changed meanwhile: nothing to do
	}
	if q.Kind == ProblemEmptyMetricFile || q.keep == 0 {
		return s.fs.Remove(p.Path)
	}
	return f.Truncate(q.keep)
}

// invalidUTF8 is the problem of a file whose name or content what is
// not valid UTF-8.
func invalidUTF8(p, what string) Problem {
	return Problem{Kind: ProblemInvalidUTF8, Path: p, Err: errs.New(errs.ErrCorrupt,
		what+" is not valid UTF-8: Python MLflow fails to read this run (and the listings that include it)")}
}

func tempProblem(p string) Problem {
	return Problem{Kind: ProblemTempFile, Path: p, Err: errors.New("leftover temporary file")}
}

func metaKind(err error) ProblemKind {
	if errors.Is(err, errs.ErrInvalidState) {
		return ProblemMetaMismatch
	}
	return ProblemUnreadableMeta
}

// checkExperiment checks an experiment's folders and returns how many runs
// it read.
func (s *Store) checkExperiment(ctx context.Context, expDir string, add func(Problem)) (runs int) {
	ents, err := os.ReadDir(expDir)
	if err != nil {
		add(Problem{Kind: ProblemCorrupt, Path: expDir, Err: err})
		return 0
	}
	for _, de := range ents {
		if ctx.Err() != nil {
			return runs
		}
		name := de.Name()
		p := filepath.Join(expDir, name)
		if layout.IsTempName(name) {
			add(tempProblem(p))
			continue
		}
		if name == layout.DatasetsDir && de.IsDir() {
			s.checkMetaDirs(p, add)
			continue
		}
		if name == layout.ModelsDir && de.IsDir() {
			checkModels(p, add)
			continue
		}
		if !de.IsDir() || layout.IsReservedExperimentDir(name) {
			continue
		}
		info, err := readRunInfo(p)
		if err != nil {
			if !exists(filepath.Join(p, layout.MetaFile)) {
				addIfEmptyDir(p, add)
				continue // not a run (artifacts may live here)
			}
			add(Problem{Kind: metaKind(err), Path: p, Err: err})
			continue
		}
		runs++
		s.checkRun(p, info, add)
	}
	return runs
}

func (s *Store) checkRun(runDir string, info entities.RunInfo, add func(Problem)) {
	ents, err := os.ReadDir(runDir)
	if err == nil {
		for _, de := range ents {
			if layout.IsTempName(de.Name()) {
				add(tempProblem(filepath.Join(runDir, de.Name())))
			}
		}
	}
	root := filepath.Join(runDir, layout.MetricsDir)
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if !(errors.Is(err, fs.ErrNotExist) && p == root) {
				add(Problem{Kind: ProblemCorrupt, Path: p, Err: err})
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if rel, _ := filepath.Rel(root, p); !utf8.ValidString(rel) {
			add(invalidUTF8(p, "the metric key (its file name)"))
		}
		data, err := readMetricFile(p)
		if err != nil {
			add(Problem{Kind: ProblemCorrupt, Path: p, Err: err})
			return nil
		}
		if prob, bad := classifyMetricFile(p, data); bad {
			prob.Path = p
			prob.Err = withMetricPath(prob.Err, p)
			add(prob)
		}
		return nil
	})
	for _, sub := range []string{layout.ParamsDir, layout.TagsDir} {
		kv, err := s.readKeyFiles(filepath.Join(runDir, sub))
		if err != nil {
			add(Problem{Kind: ProblemCorrupt, Path: filepath.Join(runDir, sub), Err: err})
		}
		for k, v := range kv {
			p := filepath.Join(runDir, sub, filepath.FromSlash(k))
			switch {
			case !utf8.ValidString(k):
				add(invalidUTF8(p, "the key (its file name)"))
			case !utf8.ValidString(v):
				add(invalidUTF8(p, "the value"))
			}
		}
	}
	if !s.checkMetaDirs(filepath.Join(runDir, layout.InputsDir), add) {
		if _, err := s.readInputs(runDir); err != nil {
			add(Problem{Kind: ProblemCorrupt, Path: filepath.Join(runDir, layout.InputsDir), Err: err})
		}
	}
	if !s.checkMetaDirs(filepath.Join(runDir, layout.OutputsDir), add) {
		if _, err := s.readOutputs(runDir); err != nil {
			add(Problem{Kind: ProblemCorrupt, Path: filepath.Join(runDir, layout.OutputsDir), Err: err})
		}
	}
}

// checkModels reports the logged model folders under models whose
// meta.yaml cannot be read (GetLoggedModel and search fail on them).
func checkModels(models string, add func(Problem)) {
	ents, err := os.ReadDir(models)
	if err != nil {
		add(Problem{Kind: ProblemCorrupt, Path: models, Err: err})
		return
	}
	for _, de := range ents {
		dir := filepath.Join(models, de.Name())
		if !de.IsDir() {
			continue
		}
		data, err := readRegular(filepath.Join(dir, layout.MetaFile))
		if err == nil {
			_, err = layout.DecodeLoggedModelMeta(data)
		}
		if err != nil && !(errors.Is(err, fs.ErrNotExist) && addIfEmptyDir(dir, add)) {
			add(Problem{Kind: ProblemUnreadableMeta, Path: dir, Err: err})
		}
	}
}

// checkMetaDirs reports the folders under parent (datasets, inputs or
// outputs, each of which must hold a meta.yaml) that have no file at all,
// and says whether it found any.
func (s *Store) checkMetaDirs(parent string, add func(Problem)) bool {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return false
	}
	found := false
	for _, de := range ents {
		p := filepath.Join(parent, de.Name())
		if de.IsDir() && !exists(filepath.Join(p, layout.MetaFile)) && addIfEmptyDir(p, add) {
			found = true
		}
	}
	return found
}

// addIfEmptyDir reports dir as ProblemEmptyDir if it holds no file.
func addIfEmptyDir(dir string, add func(Problem)) bool {
	if !hasNoFiles(dir) {
		return false
	}
	add(Problem{Kind: ProblemEmptyDir, Path: dir, Err: errs.New(errs.ErrCorrupt,
		"folder without meta.yaml and without any file (an interrupted creation)")})
	return true
}

// hasNoFiles reports whether dir is a folder with nothing but folders (and
// our temporary files) beneath it.
func hasNoFiles(dir string) bool {
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !layout.IsTempName(d.Name()) {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return err == nil && !found
}

// classifyMetricFile says what, if anything, is wrong with a run metric
// file's content.
func classifyMetricFile(p string, data []byte) (Problem, bool) {
	key := filepath.Base(p)
	if len(data) == 0 {
		return Problem{Kind: ProblemEmptyMetricFile, Err: errs.New(errs.ErrCorrupt,
			fmt.Sprintf("Metric '%s' is malformed. No data found.", key))}, true
	}
	if data[len(data)-1] == '\n' {
		if _, err := layout.DecodeMetricHistory(key, data); err != nil {
			return Problem{Kind: ProblemStrayMetricFile, Err: err}, true
		}
		return Problem{}, false
	}
	i := bytes.LastIndexByte(data, '\n')
	if _, err := layout.DecodeMetricHistory(key, data[:i+1]); err != nil {
		return Problem{Kind: ProblemStrayMetricFile, Err: err}, true
	}
	if i < 0 && strings.Trim(string(data), metricLineChars) != "" {
		return Problem{Kind: ProblemStrayMetricFile, Err: errs.New(errs.ErrCorrupt, "not a metric file")}, true
	}
	return Problem{Kind: ProblemTornTail, keep: int64(i + 1), Err: errs.New(errs.ErrCorrupt,
		fmt.Sprintf("last line %s has no newline: a torn append", layout.QuoteExcerpt(data[i+1:])))}, true
}

// metricLineChars are the characters of a metric line without dataset
// fields: digits, signs, points, exponents, nan and inf, spaces.
const metricLineChars = "0123456789+-.eE nNaAiIfFtTyY" // digits, signs, exponents, nan, inf(inity) in any case
