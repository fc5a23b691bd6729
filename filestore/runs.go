package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// CreateRunOptions are the arguments of CreateRun.
type CreateRunOptions = store.CreateRunOptions

// CreateRun creates a RUNNING run in an active experiment.
func (s *Store) CreateRun(ctx context.Context, o CreateRunOptions) (entities.Run, error) {
	if err := ctx.Err(); err != nil {
		return entities.Run{}, err
	}
	expID := o.ExperimentID
	if expID == "" {
		expID = layout.DefaultExperimentID
	}
	exp, err := s.activeExperiment(ctx, expID, errs.ErrInvalidState,
		"Could not create run under non-active experiment with ID %s.")
	if err != nil {
		return entities.Run{}, err
	}
	tags := append([]entities.RunTag(nil), o.Tags...)
	for _, t := range tags {
		if err := validate.TagName(t.Key); err != nil {
			return entities.Run{}, err
		}
		if err := validate.UTF8("tags."+t.Key, t.Value); err != nil {
			return entities.Run{}, err
		}
	}
	if err := checkUTF8("run_name", o.RunName, "user_id", o.UserID); err != nil {
		return entities.Run{}, err
	}
	tagName := ""
	for _, t := range tags {
		if t.Key == entities.TagRunName {
			tagName = t.Value
			break
		}
	}
	if o.RunName != "" && tagName != "" && o.RunName != tagName {
		return entities.Run{}, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "+
				"different values (run_name='%s', mlflow.runName='%s').", o.RunName, tagName))
	}
	name := o.RunName
	if name == "" {
		name = tagName
	}
	if name == "" {
		name = randomRunName()
	}
	if tagName == "" {
		// As Python: appended even after an empty mlflow.runName tag, so
		// the later write wins.
		tags = append(tags, entities.RunTag{Key: entities.TagRunName, Value: name})
	}
	start := o.StartTime
	if start == 0 {
		start = s.nowMillis()
	}
	runID := strings.ReplaceAll(uuid.NewString(), "-", "")
	if o.RunID != "" {
		if err := s.checkNewRunID(ctx, o.RunID); err != nil {
			return entities.Run{}, err
		}
		runID = o.RunID
	}
	info := entities.RunInfo{
		RunID: runID, RunName: name, ExperimentID: expID, UserID: o.UserID,
		Status: entities.StatusRunning, StartTime: start,
		ArtifactURI:    appendURIPath(exp.ArtifactLocation, runID, layout.ArtifactsDir),
		LifecycleStage: entities.StageActive,
	}
	expDir, _, err := s.experimentDir(expID, entities.ViewActiveOnly)
	if err != nil {
		return entities.Run{}, err
	}
	runDir := filepath.Join(expDir, runID)
	// On an error the new run folder is removed again.
	u := &undoLog{}
	if err := s.createDir(u, runDir); err != nil {
		return entities.Run{}, u.rollback(err)
	}
	for _, sub := range []string{layout.MetricsDir, layout.ParamsDir, layout.ArtifactsDir, layout.TagsDir} {
		if err := s.mkdirs(filepath.Join(runDir, sub)); err != nil {
			return entities.Run{}, u.rollback(err)
		}
	}
	for _, t := range tags {
		if err := s.writeRunKeyFile(runDir, layout.TagsDir, t.Key, t.Value); err != nil {
			return entities.Run{}, u.rollback(err)
		}
	}
	// meta.yaml last: a run folder without meta is not a run to any reader,
	// so a crash before this point leaves nothing half-visible.
	if err := s.writeFileAtomic(runDir, filepath.Join(runDir, layout.MetaFile), layout.EncodeRunMeta(info)); err != nil {
		return entities.Run{}, u.rollback(err)
	}
	s.runDirs.Store(runID, runDir)
	tagMap := make(map[string]string, len(tags))
	for _, t := range tags {
		tagMap[t.Key] = t.Value
	}
	return entities.Run{Info: info, Data: entities.RunData{
		Metrics: map[string]entities.Metric{}, Params: map[string]string{}, Tags: tagMap,
	}}, nil
}

