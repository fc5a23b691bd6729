package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/age"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/validate"
)

// Permanent deletion, as `mlflow gc` does it on a file store
// (mlflow/cli `_gc_tracking_resources` and FileStore's `_hard_delete_*`):
// runs in the deleted stage lose their folder and their artifact folder,
// deleted logged models likewise, and deleted experiments lose their
// folder in .trash with everything in it.
//
// Two things differ from Python, both so that a mistake or a crash cannot
// cost data Python would keep:
//   - every run, model and experiment is checked before anything is
//     removed, so a refused id (not deleted, too young, unknown) removes
//     nothing; Python removes runs one by one in set order and stops at the
//     first refused one;
//   - an artifact location is removed only when it is the entity's own
//     folder (<...>/<id>/artifacts) inside the store root or where its
//     experiment's artifact_location puts it, not inside another copy of
//     the store (a copied store's meta.yaml names the original's folders),
//     and never through a symlink; Python removes whatever local path
//     meta.yaml names.
//
// Folders inside the root are first renamed to a gcTrashPrefix folder at
// the root and then removed, so readers see a run or experiment vanish at
// once, never half removed, and a crash leaves a folder that every reader
// (ours and Python's, which skip root names ending in ".trash") ignores and
// that Check reports and Repair removes.

// gcTrashPrefix starts the name of a folder being removed by GC; the name
// ends in layout.TrashDir so that no reader lists it as an experiment.
const gcTrashPrefix = ".mlruns-gc-"

// isGCLeftover reports whether a name at the root is a folder GC was
// removing when it stopped.
func isGCLeftover(name string) bool {
	return strings.HasPrefix(name, gcTrashPrefix) && strings.HasSuffix(name, layout.TrashDir)
}

// GCKind is what a GCItem is.
type GCKind int

const (
	GCRun         GCKind = iota // a run folder (and its artifact folder)
	GCLoggedModel               // a logged model folder (and its artifact folder)
	GCExperiment                // a deleted experiment's folder in .trash
)

var gcKindNames = [...]string{"run", "logged model", "experiment"}

func (k GCKind) String() string {
	if int(k) < len(gcKindNames) {
		return gcKindNames[k]
	}
	return "GCKind(" + strconv.Itoa(int(k)) + ")"
}

// GCItem is one thing GC removes (or, in a dry run, would remove).
type GCItem struct {
	Kind         GCKind
	ID           string
	ExperimentID string // the experiment of a run or model; an experiment's own id
	// Dir is the folder removed: the run, model or experiment folder.
	Dir string
	// Artifacts is the artifact folder removed besides Dir, when the
	// entity's artifacts live outside it (an experiment with its own
	// artifact location); empty otherwise.
	Artifacts string
	// ArtifactsKept, when not empty, says why the recorded artifact
	// location was left alone ("a symlink (/path)", "not a local folder
	// (s3://...): remove them with that storage's tools", ...).
	ArtifactsKept string
}

// GCOptions select what GC removes, as mlflow gc's flags do.
type GCOptions struct {
	// OlderThan limits GC to runs deleted, and experiments and logged
	// models last updated, at least this long ago (--older-than). Zero:
	// any age.
	OlderThan time.Duration
	// RunIDs are the runs to remove (--run-ids); each must be deleted.
	// Empty: every deleted run old enough.
	RunIDs []string
	// ExperimentIDs are the experiments to remove with their deleted runs
	// (--experiment-ids); each must be deleted and old enough. Empty: every
	// deleted experiment old enough. As in mlflow gc, runs are selected by
	// RunIDs alone: giving ExperimentIDs does not narrow which runs of
	// other experiments go.
	ExperimentIDs []string
	// LoggedModelIDs are the logged models to remove (--logged-model-ids);
	// each must be deleted. Empty: every deleted logged model old enough.
	LoggedModelIDs []string
	// DryRun plans and reports without removing anything.
	DryRun bool
	// Progress, when non-nil, is called after each item is removed (or
	// planned, in a dry run) with the count done and the total.
	Progress func(done, total int, item GCItem)
}

// GCResult is what GC removed, in order: runs, logged models, then
// experiments (as mlflow gc), each sorted by id.
type GCResult struct {
	Items []GCItem
}

// Count returns how many items of the kind the result holds.
func (r GCResult) Count(k GCKind) int {
	n := 0
	for _, it := range r.Items {
		if it.Kind == k {
			n++
		}
	}
	return n
}

