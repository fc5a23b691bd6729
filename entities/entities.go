package entities

import (
	"fmt"
	"strings"
)

// LifecycleStage is "active" or "deleted". The strings are part of the
// on-disk format (meta.yaml).
type LifecycleStage string

const (
	StageActive  LifecycleStage = "active"
	StageDeleted LifecycleStage = "deleted"
)

// ParseLifecycleStage accepts the two stages MLflow writes.
func ParseLifecycleStage(s string) (LifecycleStage, error) {
	switch LifecycleStage(s) {
	case StageActive, StageDeleted:
		return LifecycleStage(s), nil
	}
	return "", fmt.Errorf("unknown lifecycle_stage %q", s)
}

// ViewType selects active, deleted or all entities in listings.
type ViewType int

const (
	ViewActiveOnly  ViewType = 1
	ViewDeletedOnly ViewType = 2
	ViewAll         ViewType = 3
)

// Includes reports whether an entity in the given stage is part of the view.
func (v ViewType) Includes(stage LifecycleStage) bool {
	switch v {
	case ViewDeletedOnly:
		return stage == StageDeleted
	case ViewAll:
		return true
	default: // zero value behaves like ACTIVE_ONLY, MLflow's default
		return stage == StageActive
	}
}

// String returns MLflow's name of the view type.
func (v ViewType) String() string {
	switch v {
	case ViewActiveOnly:
		return "ACTIVE_ONLY"
	case ViewDeletedOnly:
		return "DELETED_ONLY"
	case ViewAll:
		return "ALL"
	}
	return fmt.Sprintf("ViewType(%d)", int(v))
}

// ParseViewType accepts MLflow's names, case-insensitively.
func ParseViewType(s string) (ViewType, error) {
	switch strings.ToUpper(s) {
	case "ACTIVE_ONLY", "ACTIVE":
		return ViewActiveOnly, nil
	case "DELETED_ONLY", "DELETED":
		return ViewDeletedOnly, nil
	case "ALL":
		return ViewAll, nil
	}
	return 0, fmt.Errorf("unknown view type %q", s)
}

// RunStatus is the run state. The integer values are part of the on-disk
// format (run meta.yaml `status`).
type RunStatus int

const (
	StatusRunning   RunStatus = 1
	StatusScheduled RunStatus = 2
	StatusFinished  RunStatus = 3
	StatusFailed    RunStatus = 4
	StatusKilled    RunStatus = 5
)

var statusNames = map[RunStatus]string{
	StatusRunning:   "RUNNING",
	StatusScheduled: "SCHEDULED",
	StatusFinished:  "FINISHED",
	StatusFailed:    "FAILED",
	StatusKilled:    "KILLED",
}

// String returns MLflow's name of the status ("FINISHED").
func (s RunStatus) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("RunStatus(%d)", int(s))
}

// Valid reports whether s is one of the five statuses.
func (s RunStatus) Valid() bool { _, ok := statusNames[s]; return ok }

// Terminated reports whether the run has ended (FINISHED, FAILED, KILLED).
func (s RunStatus) Terminated() bool {
	return s == StatusFinished || s == StatusFailed || s == StatusKilled
}