// runDir finds the folder of a run in any experiment, active or deleted,
// as Python does (experiments first, then .trash). A folder counts only if
// it has metrics/, params/ and artifacts/ and is not inside an artifacts
// folder (MLflow 3.8+).
func (s *Store) runDir(runID string) (string, error) {
	if err := validate.RunID(runID); err != nil {
		return "", err
	}
	if err := layout.CheckID("run_id", runID); err != nil {
		return "", err
	}
	if v, ok := s.runDirs.Load(runID); ok {
		d := v.(string)
		if isRunDir(d) {
			return d, nil
		}
		s.runDirs.Delete(runID)
	}
	for _, parent := range []string{s.root, s.trash} {
		ents, err := os.ReadDir(parent)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return "", fmt.Errorf("filestore: find run: %w", err)
		}
		for _, de := range ents {
			name := de.Name()
			if parent == s.root && (strings.HasSuffix(name, layout.TrashDir) || name == layout.RegistryDir) {
				continue
			}
			d := filepath.Join(parent, name, runID)
			if isRunDir(d) {
				s.runDirs.Store(runID, d)
				return d, nil
			}
		}
	}
	return "", errs.New(errs.ErrNotFound, fmt.Sprintf("Run '%s' not found", runID))
}

func isRunDir(d string) bool {
	return isDir(filepath.Join(d, layout.MetricsDir)) &&
		isDir(filepath.Join(d, layout.ParamsDir)) &&
		isDir(filepath.Join(d, layout.ArtifactsDir))
}

// readRunInfo reads and checks a run's meta.yaml: its run id and experiment
// id must match the folders it sits in.
func readRunInfo(runDir string) (entities.RunInfo, error) {
	metaPath := filepath.Join(runDir, layout.MetaFile)
	info, err, decodeErr := readMeta(metaPath, layout.DecodeRunMeta)
	if errors.Is(err, fs.ErrNotExist) {
		return entities.RunInfo{}, errs.New(errs.ErrNotFound, fmt.Sprintf("Run folder %s has no meta.yaml", runDir))
	}
	if err != nil {
		return entities.RunInfo{}, fmt.Errorf("filestore: read run meta: %w", err)
	}
	if decodeErr != nil {
		return info, withPath(decodeErr, metaPath)
	}
	runID := filepath.Base(runDir)
	expID := filepath.Base(filepath.Dir(runDir))
	if info.ExperimentID != expID || info.RunID != runID {
		return info, errs.New(errs.ErrInvalidState, fmt.Sprintf("Run '%s' metadata is in invalid state.", runID))
	}
	return info, nil
}

// GetRunInfo returns a run's info without reading its metrics, params or
// tags (the run name falls back to the mlflow.runName tag).
func (s *Store) GetRunInfo(ctx context.Context, runID string) (entities.RunInfo, error) {
	dir, err := s.runDir(runID)
	if err != nil {
		return entities.RunInfo{}, err
	}
	info, err := readRunInfo(dir)
	if err != nil {
		return info, err
	}
	if info.RunName == "" {
		if v, err := readRegular(filepath.Join(dir, layout.TagsDir, entities.TagRunName)); err == nil {
			info.RunName = string(v)
		}
	}
	return info, nil
}

// GetRun returns an active or deleted run with its latest metrics, params,
// tags and inputs.
func (s *Store) GetRun(ctx context.Context, runID string) (entities.Run, error) {
	dir, err := s.runDir(runID)
	if err != nil {
		return entities.Run{}, err
	}
	info, err := readRunInfo(dir)
	if err != nil {
		return entities.Run{}, err
	}
	return s.readRun(dir, info)
}

// readRun reads a run's latest metrics, params, tags, inputs and outputs
// (readRunAt, relative to the working directory).
func (s *Store) readRun(dir string, info entities.RunInfo) (entities.Run, error) {
	r := getFastReader()
	defer putFastReader(r)
	r.eof = sysfs.PathLocal(dir)
	return s.readRunAt(r, sysfs.CWD, dir, dir, info, nil)
}

type runInfoDir struct {
	info entities.RunInfo
	dir  string
}

// listRunInfos reads the meta of every run folder of an experiment folder.
// Folders without meta.yaml are not runs (artifacts may live there) and are
// passed over silently; other broken runs are reported.
func (s *Store) listRunInfos(ctx context.Context, expDir, expID string) ([]runInfoDir, []*SkippedError, error) {
	ents, err := os.ReadDir(expDir)
	if err != nil {
		return nil, nil, fmt.Errorf("filestore: list runs: %w", err)
	}
	var out []runInfoDir
	var skipped []*SkippedError
	for _, de := range ents {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		name := de.Name()
		dir := filepath.Join(expDir, name)
		if layout.IsReservedExperimentDir(name) || !isDir(dir) {
			continue
		}
		info, err := readRunInfo(dir)
		if errors.Is(err, errs.ErrNotFound) {
			continue
		}
		if err != nil {
			skipped = append(skipped, s.skip(dir, err))
			continue
		}
		out = append(out, runInfoDir{info: info, dir: dir})
	}
	return out, skipped, nil
}

