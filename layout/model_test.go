package layout_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/testkit"
	"github.com/mlruns-go/mlruns/layout"
)

const modelGoldenDir = "testdata/models"

func strp(s string) *string { return &s }

// modelCase is one meta.yaml of the golden set: a model and the stage the
// FileStore call that writes it gives.
type modelCase struct {
	name  string
	model entities.LoggedModel
	stage layout.ModelStage
}

var modelCases = []modelCase{
	{"created", entities.LoggedModel{ModelID: "m-0123456789abcdef0123456789abcdef", ExperimentID: "123", Name: "alpha",
		ArtifactLocation:  "file:///tmp/mlruns/123/models/m-0123456789abcdef0123456789abcdef/artifacts",
		CreationTimestamp: 1700000000000, LastUpdatedTimestamp: 1700000000000,
		ModelType: strp("agent"), SourceRunID: strp("0123456789abcdef0123456789abcdef"), Status: entities.LoggedModelPending}, layout.ModelStageActive},
	{"finalized", entities.LoggedModel{ModelID: "m-1", ExperimentID: "0", Name: "beta-owl-12",
		ArtifactLocation: "/plain/path/0/models/m-1/artifacts", CreationTimestamp: 1, LastUpdatedTimestamp: 2,
		Status: entities.LoggedModelReady}, layout.ModelStageOmitted},
	{"failed", entities.LoggedModel{ModelID: "m-2", ExperimentID: "7", Name: "yes",
		ArtifactLocation: "s3://bucket/7/models/m-2/artifacts", CreationTimestamp: 5, LastUpdatedTimestamp: 9,
		ModelType: strp(""), Status: entities.LoggedModelFailed}, layout.ModelStageOmitted},
	{"deleted", entities.LoggedModel{ModelID: "m-3", ExperimentID: "42", Name: "名前 ü 😀",
		ArtifactLocation: "file:///C:/Users/x y/mlruns/42/models/m-3/artifacts", CreationTimestamp: 10, LastUpdatedTimestamp: 20,
		ModelType: strp("123"), SourceRunID: strp("null"), Status: entities.LoggedModelUnspecified}, layout.ModelStageDeleted},
	{"odd-strings", entities.LoggedModel{ModelID: "m-4", ExperimentID: "1", Name: "- leading dash, #hash: colon",
		ArtifactLocation: "file:///tmp/a b/1/models/m-4/artifacts", CreationTimestamp: 0, LastUpdatedTimestamp: 0,
		ModelType: strp("multi\nline\ttab"), SourceRunID: strp("  spaced  "), Status: entities.LoggedModelPending,
		StatusMessage: strp("why\u00a0it failed")}, layout.ModelStageActive},
}

// pythonModelGolden writes the golden files with Python MLflow into dir.
func pythonModelGolden(t *testing.T, dir string) {
	t.Helper()
	var in []map[string]any
	for _, c := range modelCases {
		m := c.model
		stage := map[layout.ModelStage]any{layout.ModelStageOmitted: nil, layout.ModelStageActive: "active", layout.ModelStageDeleted: "deleted"}[c.stage]
		in = append(in, map[string]any{"name": c.name, "stage": stage, "model": map[string]any{
			"experiment_id": m.ExperimentID, "model_id": m.ModelID, "name": m.Name,
			"artifact_location": m.ArtifactLocation, "creation_timestamp": m.CreationTimestamp,
			"last_updated_timestamp": m.LastUpdatedTimestamp, "model_type": m.ModelType,
			"source_run_id": m.SourceRunID, "status": int(m.Status), "status_message": m.StatusMessage,
		}})
	}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	interoptest.Run(t, filepath.Join(modelGoldenDir, "gen_golden.py"), data, dir)
}

