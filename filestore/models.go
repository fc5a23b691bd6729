package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/search"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// MLflow 3 logged models live in <experiment>/models/<model_id>/: meta.yaml,
// params/, tags/ and metrics/ (the metric files LogMetric and LogBatch
// append to for a metric with a model id). The calls here are FileStore's
// create_logged_model, log_logged_model_params, finalize_logged_model,
// set_logged_model_tags, delete_logged_model_tag, get_logged_model,
// delete_logged_model and search_logged_models, with their messages.
// Where Python rewrites meta.yaml in place, the store replaces it
// atomically under the model folder's lock.

// CreateLoggedModelOptions are the fields of a new logged model.
type CreateLoggedModelOptions = store.CreateLoggedModelOptions

func modelNotFound(modelID string) error {
	return errs.New(errs.ErrNotFound, fmt.Sprintf("Model '%s' not found", modelID))
}

// checkModelParams checks params as _validate_param does. Python discards
// what the check returns, so a value over the limit is written whole when
// truncation is on (MLflow only warns) and refused when it is off.
func (s *Store) checkModelParams(params map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if _, err := truncating(s, func(truncate bool) (entities.Param, error) {
			return validate.Param(entities.Param{Key: k, Value: params[k]}, truncate)
		}); err != nil {
			return err
		}
		if err := checkKey(k); err != nil {
			return err
		}
		if err := validate.UTF8("params."+k, params[k]); err != nil {
			return err
		}
	}
	return nil
}

