package filestore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/mlenv"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/search"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// SkippedError describes a broken entity left out of a listing.
type SkippedError = store.SkippedError

// experimentIDWidth is the number of digits of generated experiment ids
// (MLflow 2.0+).
const experimentIDWidth = 18

// newExperimentID returns a random 18-digit decimal id, drawn as MLflow
// draws it: the last 18 digits of a random 128-bit integer, leading zeros
// replaced by random digits so the number keeps 18 digits.
func newExperimentID() (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return "", err
	}
	s := n.String()
	if len(s) > experimentIDWidth {
		s = s[len(s)-experimentIDWidth:]
	}
	for len(s) < experimentIDWidth {
		s = "0" + s
	}
	zeros := len(s) - len(strings.TrimLeft(s, "0"))
	if zeros == len(s) {
		return newExperimentID()
	}
	var b strings.Builder
	b.WriteString(s[zeros:])
	for i := 0; i < zeros; i++ {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", err
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String(), nil
}

// CreateExperiment creates an experiment and returns its id. An empty
// artifactLocation puts artifacts under the store's artifact root. Names
// are unique among active and deleted experiments; across Go processes the
// check and the creation are one step (root lock).
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []entities.ExperimentTag) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := validate.ExperimentName(name); err != nil {
		return "", err
	}
	if artifactLocation != "" {
		max, err := mlenv.Int("MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH", validate.DefaultMaxArtifactLocationLength)
		if err != nil {
			return "", err // read only here, as Python reads it
		}
		if err := validate.ArtifactLocation(artifactLocation, max); err != nil {
			return "", err
		}
		if err := validate.UTF8("artifact_location", artifactLocation); err != nil {
			return "", err
		}
	}
	for _, t := range tags {
		if err := validate.ExperimentTag(t.Key, t.Value); err != nil {
			return "", err
		}
	}
	var id string
	err := s.withRootLock(ctx, func() error {
		if err := s.checkNameUnused(ctx, name); err != nil {
			return err
		}
		for {
			var err error
			if id, err = newExperimentID(); err != nil {
				return err
			}
			if !exists(filepath.Join(s.root, id)) && !exists(filepath.Join(s.trash, id)) {
				break
			}
		}
		_, err := s.createExperimentLocked(name, id, artifactLocation, tags)
		return err
	})
	return id, err
}

// checkNameUnused returns ErrAlreadyExists when an active or deleted
// experiment has the name, with MLflow's messages.
func (s *Store) checkNameUnused(ctx context.Context, name string) error {
	// MLflow checks uniqueness with the filter "name = '<name>'", quotes
	// unescaped, so a name with a single quote that is not doubled breaks
	// the filter and cannot be created. We refuse the same names, so that
	// Python can look up every experiment we create.
	if strings.Contains(strings.ReplaceAll(name, "''", ""), "'") {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"Invalid clause(s) in filter string: name = '%s' (experiment names may not contain a single quote, as in MLflow)", name))
	}
	exp, err := s.GetExperimentByName(ctx, name)
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if exp.LifecycleStage == entities.StageDeleted {
		return errs.New(errs.ErrAlreadyExists, fmt.Sprintf("Experiment %s already exists in deleted state. "+
			"You can restore the experiment, or permanently delete the experiment "+
			"from the .trash folder (under tracking server's root folder) in order to "+
			"use this experiment name again.", pyRepr(exp.Name)))
	}
	return errs.New(errs.ErrAlreadyExists, fmt.Sprintf("Experiment '%s' already exists.", exp.Name))
}

// Requires: the root lock held (withRootLock).
func (s *Store) createExperimentLocked(name, id, artifactLocation string, tags []entities.ExperimentTag) (entities.Experiment, error) {
	loc := appendURIPath(s.artifactRoot, id)
	if artifactLocation != "" {
		loc = resolveURIIfLocal(artifactLocation)
	}
	now := s.nowMillis()
	exp := entities.Experiment{
		ExperimentID: id, Name: name, ArtifactLocation: loc,
		LifecycleStage: entities.StageActive, CreationTime: &now, LastUpdateTime: &now,
	}
	dir := filepath.Join(s.root, id)
	// On an error the new folder is removed again: no half experiment.
	u := &undoLog{}
	if err := s.createDir(u, dir); err != nil {
		return exp, u.rollback(err)
	}
	if err := s.writeFileAtomic(dir, filepath.Join(dir, layout.MetaFile), layout.EncodeExperimentMeta(exp, false)); err != nil {
		return exp, u.rollback(err)
	}
	for _, t := range tags {
		if err := s.writeExperimentTag(dir, t.Key, t.Value); err != nil {
			return exp, u.rollback(err)
		}
	}
	return exp, nil
}

