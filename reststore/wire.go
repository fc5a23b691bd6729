package reststore

import (
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/restjson"
)

// The RPCs used, with method, path and retry class as MLflow 3.18's
// service descriptors and rest_utils._RETRY_SAFE_POST_RESPONSES give them.
var (
	epCreateExperiment    = endpoint{"CreateExperiment", "POST", "/api/2.0/mlflow/experiments/create", retryUnsafe}
	epGetExperiment       = endpoint{"GetExperiment", "GET", "/api/2.0/mlflow/experiments/get", retrySafe}
	epGetExperimentByName = endpoint{"GetExperimentByName", "GET", "/api/2.0/mlflow/experiments/get-by-name", retrySafe}
	epSearchExperiments   = endpoint{"SearchExperiments", "POST", "/api/2.0/mlflow/experiments/search", retrySafe}
	epUpdateExperiment    = endpoint{"UpdateExperiment", "POST", "/api/2.0/mlflow/experiments/update", retryUnsafe}
	epDeleteExperiment    = endpoint{"DeleteExperiment", "POST", "/api/2.0/mlflow/experiments/delete", retryUnsafe}
	epRestoreExperiment   = endpoint{"RestoreExperiment", "POST", "/api/2.0/mlflow/experiments/restore", retryUnsafe}
	epSetExperimentTag    = endpoint{"SetExperimentTag", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", retrySafe}
	epDeleteExperimentTag = endpoint{"DeleteExperimentTag", "POST", "/api/2.0/mlflow/experiments/delete-experiment-tag", retryUnsafe}

	epCreateRun  = endpoint{"CreateRun", "POST", "/api/2.0/mlflow/runs/create", retryUnsafe}
	epGetRun     = endpoint{"GetRun", "GET", "/api/2.0/mlflow/runs/get", retrySafe}
	epUpdateRun  = endpoint{"UpdateRun", "POST", "/api/2.0/mlflow/runs/update", retrySafe}
	epDeleteRun  = endpoint{"DeleteRun", "POST", "/api/2.0/mlflow/runs/delete", retrySafe}
	epRestoreRun = endpoint{"RestoreRun", "POST", "/api/2.0/mlflow/runs/restore", retrySafe}
	epSearchRuns = endpoint{"SearchRuns", "POST", "/api/2.0/mlflow/runs/search", retrySafe}

	epLogMetric        = endpoint{"LogMetric", "POST", "/api/2.0/mlflow/runs/log-metric", retrySafe}
	epLogParam         = endpoint{"LogParam", "POST", "/api/2.0/mlflow/runs/log-parameter", retrySafe}
	epSetTag           = endpoint{"SetTag", "POST", "/api/2.0/mlflow/runs/set-tag", retrySafe}
	epDeleteTag        = endpoint{"DeleteTag", "POST", "/api/2.0/mlflow/runs/delete-tag", retryUnsafe}
	epLogBatch         = endpoint{"LogBatch", "POST", "/api/2.0/mlflow/runs/log-batch", retrySafe}
	epLogInputs        = endpoint{"LogInputs", "POST", "/api/2.0/mlflow/runs/log-inputs", retryUnsafe}
	epLogOutputs       = endpoint{"LogOutputs", "POST", "/api/2.0/mlflow/runs/outputs", retryUnsafe}
	epGetMetricHistory = endpoint{"GetMetricHistory", "GET", "/api/2.0/mlflow/metrics/get-history", retrySafe}

	// Logged models: {model_id} is filled in per call.
	epCreateLoggedModel    = endpoint{"CreateLoggedModel", "POST", "/api/2.0/mlflow/logged-models", retryUnsafe}
	epGetLoggedModel       = endpoint{"GetLoggedModel", "GET", "/api/2.0/mlflow/logged-models/{model_id}", retrySafe}
	epFinalizeLoggedModel  = endpoint{"FinalizeLoggedModel", "PATCH", "/api/2.0/mlflow/logged-models/{model_id}", retrySafe}
	epDeleteLoggedModel    = endpoint{"DeleteLoggedModel", "DELETE", "/api/2.0/mlflow/logged-models/{model_id}", retrySafe}
	epSearchLoggedModels   = endpoint{"SearchLoggedModels", "POST", "/api/2.0/mlflow/logged-models/search", retrySafe}
	epSetLoggedModelTags   = endpoint{"SetLoggedModelTags", "PATCH", "/api/2.0/mlflow/logged-models/{model_id}/tags", retrySafe}
	epDeleteLoggedModelTag = endpoint{"DeleteLoggedModelTag", "DELETE", "/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}", retrySafe}
	epLogLoggedModelParams = endpoint{"LogLoggedModelParams", "POST", "/api/2.0/mlflow/logged-models/{model_id}/params", retryUnsafe}
	allEndpoints           = []endpoint{epCreateExperiment, epGetExperiment, epGetExperimentByName, epSearchExperiments, epUpdateExperiment, epDeleteExperiment, epRestoreExperiment, epSetExperimentTag, epDeleteExperimentTag, epCreateRun, epGetRun, epUpdateRun, epDeleteRun, epRestoreRun, epSearchRuns, epLogMetric, epLogParam, epSetTag, epDeleteTag, epLogBatch, epLogInputs, epLogOutputs, epGetMetricHistory, epCreateLoggedModel, epGetLoggedModel, epFinalizeLoggedModel, epDeleteLoggedModel, epSearchLoggedModels, epSetLoggedModelTags, epDeleteLoggedModelTag, epLogLoggedModelParams}
)

// Request bodies: protobuf JSON as message_to_json prints them (snake_case,
// int64 as numbers, doubles through restjson.Float, optional fields left
// out when unset).

type kv = restjson.KeyValue

type createExperimentReq struct {
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	Tags             []kv   `json:"tags,omitempty"`
}

type idResp struct {
	ExperimentID string `json:"experiment_id"`
}

type experimentIDReq struct {
	ExperimentID string `json:"experiment_id"`
}

type updateExperimentReq struct {
	ExperimentID string `json:"experiment_id"`
	NewName      string `json:"new_name"`
}

type experimentTagReq struct {
	ExperimentID string  `json:"experiment_id"`
	Key          string  `json:"key"`
	Value        *string `json:"value,omitempty"`
}

type searchExperimentsReq struct {
	MaxResults int64    `json:"max_results"`
	PageToken  string   `json:"page_token,omitempty"`
	Filter     string   `json:"filter,omitempty"`
	OrderBy    []string `json:"order_by,omitempty"`
	ViewType   string   `json:"view_type"`
}

type createRunReq struct {
	ExperimentID string `json:"experiment_id"`
	UserID       string `json:"user_id,omitempty"`
	StartTime    int64  `json:"start_time"`
	Tags         []kv   `json:"tags,omitempty"`
	RunName      string `json:"run_name,omitempty"`
}

type updateRunReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
	Status  string `json:"status"`
	EndTime *int64 `json:"end_time,omitempty"`
	RunName string `json:"run_name,omitempty"`
}

