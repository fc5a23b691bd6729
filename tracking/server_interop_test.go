package tracking_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

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

// TestClient_LogMetricAsync_Server: asynchronous logging to a real
// (SQLite-backed, four-worker) server has several LogBatch requests in
// flight, and what Python's MlflowClient then reads is every point once,
// the tags set in call order, the last value winning.
func TestClient_LogMetricAsync_Server(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite, Workers: 4})
	ctx := context.Background()
	rs, err := tracking.OpenStore(srv.URL, nil)
	require.NoError(t, err)
	ifs := &inFlightStore{Store: rs}
	c := tracking.NewClient(concurrentStore{ifs}, nil)
	defer c.Close(ctx)
	run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{RunName: "async"})
	require.NoError(t, err)
	id := run.Info.RunID
	const points = 6000
	for i := range points {
		c.LogMetricAsync(ctx, id, "loss", float64(i)/points, tracking.WithStep(int64(i)), tracking.WithTimestamp(1700000000000+int64(i)))
		if i%2000 == 0 {
			c.LogBatchAsync(ctx, id, nil, nil, []entities.RunTag{{Key: "phase", Value: strconv.Itoa(i)}})
		}
	}
	require.NoError(t, c.Flush(ctx))
	require.Greater(t, ifs.max.Load(), int64(1), "requests were sent one at a time")

	out := interoptest.RunCode(t, `
import json, sys
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1])
h = c.get_metric_history(sys.argv[2], "loss")
print(json.dumps({"steps": sorted(m.step for m in h), "bad": [m.step for m in h if m.value != m.step / 6000 or m.timestamp != 1700000000000 + m.step],
  "phase": c.get_run(sys.argv[2]).data.tags.get("phase")}))
`, nil, srv.URL, id)
	var got struct {
		Steps []int64 `json:"steps"`
		Bad   []int64 `json:"bad"`
		Phase string  `json:"phase"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	want := make([]int64, points)
	for i := range want {
		want[i] = int64(i)
	}
	require.Equal(t, want, got.Steps, "every point once")
	require.Empty(t, got.Bad)
	require.Equal(t, "4000", got.Phase)
}

// TestSystemMetrics_Server: a run's system metrics go to a tracking server
// as to a folder (through the REST backend's LogBatch, one per window), and
// Python's MlflowClient reads MLflow's keys with steps 0..n-1 on each.
func TestSystemMetrics_Server(t *testing.T) {
	srv := interoptest.StartServer(t, t.TempDir())
	ctx := context.Background()
	c, err := tracking.Open(srv.URL, nil)
	require.NoError(t, err)
	defer c.Close(ctx)
	expID, err := c.CreateExperiment(ctx, "system-metrics", "", nil)
	require.NoError(t, err)
	run, err := c.CreateRun(ctx, expID, tracking.CreateRunOptions{SystemMetrics: &tracking.SystemMetricsOptions{
		Interval: 100 * time.Millisecond, Lookup: quiet}})
	require.NoError(t, err)
	id := run.Info.RunID
	require.Eventually(t, func() bool {
		h, err := c.GetMetricHistory(ctx, id, "system/cpu_utilization_percentage")
		return err == nil && len(h) >= 3
	}, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, c.SetTerminated(ctx, id, entities.StatusFinished))
	out := interoptest.RunCode(t, `
import json, sys
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1])
r = c.get_run(sys.argv[2])
print(json.dumps({k: [m.step for m in c.get_metric_history(sys.argv[2], k)] for k in r.data.metrics}))
`, nil, srv.URL, id)
	var got map[string][]int64
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Len(t, got, 8)
	n := len(got["system/cpu_utilization_percentage"])
	require.GreaterOrEqual(t, n, 4)
	for k, s := range got {
		require.Len(t, s, n, k)
		for i, step := range s {
			require.Equal(t, int64(i), step, k)
		}
	}
}