// DeletedRuns returns the runs in the deleted stage, in active and deleted
// experiments, that were deleted at least olderThan ago, sorted by run id.
// A run without deleted_time (deleted before MLflow 1.28) counts as old
// enough, as in Python. Broken runs are left out.
func (s *Store) DeletedRuns(ctx context.Context, olderThan time.Duration) ([]entities.RunInfo, error) {
	nowMs := s.nowMillis()
	var out []entities.RunInfo
	for _, parent := range []string{s.root, s.trash} {
		ids, err := s.experimentIDsIn(parent)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			infos, _, err := s.listRunInfos(ctx, filepath.Join(parent, id), id)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				continue // the experiment vanished meanwhile
			}
			for _, ri := range infos {
				if ri.info.LifecycleStage == entities.StageDeleted && deletedLongEnough(ri.info, nowMs, olderThan) {
					out = append(out, ri.info)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RunID < out[j].RunID })
	return out, nil
}

// deletedLongEnough is Python's test: no deleted_time, or now minus
// deleted_time at least the age (so a deleted_time in the future fails it
// even without an age).
func deletedLongEnough(info entities.RunInfo, nowMs int64, olderThan time.Duration) bool {
	return info.DeletedTime == nil || nowMs-*info.DeletedTime >= olderThan.Milliseconds()
}

// DeletedExperiments returns the deleted experiments, and with a non-zero
// olderThan only those last updated (deleted) more than olderThan ago,
// sorted by id. Experiments without last_update_time (before MLflow 1.29)
// are never old enough, as in Python's filter.
func (s *Store) DeletedExperiments(ctx context.Context, olderThan time.Duration) ([]entities.Experiment, error) {
	exps, _, err := s.ListExperiments(ctx, entities.ViewDeletedOnly)
	if err != nil {
		return nil, err
	}
	threshold := s.nowMillis() - olderThan.Milliseconds()
	var out []entities.Experiment
	for _, e := range exps {
		if olderThan == 0 || experimentOldEnough(e, threshold) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExperimentID < out[j].ExperimentID })
	return out, nil
}

func experimentOldEnough(e entities.Experiment, threshold int64) bool {
	return e.LastUpdateTime != nil && *e.LastUpdateTime < threshold
}

// experimentIDsIn lists the folder names under parent (the root or .trash)
// that are experiment ids, as Python's experiment listing does.
func (s *Store) experimentIDsIn(parent string) ([]string, error) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && parent == s.trash {
			return nil, nil
		}
		return nil, fmt.Errorf("filestore: list experiments: %w", err)
	}
	var ids []string
	for _, de := range ents {
		name := de.Name()
		if layout.IsTempName(name) || !isDir(filepath.Join(parent, name)) {
			continue
		}
		if parent == s.root && (strings.HasSuffix(name, layout.TrashDir) || name == layout.RegistryDir) {
			continue
		}
		if validate.ExperimentID(name) != nil {
			continue
		}
		ids = append(ids, name)
	}
	return ids, nil
}

// loggedModelDir is a logged model and its folder.
type loggedModelDir struct {
	model entities.LoggedModel
	dir   string
}

// loggedModels reads the meta of every logged model of every active and
// deleted experiment. Unreadable models are left out (Python skips models
// without meta.yaml; a malformed one is not ours to remove).
func (s *Store) loggedModels(ctx context.Context) ([]loggedModelDir, error) {
	var out []loggedModelDir
	for _, parent := range []string{s.root, s.trash} {
		ids, err := s.experimentIDsIn(parent)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			models := filepath.Join(parent, id, layout.ModelsDir)
			ents, err := os.ReadDir(models)
			if err != nil {
				continue
			}
			for _, de := range ents {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				dir := filepath.Join(models, de.Name())
				if layout.IsReservedExperimentDir(de.Name()) || !isDir(dir) {
					continue
				}
				data, err := readRegular(filepath.Join(dir, layout.MetaFile))
				if err != nil {
					continue
				}
				m, err := layout.DecodeLoggedModelMeta(data)
				if err != nil || m.ModelID != de.Name() {
					continue
				}
				out = append(out, loggedModelDir{model: m, dir: dir})
			}
		}
	}
	return out, nil
}