// experimentDir finds an experiment's folder: active first, then .trash.
func (s *Store) experimentDir(id string, view entities.ViewType) (dir string, trashed bool, err error) {
	if err := validate.ExperimentID(id); err != nil {
		return "", false, err
	}
	if view != entities.ViewDeletedOnly {
		if d := filepath.Join(s.root, id); isDir(d) {
			return d, false, nil
		}
	}
	if view != entities.ViewActiveOnly {
		if d := filepath.Join(s.trash, id); isDir(d) {
			return d, true, nil
		}
	}
	return "", false, errs.New(errs.ErrNotFound, fmt.Sprintf("Could not find experiment with ID %s", id))
}

// GetExperiment returns an active or deleted experiment with its tags.
func (s *Store) GetExperiment(ctx context.Context, id string) (entities.Experiment, error) {
	dir, trashed, err := s.experimentDir(id, entities.ViewAll)
	if err != nil {
		return entities.Experiment{}, err
	}
	return s.readExperiment(dir, id, trashed)
}

func (s *Store) readExperiment(dir, id string, trashed bool) (entities.Experiment, error) {
	exp, err, decodeErr := readMeta(filepath.Join(dir, layout.MetaFile), layout.DecodeExperimentMeta)
	if errors.Is(err, fs.ErrNotExist) {
		return entities.Experiment{}, errs.New(errs.ErrNotFound, fmt.Sprintf("Experiment %s has no meta.yaml in %s", id, dir))
	}
	if err != nil {
		return entities.Experiment{}, fmt.Errorf("filestore: read experiment %s: %w", id, err)
	}
	if decodeErr != nil {
		return entities.Experiment{}, withPath(decodeErr, filepath.Join(dir, layout.MetaFile))
	}
	if exp.ExperimentID != id {
		return entities.Experiment{}, errs.New(errs.ErrInvalidState, fmt.Sprintf(
			"Experiment ID mismatch for exp %s. ID recorded as '%s' in meta data.", id, exp.ExperimentID))
	}
	// Before MLflow 2.3 a deleted experiment kept "active" in its meta and
	// was deleted by location only; trust the location.
	if trashed {
		exp.LifecycleStage = entities.StageDeleted
	}
	exp.Tags, err = s.readKeyFiles(filepath.Join(dir, layout.TagsDir))
	if err != nil {
		return entities.Experiment{}, err
	}
	return exp, nil
}

func withPath(err error, path string) error {
	var me *layout.MetaError
	if errors.As(err, &me) && me.Path == "" {
		cp := *me
		cp.Path = path
		return &cp
	}
	return err
}

// GetExperimentByName returns the active or deleted experiment with the
// name, or ErrNotFound.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (entities.Experiment, error) {
	exps, _, err := s.ListExperiments(ctx, entities.ViewAll)
	if err != nil {
		return entities.Experiment{}, err
	}
	for _, e := range exps {
		if e.Name == name {
			return e, nil
		}
	}
	return entities.Experiment{}, errs.New(errs.ErrNotFound, fmt.Sprintf("Experiment '%s' does not exist.", name))
}

