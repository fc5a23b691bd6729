package reststore

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// modelParamsBatch is how many params one request carries
// (_MLFLOW_CREATE_LOGGED_MODEL_PARAMS_BATCH_SIZE and
// _MLFLOW_LOG_LOGGED_MODEL_PARAMS_BATCH_SIZE).
const modelParamsBatch = 100

// modelPath fills {model_id} (and {tag_key}) of an endpoint's path.
func modelPath(ep endpoint, modelID, tagKey string) string {
	p := strings.Replace(ep.path, "{model_id}", url.PathEscape(modelID), 1)
	return strings.Replace(p, "{tag_key}", url.PathEscape(tagKey), 1)
}

// sortedKVs is m as key-ordered pairs, each checked by check.
func sortedKVs(m map[string]string, check func(k, v string) error) ([]kv, error) {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		if err := check(k, v); err != nil {
			return nil, err
		}
		out = append(out, kv{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func checkModelParam(k, v string) error {
	_, err := validate.Param(entities.Param{Key: k, Value: v}, true)
	return err
}

func checkModelTag(k, v string) error {
	if err := validate.TagName(k); err != nil {
		return err
	}
	return validate.UTF8("tags."+k, v)
}

func (s *Store) modelCall(ctx context.Context, ep endpoint, path string, body any) (entities.LoggedModel, error) {
	var resp restjson.LoggedModelResponse
	if err := s.call(ctx, ep, path, nil, body, &resp); err != nil {
		return entities.LoggedModel{}, err
	}
	return decoded(ep, resp.Model.ToLoggedModel)
}

// CreateLoggedModel creates a PENDING logged model in an active experiment
// ("" is the Default experiment "0"). As Python's client, the first 100
// params go with the request and the rest in batches of 100 after it.
func (s *Store) CreateLoggedModel(ctx context.Context, experimentID string, o store.CreateLoggedModelOptions) (entities.LoggedModel, error) {
	if o.ModelID != "" || o.CreationTime != 0 {
		return entities.LoggedModel{}, errs.New(errs.ErrNotSupported, "model_id: an MLflow tracking server chooses model ids and creation times; CreateLoggedModel cannot be given them")
	}
	if experimentID == "" {
		experimentID = "0"
	}
	if err := validate.ExperimentID(experimentID); err != nil {
		return entities.LoggedModel{}, err
	}
	if o.Name != "" {
		if err := validate.LoggedModelName(o.Name); err != nil {
			return entities.LoggedModel{}, err
		}
	}
	for _, f := range []struct{ name, v string }{{"name", o.Name}, {"source_run_id", o.SourceRunID}, {"model_type", o.ModelType}} {
		if err := validate.UTF8(f.name, f.v); err != nil {
			return entities.LoggedModel{}, err
		}
	}
	params, err := sortedKVs(o.Params, checkModelParam)
	if err != nil {
		return entities.LoggedModel{}, err
	}
	tags, err := sortedKVs(o.Tags, checkModelTag)
	if err != nil {
		return entities.LoggedModel{}, err
	}
	first := params[:min(len(params), modelParamsBatch)]
	req := createLoggedModelReq{ExperimentID: experimentID, Name: o.Name, ModelType: o.ModelType,
		SourceRunID: o.SourceRunID, Params: first, Tags: tags}
	m, err := s.modelCall(ctx, epCreateLoggedModel, epCreateLoggedModel.path, req)
	if err != nil || len(params) <= modelParamsBatch {
		return m, err
	}
	if err := s.logModelParams(ctx, m.ModelID, params[modelParamsBatch:]); err != nil {
		return entities.LoggedModel{}, err
	}
	return s.GetLoggedModel(ctx, m.ModelID)
}

// GetLoggedModel returns an active logged model with its tags, params and
// metrics.
func (s *Store) GetLoggedModel(ctx context.Context, modelID string) (entities.LoggedModel, error) {
	if err := checkModelID("model_id", modelID); err != nil {
		return entities.LoggedModel{}, err
	}
	return s.modelCall(ctx, epGetLoggedModel, modelPath(epGetLoggedModel, modelID, ""), nil)
}

// FinalizeLoggedModel sets a model's status (READY or FAILED).
func (s *Store) FinalizeLoggedModel(ctx context.Context, modelID string, status entities.LoggedModelStatus) (entities.LoggedModel, error) {
	if err := checkModelID("model_id", modelID); err != nil {
		return entities.LoggedModel{}, err
	}
	if err := validate.LoggedModelStatus(status); err != nil {
		return entities.LoggedModel{}, err
	}
	req := finalizeLoggedModelReq{ModelID: modelID, Status: restjson.LoggedModelStatusName(status)}
	return s.modelCall(ctx, epFinalizeLoggedModel, modelPath(epFinalizeLoggedModel, modelID, ""), req)
}

// DeleteLoggedModel marks a logged model deleted.
func (s *Store) DeleteLoggedModel(ctx context.Context, modelID string) error {
	if err := checkModelID("model_id", modelID); err != nil {
		return err
	}
	return s.call(ctx, epDeleteLoggedModel, modelPath(epDeleteLoggedModel, modelID, ""), nil, modelIDReq{modelID}, nil)
}

// SetLoggedModelTags sets tags of a logged model.
func (s *Store) SetLoggedModelTags(ctx context.Context, modelID string, tags map[string]string) error {
	if err := checkModelID("model_id", modelID); err != nil {
		return err
	}
	kvs, err := sortedKVs(tags, checkModelTag)
	if err != nil {
		return err
	}
	return s.call(ctx, epSetLoggedModelTags, modelPath(epSetLoggedModelTags, modelID, ""), nil, loggedModelTagsReq{Tags: kvs}, nil)
}

// DeleteLoggedModelTag deletes a tag of a logged model. The key goes into
// the URL path, so a key with '/' cannot be deleted through the server
// (Python's client cannot either).
func (s *Store) DeleteLoggedModelTag(ctx context.Context, modelID, key string) error {
	if err := checkModelID("model_id", modelID); err != nil {
		return err
	}
	if err := validate.TagName(key); err != nil {
		return err
	}
	if strings.Contains(key, "/") {
		return errs.New(errs.ErrNotSupported, fmt.Sprintf("DeleteLoggedModelTag: the key %q contains '/', which the server's URL path cannot carry", key))
	}
	return s.call(ctx, epDeleteLoggedModelTag, modelPath(epDeleteLoggedModelTag, modelID, key), nil, nil, nil)
}

// LogLoggedModelParams logs params of a logged model in batches of 100.
func (s *Store) LogLoggedModelParams(ctx context.Context, modelID string, params map[string]string) error {
	if err := checkModelID("model_id", modelID); err != nil {
		return err
	}
	kvs, err := sortedKVs(params, checkModelParam)
	if err != nil {
		return err
	}
	return s.logModelParams(ctx, modelID, kvs)
}

func (s *Store) logModelParams(ctx context.Context, modelID string, kvs []kv) error {
	for len(kvs) > 0 {
		n := min(len(kvs), modelParamsBatch)
		req := loggedModelParamsReq{ModelID: modelID, Params: kvs[:n]}
		if err := s.call(ctx, epLogLoggedModelParams, modelPath(epLogLoggedModelParams, modelID, ""), nil, req, nil); err != nil {
			return err
		}
		kvs = kvs[n:]
	}
	return nil
}

// SearchLoggedModels returns one page of the logged models of the
// experiments that pass filter and datasets, in orderBy order, and the next
// page's token. maxResults 0 is 100 (SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT).
func (s *Store) SearchLoggedModels(ctx context.Context, experimentIDs []string, filter string, datasets []entities.LoggedModelDatasetFilter,
	maxResults int, orderBy []entities.LoggedModelOrderBy, pageToken string) ([]entities.LoggedModel, string, error) {
	if maxResults == 0 {
		maxResults = 100
	}
	ids := experimentIDs
	if ids == nil {
		ids = []string{} // a required scope: sent even when empty, as Python does
	}
	req := searchLoggedModelsReq{ExperimentIDs: ids, Filter: filter, MaxResults: int64(maxResults), PageToken: pageToken}
	for _, d := range datasets {
		req.Datasets = append(req.Datasets, searchDatasetReq{d.DatasetName, d.DatasetDigest})
	}
	for _, o := range orderBy {
		req.OrderBy = append(req.OrderBy, searchOrderByReq{FieldName: o.FieldName, Ascending: !o.Descending,
			DatasetName: o.DatasetName, DatasetDigest: o.DatasetDigest})
	}
	var resp restjson.SearchLoggedModelsResponse
	if err := s.call(ctx, epSearchLoggedModels, epSearchLoggedModels.path, nil, req, &resp); err != nil {
		return nil, "", err
	}
	out, err := decodeEach(epSearchLoggedModels, resp.Models, restjson.LoggedModel.ToLoggedModel)
	return out, resp.NextPageToken, err
}

// ArtifactDir is ErrNotSupported: the artifacts of a server store are not
// local folders (they are uploaded through the server's artifact API).
func (s *Store) ArtifactDir(ctx context.Context, runID string) (string, error) {
	return "", errs.New(errs.ErrNotSupported, fmt.Sprintf(
		"ArtifactDir of run %s: the artifacts of a tracking server store (%s) are not local folders", runID, s.base))
}

// ModelArtifactDir is ErrNotSupported, as ArtifactDir.
func (s *Store) ModelArtifactDir(ctx context.Context, modelID string) (string, error) {
	return "", errs.New(errs.ErrNotSupported, fmt.Sprintf(
		"ModelArtifactDir of model %s: the artifacts of a tracking server store (%s) are not local folders", modelID, s.base))
}
