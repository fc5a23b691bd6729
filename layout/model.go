package layout

import (
	"encoding/hex"
	"fmt"
	"strings"

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
