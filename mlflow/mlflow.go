package mlflow

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/tracking"
)

// Environment variables read by this package, as Python MLflow names them.
const (
	EnvTrackingURI        = "MLFLOW_TRACKING_URI"
	EnvExperimentName     = "MLFLOW_EXPERIMENT_NAME"
	EnvExperimentID       = "MLFLOW_EXPERIMENT_ID"
	EnvRunID              = "MLFLOW_RUN_ID"
	EnvEnableAsyncLogging = "MLFLOW_ENABLE_ASYNC_LOGGING"
)

// DefaultTrackingPath is the store used when no tracking URI is set.
const DefaultTrackingPath = "mlruns"

// Operation is the handle of a logging call; see tracking.Operation.
type Operation = tracking.Operation

// state is the process-wide state of the fluent API.
var state struct {
	sync.Mutex
	trackingURI  string // set by SetTrackingURI; "" falls back to the environment
	clients      map[string]*tracking.Client
	experimentID string // set by SetExperiment
	stack        []*Run // active runs, innermost last
	last         *Run   // the last run ended from the stack
	lastModelID  string // the model created last (LastLoggedModel)
}

// SetTrackingURI sets the tracking URI for later runs, and exports it as
// MLFLOW_TRACKING_URI for child processes, as Python does. An empty uri
// unsets it. The URI is kept as given; it is resolved when opened.
func SetTrackingURI(uri string) {
	state.Lock()
	defer state.Unlock()
	state.trackingURI = uri
	if uri != "" {
		os.Setenv(EnvTrackingURI, uri)
	} else {
		os.Unsetenv(EnvTrackingURI)
	}
}

// GetTrackingURI returns the tracking URI: the one set by SetTrackingURI,
// else MLFLOW_TRACKING_URI, else the file: URI of the absolute ./mlruns.
func GetTrackingURI() string {
	state.Lock()
	defer state.Unlock()
	return trackingURILocked()
}

// Requires: state held.
func trackingURILocked() string {
	if state.trackingURI != "" {
		return state.trackingURI
	}
	if v := os.Getenv(EnvTrackingURI); v != "" {
		return v
	}
	abs, err := filepath.Abs(DefaultTrackingPath)
	if err != nil {
		return DefaultTrackingPath
	}
	return filestore.FileURI(abs)
}

// IsTrackingURISet reports whether a tracking URI was set, by
// SetTrackingURI or MLFLOW_TRACKING_URI, as Python's is_tracking_uri_set.
func IsTrackingURISet() bool {
	state.Lock()
	defer state.Unlock()
	return state.trackingURI != "" || os.Getenv(EnvTrackingURI) != ""
}

// Client returns the tracking client of the current tracking URI, opening
// its store on first use. The client is shared and stays open for the life
// of the process.
func Client() (*tracking.Client, error) {
	state.Lock()
	defer state.Unlock()
	return clientLocked()
}

// Requires: state held.
func clientLocked() (*tracking.Client, error) {
	uri := trackingURILocked()
	if c, ok := state.clients[uri]; ok {
		return c, nil
	}
	c, err := tracking.Open(uri, nil)
	if err != nil {
		return nil, fmt.Errorf("mlflow: %w", err)
	}
	if state.clients == nil {
		state.clients = map[string]*tracking.Client{}
	}
	state.clients[uri] = c
	return c, nil
}

// Flush writes everything queued by asynchronous logging calls, for every
// tracking URI used, and returns the errors of failed asynchronous writes
// not reported before.
func Flush(ctx context.Context) error {
	state.Lock()
	clients := make([]*tracking.Client, 0, len(state.clients))
	for _, c := range state.clients {
		clients = append(clients, c)
	}
	state.Unlock()
	var errList []error
	for _, c := range clients {
		if err := c.Flush(ctx); err != nil {
			errList = append(errList, err)
		}
	}
	return joinErrs(errList)
}

// ---- experiments ----

// CreateExperiment creates an experiment and returns its id. An empty
// artifactLocation puts it under the store's artifact root.
func CreateExperiment(ctx context.Context, name, artifactLocation string, tags map[string]any) (string, error) {
	c, err := Client()
	if err != nil {
		return "", err
	}
	return c.CreateExperiment(ctx, name, artifactLocation, strs(tags))
}

// GetExperiment returns an experiment by id.
func GetExperiment(ctx context.Context, id string) (entities.Experiment, error) {
	c, err := Client()
	if err != nil {
		return entities.Experiment{}, err
	}
	return c.GetExperiment(ctx, id)
}

