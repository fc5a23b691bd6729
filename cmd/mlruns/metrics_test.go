package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/internal/restjson"
)

// metricsTree is a small store with fixed times and values for the
// metrics and export commands: two experiments, runs with plain, nested
// ('/') and odd-valued metrics (NaN, ±inf, -0.0, long reprs, negative and
// huge steps), a dataset-tagged metric, a constant metric, an all-NaN
// metric and a deleted run. Run and experiment ids are random; normalise
// replaces them with placeholders.
type metricsTree struct {
	root string
	exp  string            // id of the "training" experiment
	run  map[string]string // run name -> id
	ids  *strings.Replacer // real ids -> <run:NAME>, <exp:training>
}

var metricsT0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func newMetricsTree(t *testing.T) *metricsTree {
	t.Helper()
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	now := metricsT0
	s, err := filestore.Open(root, &filestore.Options{
		Now: func() time.Time { return now }, ArtifactRoot: "file:///srv/mlruns"})
	require.NoError(t, err)
	tr := &metricsTree{root: root, run: map[string]string{}}
	tr.exp, err = s.CreateExperiment(ctx, "training", "", []entities.ExperimentTag{{Key: "team", Value: "vision"}})
	require.NoError(t, err)
	ms := metricsT0.UnixMilli()
	newRun := func(exp, name string, start int64, params map[string]string, metrics []entities.Metric) string {
		t.Helper()
		r, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, UserID: "ada", StartTime: start,
			RunName: name, Tags: []entities.RunTag{{Key: "mlflow.user", Value: "ada"}}})
		require.NoError(t, err)
		var ps []entities.Param
		for k, v := range params {
			ps = append(ps, entities.Param{Key: k, Value: v})
		}
		require.NoError(t, s.LogBatch(ctx, r.Info.RunID, metrics, ps, nil))
		tr.run[name] = r.Info.RunID
		return r.Info.RunID
	}
	tenth := 0.1 // a variable: the constant 0.1+0.2 is exactly 0.3
	var base []entities.Metric
	for i := range 10 {
		ts := ms + int64(i)*1500
		base = append(base,
			entities.Metric{Key: "loss", Value: 2 * math.Exp(-float64(i)/3), Timestamp: ts, Step: int64(i)},
			entities.Metric{Key: "val/loss", Value: 2.2*math.Exp(-float64(i)/3.5) + 0.1, Timestamp: ts, Step: int64(i)},
			entities.Metric{Key: "lr", Value: 0.01, Timestamp: ts, Step: int64(i)})
	}
	base = append(base,
		entities.Metric{Key: "odd", Value: math.NaN(), Timestamp: ms, Step: -1},
		entities.Metric{Key: "odd", Value: math.Inf(1), Timestamp: ms + 1, Step: 0},
		entities.Metric{Key: "odd", Value: math.Inf(-1), Timestamp: ms + 2, Step: 1},
		entities.Metric{Key: "odd", Value: math.Copysign(0, -1), Timestamp: ms + 3, Step: 2},
		entities.Metric{Key: "odd", Value: tenth + 0.2, Timestamp: ms + 4, Step: 3},
		entities.Metric{Key: "odd", Value: 1e-7, Timestamp: ms + 5, Step: 1 << 53},
		entities.Metric{Key: "odd", Value: 1e22, Timestamp: ms + 6, Step: 12345678901},
		entities.Metric{Key: "eval/acc", Value: 0.75, Timestamp: ms + 7, Step: 9, DatasetName: "digits", DatasetDigest: "d41d8cd9"},
		entities.Metric{Key: "nan_only", Value: math.NaN(), Timestamp: ms + 8, Step: 0})
	newRun(tr.exp, "baseline", ms, map[string]string{"lr": "0.01", "model": "mlp"}, base)
	var tuned []entities.Metric
	for i := range 6 {
		tuned = append(tuned, entities.Metric{Key: "loss", Value: 1.5 * math.Exp(-float64(i)/2), Timestamp: ms + 60000 + int64(i)*1000, Step: int64(i) * 2})
	}
	newRun(tr.exp, "tuned", ms+60000, map[string]string{"lr": "0.003", "note": "a,b \"quoted\"\nsecond line"}, tuned)
	gone := newRun(tr.exp, "abandoned", ms+120000, nil, []entities.Metric{{Key: "loss", Value: 9, Timestamp: ms + 120000}})
	require.NoError(t, s.DeleteRun(ctx, gone))
	newRun("0", "default-run", ms+180000, nil, []entities.Metric{{Key: "loss", Value: 3, Timestamp: ms + 180000, Step: 0}})
	pairs := []string{tr.exp, "<exp:training>"}
	for name, id := range tr.run {
		pairs = append(pairs, id, "<run:"+name+">")
	}
	tr.ids = strings.NewReplacer(pairs...)
	return tr
}

func (tr *metricsTree) normalise(s string) string { return tr.ids.Replace(s) }

