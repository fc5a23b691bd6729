package sysmetrics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/procgroup"
	"github.com/mlruns-go/mlruns/internal/pyenv"
	"github.com/mlruns-go/mlruns/sysmetrics"
	"github.com/mlruns-go/mlruns/tracking"
)

// pyMonitor runs Python 3.18's SystemMetricsMonitor on a new run of the
// file store at argv[1] for argv[4] windows and a half, then finishes it
// (Python drops the half window) and ends the run.
const pyMonitor = `
import pathlib, sys, time
from mlflow import MlflowClient
from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
root, interval, samples, windows = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
uri = pathlib.Path(root).as_uri()
c = MlflowClient(uri)
run = c.create_run("0")
m = SystemMetricsMonitor(run.info.run_id, sampling_interval=interval, samples_before_logging=samples, tracking_uri=uri)
m.start()
print("started", run.info.run_id, flush=True)
time.sleep(interval * samples * (windows + 0.5))
m.finish()
c.set_terminated(run.info.run_id)
print("done", flush=True)
`

// TestMonitor_AsPython: Python's monitor and ours, side by side on this
// machine for a few windows at a short interval, log the same keys (no GPU
// here), the same steps (ours has one more: the window cut short by the
// end of the run, which Python drops), one timestamp per window, and
// values that agree: memory within 5% (or 1% of the machine's memory: other
// processes come and go), disk within 2%, CPU in [0, 100], network
// counters from zero.
func TestMonitor_AsPython(t *testing.T) {
	py := interoptest.Python(t)
	cases := []struct {
		name     string
		interval time.Duration
		samples  int
		windows  int
		node     string
	}{
		{"one sample per window", 250 * time.Millisecond, 1, 4, ""},
		{"three samples per window", 100 * time.Millisecond, 3, 3, ""},
		{"node id", 200 * time.Millisecond, 1, 3, "node_7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			pyRoot := filepath.Join(t.TempDir(), "py")
			goRoot := filepath.Join(t.TempDir(), "go")
			env := map[string]string{}
			var extra []string
			if c.node != "" {
				env[sysmetrics.EnvNodeID] = c.node
				extra = append(extra, sysmetrics.EnvNodeID+"="+c.node)
			}
			cmd := exec.Command(py, "-c", pyMonitor, pyRoot, fmt.Sprint(c.interval.Seconds()), fmt.Sprint(c.samples), fmt.Sprint(c.windows))
			cmd.Env = pyenv.Env(extra...)
			stderr := &procgroup.Buffer{}
			cmd.Stderr = stderr
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			lines := bufio.NewScanner(out)
			require.True(t, lines.Scan(), "python: %s", stderr.String())
			started := strings.Fields(lines.Text())
			require.Len(t, started, 2, lines.Text())
			pyRunID := started[1]

			client, err := tracking.Open(goRoot, nil)
			require.NoError(t, err)
			defer client.Close(ctx)
			run, err := client.CreateRun(ctx, "0", tracking.CreateRunOptions{SystemMetrics: &tracking.SystemMetricsOptions{
				Interval: c.interval, SamplesBeforeLogging: c.samples, Lookup: envOf(env)}})
			require.NoError(t, err)
			require.True(t, lines.Scan(), "python: %s", stderr.String())
			require.Equal(t, "done", lines.Text())
			require.NoError(t, client.SetTerminated(ctx, run.Info.RunID, entities.StatusFinished))
			require.NoError(t, cmd.Wait(), stderr.String())

			pyWins := windowsOf(t, pyRoot, pyRunID)
			goWins := windowsOf(t, goRoot, run.Info.RunID)
			require.Len(t, pyWins, c.windows, "Python logs the whole windows only")
			// Ours also logs the window the run's end cut short; it starts
			// after Python's and ends with it, so on a loaded machine that
			// window can be missing: its whole windows are Python's, or one
			// more.
			require.Contains(t, []int{c.windows, c.windows + 1}, len(goWins), "ours: %v", goWins)
			prefix := sysmetrics.Prefix
			if c.node != "" {
				prefix += c.node + "/"
			}
			for step := range goWins {
				g := goWins[step]
				require.Equal(t, slices.Sorted(maps.Keys(pyWins[0])), slices.Sorted(maps.Keys(g)), "the keys of step %d", step)
				if step == len(pyWins) {
					break
				}
				p := pyWins[step]
				for _, k := range []string{"cpu_utilization_percentage", "system_memory_usage_percentage", "disk_usage_percentage"} {
					for _, v := range []float64{p[prefix+k], g[prefix+k]} {
						require.True(t, v >= 0 && v <= 100, "%s at step %d: %v", k, step, v)
					}
				}
				// Used memory moves with every process the machine starts
				// (tests run beside this one): within 5% of each other, or
				// 1% of the machine's memory.
				totalMB := g[prefix+"system_memory_usage_megabytes"] * 100 / g[prefix+"system_memory_usage_percentage"]
				pm, gm := p[prefix+"system_memory_usage_megabytes"], g[prefix+"system_memory_usage_megabytes"]
				require.LessOrEqual(t, math.Abs(pm-gm), math.Max(0.05*math.Max(pm, gm), 0.01*totalMB),
					"system_memory_usage_megabytes: Python %v, Go %v of %v", pm, gm, totalMB)
				pp, gp := p[prefix+"system_memory_usage_percentage"], g[prefix+"system_memory_usage_percentage"]
				require.LessOrEqual(t, math.Abs(pp-gp), math.Max(0.05*math.Max(pp, gp), 1),
					"system_memory_usage_percentage: Python %v, Go %v", pp, gp)
				for _, k := range []string{"disk_usage_megabytes", "disk_available_megabytes", "disk_usage_percentage"} {
					requireNear(t, p[prefix+k], g[prefix+k], 0.02, k)
				}
				for _, k := range []string{"network_receive_megabytes", "network_transmit_megabytes"} {
					require.GreaterOrEqual(t, g[prefix+k], 0.0, k)
					require.Less(t, math.Abs(g[prefix+k]-p[prefix+k]), 100.0, "%s: counted from the monitor's start", k)
				}
			}
		})
	}
}