// GetExperimentByName returns an experiment by name (ErrNotFound when
// there is none).
func GetExperimentByName(ctx context.Context, name string) (entities.Experiment, error) {
	c, err := Client()
	if err != nil {
		return entities.Experiment{}, err
	}
	return c.GetExperimentByName(ctx, name)
}

// SetExperiment makes the experiment called name the active one, creating
// it when it does not exist, and exports its id as MLFLOW_EXPERIMENT_ID for
// child processes, as Python does. A deleted experiment is refused.
func SetExperiment(ctx context.Context, name string) (entities.Experiment, error) {
	return setExperiment(ctx, name, "")
}

// SetExperimentByID makes the experiment with this id the active one.
func SetExperimentByID(ctx context.Context, id string) (entities.Experiment, error) {
	return setExperiment(ctx, "", id)
}

// DeleteExperiment moves an experiment to the trash, with its runs.
func DeleteExperiment(ctx context.Context, id string) error {
	return withClient(func(c *tracking.Client) error { return c.DeleteExperiment(ctx, id) })
}

// RestoreExperiment brings a deleted experiment back.
func RestoreExperiment(ctx context.Context, id string) error {
	return withClient(func(c *tracking.Client) error { return c.RestoreExperiment(ctx, id) })
}

// RenameExperiment renames an active experiment (MlflowClient's
// rename_experiment; Python's mlflow module has no twin).
func RenameExperiment(ctx context.Context, id, newName string) error {
	return withClient(func(c *tracking.Client) error { return c.RenameExperiment(ctx, id, newName) })
}

// SetExperimentTag sets a tag on the active experiment (value converted
// with Str), as Python's mlflow.set_experiment_tag.
func SetExperimentTag(ctx context.Context, key string, value any) error {
	return SetExperimentTags(ctx, map[string]any{key: value})
}

// SetExperimentTags sets tags on the active experiment, in key order.
func SetExperimentTags(ctx context.Context, tags map[string]any) error {
	return withActiveExperiment(ctx, func(c *tracking.Client, id string) error {
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			if err := c.SetExperimentTag(ctx, id, k, Str(tags[k])); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteExperimentTag deletes a tag of the active experiment.
func DeleteExperimentTag(ctx context.Context, key string) error {
	return withActiveExperiment(ctx, func(c *tracking.Client, id string) error {
		return c.DeleteExperimentTag(ctx, id, key)
	})
}

func withClient(fn func(c *tracking.Client) error) error {
	c, err := Client()
	if err != nil {
		return err
	}
	return fn(c)
}

// withActiveExperiment calls fn with the active experiment's id (Python's
// _get_experiment_id).
func withActiveExperiment(ctx context.Context, fn func(c *tracking.Client, id string) error) error {
	c, err := Client()
	if err != nil {
		return err
	}
	id, err := activeExperimentID(ctx, c)
	if err != nil {
		return err
	}
	return fn(c, id)
}

// activeExperimentID is experimentIDLocked taking the state's lock.
func activeExperimentID(ctx context.Context, c *tracking.Client) (string, error) {
	state.Lock()
	defer state.Unlock()
	return experimentIDLocked(ctx, c)
}

func setExperiment(ctx context.Context, name, id string) (entities.Experiment, error) {
	state.Lock()
	defer state.Unlock()
	c, err := clientLocked()
	if err != nil {
		return entities.Experiment{}, err
	}
	var exp entities.Experiment
	if id == "" {
		exp, err = getOrCreateExperiment(ctx, c, name)
	} else {
		exp, err = c.GetExperiment(ctx, id)
	}
	if err != nil {
		return entities.Experiment{}, err
	}
	if exp.LifecycleStage != entities.StageActive {
		return entities.Experiment{}, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"Cannot set a deleted experiment '%s' as the active experiment. You can restore the "+
				"experiment, or permanently delete the experiment to create a new one.", exp.Name))
	}
	state.experimentID = exp.ExperimentID
	os.Setenv(EnvExperimentID, exp.ExperimentID) // for child processes, as Python does
	return exp, nil
}

// getOrCreateExperiment returns the experiment called name, creating it
// if missing; a concurrent creator winning the race is fine.
func getOrCreateExperiment(ctx context.Context, c *tracking.Client, name string) (entities.Experiment, error) {
	exp, err := c.GetExperimentByName(ctx, name)
	if err == nil || !isNotFound(err) {
		return exp, err
	}
	id, err := c.CreateExperiment(ctx, name, "", nil)
	if isAlreadyExists(err) {
		return c.GetExperimentByName(ctx, name)
	}
	if err != nil {
		return entities.Experiment{}, err
	}
	return c.GetExperiment(ctx, id)
}

// experimentIDLocked is Python's _get_experiment_id: the active
// experiment, else MLFLOW_EXPERIMENT_NAME (created if missing) or
// MLFLOW_EXPERIMENT_ID, else the Default experiment "0".
// Requires: state held.
func experimentIDLocked(ctx context.Context, c *tracking.Client) (string, error) {
	if state.experimentID != "" {
		return state.experimentID, nil
	}
	name, hasName := os.LookupEnv(EnvExperimentName)
	id := os.Getenv(EnvExperimentID)
	if hasName {
		exp, err := getOrCreateExperiment(ctx, c, name)
		if err != nil {
			return "", err
		}
		if id != "" && id != exp.ExperimentID {
			return "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
				"The provided %s environment variable value `%s` does not match the experiment id `%s` for experiment name `%s`",
				EnvExperimentID, id, exp.ExperimentID, name))
		}
		return exp.ExperimentID, nil
	}
	if id != "" {
		exp, err := c.GetExperiment(ctx, id)
		if err != nil {
			return "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
				"The provided %s environment variable value `%s` does not exist in the tracking server. Provide a valid experiment_id.",
				EnvExperimentID, id))
		}
		return exp.ExperimentID, nil
	}
	return "0", nil
}

