package layout

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/entities"
)

// ModelIDPrefix starts every logged model id: "m-" and 32 lower-case hex
// digits (FileStore.create_logged_model: f"m-{uuid4().hex}"). Part of the
// on-disk format: the id names the model's folder.
const ModelIDPrefix = "m-"

// ModelID returns the logged model id of a random UUID's 16 bytes.
func ModelID(uuid [16]byte) string {
	return ModelIDPrefix + hex.EncodeToString(uuid[:])
}

// IsModelID reports whether id has the shape ModelID gives. Python never
// checks the shape of an id it is given (any single path element names a
// folder), so neither do the lookups; this is for tests and tools.
func IsModelID(id string) bool {
	h, ok := strings.CutPrefix(id, ModelIDPrefix)
	if !ok || len(h) != 32 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !(h[i] >= '0' && h[i] <= '9' || h[i] >= 'a' && h[i] <= 'f') {
			return false
		}
	}
	return true
}

// ModelStage says what EncodeLoggedModelMeta writes as lifecycle_stage.
// Python writes the key when it creates a model ("active") and when it
// deletes one ("deleted"), but not when it finalizes one: finalize
// rewrites meta.yaml from the entity, which has no lifecycle stage, so the
// key is gone after it (and a model without it is active).
type ModelStage int

const (
	ModelStageOmitted ModelStage = iota // finalize_logged_model
	ModelStageActive                    // create_logged_model
	ModelStageDeleted                   // delete_logged_model
)

// EncodeLoggedModelMeta renders <experiment>/models/<model_id>/meta.yaml
// as Python MLflow 3.18 writes it: the LoggedModel's dictionary without
// tags, params and metrics (they live in folders), status as its integer,
// status_message always null (no FileStore call sets it), then
// lifecycle_stage as stage says.
func EncodeLoggedModelMeta(m entities.LoggedModel, stage ModelStage) []byte {
	var msg any
	if m.StatusMessage != nil {
		msg = *m.StatusMessage
	}
	meta := map[string]any{
		"artifact_location":      m.ArtifactLocation,
		"creation_timestamp":     m.CreationTimestamp,
		"experiment_id":          m.ExperimentID,
		"last_updated_timestamp": m.LastUpdatedTimestamp,
		"model_id":               m.ModelID,
		"model_type":             strOrNil(m.ModelType),
		"name":                   m.Name,
		"source_run_id":          strOrNil(m.SourceRunID),
		"status":                 int(m.Status),
		"status_message":         msg,
	}
	switch stage {
	case ModelStageActive:
		meta["lifecycle_stage"] = string(entities.StageActive)
	case ModelStageDeleted:
		meta["lifecycle_stage"] = string(entities.StageDeleted)
	}
	return encodeYAML(meta)
}

type modelMeta struct {
	ArtifactLocation     string  `yaml:"artifact_location"`
	CreationTimestamp    int64   `yaml:"creation_timestamp"`
	ExperimentID         string  `yaml:"experiment_id"`
	LastUpdatedTimestamp int64   `yaml:"last_updated_timestamp"`
	LifecycleStage       *string `yaml:"lifecycle_stage"`
	ModelID              string  `yaml:"model_id"`
	ModelType            *string `yaml:"model_type"`
	Name                 string  `yaml:"name"`
	SourceRunID          *string `yaml:"source_run_id"`
	Status               *int    `yaml:"status"`
	StatusMessage        *string `yaml:"status_message"`
}

// DecodeLoggedModelMeta reads <experiment>/models/<id>/meta.yaml. A missing
// lifecycle_stage is active (Python's finalize drops the key); a missing
// status is READY, the default of Python's LoggedModel; a status that is
// not one of the four is a MetaError, as LoggedModelStatus.from_int
// refuses it.
func DecodeLoggedModelMeta(data []byte) (entities.LoggedModel, error) {
	var m modelMeta
	if err := decodeMeta(data, &m); err != nil {
		return entities.LoggedModel{}, err
	}
	if m.ModelID == "" {
		return entities.LoggedModel{}, missing("model_id")
	}
	lm := entities.LoggedModel{
		ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name,
		ArtifactLocation: m.ArtifactLocation, CreationTimestamp: m.CreationTimestamp,
		LastUpdatedTimestamp: m.LastUpdatedTimestamp, ModelType: m.ModelType,
		SourceRunID: m.SourceRunID, StatusMessage: m.StatusMessage,
		Status: entities.LoggedModelReady, LifecycleStage: entities.StageActive,
	}
	if m.Status != nil {
		lm.Status = entities.LoggedModelStatus(*m.Status)
		if !lm.Status.Valid() {
			return entities.LoggedModel{}, &MetaError{Err: fmt.Errorf("unknown logged model status %d", *m.Status)}
		}
	}
	if m.LifecycleStage != nil {
		st, err := entities.ParseLifecycleStage(*m.LifecycleStage)
		if err != nil {
			return entities.LoggedModel{}, &MetaError{Err: err}
		}
		lm.LifecycleStage = st
	}
	return lm, nil
}

// MLflowVersion is the Python MLflow release whose bytes this package
// writes, recorded where MLflow records its own version (an MLmodel's
// mlflow_version).
const MLflowVersion = "3.18.0"

// MLmodelFile is the name of a model's MLflow Model specification, in its
// artifacts folder.
const MLmodelFile = "MLmodel"

// EncodeExternalModelSpec renders the MLmodel file Python MLflow 3.18's
// create_external_model writes into an external model's artifacts
// (get_external_mlflow_model_spec saved by Model.save): no flavors, a
// dummy boolean signature (so registries accept the model) and the
// mlflow.model.isExternal metadata. created is utc_time_created, written
// as Python's str(datetime.utcnow()). PyYAML's safe_dump escapes non-ASCII
// text where this emitter writes it as is (allow_unicode): an artifact
// location with non-ASCII characters loads to the same value but is not
// byte-identical.
func EncodeExternalModelSpec(m entities.LoggedModel, created time.Time) []byte {
	spec := map[string]any{
		"artifact_path":               m.ArtifactLocation,
		"flavors":                     map[string]any{},
		"is_signature_from_type_hint": false,
		"metadata":                    map[string]any{entities.TagModelIsExternal: true},
		"mlflow_version":              MLflowVersion,
		"model_id":                    m.ModelID,
		"model_uuid":                  m.ModelID,
		"prompts":                     nil,
		"signature": map[string]any{
			"inputs":  `[{"type": "boolean", "required": true}]`,
			"outputs": `[{"type": "boolean", "required": true}]`,
			"params":  nil,
		},
		"type_hint_from_example": false,
		"utc_time_created":       pyDatetime(created.UTC()),
	}
	if m.SourceRunID != nil {
		spec["run_id"] = *m.SourceRunID
	}
	return encodeYAML(spec)
}

// pyDatetime is Python's str() of a naive datetime: microseconds only
// when they are not zero.
func pyDatetime(t time.Time) string {
	s := t.Format("2006-01-02 15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s
}
