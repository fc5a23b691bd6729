package layout

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
)

// Workspace is the value Python MLflow 3.10+ writes in experiment meta.yaml
// when MLFLOW_WORKSPACE is unset.
const Workspace = "default"

// MetaError reports a meta.yaml that cannot be understood. It unwraps to
// errs.ErrCorrupt. Empty is set for an empty or whitespace-only file, which
// a concurrent non-atomic writer (Python rewrites run meta in place) can
// leave for a moment: callers may retry those.
type MetaError struct {
	Path  string // set by the caller that knows it
	Empty bool
	Err   error
}

func (e *MetaError) Error() string {
	where := e.Path
	if where == "" {
		where = MetaFile
	}
	if e.Empty {
		return fmt.Sprintf("mlruns: %s is empty", where)
	}
	return fmt.Sprintf("mlruns: %s is malformed: %v", where, e.Err)
}

func (e *MetaError) Unwrap() error { return errs.ErrCorrupt }

func decodeMeta(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &MetaError{Empty: true}
	}
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return &MetaError{Err: err}
	}
	if len(node.Content) == 0 || node.Content[0].Kind != yaml.MappingNode {
		if len(node.Content) > 0 && node.Content[0].Tag == "!!null" {
			return &MetaError{Empty: true} // "null" / "~" loads as None in Python too
		}
		return &MetaError{Err: fmt.Errorf("not a mapping")}
	}
	if err := node.Content[0].Decode(v); err != nil {
		return &MetaError{Err: err}
	}
	return nil
}

func missing(key string) error {
	return &MetaError{Err: fmt.Errorf("required key %q is missing", key)}
}

// experimentMeta is an experiment meta.yaml as any MLflow version wrote it.
type experimentMeta struct {
	ArtifactLocation *string `yaml:"artifact_location"`
	CreationTime     *int64  `yaml:"creation_time"`
	ExperimentID     *string `yaml:"experiment_id"` // legacy ints decode into the string
	LastUpdateTime   *int64  `yaml:"last_update_time"`
	LifecycleStage   *string `yaml:"lifecycle_stage"`
	Name             *string `yaml:"name"`
}

// DecodeExperimentMeta reads an experiment meta.yaml. Tags are not taken
// from it (MLflow keeps them in tags/ files; an embedded tags: map is stale).
func DecodeExperimentMeta(data []byte) (entities.Experiment, error) {
	var m experimentMeta
	if err := decodeMeta(data, &m); err != nil {
		return entities.Experiment{}, err
	}
	switch {
	case m.ExperimentID == nil:
		return entities.Experiment{}, missing("experiment_id")
	case m.Name == nil:
		return entities.Experiment{}, missing("name")
	case m.ArtifactLocation == nil:
		return entities.Experiment{}, missing("artifact_location")
	case m.LifecycleStage == nil:
		return entities.Experiment{}, missing("lifecycle_stage")
	}
	stage, err := entities.ParseLifecycleStage(*m.LifecycleStage)
	if err != nil {
		return entities.Experiment{}, &MetaError{Err: err}
	}
	return entities.Experiment{
		ExperimentID:     *m.ExperimentID,
		Name:             *m.Name,
		ArtifactLocation: *m.ArtifactLocation,
		LifecycleStage:   stage,
		CreationTime:     m.CreationTime,
		LastUpdateTime:   m.LastUpdateTime,
	}, nil
}

// EncodeExperimentMeta renders an experiment meta.yaml as Python MLflow 3.18
// writes it. withTags embeds the tags map, as Python does when it rewrites
// the whole entity (delete, restore, rename) but not at creation.
func EncodeExperimentMeta(e entities.Experiment, withTags bool) []byte {
	m := map[string]any{
		"artifact_location":                  e.ArtifactLocation,
		"creation_time":                      int64OrNil(e.CreationTime),
		"effective_trace_archival_retention": nil,
		"experiment_id":                      e.ExperimentID,
		"last_update_time":                   int64OrNil(e.LastUpdateTime),
		"lifecycle_stage":                    string(e.LifecycleStage),
		"name":                               e.Name,
		"trace_location":                     nil,
		"workspace":                          Workspace,
	}
	if withTags {
		tags := make(map[string]any, len(e.Tags))
		for k, v := range e.Tags {
			tags[k] = v
		}
		m["tags"] = tags
	}
	return encodeYAML(m)
}

