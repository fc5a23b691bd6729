// Package restjson gives entities the JSON shapes of MLflow's REST API
// responses (GetRun, SearchRuns, SearchExperiments, GetMetricHistory), so
// tools that read MLflow's JSON can read what the mlruns command prints.
//
// MLflow's server prints protobuf messages with snake_case names, int64 as
// numbers, enums as names, unset optional fields left out, NaN and
// infinities as the strings "NaN", "Infinity", "-Infinity". Fields here are
// in field-number order, as the server prints them; lists are sorted by key
// so output is stable. Doubles are Python's repr (1.0, 1e+22, -0.0), the
// token Python's json module writes. server_test.go checks every shape,
// field, field order, type and number token against `mlflow server` 3.18 on
// the same tree (the server's params and tags come in folder-listing order,
// and it escapes non-ASCII as \uXXXX, so bytes are not compared).
package restjson

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// Float is a double as protobuf's JSON printer writes it: Python's repr for
// finite values, a string for NaN and the infinities.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	s := pynum.FormatFloat(float64(f))
	switch s {
	case "nan":
		return []byte(`"NaN"`), nil
	case "inf":
		return []byte(`"Infinity"`), nil
	case "-inf":
		return []byte(`"-Infinity"`), nil
	}
	return []byte(s), nil
}

// UnmarshalJSON implements json.Unmarshaler: a number, or one of the
// strings "NaN", "Infinity", "-Infinity" protobuf writes for non-finite
// values, so Go tools can read what the CLI prints.
func (f *Float) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = Float(math.NaN())
		return nil
	case `"Infinity"`:
		*f = Float(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*f = Float(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("restjson: value %s is not a number", b)
	}
	*f = Float(v)
	return nil
}

// Metric is mlflow.Metric.
type Metric struct {
	Key           string `json:"key"`
	Value         Float  `json:"value"`
	Timestamp     int64  `json:"timestamp"`
	Step          int64  `json:"step"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
	ModelID       string `json:"model_id,omitempty"`
	RunID         string `json:"run_id,omitempty"`
}

// KeyValue is mlflow.Param, RunTag, ExperimentTag and InputTag.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RunInfo is mlflow.RunInfo.
type RunInfo struct {
	RunUUID        string `json:"run_uuid"`
	ExperimentID   string `json:"experiment_id"`
	RunName        string `json:"run_name"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage"`
	RunID          string `json:"run_id"`
}

// RunData is mlflow.RunData.
type RunData struct {
	Metrics []Metric   `json:"metrics,omitempty"`
	Params  []KeyValue `json:"params,omitempty"`
	Tags    []KeyValue `json:"tags,omitempty"`
}

// Dataset is mlflow.Dataset.
type Dataset struct {
	Name       string  `json:"name"`
	Digest     string  `json:"digest"`
	SourceType string  `json:"source_type"`
	Source     string  `json:"source"`
	Schema     *string `json:"schema,omitempty"`
	Profile    *string `json:"profile,omitempty"`
}

// DatasetInput is mlflow.DatasetInput.
type DatasetInput struct {
	Tags    []KeyValue `json:"tags,omitempty"`
	Dataset Dataset    `json:"dataset"`
}

// ModelInput is mlflow.ModelInput.
type ModelInput struct {
	ModelID string `json:"model_id"`
}

// ModelOutput is mlflow.ModelOutput.
type ModelOutput struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

// RunInputs is mlflow.RunInputs.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
	ModelInputs   []ModelInput   `json:"model_inputs,omitempty"`
}

// RunOutputs is mlflow.RunOutputs.
type RunOutputs struct {
	ModelOutputs []ModelOutput `json:"model_outputs,omitempty"`
}

// Run is mlflow.Run.
type Run struct {
	Info    RunInfo    `json:"info"`
	Data    RunData    `json:"data"`
	Inputs  RunInputs  `json:"inputs"`
	Outputs RunOutputs `json:"outputs"`
}

// Experiment is mlflow.Experiment.
type Experiment struct {
	ExperimentID     string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location"`
	LifecycleStage   string     `json:"lifecycle_stage"`
	LastUpdateTime   *int64     `json:"last_update_time,omitempty"`
	CreationTime     *int64     `json:"creation_time,omitempty"`
	Tags             []KeyValue `json:"tags,omitempty"`
	// Workspace is MLflow 3's workspace of the experiment. A file store has
	// none, and the server then prints DefaultWorkspace.
	Workspace string `json:"workspace,omitempty"`
}

// DefaultWorkspace is the workspace MLflow gives entities of stores without
// workspaces (mlflow.utils.workspace_utils.DEFAULT_WORKSPACE_NAME).
const DefaultWorkspace = "default"

// GetRunResponse is the body of GET /api/2.0/mlflow/runs/get.
type GetRunResponse struct {
	Run Run `json:"run"`
}