// PermanentlyDeleteRun removes a deleted run: its folder, and its artifact
// folder when that lies outside the run folder and is the run's own (see
// GC). A run that is not deleted is ErrInvalidState; nothing is removed
// through a symlink or outside the store root and the run's artifact
// folder (ErrInvalidPath).
func (s *Store) PermanentlyDeleteRun(ctx context.Context, runID string) error {
	item, err := s.planRun(ctx, runID)
	if err != nil {
		return err
	}
	return s.removeRun(ctx, item)
}

// PermanentlyDeleteExperiment removes a deleted experiment: first its
// deleted runs as PermanentlyDeleteRun does (so their own artifact folders
// outside the store go too, as with mlflow gc --experiment-ids), then its
// folder in .trash with everything left in it. An experiment that is not
// deleted is ErrInvalidState.
func (s *Store) PermanentlyDeleteExperiment(ctx context.Context, experimentID string) error {
	exp, err := s.planExperiment(ctx, experimentID, 0, 0)
	if err != nil {
		return err
	}
	runs, err := s.planDeletedRunsOf(ctx, exp)
	if err != nil {
		return err
	}
	for _, it := range runs {
		if err := s.removeRun(ctx, it); err != nil && !errors.Is(err, errGone) {
			return err
		}
	}
	if err := s.removeExperiment(ctx, exp); err != nil && !errors.Is(err, errGone) {
		return err
	}
	return nil
}

// planDeletedRunsOf plans the removal of the deleted runs of a planned
// experiment.
func (s *Store) planDeletedRunsOf(ctx context.Context, exp GCItem) ([]GCItem, error) {
	infos, _, err := s.listRunInfos(ctx, exp.Dir, exp.ID)
	if err != nil {
		return nil, err
	}
	var out []GCItem
	for _, ri := range infos {
		if ri.info.LifecycleStage != entities.StageDeleted {
			continue
		}
		it, err := s.planRun(ctx, ri.info.RunID)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// GC permanently deletes what `mlflow gc` would with the same options:
// the deleted runs (RunIDs, else every deleted run old enough), the deleted
// logged models (likewise), the deleted experiments (ExperimentIDs, else
// every deleted experiment old enough) and the deleted runs of those
// experiments. Everything is checked first: a refused id is an error and
// nothing is removed. An item another process removes meanwhile is passed
// over. On an error during removal the result holds what was removed.
func (s *Store) GC(ctx context.Context, o GCOptions) (GCResult, error) {
	if o.OlderThan < 0 {
		return GCResult{}, errs.New(errs.ErrInvalidParameter, "older-than must not be negative")
	}
	plan, err := s.planGC(ctx, o)
	if err != nil {
		return GCResult{}, err
	}
	var res GCResult
	for i, it := range plan {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if !o.DryRun {
			var err error
			switch it.Kind {
			case GCRun:
				err = s.removeRun(ctx, it)
			case GCLoggedModel:
				err = s.removeModel(it)
			case GCExperiment:
				err = s.removeExperiment(ctx, it)
			}
			if errors.Is(err, errGone) {
				continue
			}
			if err != nil {
				return res, err
			}
		}
		res.Items = append(res.Items, it)
		if o.Progress != nil {
			o.Progress(i+1, len(plan), it)
		}
	}
	return res, nil
}

// errGone marks an item removed by someone else between plan and removal.
var errGone = errors.New("filestore: already removed")

// planGC selects and checks everything GC will remove, in removal order.
func (s *Store) planGC(ctx context.Context, o GCOptions) ([]GCItem, error) {
	nowMs := s.nowMillis()
	oldRuns, err := s.DeletedRuns(ctx, o.OlderThan)
	if err != nil {
		return nil, err
	}
	oldRun := map[string]bool{}
	for _, r := range oldRuns {
		oldRun[r.RunID] = true
	}
	runIDs := map[string]bool{}
	if len(o.RunIDs) > 0 {
		for _, id := range o.RunIDs {
			runIDs[id] = true
		}
	} else {
		for id := range oldRun {
			runIDs[id] = true
		}
	}

	// Experiments, and the deleted runs they take with them.
	var expIDs []string
	if len(o.ExperimentIDs) > 0 {
		seen := map[string]bool{}
		for _, id := range o.ExperimentIDs {
			if !seen[id] {
				seen[id] = true
				expIDs = append(expIDs, id)
			}
		}
	} else {
		exps, err := s.DeletedExperiments(ctx, o.OlderThan)
		if err != nil {
			return nil, err
		}
		for _, e := range exps {
			expIDs = append(expIDs, e.ExperimentID)
		}
	}
	sort.Strings(expIDs)
	var expItems []GCItem
	for _, id := range expIDs {
		it, err := s.planExperiment(ctx, id, nowMs, o.OlderThan)
		if errors.Is(err, errs.ErrNotFound) && len(o.ExperimentIDs) == 0 {
			continue // found by listing, removed meanwhile by another gc
		}
		if err != nil {
			return nil, err
		}
		infos, _, err := s.listRunInfos(ctx, it.Dir, id)
		if errors.Is(err, fs.ErrNotExist) && len(o.ExperimentIDs) == 0 {
			continue
		}
		if err != nil {
			return nil, err
		}
		expItems = append(expItems, it)
		for _, ri := range infos {
			if ri.info.LifecycleStage == entities.StageDeleted {
				runIDs[ri.info.RunID] = true
			}
		}
	}

	var plan []GCItem
	for _, id := range sortedKeys(runIDs) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		it, err := s.planRun(ctx, id)
		if errors.Is(err, errs.ErrNotFound) && len(o.RunIDs) == 0 {
			continue // found by listing, removed meanwhile by another gc
		}
		if err != nil {
			return nil, err
		}
		if o.OlderThan > 0 && !oldRun[id] {
			return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
				"Run %s is not older than the required age. Only runs older than %s can be deleted.", id, age.Format(o.OlderThan)))
		}
		plan = append(plan, it)
	}

	models, err := s.planModels(ctx, o, nowMs)
	if err != nil {
		return nil, err
	}
	plan = append(plan, models...)
	return append(plan, expItems...), nil
}