// runsOf reads the meta of every run of an active or deleted experiment.
func (s *Store) runsOf(ctx context.Context, experimentID string) ([]runInfoDir, []*SkippedError, error) {
	dir, _, err := s.experimentDir(experimentID, entities.ViewAll)
	if err != nil {
		return nil, nil, err
	}
	return s.listRunInfos(ctx, dir, experimentID)
}

// ListRunInfos lists the infos of an experiment's runs in the view, newest
// first (start_time DESC, run_id ASC). Broken runs are skipped and reported.
func (s *Store) ListRunInfos(ctx context.Context, experimentID string, view entities.ViewType) ([]entities.RunInfo, []*SkippedError, error) {
	infos, skipped, err := s.runsOf(ctx, experimentID)
	if err != nil {
		return nil, nil, err
	}
	var out []entities.RunInfo
	for _, ri := range infos {
		if view.Includes(ri.info.LifecycleStage) {
			out = append(out, ri.info)
		}
	}
	sortRunInfos(out)
	return out, skipped, nil
}

// ListRuns lists an experiment's runs in the view with their data, newest
// first. A run whose files cannot be read is skipped and reported.
func (s *Store) ListRuns(ctx context.Context, experimentID string, view entities.ViewType) ([]entities.Run, []*SkippedError, error) {
	infos, skipped, err := s.runsOf(ctx, experimentID)
	if err != nil {
		return nil, nil, err
	}
	var out []entities.Run
	for _, ri := range infos {
		if !view.Includes(ri.info.LifecycleStage) {
			continue
		}
		run, err := s.readRun(ri.dir, ri.info)
		if err != nil {
			skipped = append(skipped, s.skip(ri.dir, err))
			continue
		}
		out = append(out, run)
	}
	sort.SliceStable(out, func(i, j int) bool { return runInfoLess(out[i].Info, out[j].Info) })
	return out, skipped, nil
}

func sortRunInfos(infos []entities.RunInfo) {
	sort.SliceStable(infos, func(i, j int) bool { return runInfoLess(infos[i], infos[j]) })
}

func runInfoLess(a, b entities.RunInfo) bool {
	if a.StartTime != b.StartTime {
		return a.StartTime > b.StartTime
	}
	return a.RunID < b.RunID
}

// updateRunMeta rewrites a run's meta.yaml under the run lock: read,
// change, replace atomically.
func (s *Store) updateRunMeta(ctx context.Context, runDir string, change func(*entities.RunInfo) error) error {
	return s.updateRunMetaUndo(ctx, nil, runDir, change)
}

// updateRunMetaUndo is updateRunMeta recording the undo step in u.
func (s *Store) updateRunMetaUndo(ctx context.Context, u *undoLog, runDir string, change func(*entities.RunInfo) error) error {
	return s.withDirLock(ctx, runDir, func() error {
		info, err := readRunInfo(runDir)
		if err != nil {
			return err
		}
		if err := change(&info); err != nil {
			return err
		}
		return s.replace(u, runDir, filepath.Join(runDir, layout.MetaFile), layout.EncodeRunMeta(info))
	})
}

func activeRun(info entities.RunInfo) error {
	if info.LifecycleStage != entities.StageActive {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("The run %s must be in 'active' lifecycle_stage.", info.RunID))
	}
	return nil
}

// UpdateRunInfo sets an active run's status and, when non-nil and
// non-zero (as MLflow), its end time; a non-empty runName renames it (and sets the mlflow.runName tag).
func (s *Store) UpdateRunInfo(ctx context.Context, runID string, status entities.RunStatus, endTime *int64, runName string) (entities.RunInfo, error) {
	if err := ctx.Err(); err != nil {
		return entities.RunInfo{}, err
	}
	if !status.Valid() {
		return entities.RunInfo{}, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("Invalid run status %d", int(status)))
	}
	if err := validate.UTF8("run_name", runName); err != nil {
		return entities.RunInfo{}, err
	}
	dir, err := s.runDir(runID)
	if err != nil {
		return entities.RunInfo{}, err
	}
	var out entities.RunInfo
	u := &undoLog{}
	err = s.updateRunMetaUndo(ctx, u, dir, func(info *entities.RunInfo) error {
		if err := activeRun(*info); err != nil {
			return err
		}
		info.Status = status
		if endTime != nil && *endTime != 0 { // Python: "if end_time:"
			e := *endTime
			info.EndTime = &e
		}
		if runName != "" {
			info.RunName = runName
			if err := s.writeRunKeyFileUndo(u, dir, layout.TagsDir, entities.TagRunName, runName); err != nil {
				return err
			}
		}
		info.DeletedTime = nil // Python drops the key on every rewrite but deletion
		out = *info
		return nil
	})
	if err != nil {
		return out, u.rollback(err)
	}
	return out, nil
}

