package tracking

import (
	"bytes"
	"context"
	"iter"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/store"
)

// CreateLoggedModelOptions are the fields of a new logged model; see
// store.CreateLoggedModelOptions.
type CreateLoggedModelOptions = store.CreateLoggedModelOptions

// CreateLoggedModel creates a PENDING logged model in an experiment, as
// MlflowClient.create_logged_model. Finalize it READY (or FAILED) when its
// artifacts are in place.
func (c *Client) CreateLoggedModel(ctx context.Context, experimentID string, o CreateLoggedModelOptions) (entities.LoggedModel, error) {
	return c.store.CreateLoggedModel(ctx, experimentID, o)
}

// CreateExternalModel creates a model whose artifacts live outside MLflow,
// as Python's mlflow.create_external_model: the mlflow.model.isExternal
// tag, an MLmodel file in its artifacts (so a model registry accepts it),
// then READY.
func (c *Client) CreateExternalModel(ctx context.Context, experimentID string, o CreateLoggedModelOptions) (entities.LoggedModel, error) {
	tags := make(map[string]string, len(o.Tags)+1)
	for k, v := range o.Tags {
		tags[k] = v
	}
	tags[entities.TagModelIsExternal] = "true"
	o.Tags = tags
	m, err := c.store.CreateLoggedModel(ctx, experimentID, o)
	if err != nil {
		return entities.LoggedModel{}, err
	}
	a, err := c.store.ModelArtifacts(ctx, m.ModelID)
	if err != nil {
		return entities.LoggedModel{}, err
	}
	if err := a.Put(ctx, layout.MLmodelFile, bytes.NewReader(layout.EncodeExternalModelSpec(m, c.now()))); err != nil {
		return entities.LoggedModel{}, err
	}
	return c.store.FinalizeLoggedModel(ctx, m.ModelID, entities.LoggedModelReady)
}

// GetLoggedModel returns a logged model with its tags, params and latest
// metrics.
func (c *Client) GetLoggedModel(ctx context.Context, modelID string) (entities.LoggedModel, error) {
	return c.store.GetLoggedModel(ctx, modelID)
}

// FinalizeLoggedModel sets a model's final status (READY or FAILED).
func (c *Client) FinalizeLoggedModel(ctx context.Context, modelID string, status entities.LoggedModelStatus) (entities.LoggedModel, error) {
	return c.store.FinalizeLoggedModel(ctx, modelID, status)
}

// DeleteLoggedModel marks a model deleted.
func (c *Client) DeleteLoggedModel(ctx context.Context, modelID string) error {
	return c.store.DeleteLoggedModel(ctx, modelID)
}

// SetLoggedModelTags sets tags on a model.
func (c *Client) SetLoggedModelTags(ctx context.Context, modelID string, tags map[string]string) error {
	return c.store.SetLoggedModelTags(ctx, modelID, tags)
}

// DeleteLoggedModelTag deletes a model tag; a missing tag is ErrNotFound.
func (c *Client) DeleteLoggedModelTag(ctx context.Context, modelID, key string) error {
	return c.store.DeleteLoggedModelTag(ctx, modelID, key)
}

// LogModelParams logs params of a model, as MlflowClient.log_model_params
// (a model's params may be logged again with another value).
func (c *Client) LogModelParams(ctx context.Context, modelID string, params map[string]string) error {
	return c.store.LogLoggedModelParams(ctx, modelID, params)
}

// ModelArtifactDir returns the local folder of a model's artifacts,
// created if missing and checked as ArtifactDir checks a run's.
func (c *Client) ModelArtifactDir(ctx context.Context, modelID string) (string, error) {
	return c.store.ModelArtifactDir(ctx, modelID)
}

// SearchLoggedModelsOptions are the arguments of SearchLoggedModels
// besides the experiments; the zero value is Python's defaults.
type SearchLoggedModelsOptions struct {
	// Filter in MLflow's logged-model syntax, e.g.
	// "metrics.accuracy > 0.9 AND params.lr = '0.01'".
	Filter string
	// Datasets restricts metric filters and ordering to these datasets.
	Datasets   []entities.LoggedModelDatasetFilter
	MaxResults int // models per page; zero: 100
	OrderBy    []entities.LoggedModelOrderBy
	PageToken  string
}

// SearchLoggedModels returns one page of the models of the experiments
// that match, and the next page's token ("" on the last), as
// MlflowClient.search_logged_models.
func (c *Client) SearchLoggedModels(ctx context.Context, experimentIDs []string, o SearchLoggedModelsOptions) ([]entities.LoggedModel, string, error) {
	return c.store.SearchLoggedModels(ctx, experimentIDs, o.Filter, o.Datasets, o.MaxResults, o.OrderBy, o.PageToken)
}

// AllLoggedModels yields every model SearchLoggedModels would return, page
// after page. It stops at the first error, which it yields.
func (c *Client) AllLoggedModels(ctx context.Context, experimentIDs []string, o SearchLoggedModelsOptions) iter.Seq2[entities.LoggedModel, error] {
	return pages(func(token string) ([]entities.LoggedModel, string, error) {
		o.PageToken = token
		return c.SearchLoggedModels(ctx, experimentIDs, o)
	}, o.PageToken)
}