// cli runs the command line on the tree and returns its output.
func (tr *metricsTree) cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"--root", tr.root}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestMetricsHistory_Golden(t *testing.T) {
	tr := newMetricsTree(t)
	base := tr.run["baseline"]
	cases := []struct {
		golden string
		args   []string
	}{
		{"metrics_history_table.txt", []string{"metrics", "history", base, "val/loss"}},
		{"metrics_history.csv", []string{"metrics", "history", base, "val/loss", "--csv"}},
		{"metrics_history.json", []string{"metrics", "history", base, "val/loss", "--json"}},
		{"metrics_history_odd_table.txt", []string{"metrics", "history", base, "odd"}},
		{"metrics_history_odd.csv", []string{"metrics", "history", base, "odd", "--csv"}},
		{"metrics_history_odd.json", []string{"metrics", "history", base, "odd", "--json"}},
		{"metrics_history_dataset.json", []string{"metrics", "history", base, "eval/acc", "--json"}},
		{"metrics_history_lttb.csv", []string{"metrics", "history", base, "loss", "--max-points", "4", "--csv"}},
		{"metrics_history_minmax_table.txt", []string{"metrics", "history", "--max-points", "4", "--method", "minmax", base, "loss"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			out, errOut, code := tr.cli(t, c.args...)
			require.Equal(t, 0, code, errOut)
			require.Empty(t, errOut)
			checkGolden(t, c.golden, []byte(tr.normalise(out)))
		})
	}
}

// The streamed JSON is byte for byte what cliout.WriteJSON prints for the
// whole response, with the run id on every point as MLflow's server
// prints it; downsampled and streamed output agree too.
func TestMetricsHistory_JSONMatchesEncoder(t *testing.T) {
	tr := newMetricsTree(t)
	s, err := filestore.Open(tr.root, nil)
	require.NoError(t, err)
	base := tr.run["baseline"]
	for _, key := range []string{"loss", "odd", "eval/acc", "nan_only"} {
		t.Run(key, func(t *testing.T) {
			h, err := s.GetMetricHistory(context.Background(), base, key)
			require.NoError(t, err)
			resp := restjson.GetMetricHistoryResponse{Metrics: restjson.FromMetrics(h)}
			for i := range resp.Metrics {
				resp.Metrics[i].RunID = base
			}
			var want bytes.Buffer
			require.NoError(t, cliout.WriteJSON(&want, resp))
			for _, args := range [][]string{{"--json"}, {"--json", "--max-points", "1000"}} {
				out, errOut, code := tr.cli(t, append([]string{"metrics", "history", base, key}, args...)...)
				require.Equal(t, 0, code, errOut)
				require.Equal(t, want.String(), out)
			}
		})
	}
}

// A long history prints the same table whether streamed (two passes over
// the file) or downsampled with room for every point, and every row lines
// up under the header.
func TestMetricsHistory_LongTableAligned(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	r, err := s.CreateRun(ctx, filestore.CreateRunOptions{StartTime: 1})
	require.NoError(t, err)
	const n = 20000
	batch := make([]entities.Metric, 0, 1000)
	for i := range n {
		batch = append(batch, entities.Metric{Key: "x", Value: float64(i) / 7, Timestamp: int64(i), Step: int64(i * 3)})
		if len(batch) == cap(batch) {
			require.NoError(t, s.LogBatch(ctx, r.Info.RunID, batch, nil, nil))
			batch = batch[:0]
		}
	}
	var out, all, errOut bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"--root", root, "metrics", "history", r.Info.RunID, "x"}, &out, &errOut), errOut.String())
	require.Equal(t, 0, run(ctx, []string{"--root", root, "metrics", "history", r.Info.RunID, "x", "--max-points", "100000"}, &all, &errOut), errOut.String())
	require.Equal(t, all.String(), out.String())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, n+1)
	col := strings.Index(lines[0], "timestamp")
	for _, l := range []string{lines[1], lines[n/2], lines[n]} {
		require.Equal(t, "1970-01-01", l[col:col+10], l)
	}
	require.Equal(t, "59997  1970-01-01 00:00:19.999  2857.0", lines[n])
}

func TestMetricsHistory_Errors(t *testing.T) {
	tr := newMetricsTree(t)
	base := tr.run["baseline"]
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing key", []string{base, "nope"}, 1, `has no values of metric "nope"; its metrics: eval/acc, loss, lr, nan_only, odd, val/loss`},
		{"missing key json", []string{base, "nope", "--json"}, 1, `has no values of metric "nope"`},
		{"unknown run", []string{"0123456789abcdef0123456789abcdef", "loss"}, 1, "RESOURCE_DOES_NOT_EXIST"},
		{"bad run id", []string{"../x", "loss"}, 1, "INVALID_PARAMETER_VALUE"},
		{"bad method", []string{base, "loss", "--max-points", "3", "--method", "mean"}, 2, "--method must be lttb or minmax"},
		{"negative max points", []string{base, "loss", "--max-points", "-1"}, 2, "--max-points must be"},
		{"one argument", []string{base}, 2, "want 2 argument(s), got 1"},
		{"json and csv", []string{base, "loss", "--json", "--csv"}, 2, "cannot be used together"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := tr.cli(t, append([]string{"metrics", "history"}, c.args...)...)
			require.Equal(t, c.code, code, errOut)
			require.Contains(t, errOut, c.msg)
			require.Empty(t, out, "nothing on stdout when it fails")
			if c.code == 1 {
				require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
			}
		})
	}
}

func TestMetrics_Subcommands(t *testing.T) {
	tr := newMetricsTree(t)
	out, _, code := tr.cli(t, "metrics", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "history")
	require.Contains(t, out, "plot")
	_, errOut, code := tr.cli(t, "metrics")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "want a subcommand")
	_, errOut, code = tr.cli(t, "metrics", "show")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown subcommand "show"`)
	out, _, code = tr.cli(t, "metrics", "history", "-h")
	require.Equal(t, 0, code)
	require.Contains(t, out, "--max-points")
}