type runIDReq struct {
	RunID string `json:"run_id"`
}

type searchRunsReq struct {
	ExperimentIDs []string `json:"experiment_ids"`
	Filter        string   `json:"filter,omitempty"`
	RunViewType   string   `json:"run_view_type"`
	MaxResults    int64    `json:"max_results"`
	OrderBy       []string `json:"order_by,omitempty"`
	PageToken     string   `json:"page_token,omitempty"`
}

type logMetricReq struct {
	RunID         string         `json:"run_id"`
	RunUUID       string         `json:"run_uuid"`
	Key           string         `json:"key"`
	Value         restjson.Float `json:"value"`
	Timestamp     int64          `json:"timestamp"`
	Step          int64          `json:"step"`
	ModelID       string         `json:"model_id,omitempty"`
	DatasetName   string         `json:"dataset_name,omitempty"`
	DatasetDigest string         `json:"dataset_digest,omitempty"`
}

type runKeyValueReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid,omitempty"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

type deleteTagReq struct {
	RunID string `json:"run_id"`
	Key   string `json:"key"`
}

// batchMetric is mlflow.Metric in a LogBatch: timestamp and step always
// sent (the server requires timestamp).
type batchMetric struct {
	Key           string         `json:"key"`
	Value         restjson.Float `json:"value"`
	Timestamp     int64          `json:"timestamp"`
	Step          int64          `json:"step"`
	DatasetName   string         `json:"dataset_name,omitempty"`
	DatasetDigest string         `json:"dataset_digest,omitempty"`
	ModelID       string         `json:"model_id,omitempty"`
}

type logBatchReq struct {
	RunID   string        `json:"run_id"`
	Metrics []batchMetric `json:"metrics,omitempty"`
	Params  []kv          `json:"params,omitempty"`
	Tags    []kv          `json:"tags,omitempty"`
}

type modelIDReq struct {
	ModelID string `json:"model_id"`
}

type logInputsReq struct {
	RunID    string                  `json:"run_id"`
	Datasets []restjson.DatasetInput `json:"datasets,omitempty"`
	Models   []restjson.ModelInput   `json:"models,omitempty"`
}

type logOutputsReq struct {
	RunID  string                 `json:"run_id"`
	Models []restjson.ModelOutput `json:"models"`
}

type createLoggedModelReq struct {
	ExperimentID string `json:"experiment_id"`
	Name         string `json:"name,omitempty"`
	ModelType    string `json:"model_type,omitempty"`
	SourceRunID  string `json:"source_run_id,omitempty"`
	Params       []kv   `json:"params,omitempty"`
	Tags         []kv   `json:"tags,omitempty"`
}

type finalizeLoggedModelReq struct {
	ModelID string `json:"model_id"`
	Status  string `json:"status"`
}

type loggedModelTagsReq struct {
	ModelID string `json:"model_id,omitempty"`
	Tags    []kv   `json:"tags"`
}

type loggedModelParamsReq struct {
	ModelID string `json:"model_id"`
	Params  []kv   `json:"params"`
}

type searchDatasetReq struct {
	DatasetName   string `json:"dataset_name"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
}

type searchOrderByReq struct {
	FieldName     string `json:"field_name"`
	Ascending     bool   `json:"ascending"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
}

type searchLoggedModelsReq struct {
	ExperimentIDs []string           `json:"experiment_ids"`
	Filter        string             `json:"filter,omitempty"`
	Datasets      []searchDatasetReq `json:"datasets,omitempty"`
	MaxResults    int64              `json:"max_results"`
	OrderBy       []searchOrderByReq `json:"order_by,omitempty"`
	PageToken     string             `json:"page_token,omitempty"`
}

func batchMetrics(ms []entities.Metric) []batchMetric {
	out := make([]batchMetric, len(ms))
	for i, m := range ms {
		out[i] = batchMetric{Key: m.Key, Value: restjson.Float(m.Value), Timestamp: m.Timestamp, Step: m.Step,
			DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest, ModelID: m.ModelID}
	}
	return out
}

func paramKVs(ps []entities.Param) []kv {
	out := make([]kv, len(ps))
	for i, p := range ps {
		out[i] = kv{Key: p.Key, Value: p.Value}
	}
	return out
}

func tagKVs(ts []entities.RunTag) []kv {
	out := make([]kv, len(ts))
	for i, t := range ts {
		out[i] = kv{Key: t.Key, Value: t.Value}
	}
	return out
}