// ListExperiments lists experiments of the view, newest first (MLflow's
// default order: creation_time DESC, then experiment_id ASC). Broken
// experiments and folders that are not experiments are skipped and reported.
func (s *Store) ListExperiments(ctx context.Context, view entities.ViewType) ([]entities.Experiment, []*SkippedError, error) {
	var out []entities.Experiment
	var skipped []*SkippedError
	scan := func(parent string, trashed bool) error {
		ents, err := os.ReadDir(parent)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && trashed {
				return nil
			}
			return fmt.Errorf("filestore: list experiments: %w", err)
		}
		for _, de := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := de.Name()
			dir := filepath.Join(parent, name)
			if !isDir(dir) || layout.IsTempName(name) {
				continue
			}
			if !trashed && (strings.HasSuffix(name, layout.TrashDir) || name == layout.RegistryDir) {
				continue
			}
			if err := validate.ExperimentID(name); err != nil {
				skipped = append(skipped, s.skip(dir, err))
				continue
			}
			exp, err := s.readExperiment(dir, name, trashed)
			if err != nil {
				skipped = append(skipped, s.skip(dir, err))
				continue
			}
			out = append(out, exp)
		}
		return nil
	}
	if view != entities.ViewDeletedOnly {
		if err := scan(s.root, false); err != nil {
			return nil, nil, err
		}
	}
	if view != entities.ViewActiveOnly {
		if err := scan(s.trash, true); err != nil {
			return nil, nil, err
		}
	}
	filtered := out[:0]
	for _, e := range out {
		if view.Includes(e.LifecycleStage) {
			filtered = append(filtered, e)
		}
	}
	search.SortExperiments(filtered, nil) // MLflow's default order
	return filtered, skipped, nil
}

func (s *Store) skip(path string, err error) *SkippedError {
	s.log.Warn("mlruns: skipping broken entity", "path", path, "err", err)
	return &SkippedError{Path: path, Err: err}
}

// RenameExperiment renames an active experiment.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate.ExperimentName(newName); err != nil {
		return err
	}
	return s.withRootLock(ctx, func() error {
		dir, trashed, err := s.experimentDir(id, entities.ViewAll)
		if err != nil {
			return err
		}
		exp, err := s.readExperiment(dir, id, trashed)
		if err != nil {
			return err
		}
		if err := s.checkNameUnused(ctx, newName); err != nil {
			return err
		}
		if exp.LifecycleStage != entities.StageActive {
			// MLflow raises a plain Exception here: INTERNAL_ERROR.
			return errs.Internal(errs.New(errs.ErrInvalidState, fmt.Sprintf(
				"Cannot rename experiment in non-active lifecycle stage. Current stage: %s", exp.LifecycleStage)))
		}
		exp.Name = newName
		now := s.nowMillis()
		exp.LastUpdateTime = &now
		return s.writeFileAtomic(dir, filepath.Join(dir, layout.MetaFile), layout.EncodeExperimentMeta(exp, true))
	})
}

// DeleteExperiment marks every active run deleted, marks the experiment
// deleted and moves its folder to .trash. The Default experiment cannot be
// deleted.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if id == layout.DefaultExperimentID {
		return errs.New(errs.ErrInternal, "Cannot delete the default experiment '0'. This is an internally reserved experiment.")
	}
	return s.withRootLock(ctx, func() error {
		dir, _, err := s.experimentDir(id, entities.ViewActiveOnly)
		if err != nil {
			return err
		}
		exp, err := s.readExperiment(dir, id, false)
		if err != nil {
			return err
		}
		now := s.nowMillis()
		target := filepath.Join(s.trash, id)
		if exists(target) {
			return errs.New(errs.ErrAlreadyExists, fmt.Sprintf("Destination path '%s' already exists", target))
		}
		u := &undoLog{}
		if err := s.setRunsStage(ctx, u, dir, id, entities.StageActive, entities.StageDeleted, &now); err != nil {
			return u.rollback(err)
		}
		exp.LifecycleStage = entities.StageDeleted
		exp.LastUpdateTime = &now
		if err := s.replace(u, dir, filepath.Join(dir, layout.MetaFile), layout.EncodeExperimentMeta(exp, true)); err != nil {
			return u.rollback(err)
		}
		if err := s.confine(s.trash); err != nil {
			return u.rollback(err)
		}
		if err := s.fs.Rename(dir, target); err != nil {
			return u.rollback(fmt.Errorf("filestore: move experiment %s to .trash: %w", id, err))
		}
		return nil
	})
}