// ---- reading ----

// GetRun returns a run by id with its latest metrics, params and tags.
func GetRun(ctx context.Context, runID string) (entities.Run, error) {
	c, err := Client()
	if err != nil {
		return entities.Run{}, err
	}
	return c.GetRun(ctx, runID)
}

// GetParentRun returns the parent of a run (its mlflow.parentRunId tag);
// ok is false when it has none (Python returns None).
func GetParentRun(ctx context.Context, runID string) (parent entities.Run, ok bool, err error) {
	c, err := Client()
	if err != nil {
		return entities.Run{}, false, err
	}
	return c.GetParentRun(ctx, runID)
}

// DeleteRun marks a run deleted.
func DeleteRun(ctx context.Context, runID string) error {
	return withClient(func(c *tracking.Client) error { return c.DeleteRun(ctx, runID) })
}

// RestoreRun makes a deleted run active again.
func RestoreRun(ctx context.Context, runID string) error {
	return withClient(func(c *tracking.Client) error { return c.RestoreRun(ctx, runID) })
}

// GetMetricHistory returns every value logged for a run's metric, in the
// order logged (MlflowClient's get_metric_history).
func GetMetricHistory(ctx context.Context, runID, key string) ([]entities.Metric, error) {
	c, err := Client()
	if err != nil {
		return nil, err
	}
	return c.GetMetricHistory(ctx, runID, key)
}

// GetMetricHistoryColumns is GetMetricHistory in columns of timestamps,
// values and steps (entities.MetricColumns), the compact form for long
// histories.
func GetMetricHistoryColumns(ctx context.Context, runID, key string) (entities.MetricColumns, error) {
	c, err := Client()
	if err != nil {
		return entities.MetricColumns{}, err
	}
	return c.GetMetricHistoryColumns(ctx, runID, key)
}

// ActiveRun returns the innermost active run, or nil.
func ActiveRun() *Run {
	state.Lock()
	defer state.Unlock()
	if n := len(state.stack); n > 0 {
		return state.stack[n-1]
	}
	return nil
}

// LastActiveRun returns the active run, else the run ended last (the
// pattern of reading back what an autologging call just logged), read
// fresh from the store; ok is false when there is neither.
func LastActiveRun(ctx context.Context) (run entities.Run, ok bool, err error) {
	state.Lock()
	r := state.last
	if n := len(state.stack); n > 0 {
		r = state.stack[n-1]
	}
	state.Unlock()
	if r == nil {
		return entities.Run{}, false, nil
	}
	run, err = r.client.GetRun(ctx, r.info.RunID)
	if err != nil {
		return entities.Run{}, false, err
	}
	return run, true, nil
}

// GetArtifactURI returns the artifact URI of the active run (started if
// there is none), or of the run given with ForRun, with artifactPath
// appended when not empty.
func GetArtifactURI(ctx context.Context, artifactPath string, opts ...LogOption) (string, error) {
	c, runID, _, err := target(ctx, opts)
	if err != nil {
		return "", err
	}
	uri, err := c.ArtifactURI(ctx, runID)
	if err != nil || artifactPath == "" {
		return uri, err
	}
	return strings.TrimRight(uri, "/") + "/" + strings.TrimLeft(artifactPath, "/"), nil
}
