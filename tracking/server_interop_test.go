package tracking_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/tracking"
)

// TestOpen_Server: an http:// tracking URI opens the REST backend, and a run
// logged through the client (params, metrics with steps, a tag, a batch over
// the limits, the end) is what Python's MlflowClient reads from the server.
func TestOpen_Server(t *testing.T) {
	srv := interoptest.StartServer(t, t.TempDir())
	ctx := context.Background()
	c, err := tracking.Open(srv.URL, nil)
	require.NoError(t, err)
	_, ok := c.Store().(*reststore.Store)
	require.True(t, ok, "an http URI opens the REST backend")
	expID, err := c.CreateExperiment(ctx, "over-http", "", map[string]string{"team": "go"})
	require.NoError(t, err)
	run, err := c.CreateRun(ctx, expID, tracking.CreateRunOptions{RunName: "r", StartTime: 1700000000000})
	require.NoError(t, err)
	id := run.Info.RunID
	require.NoError(t, c.LogParam(ctx, id, "lr", "0.01"))
	require.NoError(t, c.SetTag(ctx, id, "kind", "test"))
	for step := int64(0); step < 3; step++ {
		require.NoError(t, c.LogMetric(ctx, id, "loss", 1/float64(step+1), tracking.WithStep(step), tracking.WithTimestamp(1700000000000+step)))
	}
	var ms []entities.Metric
	for i := range 1500 {
		ms = append(ms, entities.Metric{Key: "m", Value: float64(i), Timestamp: 1, Step: int64(i)})
	}
	require.NoError(t, c.LogBatch(ctx, id, ms, nil, nil), "split over the limits as for the file store")
	require.NoError(t, c.SetTerminatedAt(ctx, id, entities.StatusFinished, 1700000009000))

	out := interoptest.RunCode(t, `
import json, sys
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1])
r = c.get_run(sys.argv[2])
e = c.get_experiment(r.info.experiment_id)
print(json.dumps({
  "exp": [e.name, e.tags.get("team")],
  "info": [r.info.run_name, r.info.status, r.info.start_time, r.info.end_time],
  "params": r.data.params,
  "tag": r.data.tags.get("kind"),
  "loss": [[m.step, m.value, m.timestamp] for m in c.get_metric_history(r.info.run_id, "loss")],
  "m": len(c.get_metric_history(r.info.run_id, "m")),
}))
`, nil, srv.URL, id)
	var got struct {
		Exp    []string          `json:"exp"`
		Info   []any             `json:"info"`
		Params map[string]string `json:"params"`
		Tag    string            `json:"tag"`
		Loss   [][3]float64      `json:"loss"`
		M      int               `json:"m"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Equal(t, []string{"over-http", "go"}, got.Exp)
	require.Equal(t, []any{"r", "FINISHED", float64(1700000000000), float64(1700000009000)}, got.Info)
	require.Equal(t, map[string]string{"lr": "0.01"}, got.Params)
	require.Equal(t, "test", got.Tag)
	require.Equal(t, [][3]float64{{0, 1, 1700000000000}, {1, 0.5, 1700000000001}, {2, 1.0 / 3, 1700000000002}}, got.Loss)
	require.Equal(t, 1500, got.M)
}