// DeleteRun marks a run deleted (idempotent); nothing moves.
func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := s.runDir(runID)
	if err != nil {
		return err
	}
	now := s.nowMillis()
	return s.updateRunMeta(ctx, dir, func(info *entities.RunInfo) error {
		info.LifecycleStage = entities.StageDeleted
		info.DeletedTime = &now
		return nil
	})
}

// RestoreRun makes a deleted run active again.
func (s *Store) RestoreRun(ctx context.Context, runID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := s.runDir(runID)
	if err != nil {
		return err
	}
	return s.updateRunMeta(ctx, dir, func(info *entities.RunInfo) error {
		info.LifecycleStage = entities.StageActive
		info.DeletedTime = nil
		return nil
	})
}

// ArtifactURI returns the run's artifact URI as recorded in its meta.
func (s *Store) ArtifactURI(ctx context.Context, runID string) (string, error) {
	info, err := s.GetRunInfo(ctx, runID)
	return info.ArtifactURI, err
}

// ArtifactDir returns the local folder of a run's artifacts (from its
// artifact URI), created if missing, for writing into. The rule is the
// one of every folder of a run: a folder inside the store's root must
// resolve inside it, so a symlinked artifacts folder (or a folder on the
// way) that leads out of the root is refused with a LinkOutError
// (ErrInvalidPath), as a symlinked metrics folder is. An artifact location
// outside the root is MLflow's to choose (an experiment created with one):
// the run's folder under it must then resolve under that location. An
// artifact URI that is not a path or a file: URI is ErrNotSupported.
func (s *Store) ArtifactDir(ctx context.Context, runID string) (string, error) {
	info, err := s.GetRunInfo(ctx, runID)
	if err != nil {
		return "", err
	}
	return s.artifactDir(ctx, "run "+runID, info.ArtifactURI, info.ExperimentID)
}

// ModelArtifactDir is ArtifactDir for a logged model's artifacts (its
// artifact_location), under the same rules.
func (s *Store) ModelArtifactDir(ctx context.Context, modelID string) (string, error) {
	m, err := s.GetLoggedModel(ctx, modelID)
	if err != nil {
		return "", err
	}
	return s.artifactDir(ctx, "model "+modelID, m.ArtifactLocation, m.ExperimentID)
}

// artifactDir is the checked local folder of the artifact URI uri of an
// entity (what, for errors) of the experiment expID; see ArtifactDir.
func (s *Store) artifactDir(ctx context.Context, what, uri, expID string) (string, error) {
	p, err := LocalPath(uri)
	if err != nil {
		return "", fmt.Errorf("filestore: artifacts of %s: %w", what, err)
	}
	dir, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	base := s.root
	if !within(s.root, dir) {
		base = "" // somewhere the URI names: its experiment's location, if it is under it
		if exp, err := s.GetExperiment(ctx, expID); err == nil {
			if loc, err := LocalPath(exp.ArtifactLocation); err == nil {
				if loc, err := filepath.Abs(loc); err == nil && within(loc, dir) {
					base = loc
				}
			}
		}
	}
	check := func() error {
		if base == "" {
			return nil
		}
		realBase := s.realRoot
		if base != s.root {
			if realBase, err = filepath.EvalSymlinks(base); err != nil {
				return nil // the location itself is made below
			}
		}
		if err := confineTo(realBase, dir); err != nil {
			target, _ := filepath.EvalSymlinks(dir)
			return &LinkOutError{Path: dir, Target: target, Root: realBase}
		}
		return nil
	}
	if err := check(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("filestore: artifacts of %s: %w", what, err)
	}
	return dir, check() // again: a link planted while the folders were made
}

// checkNewRunID checks a run id a caller chose (CreateRunOptions.RunID):
// MLflow's form, and not held by a run of any experiment, the trash
// included. Two creators of one id at once are told apart by the run
// folder's exclusive creation only within one experiment.
func (s *Store) checkNewRunID(ctx context.Context, id string) error {
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"Invalid value '%s' for parameter 'run_id': a chosen run id must be 32 lowercase hex digits", id))
	}
	_, err := s.GetRunInfo(ctx, id)
	switch {
	case err == nil:
		return errs.New(errs.ErrAlreadyExists, fmt.Sprintf("Run '%s' already exists.", id))
	case errors.Is(err, errs.ErrNotFound):
		return nil
	}
	return err
}
