// Package store defines the tracking store interface that backends
// implement: the MLflow file store (package filestore) today, a REST client
// of an MLflow tracking server later. The tracking API is written against
// this interface, never against a backend's internals (the CLI still holds
// a *filestore.Store; the REST backend moves its read side here).
//
// The method set follows MLflow's AbstractStore. Errors unwrap to the
// sentinels of package errs so callers can branch on them whatever the
// backend.
package store

import (
	"context"
	"fmt"
	"iter"

	"github.com/mlruns-go/mlruns/entities"
)

// Store is a tracking store.
type Store interface {
	// Close releases what the store holds (open files, connections). The
	// store stays usable; it may acquire them again.
	Close() error

	// Experiments.
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags []entities.ExperimentTag) (string, error)
	GetExperiment(ctx context.Context, id string) (entities.Experiment, error)
	GetExperimentByName(ctx context.Context, name string) (entities.Experiment, error)
	ListExperiments(ctx context.Context, view entities.ViewType) ([]entities.Experiment, []*SkippedError, error)
	RenameExperiment(ctx context.Context, id, newName string) error
	DeleteExperiment(ctx context.Context, id string) error
	RestoreExperiment(ctx context.Context, id string) error
	SetExperimentTag(ctx context.Context, id, key, value string) error
	DeleteExperimentTag(ctx context.Context, id, key string) error

	// Runs.
	CreateRun(ctx context.Context, o CreateRunOptions) (entities.Run, error)
	GetRun(ctx context.Context, runID string) (entities.Run, error)
	GetRunInfo(ctx context.Context, runID string) (entities.RunInfo, error)
	ListRuns(ctx context.Context, experimentID string, view entities.ViewType) ([]entities.Run, []*SkippedError, error)
	UpdateRunInfo(ctx context.Context, runID string, status entities.RunStatus, endTime *int64, runName string) (entities.RunInfo, error)
	DeleteRun(ctx context.Context, runID string) error
	RestoreRun(ctx context.Context, runID string) error

	// Logging.
	LogMetric(ctx context.Context, runID string, m entities.Metric) error
	LogParam(ctx context.Context, runID, key, value string) error
	SetTag(ctx context.Context, runID, key, value string) error
	DeleteTag(ctx context.Context, runID, key string) error
	LogBatch(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error
	GetMetricHistory(ctx context.Context, runID, key string) ([]entities.Metric, error)
	// GetMetricHistoryColumns is GetMetricHistory in columns, the compact
	// form for long histories (entities.MetricColumns).
	GetMetricHistoryColumns(ctx context.Context, runID, key string) (entities.MetricColumns, error)
	LogInputs(ctx context.Context, runID string, datasets []entities.DatasetInput, models []entities.ModelInput) error
	LogOutputs(ctx context.Context, runID string, models []entities.ModelOutput) error

	// Search (MLflow's filter language, order_by and page tokens; see
	// package search).
	SearchRuns(ctx context.Context, experimentIDs []string, filter string, view entities.ViewType, maxResults int, orderBy []string, pageToken string) ([]entities.Run, string, error)
	SearchExperiments(ctx context.Context, view entities.ViewType, maxResults int, filter string, orderBy []string, pageToken string) ([]entities.Experiment, string, error)
	GetMetricHistoryPage(ctx context.Context, runID, key string, maxResults int, pageToken string) ([]entities.Metric, string, error)
	MetricHistoryIter(ctx context.Context, runID, key string) iter.Seq2[entities.Metric, error]

	// Logged models (MLflow 3): created PENDING, finalized READY or
	// FAILED; metrics logged with a model id are the model's metrics.
	CreateLoggedModel(ctx context.Context, experimentID string, o CreateLoggedModelOptions) (entities.LoggedModel, error)
	GetLoggedModel(ctx context.Context, modelID string) (entities.LoggedModel, error)
	FinalizeLoggedModel(ctx context.Context, modelID string, status entities.LoggedModelStatus) (entities.LoggedModel, error)
	DeleteLoggedModel(ctx context.Context, modelID string) error
	SetLoggedModelTags(ctx context.Context, modelID string, tags map[string]string) error
	DeleteLoggedModelTag(ctx context.Context, modelID, key string) error
	LogLoggedModelParams(ctx context.Context, modelID string, params map[string]string) error
	SearchLoggedModels(ctx context.Context, experimentIDs []string, filter string, datasets []entities.LoggedModelDatasetFilter,
		maxResults int, orderBy []entities.LoggedModelOrderBy, pageToken string) ([]entities.LoggedModel, string, error)

	// Artifacts. ArtifactDir is the local folder of a run's artifacts,
	// created if missing and checked so that writes into it stay where
	// the run's artifact URI says (no symlink out of the store); a store
	// whose artifacts are not local folders returns ErrNotSupported.
	ArtifactDir(ctx context.Context, runID string) (string, error)
	// ModelArtifactDir is ArtifactDir for a logged model.
	ModelArtifactDir(ctx context.Context, modelID string) (string, error)
	// RunArtifacts and ModelArtifacts are the artifact repositories of a
	// run and of a logged model, whatever the backend keeps them in.
	RunArtifacts(ctx context.Context, runID string) (Artifacts, error)
	ModelArtifacts(ctx context.Context, modelID string) (Artifacts, error)
}