// ParseRunStatus accepts MLflow's status names ("FINISHED").
func ParseRunStatus(name string) (RunStatus, error) {
	for s, n := range statusNames {
		if n == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown run status %q", name)
}

// SourceType of a run; MLflow writes LOCAL (4) in every run meta.yaml.
type SourceType int

const (
	SourceNotebook SourceType = 1
	SourceJob      SourceType = 2
	SourceProject  SourceType = 3
	SourceLocal    SourceType = 4
	SourceUnknown  SourceType = 5
)

// Experiment is an experiment and its tags.
type Experiment struct {
	ExperimentID     string
	Name             string
	ArtifactLocation string
	LifecycleStage   LifecycleStage
	CreationTime     *int64 // ms since epoch; nil in files older than MLflow 1.29
	LastUpdateTime   *int64 // ms since epoch; nil in files older than MLflow 1.29
	Tags             map[string]string
}

// RunInfo is the metadata of a run (its meta.yaml).
type RunInfo struct {
	RunID          string
	RunName        string
	ExperimentID   string
	UserID         string
	Status         RunStatus
	StartTime      int64  // ms since epoch
	EndTime        *int64 // nil while running
	ArtifactURI    string
	LifecycleStage LifecycleStage
	DeletedTime    *int64 // set when deleted; nil otherwise
}

// Run is a run's info, data (latest metrics, params, tags) and inputs.
type Run struct {
	Info    RunInfo
	Data    RunData
	Inputs  RunInputs
	Outputs RunOutputs
}

// RunOutputs holds the logged models a run produced (MLflow 3).
type RunOutputs struct {
	ModelOutputs []ModelOutput
}

// RunData holds what was logged: the latest value of each metric, every
// param and every tag.
type RunData struct {
	Metrics map[string]Metric // latest by (step, timestamp, value)
	Params  map[string]string
	Tags    map[string]string
}

// RunInputs holds the datasets and models a run consumed.
type RunInputs struct {
	DatasetInputs []DatasetInput
	ModelInputs   []ModelInput
}

// Metric is one logged metric value.
type Metric struct {
	Key       string
	Value     float64
	Timestamp int64 // ms since epoch
	Step      int64
	// DatasetName and DatasetDigest are set when the value was logged
	// against a dataset (MLflow 3.x, 5-field metric lines).
	DatasetName   string
	DatasetDigest string
	// ModelID is set when the value was logged against a logged model.
	// It is not stored in run metric files, so reads leave it empty.
	ModelID string
	// RunID is filled for logged-model metrics (4- and 6-field lines).
	RunID string
}

// Param is a run parameter. Params are immutable once logged.
type Param struct {
	Key   string
	Value string
}

// RunTag is a run tag.
type RunTag struct {
	Key   string
	Value string
}

// ExperimentTag is an experiment tag.
type ExperimentTag struct {
	Key   string
	Value string
}

// Dataset describes a dataset a run used. Its id on disk is the MD5 of
// name followed by digest.
type Dataset struct {
	Name       string
	Digest     string
	SourceType string
	Source     string
	Schema     *string
	Profile    *string
}

// InputTag is a tag on a dataset input, e.g. mlflow.data.context=train.
type InputTag struct {
	Key   string
	Value string
}

// DatasetInput is a dataset used by a run, with its input tags.
type DatasetInput struct {
	Dataset Dataset
	Tags    []InputTag
}

// ModelInput is a logged model used by a run.
type ModelInput struct {
	ModelID string
}

// ModelOutput is a logged model produced by a run at a step.
type ModelOutput struct {
	ModelID string
	Step    int64
}

// LoggedModelStatus values are part of the on-disk format.
type LoggedModelStatus int

const (
	LoggedModelUnspecified LoggedModelStatus = 0
	LoggedModelPending     LoggedModelStatus = 1
	LoggedModelReady       LoggedModelStatus = 2
	LoggedModelFailed      LoggedModelStatus = 3
)

// LoggedModel is an MLflow 3 logged model (read side).
type LoggedModel struct {
	ModelID              string
	ExperimentID         string
	Name                 string
	ArtifactLocation     string
	CreationTimestamp    int64
	LastUpdatedTimestamp int64
	ModelType            *string
	SourceRunID          *string
	Status               LoggedModelStatus
	StatusMessage        *string
	LifecycleStage       LifecycleStage
	Tags                 map[string]string
	Params               map[string]string
	Metrics              []Metric
}

// System tag keys MLflow sets and reads (mlflow/utils/mlflow_tags.py).
const (
	TagRunName         = "mlflow.runName"
	TagUser            = "mlflow.user"
	TagSourceName      = "mlflow.source.name"
	TagSourceType      = "mlflow.source.type"
	TagGitCommit       = "mlflow.source.git.commit"
	TagParentRunID     = "mlflow.parentRunId"
	TagNoteContent     = "mlflow.note.content"
	TagDatasetContext  = "mlflow.data.context"
	TagLogModelHistory = "mlflow.log-model.history"
)