// RestoreExperiment moves a deleted experiment back and makes it and all
// its deleted runs active again.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.withRootLock(ctx, func() error {
		src, _, err := s.experimentDir(id, entities.ViewDeletedOnly)
		if err != nil {
			return errs.New(errs.ErrNotFound, fmt.Sprintf("Could not find deleted experiment with ID %s", id))
		}
		dir := filepath.Join(s.root, id)
		if exists(dir) {
			return errs.New(errs.ErrAlreadyExists, fmt.Sprintf(
				"Cannot restore experiment with ID %s. An experiment with same ID already exists.", id))
		}
		u := &undoLog{}
		if err := s.fs.Rename(src, dir); err != nil {
			return fmt.Errorf("filestore: restore experiment %s: %w", id, err)
		}
		u.add(func() error { return s.fs.Rename(dir, src) })
		exp, err := s.readExperiment(dir, id, false)
		if err != nil {
			return u.rollback(err)
		}
		exp.LifecycleStage = entities.StageActive
		now := s.nowMillis()
		exp.LastUpdateTime = &now
		if err := s.setRunsStage(ctx, u, dir, id, entities.StageDeleted, entities.StageActive, nil); err != nil {
			return u.rollback(err)
		}
		if err := s.replace(u, dir, filepath.Join(dir, layout.MetaFile), layout.EncodeExperimentMeta(exp, true)); err != nil {
			return u.rollback(err)
		}
		return nil
	})
}

// setRunsStage rewrites the meta of every run of the experiment folder in
// stage from to stage to, with the given deleted_time (nil drops the key).
func (s *Store) setRunsStage(ctx context.Context, u *undoLog, expDir, expID string, from, to entities.LifecycleStage, deletedTime *int64) error {
	infos, _, err := s.listRunInfos(ctx, expDir, expID)
	if err != nil {
		return err
	}
	for _, ri := range infos {
		if ri.info.LifecycleStage != from {
			continue
		}
		err := s.updateRunMetaUndo(ctx, u, ri.dir, func(info *entities.RunInfo) error {
			info.LifecycleStage = to
			info.DeletedTime = deletedTime
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// activeExperiment reads an experiment and refuses it unless it is
// active, with the code and the message (format takes the id) that the
// caller's MLflow counterpart raises.
func (s *Store) activeExperiment(ctx context.Context, id string, code error, format string) (entities.Experiment, error) {
	exp, err := s.GetExperiment(ctx, id)
	if err != nil {
		return exp, err
	}
	if exp.LifecycleStage != entities.StageActive {
		return exp, errs.New(code, fmt.Sprintf(format, id))
	}
	return exp, nil
}

// SetExperimentTag sets a tag on an active experiment.
func (s *Store) SetExperimentTag(ctx context.Context, id, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate.ExperimentTag(key, value); err != nil {
		return err
	}
	if _, err := s.activeExperiment(ctx, id, errs.ErrInvalidParameter,
		"The experiment %s must be in the 'active' lifecycle_stage to set tags"); err != nil {
		return err
	}
	dir, _, err := s.experimentDir(id, entities.ViewActiveOnly)
	if err != nil {
		return err
	}
	return s.writeExperimentTag(dir, key, value)
}

func (s *Store) writeExperimentTag(expDir, key, value string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := filepath.Join(expDir, layout.TagsDir, filepath.FromSlash(key))
	if err := s.mkdirs(filepath.Dir(p)); err != nil {
		return err
	}
	return s.writeFileAtomic(expDir, p, []byte(value))
}

// DeleteExperimentTag removes a tag from an active experiment.
func (s *Store) DeleteExperimentTag(ctx context.Context, id, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.activeExperiment(ctx, id, errs.ErrInvalidParameter,
		"The experiment %s must be in the 'active' lifecycle_stage to delete tags"); err != nil {
		return err
	}
	if err := validate.TagName(key); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	dir, _, err := s.experimentDir(id, entities.ViewActiveOnly)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, layout.TagsDir, filepath.FromSlash(key))
	if err := s.confine(filepath.Dir(p)); err != nil {
		return err
	}
	if err := s.fs.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return errs.New(errs.ErrNotFound, fmt.Sprintf("No tag with name: %s in experiment with id %s", key, id))
	} else if err != nil {
		return fmt.Errorf("filestore: delete experiment tag: %w", err)
	}
	return nil
}

// readKeyFiles reads every regular file under dir (recursively) as
// key -> raw value, keys joined with '/'. A missing dir is empty.
func (s *Store) readKeyFiles(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() || layout.IsTempName(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := s.readInside(p, d)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("filestore: read %s: %w", dir, err)
	}
	return out, nil
}

// pyRepr renders a string as Python's repr() would for the messages MLflow
// builds with !r: single quotes unless the text has a single quote and no
// double quote.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}
