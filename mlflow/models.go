package mlflow

import (
	"context"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/tracking"
)

// LoggedModelOptions are the fields of a model InitializeLoggedModel or
// CreateExternalModel creates; zero fields take Python's defaults.
type LoggedModelOptions struct {
	Name string // empty: a random name
	// SourceRunID is the run that produced the model; empty: the active
	// run, if any.
	SourceRunID string
	// ExperimentID holds the model; empty: the active run's experiment,
	// else the active experiment (Python's _create_logged_model).
	ExperimentID string
	ModelType    string
	// Tags are added to the context tags Python's run context providers
	// resolve (mlflow.user, mlflow.source.name, mlflow.source.type, git).
	Tags   map[string]string
	Params map[string]string
}

// InitializeLoggedModel creates a PENDING logged model, as Python's
// mlflow.initialize_logged_model; finalize it with FinalizeLoggedModel.
// It becomes the LastLoggedModel.
func InitializeLoggedModel(ctx context.Context, o LoggedModelOptions) (entities.LoggedModel, error) {
	return createModel(ctx, o, (*tracking.Client).CreateLoggedModel)
}

// CreateExternalModel creates a READY model whose artifacts live outside
// MLflow, as Python's mlflow.create_external_model (see
// tracking.Client.CreateExternalModel). It becomes the LastLoggedModel.
func CreateExternalModel(ctx context.Context, o LoggedModelOptions) (entities.LoggedModel, error) {
	return createModel(ctx, o, (*tracking.Client).CreateExternalModel)
}

func createModel(ctx context.Context, o LoggedModelOptions,
	create func(*tracking.Client, context.Context, string, tracking.CreateLoggedModelOptions) (entities.LoggedModel, error)) (entities.LoggedModel, error) {
	c, err := Client()
	if err != nil {
		return entities.LoggedModel{}, err
	}
	active := ActiveRun()
	if o.SourceRunID == "" && active != nil {
		o.SourceRunID = active.ID()
	}
	expID := o.ExperimentID
	switch {
	case expID != "":
	case active != nil:
		expID = active.info.ExperimentID
	default:
		if expID, err = activeExperimentID(ctx, c); err != nil {
			return entities.LoggedModel{}, err
		}
	}
	tags := contextTags()
	for k, v := range o.Tags {
		tags[k] = v
	}
	m, err := create(c, ctx, expID, tracking.CreateLoggedModelOptions{
		Name: o.Name, SourceRunID: o.SourceRunID, ModelType: o.ModelType, Tags: tags, Params: o.Params,
	})
	if err != nil {
		return entities.LoggedModel{}, err
	}
	state.Lock()
	state.lastModelID = m.ModelID
	state.Unlock()
	return m, nil
}

// FinalizeLoggedModel sets a model's final status: READY when its
// artifacts are complete, FAILED otherwise.
func FinalizeLoggedModel(ctx context.Context, modelID string, status entities.LoggedModelStatus) (entities.LoggedModel, error) {
	c, err := Client()
	if err != nil {
		return entities.LoggedModel{}, err
	}
	return c.FinalizeLoggedModel(ctx, modelID, status)
}

// GetLoggedModel returns a logged model with its tags, params and metrics.
func GetLoggedModel(ctx context.Context, modelID string) (entities.LoggedModel, error) {
	c, err := Client()
	if err != nil {
		return entities.LoggedModel{}, err
	}
	return c.GetLoggedModel(ctx, modelID)
}

// LastLoggedModel returns the model this process created last with
// InitializeLoggedModel or CreateExternalModel, read fresh; ok is false
// when there is none (Python returns None).
func LastLoggedModel(ctx context.Context) (m entities.LoggedModel, ok bool, err error) {
	state.Lock()
	id := state.lastModelID
	state.Unlock()
	if id == "" {
		return entities.LoggedModel{}, false, nil
	}
	m, err = GetLoggedModel(ctx, id)
	if err != nil {
		return entities.LoggedModel{}, false, err
	}
	return m, true, nil
}

// SetLoggedModelTags sets tags on a model (values converted with Str).
func SetLoggedModelTags(ctx context.Context, modelID string, tags map[string]any) error {
	return withClient(func(c *tracking.Client) error { return c.SetLoggedModelTags(ctx, modelID, strs(tags)) })
}

// DeleteLoggedModelTag deletes a model tag.
func DeleteLoggedModelTag(ctx context.Context, modelID, key string) error {
	return withClient(func(c *tracking.Client) error { return c.DeleteLoggedModelTag(ctx, modelID, key) })
}

// LogModelParams logs params of a model (values converted with Str).
func LogModelParams(ctx context.Context, modelID string, params map[string]any) error {
	return withClient(func(c *tracking.Client) error { return c.LogModelParams(ctx, modelID, strs(params)) })
}

// DeleteLoggedModel marks a model deleted.
func DeleteLoggedModel(ctx context.Context, modelID string) error {
	return withClient(func(c *tracking.Client) error { return c.DeleteLoggedModel(ctx, modelID) })
}

// LogOutputs records logged models the active run (or ForRun's) produced,
// each at a step, as Python's mlflow.log_outputs.
func LogOutputs(ctx context.Context, models []entities.ModelOutput, opts ...LogOption) error {
	c, runID, _, err := target(ctx, opts)
	if err != nil {
		return err
	}
	return c.LogOutputs(ctx, runID, models)
}

// SearchLoggedModelsOptions are the arguments of SearchLoggedModels; the
// zero value searches the active experiment's models.
type SearchLoggedModelsOptions struct {
	ExperimentIDs []string // empty: the active experiment
	Filter        string   // e.g. "metrics.accuracy > 0.9"
	Datasets      []entities.LoggedModelDatasetFilter
	MaxResults    int // zero: all
	OrderBy       []entities.LoggedModelOrderBy
}

// SearchLoggedModels returns the models that match, every page of them up
// to MaxResults, as Python's mlflow.search_logged_models(output_format="list").
func SearchLoggedModels(ctx context.Context, o SearchLoggedModelsOptions) ([]entities.LoggedModel, error) {
	c, err := Client()
	if err != nil {
		return nil, err
	}
	ids := o.ExperimentIDs
	if len(ids) == 0 {
		id, err := activeExperimentID(ctx, c)
		if err != nil {
			return nil, err
		}
		ids = []string{id}
	}
	return collect(c.AllLoggedModels(ctx, ids, tracking.SearchLoggedModelsOptions{
		Filter: o.Filter, Datasets: o.Datasets, MaxResults: o.MaxResults, OrderBy: o.OrderBy,
	}), o.MaxResults)
}

func strs(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = Str(v)
	}
	return out
}