// CreateLoggedModelOptions are the fields of a new logged model.
type CreateLoggedModelOptions struct {
	// Name is the model's name; empty draws a random one (as a run's).
	// It must not contain / : . % " or '.
	Name string
	// SourceRunID is the run that produced the model; empty is none. As
	// in MLflow, it is recorded without a check that the run exists.
	SourceRunID string
	// ModelType is a free-form type ("agent"); empty is none.
	ModelType string
	// Tags and Params are written into the model's tags/ and params/
	// folders. create_external_model's tag is entities.TagModelIsExternal
	// set to "true".
	Tags   map[string]string
	Params map[string]string
	// ModelID, when not empty, is the id the model gets instead of a new
	// one: "m-" and 32 lowercase hex digits, the form MLflow gives (a pull
	// keeps a server's ids). A tracking server refuses it with
	// ErrNotSupported; an id the store holds is ErrAlreadyExists.
	ModelID string
	// CreationTime is the creation timestamp (ms since epoch); zero means
	// now. Only a store that takes ModelID takes it.
	CreationTime int64
}

// CreateRunOptions are the arguments of CreateRun.
type CreateRunOptions struct {
	ExperimentID string // empty: the Default experiment "0"
	UserID       string
	StartTime    int64 // ms since epoch; zero means now
	Tags         []entities.RunTag
	// RunName names the run; empty takes the mlflow.runName tag, else a
	// random adjective-animal-N name.
	RunName string
	// RunID, when not empty, is the id the run gets instead of a new one:
	// 32 lowercase hex digits, the form MLflow gives (mlsync's pull keeps a
	// server's run ids, so that a pull then a push is a no-op). A store
	// whose ids are chosen elsewhere (a tracking server) refuses it with
	// ErrNotSupported; an id the store already holds is ErrAlreadyExists.
	RunID string
}

// SkippedError describes a broken entity left out of a listing. It unwraps
// to the error that made it unreadable.
type SkippedError struct {
	Path string // where the entity lives (a folder for the file store)
	Err  error
}

func (e *SkippedError) Error() string {
	return fmt.Sprintf("mlruns: skipped %s: %v", e.Path, e.Err)
}

func (e *SkippedError) Unwrap() error { return e.Err }

// ConcurrentBatches is implemented by a Store on which metric-only
// LogBatch calls for one run may be in flight at once and land in any
// order without changing what a reader sees: a SQL-backed tracking
// server, which orders a history by timestamp, step and value and resolves the
// latest value by step, timestamp and value. The asynchronous writer of
// package tracking sends such batches concurrently, as Python MLflow's
// async logging queue does; batches carrying params or tags stay in call
// order, one at a time per run. A Store without the method (the file
// store, whose history is file order) gets one batch at a time.
type ConcurrentBatches interface {
	ConcurrentBatches() bool
}

// MetricStamp is what identifies one version of a metric's file without
// reading it: its size, modification time (ns) and file id. A sync keeps
// it with what it sent and reads the history again only when it changed
// (an append changes the size; a replaced file has another id).
type MetricStamp struct {
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime"`
	Ino   uint64 `json:"ino,omitempty"`
}

// MetricStamper is implemented by a Store whose histories are files (the
// file store): MetricFileStamp is the stamp of a run's metric file, and a
// metric never logged is errs.ErrNotFound.
type MetricStamper interface {
	MetricFileStamp(ctx context.Context, runID, key string) (MetricStamp, error)
}