func int64OrNil(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// runMeta is a run meta.yaml as any MLflow version wrote it.
type runMeta struct {
	ArtifactURI    *string `yaml:"artifact_uri"`
	DeletedTime    *int64  `yaml:"deleted_time"`
	EndTime        *int64  `yaml:"end_time"`
	ExperimentID   *string `yaml:"experiment_id"`
	LifecycleStage *string `yaml:"lifecycle_stage"`
	RunID          *string `yaml:"run_id"`
	RunUUID        *string `yaml:"run_uuid"` // MLflow <= 2.x; the only id before 1.0
	RunName        *string `yaml:"run_name"`
	StartTime      *int64  `yaml:"start_time"`
	Status         *int    `yaml:"status"`
	UserID         *string `yaml:"user_id"`
}

// DecodeRunMeta reads a run meta.yaml of any MLflow version. A missing
// lifecycle_stage is active and a missing status RUNNING, as in Python;
// run_uuid stands in for run_id in files older than MLflow 1.0.
func DecodeRunMeta(data []byte) (entities.RunInfo, error) {
	if info, ok := decodeRunMetaFast(data); ok {
		return info, nil
	}
	return decodeRunMetaYAML(data)
}

// decodeRunMetaYAML is DecodeRunMeta through the YAML decoder.
func decodeRunMetaYAML(data []byte) (entities.RunInfo, error) {
	var m runMeta
	if err := decodeMeta(data, &m); err != nil {
		return entities.RunInfo{}, err
	}
	var info entities.RunInfo
	switch {
	case m.RunID != nil && *m.RunID != "":
		info.RunID = *m.RunID
	case m.RunUUID != nil:
		info.RunID = *m.RunUUID
	default:
		return info, missing("run_id")
	}
	if m.ExperimentID == nil {
		return info, missing("experiment_id")
	}
	info.ExperimentID = *m.ExperimentID
	info.Status = entities.StatusRunning
	if m.Status != nil {
		info.Status = entities.RunStatus(*m.Status)
		if !info.Status.Valid() {
			return info, &MetaError{Err: fmt.Errorf("unknown status %d", *m.Status)}
		}
	}
	info.LifecycleStage = entities.StageActive
	if m.LifecycleStage != nil {
		st, err := entities.ParseLifecycleStage(*m.LifecycleStage)
		if err != nil {
			return info, &MetaError{Err: err}
		}
		info.LifecycleStage = st
	}
	if m.ArtifactURI != nil {
		info.ArtifactURI = *m.ArtifactURI
	}
	if m.RunName != nil {
		info.RunName = *m.RunName
	}
	if m.UserID != nil {
		info.UserID = *m.UserID
	}
	if m.StartTime != nil {
		info.StartTime = *m.StartTime
	}
	info.EndTime = m.EndTime
	info.DeletedTime = m.DeletedTime
	return info, nil
}

// EncodeRunMeta renders a run meta.yaml as Python MLflow 3.18 writes it.
// deleted_time is written only when set: Python drops the key on every
// rewrite except deletion.
func EncodeRunMeta(info entities.RunInfo) []byte {
	m := map[string]any{
		"artifact_uri":     info.ArtifactURI,
		"end_time":         int64OrNil(info.EndTime),
		"entry_point_name": "",
		"experiment_id":    info.ExperimentID,
		"lifecycle_stage":  string(info.LifecycleStage),
		"run_id":           info.RunID,
		"run_name":         info.RunName,
		"source_name":      "",
		"source_type":      int(entities.SourceLocal),
		"source_version":   "",
		"start_time":       info.StartTime,
		"status":           int(info.Status),
		"tags":             []any{},
		"user_id":          info.UserID,
	}
	if info.DeletedTime != nil {
		m["deleted_time"] = *info.DeletedTime
	}
	return encodeYAML(m)
}

// DatasetID is the folder name of a dataset: MD5 of name then digest.
func DatasetID(name, digest string) string {
	h := md5.New()
	h.Write([]byte(name))
	h.Write([]byte(digest))
	return hex.EncodeToString(h.Sum(nil))
}

// InputID is the folder name of a run input: MD5 of the source id (dataset
// or model id) then the run id.
func InputID(sourceID, runID string) string {
	h := md5.New()
	h.Write([]byte(sourceID))
	h.Write([]byte(runID))
	return hex.EncodeToString(h.Sum(nil))
}

type datasetMeta struct {
	Digest     *string `yaml:"digest"`
	Name       *string `yaml:"name"`
	Profile    *string `yaml:"profile"`
	Schema     *string `yaml:"schema"`
	Source     *string `yaml:"source"`
	SourceType *string `yaml:"source_type"`
}

// EncodeDatasetMeta renders <experiment>/datasets/<id>/meta.yaml.
func EncodeDatasetMeta(d entities.Dataset) []byte {
	return encodeYAML(map[string]any{
		"digest":      d.Digest,
		"name":        d.Name,
		"profile":     strOrNil(d.Profile),
		"schema":      strOrNil(d.Schema),
		"source":      d.Source,
		"source_type": d.SourceType,
	})
}

func strOrNil(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// DecodeDatasetMeta reads a dataset meta.yaml.
func DecodeDatasetMeta(data []byte) (entities.Dataset, error) {
	var m datasetMeta
	if err := decodeMeta(data, &m); err != nil {
		return entities.Dataset{}, err
	}
	if m.Name == nil || m.Digest == nil {
		return entities.Dataset{}, missing("name/digest")
	}
	d := entities.Dataset{Name: *m.Name, Digest: *m.Digest, Schema: m.Schema, Profile: m.Profile}
	if m.Source != nil {
		d.Source = *m.Source
	}
	if m.SourceType != nil {
		d.SourceType = *m.SourceType
	}
	return d, nil
}

// Input vertex types, written by name. Part of the on-disk format.
const (
	VertexRun         = "RUN"
	VertexDataset     = "DATASET"
	VertexModel       = "MODEL"
	VertexRunOutput   = "RUN_OUTPUT"
	VertexModelOutput = "MODEL_OUTPUT"
)

// InputMeta is <run>/inputs/<id>/meta.yaml. Python writes destination_id
// equal to source_id (not the run id); we reproduce that.
type InputMeta struct {
	SourceType string
	SourceID   string
	Tags       []entities.InputTag
}

type inputMeta struct {
	DestinationID   string            `yaml:"destination_id"`
	DestinationType string            `yaml:"destination_type"`
	SourceID        string            `yaml:"source_id"`
	SourceType      string            `yaml:"source_type"`
	Tags            map[string]string `yaml:"tags"`
	Step            *int64            `yaml:"step"`
}

// EncodeInputMeta renders a run input meta.yaml.
func EncodeInputMeta(in InputMeta) []byte {
	tags := make(map[string]any, len(in.Tags))
	for _, t := range in.Tags {
		tags[t.Key] = t.Value
	}
	return encodeYAML(map[string]any{
		"destination_id":   in.SourceID,
		"destination_type": VertexRun,
		"source_id":        in.SourceID,
		"source_type":      in.SourceType,
		"tags":             tags,
	})
}

// DecodeInputMeta reads a run input meta.yaml; tags come back sorted by key.
func DecodeInputMeta(data []byte) (InputMeta, error) {
	var m inputMeta
	if err := decodeMeta(data, &m); err != nil {
		return InputMeta{}, err
	}
	if m.SourceID == "" || m.SourceType == "" {
		return InputMeta{}, missing("source_id/source_type")
	}
	return InputMeta{SourceType: m.SourceType, SourceID: m.SourceID, Tags: sortedTags(m.Tags)}, nil
}

func sortedTags(m map[string]string) []entities.InputTag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]entities.InputTag, 0, len(keys))
	for _, k := range keys {
		out = append(out, entities.InputTag{Key: k, Value: m[k]})
	}
	return out
}

// EncodeOutputMeta renders <run>/outputs/<model_id>/meta.yaml.
func EncodeOutputMeta(o entities.ModelOutput) []byte {
	return encodeYAML(map[string]any{
		"destination_id":   o.ModelID,
		"destination_type": VertexModelOutput,
		"source_id":        o.ModelID,
		"source_type":      VertexRunOutput,
		"step":             o.Step,
		"tags":             map[string]any{},
	})
}

// DecodeOutputMeta reads a run output meta.yaml (model id from
// destination_id, as Python does).
func DecodeOutputMeta(data []byte) (entities.ModelOutput, error) {
	var m inputMeta
	if err := decodeMeta(data, &m); err != nil {
		return entities.ModelOutput{}, err
	}
	if m.DestinationID == "" {
		return entities.ModelOutput{}, missing("destination_id")
	}
	o := entities.ModelOutput{ModelID: m.DestinationID}
	if m.Step != nil {
		o.Step = *m.Step
	}
	return o, nil
}
