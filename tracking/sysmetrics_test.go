package tracking_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/sysmetrics"
	"github.com/mlruns-go/mlruns/tracking"
)

// quiet keeps the machine's MLFLOW_SYSTEM_METRICS_* out of a test.
func quiet(string) (string, bool) { return "", false }

// systemHistories is every system/ metric's history of a run, by key.
func systemHistories(t *testing.T, c *tracking.Client, runID string) map[string][]entities.Metric {
	t.Helper()
	run, err := c.GetRun(context.Background(), runID)
	require.NoError(t, err)
	out := map[string][]entities.Metric{}
	for k := range run.Data.Metrics {
		if strings.HasPrefix(k, sysmetrics.Prefix) {
			h, err := c.GetMetricHistory(context.Background(), runID, k)
			require.NoError(t, err)
			out[k] = h
		}
	}
	return out
}

func steps(h []entities.Metric) []int64 {
	var s []int64
	for _, m := range h {
		s = append(s, m.Step)
	}
	return s
}

// A run created with system metrics gets a window per interval, every key
// at the same steps 0, 1, 2, ..., one LogBatch per window; SetTerminated
// stops the monitor and writes its last window.
func TestClient_CreateRun_SystemMetrics(t *testing.T) {
	c, cs, _ := newClient(t, nil)
	ctx := context.Background()
	run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{SystemMetrics: &tracking.SystemMetricsOptions{
		Interval: 30 * time.Millisecond, Lookup: quiet}})
	require.NoError(t, err)
	id := run.Info.RunID
	require.Eventually(t, func() bool {
		h, err := c.GetMetricHistory(ctx, id, "system/cpu_utilization_percentage")
		return err == nil && len(h) >= 3
	}, 20*time.Second, 10*time.Millisecond)
	before := cs.batches.Load()
	require.NoError(t, c.SetTerminated(ctx, id, entities.StatusFinished))
	hs := systemHistories(t, c, id)
	require.Len(t, hs, 8, "MLflow's eight metrics without a GPU")
	n := len(hs["system/cpu_utilization_percentage"])
	require.GreaterOrEqual(t, n, 4, "three windows and the last one")
	for k, h := range hs {
		want := make([]int64, n)
		for i := range want {
			want[i] = int64(i)
		}
		require.Equal(t, want, steps(h), k)
	}
	require.LessOrEqual(t, cs.batches.Load()-before, int64(2), "the last window (and maybe one more) in one batch each")
	// stopped: nothing more arrives
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, c.Flush(ctx))
	require.Len(t, systemHistories(t, c, id)["system/disk_usage_megabytes"], n)
}

// A run ended before one interval passed still has one sample, at step 0.
func TestClient_SetTerminated_BeforeFirstWindow(t *testing.T) {
	c, _, _ := newClient(t, nil)
	ctx := context.Background()
	run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{SystemMetrics: &tracking.SystemMetricsOptions{Lookup: quiet}})
	require.NoError(t, err)
	require.NoError(t, c.SetTerminated(ctx, run.Info.RunID, entities.StatusFinished))
	hs := systemHistories(t, c, run.Info.RunID)
	require.Len(t, hs, 8)
	for k, h := range hs {
		require.Equal(t, []int64{0}, steps(h), k)
	}
}

// Without the option nothing is sampled or written.
func TestClient_CreateRun_WithoutSystemMetrics_WritesNothing(t *testing.T) {
	t.Setenv(sysmetrics.EnvEnable, "true") // the fluent layer's switch: not the client's
	c, _, id := newClient(t, nil)
	ctx := context.Background()
	require.NoError(t, c.SetTerminated(ctx, id, entities.StatusFinished))
	require.Empty(t, systemHistories(t, c, id))
}

func TestClient_StartSystemMetrics_Twice(t *testing.T) {
	c, _, id := newClient(t, nil)
	ctx := context.Background()
	require.NoError(t, c.StartSystemMetrics(ctx, id, &tracking.SystemMetricsOptions{Lookup: quiet}))
	require.ErrorIs(t, c.StartSystemMetrics(ctx, id, nil), errs.ErrInvalidState)
	c.StopSystemMetrics(id)
	c.StopSystemMetrics(id) // stopped: nothing
	require.NoError(t, c.FlushRun(ctx, id))
	require.NoError(t, c.StartSystemMetrics(ctx, id, &tracking.SystemMetricsOptions{Lookup: quiet, Resume: true}))
	require.NoError(t, c.Close(ctx)) // stops it
	hs := systemHistories(t, c, id)
	require.Equal(t, []int64{0, 1}, steps(hs["system/cpu_utilization_percentage"]), "the second monitor resumed after the first")
}

// Resuming continues after the largest system/ step of any key.
func TestClient_StartSystemMetrics_Resume(t *testing.T) {
	c, _, id := newClient(t, nil)
	ctx := context.Background()
	require.NoError(t, c.LogBatch(ctx, id, []entities.Metric{
		{Key: "system/cpu_utilization_percentage", Value: 1, Timestamp: 1, Step: 4},
		{Key: "system/node_0/cpu_utilization_percentage", Value: 1, Timestamp: 1, Step: 6},
		{Key: "loss", Value: 1, Timestamp: 1, Step: 99},
	}, nil, nil))
	require.NoError(t, c.StartSystemMetrics(ctx, id, &tracking.SystemMetricsOptions{Resume: true, Lookup: quiet}))
	require.NoError(t, c.SetTerminated(ctx, id, entities.StatusFinished))
	h := systemHistories(t, c, id)["system/disk_usage_percentage"]
	require.Equal(t, []int64{7}, steps(h))
}

// A setting Python refuses fails CreateRun before a run exists.
func TestClient_CreateRun_SystemMetricsBadEnv(t *testing.T) {
	c, _, _ := newClient(t, nil)
	ctx := context.Background()
	t.Setenv(sysmetrics.EnvSamplingInterval, "often")
	_, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{SystemMetrics: &tracking.SystemMetricsOptions{}})
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	runs, _, err := c.ListRuns(ctx, "0", entities.ViewAll)
	require.NoError(t, err)
	require.Len(t, runs, 1, "only newClient's run")
	require.True(t, slices.ContainsFunc(runs, func(r entities.Run) bool { return r.Info.RunName == "r" }))
}