// windowsOf reads a run's system metrics as windows: step -> key -> value,
// requiring steps 0, 1, ... on every key and one timestamp per step.
func windowsOf(t *testing.T, root, runID string) []map[string]float64 {
	t.Helper()
	ctx := context.Background()
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	defer s.Close()
	run, err := s.GetRun(ctx, runID)
	require.NoError(t, err)
	var wins []map[string]float64
	stamps := map[int64]int64{}
	for k := range run.Data.Metrics {
		require.True(t, strings.HasPrefix(k, sysmetrics.Prefix), k)
		h, err := s.GetMetricHistory(ctx, runID, k)
		require.NoError(t, err)
		for i, m := range h {
			require.Equal(t, int64(i), m.Step, "%s: steps 0, 1, ...", k)
			for len(wins) <= i {
				wins = append(wins, map[string]float64{})
			}
			wins[i][k] = m.Value
			if ts, ok := stamps[m.Step]; ok {
				require.Equal(t, ts, m.Timestamp, "one timestamp per window")
			}
			stamps[m.Step] = m.Timestamp
		}
	}
	return wins
}

// requireNear requires a and b within rel of each other.
func requireNear(t *testing.T, a, b, rel float64, what string) {
	t.Helper()
	require.LessOrEqual(t, math.Abs(a-b), rel*math.Max(math.Abs(a), math.Abs(b))+0.2, "%s: Python %v, Go %v", what, a, b)
}

// round1 is Python's round(x, 1) on random values and on the ties and
// near-ties of one decimal (the rounding of every averaged metric).
func TestRound1_Interop(t *testing.T) {
	interoptest.Python(t)
	rng := rand.New(rand.NewPCG(18, 1))
	var xs []float64
	for i := 0; i < 2000; i++ {
		xs = append(xs, rng.Float64()*100, rng.NormFloat64()*1e5, float64(rng.IntN(100000))/100+0.05)
	}
	in, err := json.Marshal(xs)
	require.NoError(t, err)
	out := interoptest.RunCode(t, "import json, sys\nprint(json.dumps([round(x, 1) for x in json.load(sys.stdin)]))", in)
	var want []float64
	require.NoError(t, json.Unmarshal(out, &want))
	require.Len(t, want, len(xs))
	for i, x := range xs {
		require.Equal(t, want[i], sysmetrics.Round1(x), "round(%v, 1)", x)
	}
}

// pyResume resumes system metrics logging on run argv[2] of the store at
// argv[1] with Python's resume_logging, for one window and a half.
const pyResume = `
import pathlib, sys, time
from mlflow import MlflowClient
from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
uri = pathlib.Path(sys.argv[1]).as_uri()
m = SystemMetricsMonitor(sys.argv[2], sampling_interval=0.2, resume_logging=True, tracking_uri=uri)
print(m._logging_step)
m.start()
time.sleep(0.3)
m.finish()
`

// Resuming goes on from the other side's steps: Python resumes a run our
// monitor logged to, then ours resumes after Python's steps.
func TestMonitor_Resume_AsPython(t *testing.T) {
	interoptest.Python(t)
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	client, err := tracking.Open(root, nil)
	require.NoError(t, err)
	defer client.Close(ctx)
	run, err := client.CreateRun(ctx, "0", tracking.CreateRunOptions{SystemMetrics: &tracking.SystemMetricsOptions{
		Interval: time.Hour, Lookup: noEnv}})
	require.NoError(t, err)
	id := run.Info.RunID
	client.StopSystemMetrics(id) // step 0
	require.NoError(t, client.FlushRun(ctx, id))
	out := interoptest.RunCode(t, pyResume, nil, root, id)
	require.Equal(t, "1\n", string(out), "Python's first step after ours")
	require.NoError(t, client.StartSystemMetrics(ctx, id, &tracking.SystemMetricsOptions{Interval: time.Hour, Resume: true, Lookup: noEnv}))
	require.NoError(t, client.SetTerminated(ctx, id, entities.StatusFinished))
	wins := windowsOf(t, root, id)
	require.Len(t, wins, 3, "ours at 0, Python's at 1, ours at 2")
}