// SearchRunsResponse is the body of POST /api/2.0/mlflow/runs/search.
type SearchRunsResponse struct {
	Runs          []Run  `json:"runs,omitempty"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// GetExperimentResponse is the body of GET /api/2.0/mlflow/experiments/get.
type GetExperimentResponse struct {
	Experiment Experiment `json:"experiment"`
}

// SearchExperimentsResponse is the body of POST
// /api/2.0/mlflow/experiments/search.
type SearchExperimentsResponse struct {
	Experiments   []Experiment `json:"experiments,omitempty"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

// GetMetricHistoryResponse is the body of GET
// /api/2.0/mlflow/metrics/get-history.
type GetMetricHistoryResponse struct {
	Metrics       []Metric `json:"metrics,omitempty"`
	NextPageToken string   `json:"next_page_token,omitempty"`
}

// FromMetric converts a metric.
func FromMetric(m entities.Metric) Metric {
	return Metric{
		Key: m.Key, Value: Float(m.Value), Timestamp: m.Timestamp, Step: m.Step,
		DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest,
		ModelID: m.ModelID, RunID: m.RunID,
	}
}

// FromMetrics converts metrics as they are, keeping their order. A run's
// metrics read from a store have no RunID; use FromMetricHistory for those,
// as the server prints each with its run_id.
func FromMetrics(ms []entities.Metric) []Metric {
	out := make([]Metric, len(ms))
	for i, m := range ms {
		out[i] = FromMetric(m)
	}
	return out
}

// FromMetricHistory converts a run's metric history, keeping its order,
// with run_id filled from runID (entities.Metric leaves it empty for run
// metrics). That is the shape of a FileStore-backed server, whose Metric
// carries the run's id into GetMetricHistory and a run's latest metrics; a
// SQL-backed server leaves run_id out of both.
func FromMetricHistory(runID string, ms []entities.Metric) []Metric {
	out := make([]Metric, len(ms))
	for i, m := range ms {
		out[i] = fromRunMetric(runID, m)
	}
	return out
}

func fromRunMetric(runID string, m entities.Metric) Metric {
	out := FromMetric(m)
	if out.RunID == "" {
		out.RunID = runID
	}
	return out
}

func fromMap(m map[string]string) []KeyValue {
	if len(m) == 0 {
		return nil
	}
	out := make([]KeyValue, 0, len(m))
	for k, v := range m {
		out = append(out, KeyValue{k, v})
	}
	slices.SortFunc(out, func(a, b KeyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// FromRunInfo converts a run's info. Like MLflow's RunInfo.to_proto, an end
// time of 0 and an empty artifact URI are left out.
func FromRunInfo(i entities.RunInfo) RunInfo {
	return RunInfo{
		RunUUID: i.RunID, ExperimentID: i.ExperimentID, RunName: i.RunName,
		UserID: i.UserID, Status: i.Status.String(), StartTime: i.StartTime,
		EndTime: nonZero(i.EndTime), ArtifactURI: i.ArtifactURI,
		LifecycleStage: string(i.LifecycleStage), RunID: i.RunID,
	}
}

// nonZero is p, or nil when it points to 0: MLflow's to_proto sets
// optional times only when truthy.
func nonZero(p *int64) *int64 {
	if p == nil || *p == 0 {
		return nil
	}
	return p
}

// nonEmpty is p, or nil when it points to "" (Dataset.to_proto sets schema
// and profile only when truthy).
func nonEmpty(p *string) *string {
	if p == nil || *p == "" {
		return nil
	}
	return p
}

// FromRun converts a run: latest metrics (each with the run's id, as the
// server prints them), params and tags sorted by key.
func FromRun(r entities.Run) Run {
	out := Run{Info: FromRunInfo(r.Info)}
	for _, m := range r.Data.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, fromRunMetric(r.Info.RunID, m))
	}
	slices.SortFunc(out.Data.Metrics, func(a, b Metric) int { return strings.Compare(a.Key, b.Key) })
	out.Data.Params = fromMap(r.Data.Params)
	out.Data.Tags = fromMap(r.Data.Tags)
	for _, in := range r.Inputs.DatasetInputs {
		di := DatasetInput{Dataset: Dataset{
			Name: in.Dataset.Name, Digest: in.Dataset.Digest,
			SourceType: in.Dataset.SourceType, Source: in.Dataset.Source,
			Schema: nonEmpty(in.Dataset.Schema), Profile: nonEmpty(in.Dataset.Profile),
		}}
		for _, t := range in.Tags {
			di.Tags = append(di.Tags, KeyValue{t.Key, t.Value})
		}
		out.Inputs.DatasetInputs = append(out.Inputs.DatasetInputs, di)
	}
	for _, m := range r.Inputs.ModelInputs {
		out.Inputs.ModelInputs = append(out.Inputs.ModelInputs, ModelInput{m.ModelID})
	}
	for _, m := range r.Outputs.ModelOutputs {
		out.Outputs.ModelOutputs = append(out.Outputs.ModelOutputs, ModelOutput{m.ModelID, m.Step})
	}
	return out
}

// FromRuns converts runs, keeping their order.
func FromRuns(rs []entities.Run) []Run {
	out := make([]Run, len(rs))
	for i, r := range rs {
		out[i] = FromRun(r)
	}
	return out
}

// FromExperiment converts an experiment; tags sorted by key, in the default
// workspace; times of 0 left out, as Experiment.to_proto does.
func FromExperiment(e entities.Experiment) Experiment {
	return Experiment{
		ExperimentID: e.ExperimentID, Name: e.Name,
		ArtifactLocation: e.ArtifactLocation, LifecycleStage: string(e.LifecycleStage),
		LastUpdateTime: nonZero(e.LastUpdateTime), CreationTime: nonZero(e.CreationTime),
		Tags: fromMap(e.Tags), Workspace: DefaultWorkspace,
	}
}

// FromExperiments converts experiments, keeping their order.
func FromExperiments(es []entities.Experiment) []Experiment {
	out := make([]Experiment, len(es))
	for i, e := range es {
		out[i] = FromExperiment(e)
	}
	return out
}
