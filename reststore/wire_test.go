package reststore_test

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
)

// The LogBatch body is what Python's message_to_json prints for the same
// batch, token for token (NaN and the infinities as strings, repr doubles,
// int64 as numbers).
func TestStore_LogBatch_BodyMatchesPython(t *testing.T) {
	f := newFake(t, reply(200, `{}`))
	s, _ := open(t, f.URL, nil)
	metrics := []entities.Metric{
		{Key: "m", Value: math.NaN(), Timestamp: 12345678901234, Step: -3},
		{Key: "m", Value: math.Inf(1), Timestamp: 1}, {Key: "m", Value: math.Inf(-1), Timestamp: 1},
		{Key: "m", Value: 1e22, Timestamp: 1}, {Key: "m", Value: math.Copysign(0, -1), Timestamp: 1},
		{Key: "m", Value: 0.1, Timestamp: 0, Step: math.MaxInt64}, {Key: "m", Value: 5e-324, Timestamp: 1},
		{Key: "m", Value: 1, Timestamp: 1, ModelID: "m-1", DatasetName: "d", DatasetDigest: "x"},
	}
	require.NoError(t, s.LogBatch(context.Background(), "r1", metrics,
		[]entities.Param{{Key: "p", Value: "ü\"<>&"}}, []entities.RunTag{{Key: "t", Value: ""}}))
	out := interoptest.RunCode(t, `
import json, math
from mlflow.entities import Metric, Param, RunTag
from mlflow.protos.service_pb2 import LogBatch
from mlflow.utils.proto_json_utils import message_to_json
ms = [Metric("m", math.nan, 12345678901234, -3), Metric("m", math.inf, 1, 0), Metric("m", -math.inf, 1, 0),
      Metric("m", 1e22, 1, 0), Metric("m", -0.0, 1, 0), Metric("m", 0.1, 0, 9223372036854775807), Metric("m", 5e-324, 1, 0),
      Metric("m", 1.0, 1, 0, model_id="m-1", dataset_name="d", dataset_digest="x")]
body = message_to_json(LogBatch(run_id="r1", metrics=[m.to_proto() for m in ms],
    params=[Param("p", 'ü"<>&').to_proto()], tags=[RunTag("t", "").to_proto()]))
print(json.dumps(json.loads(body)))
`, nil)
	interoptest.RequireSameJSON(t, "LogBatch body", out, []byte(f.requests()[0].body))
}

// Every write is checked before anything is sent: the server would store
// defaults for what it cannot parse.
func TestStore_Writes_ValidatedBeforeSending(t *testing.T) {
	f := newFake(t, reply(200, `{}`))
	s, _ := open(t, f.URL, nil)
	ctx := context.Background()
	calls := map[string]error{
		"bad run id":       s.LogMetric(ctx, "../x", entities.Metric{Key: "m", Timestamp: 1}),
		"negative ts":      s.LogBatch(ctx, "r1", []entities.Metric{{Key: "m", Timestamp: -1}}, nil, nil),
		"bad metric key":   s.LogMetric(ctx, "r1", entities.Metric{Key: "a,b", Timestamp: 1}),
		"too many metrics": s.LogBatch(ctx, "r1", make([]entities.Metric, 1001), nil, nil),
		"duplicate param":  s.LogBatch(ctx, "r1", nil, []entities.Param{{Key: "p", Value: "1"}, {Key: "p", Value: "2"}}, nil),
		"long param key":   s.LogParam(ctx, "r1", strings.Repeat("k", 251), "v"),
		"bad utf-8 tag":    s.SetTag(ctx, "r1", "t", "\xff"),
		"experiment name":  s.RenameExperiment(ctx, "1", ""),
		"experiment tag":   s.SetExperimentTag(ctx, "1", "", "v"),
		"model status":     func() error { _, err := s.FinalizeLoggedModel(ctx, "m-1", entities.LoggedModelStatus(9)); return err }(),
		"model name":       func() error { _, err := s.CreateLoggedModel(ctx, "0", storeModel("a/b")); return err }(),
		"model id":         s.DeleteLoggedModel(ctx, "a/b"),
		"run status":       func() error { _, err := s.UpdateRunInfo(ctx, "r1", entities.RunStatus(0), nil, ""); return err }(),
		"dataset":          s.LogInputs(ctx, "r1", []entities.DatasetInput{{Dataset: entities.Dataset{Name: "d"}}}, nil),
	}
	for name, err := range calls {
		require.ErrorIs(t, err, errs.ErrInvalidParameter, name)
	}
	require.Empty(t, f.requests())
}

// A batch whose body passes the cap goes as several requests, params
// first, with nothing lost or repeated.
func TestStore_LogBatch_SplitOverBodyCap(t *testing.T) {
	f := newFake(t, reply(200, `{}`))
	s, err := reststore.Open(f.URL, &reststore.Options{LookupEnv: env{}.lookup, CredentialsPath: filepath.Join(t.TempDir(), "none"), MaxBodyBytes: 4000})
	require.NoError(t, err)
	var ms []entities.Metric
	for i := range 300 {
		ms = append(ms, entities.Metric{Key: "m", Value: float64(i), Timestamp: 1, Step: int64(i)})
	}
	ps := []entities.Param{{Key: "p1", Value: strings.Repeat("x", 3000)}, {Key: "p2", Value: "y"}}
	tags := []entities.RunTag{{Key: "t", Value: "v"}}
	require.NoError(t, s.LogBatch(context.Background(), "r1", ms, ps, tags))
	var gotM []float64
	var gotP, gotT []string
	for _, r := range f.requests() {
		require.LessOrEqual(t, len(r.body), 4000)
		var b struct {
			Metrics []struct{ Value float64 } `json:"metrics"`
			Params  []struct{ Key string }    `json:"params"`
			Tags    []struct{ Key string }    `json:"tags"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.body), &b))
		for _, p := range b.Params {
			require.Empty(t, gotM, "params go before metrics of earlier requests")
			gotP = append(gotP, p.Key)
		}
		for _, m := range b.Metrics {
			gotM = append(gotM, m.Value)
		}
		for _, x := range b.Tags {
			gotT = append(gotT, x.Key)
		}
	}
	require.Greater(t, len(f.requests()), 2)
	require.Len(t, gotM, 300)
	for i, v := range gotM {
		require.Equal(t, float64(i), v)
	}
	require.Equal(t, []string{"p1", "p2"}, gotP)
	require.Equal(t, []string{"t"}, gotT)
}

// Artifacts of a server store are not local folders.
func TestStore_ArtifactDir_NotSupported(t *testing.T) {
	s, _ := open(t, "http://127.0.0.1:1", nil)
	_, err := s.ArtifactDir(context.Background(), "r1")
	require.ErrorIs(t, err, errs.ErrNotSupported)
	_, err = s.ModelArtifactDir(context.Background(), "m-1")
	require.ErrorIs(t, err, errs.ErrNotSupported)
	require.ErrorContains(t, err, "not local folders")
}

func storeModel(name string) store.CreateLoggedModelOptions {
	return store.CreateLoggedModelOptions{Name: name}
}