// planModels selects and checks the logged models GC removes.
func (s *Store) planModels(ctx context.Context, o GCOptions, nowMs int64) ([]GCItem, error) {
	ageMs := o.OlderThan.Milliseconds()
	all, err := s.loggedModels(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]loggedModelDir{}
	for _, m := range all {
		if _, dup := byID[m.model.ModelID]; !dup { // the first found, as Python's lookup
			byID[m.model.ModelID] = m
		}
	}
	// Python's test: deleted, and last updated at or before now minus the
	// ageMs (so a future timestamp fails it even without an ageMs).
	old := func(m entities.LoggedModel) bool {
		return m.LifecycleStage == entities.StageDeleted && m.LastUpdatedTimestamp <= nowMs-ageMs
	}
	ids := map[string]bool{}
	if len(o.LoggedModelIDs) > 0 {
		for _, id := range o.LoggedModelIDs {
			m, ok := byID[id]
			if !ok {
				return nil, errs.New(errs.ErrNotFound, fmt.Sprintf("Model '%s' not found", id))
			}
			if m.model.LifecycleStage != entities.StageDeleted {
				return nil, errs.New(errs.ErrInvalidState, fmt.Sprintf(
					"Logged model %s is not in `deleted` lifecycle stage. Only logged models in `deleted` lifecycle stage can be deleted.", id))
			}
			if ageMs > 0 && !old(m.model) {
				return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
					"Logged model %s is not older than the required ageMs. Only logged models older than %s can be deleted.", id, age.Format(o.OlderThan)))
			}
			ids[id] = true
		}
	} else {
		for id, m := range byID {
			if old(m.model) {
				ids[id] = true
			}
		}
	}
	var items []GCItem
	for _, id := range sortedKeys(ids) {
		m := byID[id]
		if m.model.ExperimentID != filepath.Base(filepath.Dir(filepath.Dir(m.dir))) {
			return nil, errs.New(errs.ErrInvalidState, fmt.Sprintf("Model '%s' metadata is in invalid state.", id))
		}
		if err := s.removable(m.dir); err != nil {
			return nil, err
		}
		it := GCItem{Kind: GCLoggedModel, ID: id, ExperimentID: m.model.ExperimentID, Dir: m.dir}
		expected := ""
		if exp, err := s.GetExperiment(ctx, m.model.ExperimentID); err == nil {
			expected = appendURIPath(exp.ArtifactLocation, layout.ModelsDir, id, layout.ArtifactsDir)
		}
		it.Artifacts, it.ArtifactsKept = s.artifactsToRemove(m.model.ArtifactLocation, expected, m.dir, id)
		items = append(items, it)
	}
	return items, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// planRun checks that a run may be removed and says what goes.
