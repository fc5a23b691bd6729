package restjson

import (
	"fmt"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
)

// LoggedModelInfo is mlflow.LoggedModelInfo.
type LoggedModelInfo struct {
	ModelID                string     `json:"model_id"`
	ExperimentID           string     `json:"experiment_id"`
	Name                   string     `json:"name"`
	CreationTimestampMs    int64      `json:"creation_timestamp_ms"`
	LastUpdatedTimestampMs int64      `json:"last_updated_timestamp_ms"`
	ArtifactURI            string     `json:"artifact_uri"`
	Status                 string     `json:"status"`
	CreatorID              *int64     `json:"creator_id,omitempty"`
	ModelType              *string    `json:"model_type,omitempty"`
	SourceRunID            *string    `json:"source_run_id,omitempty"`
	StatusMessage          *string    `json:"status_message,omitempty"`
	Tags                   []KeyValue `json:"tags,omitempty"`
}

// LoggedModelData is mlflow.LoggedModelData.
type LoggedModelData struct {
	Params  []KeyValue `json:"params,omitempty"`
	Metrics []Metric   `json:"metrics,omitempty"`
}

// LoggedModel is mlflow.LoggedModel.
type LoggedModel struct {
	Info LoggedModelInfo `json:"info"`
	Data LoggedModelData `json:"data"`
}

// LoggedModelResponse is the body of CreateLoggedModel, GetLoggedModel and
// FinalizeLoggedModel.
type LoggedModelResponse struct {
	Model LoggedModel `json:"model"`
}

// SearchLoggedModelsResponse is the body of POST
// /api/2.0/mlflow/logged-models/search.
type SearchLoggedModelsResponse struct {
	Models        []LoggedModel `json:"models,omitempty"`
	NextPageToken string        `json:"next_page_token,omitempty"`
}

// UpdateRunResponse is the body of POST /api/2.0/mlflow/runs/update.
type UpdateRunResponse struct {
	RunInfo RunInfo `json:"run_info"`
}

// LoggedModelStatusPrefix is the prefix of the status enum names in the
// REST API (LOGGED_MODEL_READY is entities.LoggedModelReady).
const LoggedModelStatusPrefix = "LOGGED_MODEL_"

// The decoders below turn the server's shapes into entities, as Python's
// from_proto does: absent optional fields stay nil, lists become maps.

// ToMetric converts a metric.
func (m Metric) ToMetric() entities.Metric {
	return entities.Metric{
		Key: m.Key, Value: float64(m.Value), Timestamp: m.Timestamp, Step: m.Step,
		DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest, ModelID: m.ModelID, RunID: m.RunID,
	}
}

func toMap(kvs []KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.Key] = kv.Value
	}
	return out
}

// ToExperiment converts an experiment.
func (e Experiment) ToExperiment() (entities.Experiment, error) {
	stage, err := entities.ParseLifecycleStage(e.LifecycleStage)
	if err != nil {
		return entities.Experiment{}, fmt.Errorf("experiment %s: %w", e.ExperimentID, err)
	}
	return entities.Experiment{
		ExperimentID: e.ExperimentID, Name: e.Name, ArtifactLocation: e.ArtifactLocation,
		LifecycleStage: stage, CreationTime: e.CreationTime, LastUpdateTime: e.LastUpdateTime,
		Tags: toMap(e.Tags),
	}, nil
}

// ToRunInfo converts a run's info.
func (i RunInfo) ToRunInfo() (entities.RunInfo, error) {
	status, err := entities.ParseRunStatus(i.Status)
	if err != nil {
		return entities.RunInfo{}, fmt.Errorf("run %s: %w", i.RunID, err)
	}
	stage, err := entities.ParseLifecycleStage(i.LifecycleStage)
	if err != nil {
		return entities.RunInfo{}, fmt.Errorf("run %s: %w", i.RunID, err)
	}
	id := i.RunID
	if id == "" {
		id = i.RunUUID
	}
	return entities.RunInfo{
		RunID: id, RunName: i.RunName, ExperimentID: i.ExperimentID, UserID: i.UserID,
		Status: status, StartTime: i.StartTime, EndTime: i.EndTime, ArtifactURI: i.ArtifactURI,
		LifecycleStage: stage,
	}, nil
}

// ToRun converts a run. Its latest metrics lose the run_id the server
// prints, as entities.Run holds them (a run's metrics are its own).
func (r Run) ToRun() (entities.Run, error) {
	info, err := r.Info.ToRunInfo()
	if err != nil {
		return entities.Run{}, err
	}
	out := entities.Run{Info: info, Data: entities.RunData{
		Metrics: make(map[string]entities.Metric, len(r.Data.Metrics)),
		Params:  toMap(r.Data.Params), Tags: toMap(r.Data.Tags),
	}}
	for _, m := range r.Data.Metrics {
		e := m.ToMetric()
		e.RunID = ""
		out.Data.Metrics[m.Key] = e
	}
	for _, in := range r.Inputs.DatasetInputs {
		di := entities.DatasetInput{Dataset: entities.Dataset{
			Name: in.Dataset.Name, Digest: in.Dataset.Digest, SourceType: in.Dataset.SourceType,
			Source: in.Dataset.Source, Schema: in.Dataset.Schema, Profile: in.Dataset.Profile,
		}}
		for _, t := range in.Tags {
			di.Tags = append(di.Tags, entities.InputTag{Key: t.Key, Value: t.Value})
		}
		out.Inputs.DatasetInputs = append(out.Inputs.DatasetInputs, di)
	}
	for _, m := range r.Inputs.ModelInputs {
		out.Inputs.ModelInputs = append(out.Inputs.ModelInputs, entities.ModelInput{ModelID: m.ModelID})
	}
	for _, m := range r.Outputs.ModelOutputs {
		out.Outputs.ModelOutputs = append(out.Outputs.ModelOutputs, entities.ModelOutput{ModelID: m.ModelID, Step: m.Step})
	}
	return out, nil
}

// ParseLoggedModelStatus reads LOGGED_MODEL_<NAME> (or a bare name).
func ParseLoggedModelStatus(s string) (entities.LoggedModelStatus, error) {
	return entities.ParseLoggedModelStatus(strings.TrimPrefix(s, LoggedModelStatusPrefix))
}

// LoggedModelStatusName is the REST name of a status.
func LoggedModelStatusName(s entities.LoggedModelStatus) string {
	return LoggedModelStatusPrefix + s.String()
}

// ToLoggedModel converts a logged model. The REST API has no lifecycle
// stage: the server answers with active models only.
func (m LoggedModel) ToLoggedModel() (entities.LoggedModel, error) {
	status, err := ParseLoggedModelStatus(m.Info.Status)
	if err != nil && m.Info.Status != "" {
		return entities.LoggedModel{}, fmt.Errorf("logged model %s: %w", m.Info.ModelID, err)
	}
	out := entities.LoggedModel{
		ModelID: m.Info.ModelID, ExperimentID: m.Info.ExperimentID, Name: m.Info.Name,
		ArtifactLocation: m.Info.ArtifactURI, CreationTimestamp: m.Info.CreationTimestampMs,
		LastUpdatedTimestamp: m.Info.LastUpdatedTimestampMs, ModelType: m.Info.ModelType,
		SourceRunID: m.Info.SourceRunID, Status: status, StatusMessage: m.Info.StatusMessage,
		LifecycleStage: entities.StageActive, Tags: toMap(m.Info.Tags), Params: toMap(m.Data.Params),
	}
	for _, x := range m.Data.Metrics {
		out.Metrics = append(out.Metrics, x.ToMetric())
	}
	return out, nil
}
