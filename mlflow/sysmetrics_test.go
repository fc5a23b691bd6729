package mlflow_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/mlflow"
	"github.com/mlruns-go/mlruns/sysmetrics"
	"github.com/mlruns-go/mlruns/tracking"
)

// clearSystemMetricsEnv unsets the system metrics variables for the test
// and restores them after.
func clearSystemMetricsEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{sysmetrics.EnvEnable, sysmetrics.EnvSamplingInterval, sysmetrics.EnvSamplesBeforeLogging, sysmetrics.EnvNodeID} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// systemKeys lists a run's system/ metric keys, sorted, with each one's
// steps.
func systemKeys(t *testing.T, c *tracking.Client, runID string) map[string][]int64 {
	t.Helper()
	ctx := context.Background()
	run, err := c.GetRun(ctx, runID)
	require.NoError(t, err)
	out := map[string][]int64{}
	for k := range run.Data.Metrics {
		if !strings.HasPrefix(k, sysmetrics.Prefix) {
			continue
		}
		h, err := c.GetMetricHistory(ctx, runID, k)
		require.NoError(t, err)
		for _, m := range h {
			out[k] = append(out[k], m.Step)
		}
	}
	return out
}

// The switches decide as Python's start_run: the run's own choice, else
// the process-wide one (default off).
func TestStartRun_SystemMetrics_Switches(t *testing.T) {
	cases := []struct {
		name   string
		global func()
		opts   []mlflow.RunOption
		want   bool
	}{
		{"default off", func() {}, nil, false},
		{"enabled globally", mlflow.EnableSystemMetricsLogging, nil, true},
		{"enabled, run opts out", mlflow.EnableSystemMetricsLogging, []mlflow.RunOption{mlflow.LogSystemMetrics(false)}, false},
		{"disabled, run opts in", mlflow.DisableSystemMetricsLogging, []mlflow.RunOption{mlflow.LogSystemMetrics(true)}, true},
		{"disabled", mlflow.DisableSystemMetricsLogging, nil, false},
		{"options opt in", func() {}, []mlflow.RunOption{mlflow.SystemMetrics(tracking.SystemMetricsOptions{})}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearSystemMetricsEnv(t)
			defer useTempStore()()
			c.global()
			ctx := context.Background()
			r, err := mlflow.StartRun(ctx, c.opts...)
			require.NoError(t, err)
			require.NoError(t, r.EndWithStatus(ctx, entities.StatusFinished))
			keys := systemKeys(t, r.Client(), r.ID())
			if !c.want {
				require.Empty(t, keys, "a disabled sampler writes nothing")
				return
			}
			require.Len(t, keys, 8)
			for k, s := range keys {
				require.Equal(t, []int64{0}, s, k)
			}
		})
	}
}

// The setters are the variables; a resumed run continues the steps; the
// Go runtime's figures come with the option.
func TestStartRun_SystemMetrics_SettersResumeGoRuntime(t *testing.T) {
	clearSystemMetricsEnv(t)
	defer useTempStore()()
	ctx := context.Background()
	mlflow.SetSystemMetricsSamplingInterval(20 * time.Millisecond)
	mlflow.SetSystemMetricsSamplesBeforeLogging(2)
	mlflow.SetSystemMetricsNodeID("node_0")
	require.Equal(t, "0.02", os.Getenv(sysmetrics.EnvSamplingInterval))
	require.Equal(t, "2", os.Getenv(sysmetrics.EnvSamplesBeforeLogging))
	r, err := mlflow.StartRun(ctx, mlflow.SystemMetrics(tracking.SystemMetricsOptions{GoRuntime: true}))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		require.NoError(t, r.Client().FlushRun(ctx, r.ID()))
		return len(systemKeys(t, r.Client(), r.ID())["system/node_0/cpu_utilization_percentage"]) >= 2
	}, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, r.EndWithStatus(ctx, entities.StatusFinished))
	keys := systemKeys(t, r.Client(), r.ID())
	require.Contains(t, keys, "system/node_0/go_goroutines")
	n := len(keys["system/node_0/cpu_utilization_percentage"])

	mlflow.SetSystemMetricsSamplingInterval(0)
	mlflow.SetSystemMetricsSamplesBeforeLogging(0)
	mlflow.SetSystemMetricsNodeID("")
	for _, k := range []string{sysmetrics.EnvSamplingInterval, sysmetrics.EnvSamplesBeforeLogging, sysmetrics.EnvNodeID} {
		_, set := os.LookupEnv(k)
		require.False(t, set, k)
	}
	r2, err := mlflow.StartRun(ctx, mlflow.ResumeRun(r.ID()), mlflow.LogSystemMetrics(true))
	require.NoError(t, err)
	require.NoError(t, r2.EndWithStatus(ctx, entities.StatusFinished))
	keys = systemKeys(t, r.Client(), r.ID())
	require.Equal(t, []int64{int64(n)}, keys["system/cpu_utilization_percentage"], "the resumed run's first step follows node_0's last")
	require.NotContains(t, keys, "system/go_goroutines", "no Go runtime figures without the option")
}

// An unreadable switch or setting fails StartRun with Python's message,
// and no run is created.
func TestStartRun_SystemMetrics_BadEnv(t *testing.T) {
	cases := []struct{ env, value, msg string }{
		{sysmetrics.EnvEnable, "yes", "mlruns: MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got yes"},
		{sysmetrics.EnvSamplesBeforeLogging, "x", "mlruns: Failed to convert 'x' for MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING: invalid literal for int() with base 10: 'x'"},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			clearSystemMetricsEnv(t)
			defer useTempStore()()
			ctx := context.Background()
			mlflow.EnableSystemMetricsLogging()
			t.Setenv(c.env, c.value)
			_, err := mlflow.StartRun(ctx)
			require.ErrorIs(t, err, errs.ErrInvalidParameter)
			require.Equal(t, c.msg, err.Error())
			require.Nil(t, mlflow.ActiveRun())
			runs, err := mlflow.SearchRuns(ctx, mlflow.SearchRunsOptions{ExperimentIDs: []string{"0"}})
			require.NoError(t, err)
			require.Empty(t, runs)
		})
	}
}