func (s *Store) planRun(ctx context.Context, runID string) (GCItem, error) {
	dir, err := s.runDir(runID)
	if err != nil {
		return GCItem{}, err
	}
	info, err := readRunInfo(dir)
	if err != nil {
		return GCItem{}, err
	}
	if info.LifecycleStage != entities.StageDeleted {
		return GCItem{}, errs.New(errs.ErrInvalidState, fmt.Sprintf(
			"Run %s is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle stage can be deleted.", runID))
	}
	if err := s.removable(dir); err != nil {
		return GCItem{}, err
	}
	it := GCItem{Kind: GCRun, ID: runID, ExperimentID: info.ExperimentID, Dir: dir}
	expected := ""
	if exp, err := s.GetExperiment(ctx, info.ExperimentID); err == nil {
		expected = appendURIPath(exp.ArtifactLocation, runID, layout.ArtifactsDir)
	}
	it.Artifacts, it.ArtifactsKept = s.artifactsToRemove(info.ArtifactURI, expected, dir, runID)
	return it, nil
}

// planExperiment checks that an experiment may be removed: it exists, is
// deleted and, with an age, was last updated before now minus the age.
func (s *Store) planExperiment(ctx context.Context, id string, nowMs int64, olderThan time.Duration) (GCItem, error) {
	exp, err := s.GetExperiment(ctx, id)
	if err != nil {
		return GCItem{}, err
	}
	if exp.LifecycleStage != entities.StageDeleted {
		return GCItem{}, errs.New(errs.ErrInvalidState, fmt.Sprintf(
			"Experiments ['%s'] are not in the deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be hard-deleted.", id))
	}
	if olderThan > 0 && !experimentOldEnough(exp, nowMs-olderThan.Milliseconds()) {
		return GCItem{}, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"Experiments ['%s'] are not older than the required age. Only experiments older than %s can be deleted.",
			id, age.Format(olderThan)))
	}
	dir, _, err := s.experimentDir(id, entities.ViewDeletedOnly)
	if err != nil {
		// deleted by its meta.yaml but not in .trash: nothing Python's gc
		// could remove either
		return GCItem{}, errs.New(errs.ErrInvalidState, fmt.Sprintf(
			"Experiment %s says it is deleted but its folder is not in .trash; restore or move it by hand", id))
	}
	if err := s.removable(dir); err != nil {
		return GCItem{}, err
	}
	return GCItem{Kind: GCExperiment, ID: id, ExperimentID: id, Dir: dir}, nil
}

// removable refuses a folder GC must not remove: one that is a symlink
// (removing through it would reach outside the tree, and Python's rmtree
// refuses symlinks too) or whose parent resolves outside the store root.
func (s *Store) removable(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("filestore: gc: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return errs.New(errs.ErrInvalidPath, fmt.Sprintf(
			"%s is a symlink; gc never removes through symlinks (remove the link by hand)", dir))
	}
	if !fi.IsDir() {
		return errs.New(errs.ErrInvalidPath, fmt.Sprintf("%s is not a folder", dir))
	}
	if !within(s.root, dir) {
		return errs.New(errs.ErrInvalidPath, fmt.Sprintf("%s is outside the store root %s", dir, s.root))
	}
	return s.confine(filepath.Dir(dir))
}

// within reports whether p is base or lies lexically under it.
func within(base, p string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// artifactsToRemove decides what to do with an entity's recorded artifact
// location (uri). It returns the folder to remove besides the entity's own
// folder (ownDir), or why the location is left alone. The location is
// removed only if it is a local absolute path ending in <id>/artifacts and
// either lies in the store root or is where the experiment's artifact
// location puts the entity (expected); a location inside ownDir goes with
// it. A location in another store's run or model folder (what a copied
// store's meta.yaml names) is left alone.
func (s *Store) artifactsToRemove(uri, expected, ownDir, id string) (remove, kept string) {
	if uri == "" {
		return "", ""
	}
	local, err := LocalPath(uri)
	if err != nil {
		return "", "not a local folder (" + uri + "): remove them with that storage's tools"
	}
	p := filepath.Clean(filepath.FromSlash(local))
	if !filepath.IsAbs(p) {
		return "", "a relative path (" + local + "): remove them by hand"
	}
	if within(ownDir, p) {
		return "", ""
	}
	if filepath.Base(p) != layout.ArtifactsDir || filepath.Base(filepath.Dir(p)) != id {
		return "", "not the folder " + id + "/" + layout.ArtifactsDir + " (" + p + ")"
	}
	if exists(filepath.Join(filepath.Dir(p), layout.MetaFile)) {
		// A copied or moved store still names the original's folders; the
		// original's run is not ours to remove (Python would).
		return "", "a folder of another copy of this store (" + p + ")"
	}
	if !within(s.root, p) {
		exp, err := LocalPath(expected)
		if expected == "" || err != nil || filepath.Clean(filepath.FromSlash(exp)) != p {
			return "", "outside the store and not where the experiment's artifact location puts them (" + p + ")"
		}
	} else if err := s.confine(filepath.Dir(p)); err != nil {
		return "", "resolves outside the store root (" + p + ")"
	}
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "" // nothing there: nothing to do, as Python
	case err != nil:
		return "", err.Error()
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", "a symlink (" + p + ")"
	}
	return p, ""
}