// checkModelTags checks tag keys as _validate_tag_name does; MLflow checks
// no lengths of logged-model tags.
func checkModelTags(tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := validate.TagName(k); err != nil {
			return err
		}
		if err := checkKey(k); err != nil {
			return err
		}
		if err := validate.UTF8("tags."+k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

// writeModelKeys writes each key of kv to <model>/<sub>/<key>, recording
// the writes in u.
func (s *Store) writeModelKeys(u *undoLog, dir, sub string, kv map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		if err := s.writeRunKeyFileUndo(u, dir, sub, k, kv[k]); err != nil {
			return err
		}
	}
	return nil
}

// CreateLoggedModel creates a logged model in an active experiment ("" is
// the Default experiment), PENDING, with id m-<32 hex digits> and artifact
// location <experiment artifact location>/models/<id>/artifacts, and
// returns it as GetLoggedModel reads it.
func (s *Store) CreateLoggedModel(ctx context.Context, experimentID string, o CreateLoggedModelOptions) (entities.LoggedModel, error) {
	if err := ctx.Err(); err != nil {
		return entities.LoggedModel{}, err
	}
	if o.Name != "" {
		if err := validate.LoggedModelName(o.Name); err != nil {
			return entities.LoggedModel{}, err
		}
	}
	if err := checkUTF8("name", o.Name, "source_run_id", o.SourceRunID, "model_type", o.ModelType); err != nil {
		return entities.LoggedModel{}, err
	}
	if experimentID == "" {
		experimentID = layout.DefaultExperimentID
	}
	exp, err := s.activeExperiment(ctx, experimentID, errs.ErrInvalidState,
		"Could not create model under non-active experiment with ID %s.")
	if err != nil {
		return entities.LoggedModel{}, err
	}
	if err := s.checkModelParams(o.Params); err != nil {
		return entities.LoggedModel{}, err
	}
	if err := checkModelTags(o.Tags); err != nil {
		return entities.LoggedModel{}, err
	}
	expDir, _, err := s.experimentDir(experimentID, entities.ViewActiveOnly)
	if err != nil {
		return entities.LoggedModel{}, err
	}
	name := o.Name
	if name == "" {
		name = randomRunName()
	}
	modelID := layout.ModelID(uuid.New())
	if o.ModelID != "" {
		if err := s.checkNewModelID(ctx, o.ModelID); err != nil {
			return entities.LoggedModel{}, err
		}
		modelID = o.ModelID
	}
	now := s.nowMillis()
	created := now
	if o.CreationTime != 0 {
		created = o.CreationTime
	}
	m := entities.LoggedModel{
		ModelID: modelID, ExperimentID: experimentID, Name: name,
		ArtifactLocation:  appendURIPath(exp.ArtifactLocation, layout.ModelsDir, modelID, layout.ArtifactsDir),
		CreationTimestamp: created, LastUpdatedTimestamp: max(now, created),
		Status: entities.LoggedModelPending, LifecycleStage: entities.StageActive,
	}
	if o.SourceRunID != "" {
		m.SourceRunID = &o.SourceRunID
	}
	if o.ModelType != "" {
		m.ModelType = &o.ModelType
	}
	dir := filepath.Join(expDir, layout.ModelsDir, modelID)
	// On an error the new model folder is removed again. meta.yaml goes
	// last (Python writes it first): a folder without it is no model to
	// any reader, so a crash leaves nothing half-visible.
	u := &undoLog{}
	if err := s.createDir(u, dir); err != nil {
		return entities.LoggedModel{}, u.rollback(err)
	}
	for _, sub := range []string{layout.MetricsDir, layout.ParamsDir} {
		if err := s.mkdirs(filepath.Join(dir, sub)); err != nil {
			return entities.LoggedModel{}, u.rollback(err)
		}
	}
	if err := s.writeModelKeys(u, dir, layout.ParamsDir, o.Params); err != nil {
		return entities.LoggedModel{}, u.rollback(err)
	}
	if err := s.writeModelKeys(u, dir, layout.TagsDir, o.Tags); err != nil {
		return entities.LoggedModel{}, u.rollback(err)
	}
	if err := s.writeFileAtomic(dir, filepath.Join(dir, layout.MetaFile), layout.EncodeLoggedModelMeta(m, layout.ModelStageActive)); err != nil {
		return entities.LoggedModel{}, u.rollback(err)
	}
	return s.readLoggedModel(dir, m)
}

// findModel returns the folder of a logged model and the experiment
// folder it sits in, as _find_model_root: active experiments first, then
// deleted ones; the first with a models/<id> folder.
func (s *Store) findModel(modelID string) (expID, dir string, err error) {
	if err := validate.PathComponent("model_id", modelID); err != nil {
		return "", "", err
	}
	if err := checkID("model_id", modelID); err != nil {
		return "", "", err
	}
	for _, parent := range []string{s.root, s.trash} {
		ids, err := s.experimentIDsIn(parent)
		if err != nil {
			return "", "", err
		}
		for _, id := range ids {
			d := filepath.Join(parent, id, layout.ModelsDir, modelID)
			if isDir(d) {
				return id, d, nil
			}
		}
	}
	return "", "", modelNotFound(modelID)
}

// readModelMeta reads the meta.yaml of the model folder dir.
func readModelMeta(dir string) (entities.LoggedModel, error) {
	p := filepath.Join(dir, layout.MetaFile)
	m, err, decodeErr := readMeta(p, layout.DecodeLoggedModelMeta)
	if errors.Is(err, fs.ErrNotExist) {
		return m, errs.New(errs.ErrNotFound, fmt.Sprintf("Model '%s' has no meta.yaml in %s", filepath.Base(dir), dir))
	}
	if err != nil {
		return m, fmt.Errorf("filestore: read model: %w", err)
	}
	if decodeErr != nil {
		return m, withPath(decodeErr, p)
	}
	return m, nil
}

// modelMeta finds a logged model and reads its meta.yaml, as
// _get_model_dict: a deleted model is not found (unless allowDeleted), and
// one whose meta names another experiment than its folder's is
// ErrInvalidState.
func (s *Store) modelMeta(modelID string, allowDeleted bool) (entities.LoggedModel, string, error) {
	expID, dir, err := s.findModel(modelID)
	if err != nil {
		return entities.LoggedModel{}, "", err
	}
	m, err := readModelMeta(dir)
	if err != nil {
		return m, "", err
	}
	if m.LifecycleStage == entities.StageDeleted && !allowDeleted {
		return m, "", modelNotFound(modelID)
	}
	if m.ExperimentID != expID {
		return m, "", errs.New(errs.ErrInvalidState, fmt.Sprintf("Model '%s' metadata is in invalid state.", modelID))
	}
	return m, dir, nil
}

// readLoggedModel adds the params, tags and metric values in the model
// folder dir to m, its meta.
func (s *Store) readLoggedModel(dir string, m entities.LoggedModel) (entities.LoggedModel, error) {
	var err error
	if m.Params, err = s.readKeyFiles(filepath.Join(dir, layout.ParamsDir)); err != nil {
		return m, err
	}
	if m.Tags, err = s.readKeyFiles(filepath.Join(dir, layout.TagsDir)); err != nil {
		return m, err
	}
	if m.Metrics, err = s.readModelMetrics(filepath.Join(dir, layout.MetricsDir)); err != nil {
		return m, err
	}
	for i := range m.Metrics {
		m.Metrics[i].ModelID = m.ModelID
	}
	return m, nil
}

// GetLoggedModel reads an active logged model with its params, tags and
// metric values (for each key, the latest value of each dataset), looking
// in every experiment, active or deleted, as get_logged_model. A deleted
// model is ErrNotFound.
func (s *Store) GetLoggedModel(ctx context.Context, modelID string) (entities.LoggedModel, error) {
	if err := ctx.Err(); err != nil {
		return entities.LoggedModel{}, err
	}
	m, dir, err := s.modelMeta(modelID, false)
	if err != nil {
		return entities.LoggedModel{}, err
	}
	return s.readLoggedModel(dir, m)
}

// rewriteModelMeta replaces a model's meta.yaml with what edit makes of
// it, under the model folder's lock, with last_updated_timestamp now.
func (s *Store) rewriteModelMeta(ctx context.Context, modelID string, stage layout.ModelStage, edit func(*entities.LoggedModel)) (entities.LoggedModel, string, error) {
	if err := ctx.Err(); err != nil {
		return entities.LoggedModel{}, "", err
	}
	_, dir, err := s.modelMeta(modelID, false)
	if err != nil {
		return entities.LoggedModel{}, "", err
	}
	var m entities.LoggedModel
	err = s.withDirLock(ctx, dir, func() error {
		// read again under the lock: another Go writer may have changed it
		var err error
		if m, _, err = s.modelMeta(modelID, false); err != nil {
			return err
		}
		edit(&m)
		m.LastUpdatedTimestamp = s.nowMillis()
		return s.writeFileAtomic(dir, filepath.Join(dir, layout.MetaFile), layout.EncodeLoggedModelMeta(m, stage))
	})
	if err != nil {
		return entities.LoggedModel{}, "", err
	}
	return m, dir, nil
}

// FinalizeLoggedModel sets a model's status (READY or FAILED, normally;
// MLflow takes any of the four) and returns the model. As in MLflow, the
// rewritten meta.yaml has no lifecycle_stage key.
func (s *Store) FinalizeLoggedModel(ctx context.Context, modelID string, status entities.LoggedModelStatus) (entities.LoggedModel, error) {
	if err := validate.LoggedModelStatus(status); err != nil {
		return entities.LoggedModel{}, err
	}
	m, dir, err := s.rewriteModelMeta(ctx, modelID, layout.ModelStageOmitted, func(m *entities.LoggedModel) { m.Status = status })
	if err != nil {
		return entities.LoggedModel{}, err
	}
	return s.readLoggedModel(dir, m)
}

// DeleteLoggedModel marks a model deleted (lifecycle_stage: deleted in
// its meta.yaml); GetLoggedModel and SearchLoggedModels no longer see it,
// and GC removes it.
func (s *Store) DeleteLoggedModel(ctx context.Context, modelID string) error {
	_, _, err := s.rewriteModelMeta(ctx, modelID, layout.ModelStageDeleted, func(m *entities.LoggedModel) {
		m.LifecycleStage = entities.StageDeleted
	})
	return err
}

// SetLoggedModelTags sets tags of a model (replacing values of existing
// keys). Every key is checked before anything is written; on a write
// error the tags written are undone.
func (s *Store) SetLoggedModelTags(ctx context.Context, modelID string, tags map[string]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, dir, err := s.modelMeta(modelID, false)
	if err != nil {
		return err
	}
	if err := checkModelTags(tags); err != nil {
		return err
	}
	u := &undoLog{}
	if err := s.writeModelKeys(u, dir, layout.TagsDir, tags); err != nil {
		return u.rollback(err)
	}
	return nil
}

// DeleteLoggedModelTag removes a tag of a model; a missing tag is
// ErrNotFound.
func (s *Store) DeleteLoggedModelTag(ctx context.Context, modelID, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate.TagName(key); err != nil {
		return err
	}
	_, dir, err := s.modelMeta(modelID, false)
	if err != nil {
		return err
	}
	return s.removeTagFile(dir, key, os.Lstat, "delete model tag",
		errs.New(errs.ErrNotFound, fmt.Sprintf("No tag with key '%s' found for model with ID '%s'.", key, modelID)))
}

// LogLoggedModelParams writes params of a model. Unlike a run's, a
// model's params may be logged again with another value: the new value
// replaces the old, as in MLflow.
func (s *Store) LogLoggedModelParams(ctx context.Context, modelID string, params map[string]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkModelParams(params); err != nil {
		return err
	}
	_, dir, err := s.modelMeta(modelID, false)
	if err != nil {
		return err
	}
	u := &undoLog{}
	if err := s.writeModelKeys(u, dir, layout.ParamsDir, params); err != nil {
		return u.rollback(err)
	}
	return nil
}

// SearchLoggedModels returns one page of the active logged models of the
// experiments that pass filter and datasets, in order, and the next
// page's token ("" on the last page), as search_logged_models. An
// experiment that does not exist has no models; maxResults 0 is 100. See
// package search for the filter (search.ParseLoggedModelFilter) and the
// order (search.SortLoggedModels).
func (s *Store) SearchLoggedModels(ctx context.Context, experimentIDs []string, filter string, datasets []entities.LoggedModelDatasetFilter, maxResults int, orderBy []entities.LoggedModelOrderBy, pageToken string) ([]entities.LoggedModel, string, error) {
	if err := search.CheckLoggedModelDatasets(datasets); err != nil {
		return nil, "", err
	}
	maxResults, f, order, err := searchArgs(maxResults, search.CheckLoggedModelsMaxResults, filter, search.ParseLoggedModelFilter,
		orderBy, search.ParseLoggedModelOrderBy, pageToken)
	if err != nil {
		return nil, "", err
	}
	var all []entities.LoggedModel
	for _, id := range experimentIDs {
		models, err := s.listModels(ctx, id)
		if err != nil {
			return nil, "", err
		}
		for i := range models {
			if f.Match(&models[i], datasets) {
				all = append(all, models[i])
			}
		}
	}
	search.SortLoggedModels(all, order)
	return pageOf(all, pageToken, maxResults)
}

// listModels reads the active models of an experiment (active or
// deleted), as _list_models: a folder without meta.yaml is skipped (the
// metric files of a metric logged against a model id of another
// experiment make one), and so is a model whose meta names another
// experiment or cannot be read (with a warning).
func (s *Store) listModels(ctx context.Context, experimentID string) ([]entities.LoggedModel, error) {
	expDir, _, err := s.experimentDir(experimentID, entities.ViewAll)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	root := filepath.Join(expDir, layout.ModelsDir)
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("filestore: list models: %w", err)
	}
	var out []entities.LoggedModel
	for _, de := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := filepath.Join(root, de.Name())
		if layout.IsReservedExperimentDir(de.Name()) || layout.IsTempName(de.Name()) || !isDir(dir) {
			continue
		}
		m, err := readModelMeta(dir)
		if errors.Is(err, errs.ErrNotFound) {
			continue
		}
		if err != nil {
			s.log.Warn("mlruns: malformed logged model; skipping", "model", de.Name(), "err", err)
			continue
		}
		if m.LifecycleStage == entities.StageDeleted {
			continue
		}
		if m.ExperimentID != experimentID {
			s.log.Warn("mlruns: logged model records another experiment; skipping",
				"model", m.ModelID, "recorded", m.ExperimentID, "experiment", experimentID)
			continue
		}
		if m, err = s.readLoggedModel(dir, m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// readModelMetrics reads the metrics of a logged model as Python reports
// them: for each key (sorted), the latest value of each (dataset name,
// dataset digest) group, groups in order of first appearance.
func (s *Store) readModelMetrics(root string) ([]entities.Metric, error) {
	files, err := s.readKeyFiles(root)
	if err != nil {
		return nil, err
	}
	var out []entities.Metric
	for _, k := range slices.Sorted(maps.Keys(files)) {
		ms, err := layout.DecodeModelMetricHistory(k, []byte(files[k]))
		if err != nil {
			return nil, withMetricPath(err, filepath.Join(root, k))
		}
		out = append(out, entities.LatestMetricsByDataset(ms)...)
	}
	return out, nil
}

// checkNewModelID checks a model id a caller chose
// (CreateLoggedModelOptions.ModelID): MLflow's form, and held by no model
// of the tree.
func (s *Store) checkNewModelID(ctx context.Context, id string) error {
	hexPart, ok := strings.CutPrefix(id, layout.ModelIDPrefix)
	if !ok || len(hexPart) != 32 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"Invalid value '%s' for parameter 'model_id': a chosen model id must be '%s' and 32 lowercase hex digits", id, layout.ModelIDPrefix))
	}
	_, err := s.GetLoggedModel(ctx, id)
	switch {
	case err == nil:
		return errs.New(errs.ErrAlreadyExists, fmt.Sprintf("Logged model '%s' already exists.", id))
	case errors.Is(err, errs.ErrNotFound):
		return nil
	}
	return err
}