// TestEncodeLoggedModelMeta_Golden: each case encodes to the bytes Python
// MLflow's FileStore wrote for it (testdata/models/*.yaml, written by
// gen_golden.py, never by us, under -update).
func TestEncodeLoggedModelMeta_Golden(t *testing.T) {
	if testkit.Update() {
		pythonModelGolden(t, modelGoldenDir)
	}
	for _, c := range modelCases {
		t.Run(c.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(modelGoldenDir, c.name+".yaml"))
			require.NoError(t, err, "regenerate with: go test ./layout -run TestEncodeLoggedModelMeta_Golden -update")
			require.Equal(t, string(want), string(layout.EncodeLoggedModelMeta(c.model, c.stage)))
		})
	}
}

// TestEncodeLoggedModelMeta_GoldenLive writes the golden files again with
// the pinned Python MLflow and compares: a stale golden file cannot hide.
func TestEncodeLoggedModelMeta_GoldenLive(t *testing.T) {
	dir := t.TempDir()
	pythonModelGolden(t, dir)
	for _, c := range modelCases {
		live, err := os.ReadFile(filepath.Join(dir, c.name+".yaml"))
		require.NoError(t, err)
		golden, err := os.ReadFile(filepath.Join(modelGoldenDir, c.name+".yaml"))
		require.NoError(t, err)
		require.Equal(t, string(live), string(golden), c.name)
	}
}

// TestDecodeLoggedModelMeta_RoundTrip: what the encoder writes decodes to
// the same model, with the lifecycle stage the encoder was given (none is
// active).
func TestDecodeLoggedModelMeta_RoundTrip(t *testing.T) {
	for _, c := range modelCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := layout.DecodeLoggedModelMeta(layout.EncodeLoggedModelMeta(c.model, c.stage))
			require.NoError(t, err)
			want := c.model
			want.LifecycleStage = entities.StageActive
			if c.stage == layout.ModelStageDeleted {
				want.LifecycleStage = entities.StageDeleted
			}
			require.Equal(t, want, got)
		})
	}
}

// TestDecodeLoggedModelMeta_Malformed: what Python's LoggedModel refuses
// (an unknown status, an unknown stage) or cannot be read is a MetaError
// (errs.ErrCorrupt); a missing status is READY, Python's default.
func TestDecodeLoggedModelMeta_Malformed(t *testing.T) {
	for name, data := range map[string]string{
		"status 7":         "model_id: m-1\nexperiment_id: '1'\nstatus: 7\n",
		"status -1":        "model_id: m-1\nexperiment_id: '1'\nstatus: -1\n",
		"status text":      "model_id: m-1\nexperiment_id: '1'\nstatus: READY\n",
		"unknown stage":    "model_id: m-1\nexperiment_id: '1'\nlifecycle_stage: gone\n",
		"no model_id":      "experiment_id: '1'\nname: x\n",
		"empty":            "",
		"a list":           "- a\n",
		"broken yaml":      "model_id: [\n",
		"timestamp as str": "model_id: m-1\ncreation_timestamp: soon\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := layout.DecodeLoggedModelMeta([]byte(data))
			var me *layout.MetaError
			require.True(t, errors.As(err, &me), "%v", err)
			require.ErrorIs(t, err, errs.ErrCorrupt)
		})
	}
	m, err := layout.DecodeLoggedModelMeta([]byte("model_id: m-1\nexperiment_id: 1\nname: n\n"))
	require.NoError(t, err)
	require.Equal(t, entities.LoggedModelReady, m.Status)
	require.Equal(t, "1", m.ExperimentID)
	require.Equal(t, entities.StageActive, m.LifecycleStage)
}

func TestModelID_Shape(t *testing.T) {
	id := layout.ModelID([16]byte{0x01, 0x23, 0xab, 0xff})
	require.Equal(t, "m-0123abff000000000000000000000000", id)
	require.True(t, layout.IsModelID(id))
	for _, bad := range []string{"", "m-", "m-0123", "M-0123abff000000000000000000000000", "m-0123ABFF000000000000000000000000", "m-0123abff0000000000000000000000000", "x-0123abff000000000000000000000000"} {
		require.False(t, layout.IsModelID(bad), bad)
	}
}