// removeRun removes a planned run: under the run's lock it checks again
// that the run is deleted, removes the artifact folder, then moves the run
// folder out of the tree in one rename and removes it.
func (s *Store) removeRun(ctx context.Context, it GCItem) error {
	err := s.withDirLock(ctx, it.Dir, func() error {
		info, err := readRunInfo(it.Dir)
		if errors.Is(err, errs.ErrNotFound) {
			return errGone
		}
		if err != nil {
			return err
		}
		if info.LifecycleStage != entities.StageDeleted {
			return errs.New(errs.ErrInvalidState, fmt.Sprintf(
				"Run %s is not in `deleted` lifecycle stage (restored while gc ran); it was not removed", it.ID))
		}
		if err := s.removeArtifacts(it); err != nil {
			return err
		}
		return s.removeTree(it.Dir)
	})
	s.runDirs.Delete(it.ID)
	s.runInfos.Delete(it.ID)
	if errors.Is(err, fs.ErrNotExist) {
		return errGone // the folder went before the lock's open or the rename
	}
	return err
}

// removeModel removes a planned logged model and its artifact folder, if
// it is still deleted.
func (s *Store) removeModel(it GCItem) error {
	err := func() error {
		meta := filepath.Join(it.Dir, layout.MetaFile)
		data, err := readRegular(meta)
		if err != nil {
			return fmt.Errorf("filestore: gc: %w", err)
		}
		m, err := layout.DecodeLoggedModelMeta(data)
		if err != nil {
			return withPath(err, meta)
		}
		if m.LifecycleStage != entities.StageDeleted {
			return errs.New(errs.ErrInvalidState, fmt.Sprintf(
				"Logged model %s is not in `deleted` lifecycle stage (restored while gc ran); it was not removed", it.ID))
		}
		if err := s.removeArtifacts(it); err != nil {
			return err
		}
		return s.removeTree(it.Dir)
	}()
	if errors.Is(err, fs.ErrNotExist) {
		return errGone
	}
	return err
}

// removeExperiment removes a planned experiment from .trash, under the root
// lock that experiment deletion and restoration take.
func (s *Store) removeExperiment(ctx context.Context, it GCItem) error {
	err := s.withRootLock(ctx, func() error { return s.removeTree(it.Dir) })
	if errors.Is(err, fs.ErrNotExist) {
		return errGone
	}
	return err
}

func (s *Store) removeArtifacts(it GCItem) error {
	if it.Artifacts == "" {
		return nil
	}
	if err := s.fs.RemoveAll(it.Artifacts); err != nil {
		return fmt.Errorf("filestore: gc: remove artifacts of %s %s: %w", it.Kind, it.ID, err)
	}
	return nil
}

// removeTree moves dir (inside the root) to a gcTrashPrefix folder at the
// root in one rename, then removes that. Where the rename cannot be done
// (another filesystem mounted inside the tree) dir is removed in place.
func (s *Store) removeTree(dir string) error {
	if err := s.removable(dir); err != nil {
		return err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := filepath.Join(s.root, gcTrashPrefix+hex.EncodeToString(b[:])+layout.TrashDir)
	target := dir
	if err := s.fs.Rename(dir, tmp); err == nil {
		target = tmp
	} else if !sysfs.IsCrossDevice(err) {
		return fmt.Errorf("filestore: gc: move %s out of the tree: %w", dir, err)
	}
	if s.durable {
		if err := s.syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
	}
	if err := s.fs.RemoveAll(target); err != nil {
		return fmt.Errorf("filestore: gc: remove %s: %w", dir, err)
	}
	return nil
}
