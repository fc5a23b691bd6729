package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/testkit"
)

// exportListing is every file of an export folder with its contents,
// paths passed through name (which replaces random ids) and sorted: what
// the golden files hold.
func exportListing(t *testing.T, dir string, name func(string) string) string {
	t.Helper()
	type file struct{ rel, data string }
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files = append(files, file{name(filepath.ToSlash(rel)), name(string(data))})
		return err
	})
	require.NoError(t, err)
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.rel, b.rel) })
	var b strings.Builder
	for _, f := range files {
		b.WriteString("=== " + f.rel + "\n" + f.data)
	}
	return b.String()
}

func same(s string) string { return s }

func TestExport_Golden(t *testing.T) {
	tr := newMetricsTree(t)
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "export")
			stdout, stderr, code := tr.cli(t, "export", "--out", out, "--format", format)
			require.Equal(t, 0, code, stderr)
			require.Empty(t, stderr, "no progress bar in a pipe")
			require.Equal(t, "Exported 3 run(s) of 2 experiment(s), 8 metric histories (46 points) to "+out+"\n", stdout)
			checkGolden(t, "export_"+format+".txt", []byte(exportListing(t, out, tr.normalise)))
		})
	}
}

// storeRuns is every run of the view in the store, by id.
func storeRuns(t *testing.T, s *filestore.Store, v entities.ViewType) map[string]entities.Run {
	t.Helper()
	ctx := context.Background()
	exps, _, err := s.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	out := map[string]entities.Run{}
	for _, x := range exps {
		runs, skipped, err := s.ListRuns(ctx, x.ExperimentID, v)
		require.NoError(t, err)
		require.Empty(t, skipped)
		for _, r := range runs {
			out[r.Info.RunID] = r
		}
	}
	return out
}

// sameFloat compares floats bit for bit, any NaN equal to any NaN.
func readCSV(t *testing.T, p string) []map[string]string {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	var out []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		out = append(out, row)
	}
	return out
}

func parseCSVTime(t *testing.T, s string) int64 {
	t.Helper()
	if s == "" {
		return 0
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm.UnixMilli()
}

// restValue reads a protobuf-JSON double: a number, or "NaN",
// "Infinity", "-Infinity".
func restValue(t *testing.T, raw json.RawMessage) float64 {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "NaN":
			return math.NaN()
		case "Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
		t.Fatalf("unexpected string value %q", s)
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	require.NoError(t, err)
	return v
}

type restPoint struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Timestamp int64           `json:"timestamp"`
	Step      int64           `json:"step"`
	RunID     string          `json:"run_id"`
}

type restKV struct{ Key, Value string }

type restRun struct {
	Info struct {
		RunID          string `json:"run_id"`
		ExperimentID   string `json:"experiment_id"`
		RunName        string `json:"run_name"`
		Status         string `json:"status"`
		StartTime      int64  `json:"start_time"`
		EndTime        *int64 `json:"end_time"`
		ArtifactURI    string `json:"artifact_uri"`
		LifecycleStage string `json:"lifecycle_stage"`
	} `json:"info"`
	Data struct {
		Metrics []restPoint `json:"metrics"`
		Params  []restKV    `json:"params"`
		Tags    []restKV    `json:"tags"`
	} `json:"data"`
}

// exportedRun is what an export says about a run, from either format.
type exportedRun struct {
	info    entities.RunInfo
	metrics map[string]float64
	params  map[string]string
	tags    map[string]string
}

func readExportedRuns(t *testing.T, dir, format string) map[string]exportedRun {
	t.Helper()
	out := map[string]exportedRun{}
	if format == "csv" {
		for _, row := range readCSV(t, filepath.Join(dir, "runs.csv")) {
			r := exportedRun{metrics: map[string]float64{}, params: map[string]string{}, tags: map[string]string{}}
			r.info.RunID, r.info.ExperimentID, r.info.RunName = row["run_id"], row["experiment_id"], row["run_name"]
			r.info.Status, _ = entities.ParseRunStatus(row["status"])
			r.info.StartTime = parseCSVTime(t, row["start_time"])
			if row["end_time"] != "" {
				end := parseCSVTime(t, row["end_time"])
				r.info.EndTime = &end
			}
			r.info.ArtifactURI, r.info.LifecycleStage = row["artifact_uri"], entities.LifecycleStage(row["lifecycle_stage"])
			for col, cell := range row {
				if cell == "" {
					continue // a run without that key
				}
				switch kind, key, _ := strings.Cut(col, "."); kind {
				case "metrics":
					v, err := strconv.ParseFloat(cell, 64) // Python's repr: nan, inf, -inf parse too
					require.NoError(t, err)
					r.metrics[key] = v
				case "params":
					r.params[key] = cell
				case "tags":
					r.tags[key] = cell
				}
			}
			out[r.info.RunID] = r
		}
		return out
	}
	data, err := os.ReadFile(filepath.Join(dir, "runs.json"))
	require.NoError(t, err)
	var resp struct{ Runs []restRun }
	require.NoError(t, json.Unmarshal(data, &resp))
	for _, rr := range resp.Runs {
		r := exportedRun{metrics: map[string]float64{}, params: map[string]string{}, tags: map[string]string{}}
		i := rr.Info
		r.info = entities.RunInfo{RunID: i.RunID, ExperimentID: i.ExperimentID, RunName: i.RunName,
			StartTime: i.StartTime, EndTime: i.EndTime, ArtifactURI: i.ArtifactURI, LifecycleStage: entities.LifecycleStage(i.LifecycleStage)}
		r.info.Status, _ = entities.ParseRunStatus(i.Status)
		for _, m := range rr.Data.Metrics {
			r.metrics[m.Key] = restValue(t, m.Value)
		}
		for _, p := range rr.Data.Params {
			r.params[p.Key] = p.Value
		}
		for _, tg := range rr.Data.Tags {
			r.tags[tg.Key] = tg.Value
		}
		out[r.info.RunID] = r
	}
	return out
}

// readExportedHistory reads metrics/<run>/<key>.csv or .json back.
func readExportedHistory(t *testing.T, dir, format, runID, key string) []entities.Metric {
	t.Helper()
	p := filepath.Join(dir, "metrics", runID, filepath.FromSlash(key)+"."+format)
	var out []entities.Metric
	if format == "csv" {
		for _, row := range readCSV(t, p) {
			step, err := strconv.ParseInt(row["step"], 10, 64)
			require.NoError(t, err)
			ts, err := strconv.ParseInt(row["timestamp"], 10, 64)
			require.NoError(t, err)
			v, err := strconv.ParseFloat(row["value"], 64)
			require.NoError(t, err)
			out = append(out, entities.Metric{Key: key, Value: v, Timestamp: ts, Step: step})
		}
		return out
	}
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	var resp struct{ Metrics []restPoint }
	require.NoError(t, json.Unmarshal(data, &resp))
	for _, m := range resp.Metrics {
		require.Equal(t, runID, m.RunID)
		out = append(out, entities.Metric{Key: m.Key, Value: restValue(t, m.Value), Timestamp: m.Timestamp, Step: m.Step})
	}
	return out
}

// The export reads back to exactly what the store holds: every run of the
// view with its info, latest metrics (NaN and ±inf included), params and
// tags, and every point of every history.
func TestExport_RoundTrip(t *testing.T) {
	tr := newMetricsTree(t)
	s, err := filestore.Open(tr.root, nil)
	require.NoError(t, err)
	ctx := context.Background()
	for _, format := range []string{"csv", "json"} {
		for _, view := range []entities.ViewType{entities.ViewActiveOnly, entities.ViewAll} {
			t.Run(format+"/"+view.String(), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "export")
				viewFlag := map[entities.ViewType]string{entities.ViewActiveOnly: "active", entities.ViewAll: "all"}[view]
				_, stderr, code := tr.cli(t, "export", "--out", out, "--format", format, "--view", viewFlag)
				require.Equal(t, 0, code, stderr)
				want := storeRuns(t, s, view)
				got := readExportedRuns(t, out, format)
				require.Len(t, got, len(want))
				points := 0
				for id, w := range want {
					g, ok := got[id]
					require.True(t, ok, "run %s exported", id)
					w.Info.UserID, w.Info.DeletedTime = "", nil // not columns of search_runs
					require.Equal(t, w.Info, g.info)
					require.Len(t, g.metrics, len(w.Data.Metrics))
					for k, m := range w.Data.Metrics {
						testkit.SameFloat(t, m.Value, g.metrics[k], id+" "+k)
					}
					require.Equal(t, w.Data.Params, g.params)
					require.Equal(t, w.Data.Tags, g.tags)
					for k := range w.Data.Metrics {
						hist, err := s.GetMetricHistory(ctx, id, k)
						require.NoError(t, err)
						back := readExportedHistory(t, out, format, id, k)
						require.Len(t, back, len(hist), k)
						for i := range hist {
							require.Equal(t, hist[i].Step, back[i].Step)
							require.Equal(t, hist[i].Timestamp, back[i].Timestamp)
							testkit.SameFloat(t, hist[i].Value, back[i].Value, k)
							points++
						}
					}
				}
				require.Positive(t, points)
			})
		}
	}
}

func TestExport_Selection(t *testing.T) {
	tr := newMetricsTree(t)
	cases := []struct {
		name string
		args []string
		runs []string
	}{
		{"all active", nil, []string{"baseline", "default-run", "tuned"}},
		{"deleted", []string{"--view", "deleted"}, []string{"abandoned"}},
		{"all", []string{"--view", "all"}, []string{"abandoned", "baseline", "default-run", "tuned"}},
		{"by id", []string{"--experiment-id", "0"}, []string{"default-run"}},
		{"by name", []string{"--experiment-name", "training"}, []string{"baseline", "tuned"}},
		{"both", []string{"--experiment-name", "training", "--experiment-id", "0", "--view", "all"}, []string{"abandoned", "baseline", "default-run", "tuned"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x")
			_, stderr, code := tr.cli(t, append([]string{"export", "--out", out}, c.args...)...)
			require.Equal(t, 0, code, stderr)
			var names []string
			for _, row := range readCSV(t, filepath.Join(out, "runs.csv")) {
				names = append(names, row["run_name"])
				_, err := os.Stat(filepath.Join(out, "metrics", row["run_id"], "loss.csv"))
				require.NoError(t, err, "history of %s", row["run_name"])
			}
			slices.Sort(names)
			require.Equal(t, c.runs, names)
			entries, err := os.ReadDir(filepath.Join(out, "metrics"))
			require.NoError(t, err)
			require.Len(t, entries, len(c.runs), "histories of the exported runs only")
		})
	}
}

func TestExport_Errors(t *testing.T) {
	tr := newMetricsTree(t)
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	require.NoError(t, os.MkdirAll(full, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644))
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"not empty", []string{"--out", full}, 1, "is not empty; export to an empty or new folder, or add --force"},
		{"inside the store", []string{"--out", filepath.Join(tr.root, "export")}, 1, "is inside the store"},
		{"the store itself", []string{"--out", tr.root, "--force"}, 1, "is inside the store"},
		{"out is a file", []string{"--out", file}, 1, "create the export folder"},
		{"unknown experiment", []string{"--out", filepath.Join(dir, "a"), "--experiment-id", "42"}, 1, "RESOURCE_DOES_NOT_EXIST"},
		{"no out", nil, 2, "--out DIR is required"},
		{"bad format", []string{"--out", filepath.Join(dir, "b"), "--format", "xml"}, 2, "--format must be csv or json"},
		{"bad view", []string{"--out", filepath.Join(dir, "c"), "--view", "some"}, 2, "--view must be"},
		{"positional", []string{"--out", filepath.Join(dir, "d"), "extra"}, 2, "want 0 argument(s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := tr.cli(t, append([]string{"export"}, c.args...)...)
			require.Equal(t, c.code, code, stderr)
			require.Contains(t, stderr, c.msg)
			require.Empty(t, stdout)
			if code == 1 {
				require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			}
		})
	}
	data, err := os.ReadFile(filepath.Join(full, "notes.txt"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(data), "a refused folder is left alone")
	_, err = os.Stat(filepath.Join(tr.root, "export"))
	require.ErrorIs(t, err, fs.ErrNotExist, "nothing made inside the store")
	checkStore(t, tr.root)
}

// --force writes into a used folder, replacing the export's own files and
// keeping the rest; a symlink in it that leads outside is not followed.
func TestExport_Force(t *testing.T) {
	tr := newMetricsTree(t)
	out := filepath.Join(t.TempDir(), "export")
	_, stderr, code := tr.cli(t, "export", "--out", out)
	require.Equal(t, 0, code, stderr)
	first := exportListing(t, out, same)
	require.NoError(t, os.WriteFile(filepath.Join(out, "runs.csv"), []byte("stale"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(out, "README"), []byte("mine"), 0o644))
	_, stderr, code = tr.cli(t, "export", "--out", out, "--force")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "=== README\nmine"+first, exportListing(t, out, same))

	outside := t.TempDir()
	linked := filepath.Join(t.TempDir(), "linked")
	require.NoError(t, os.MkdirAll(linked, 0o755))
	testkit.Symlink(t, outside, filepath.Join(linked, "metrics"))
	_, stderr, code = tr.cli(t, "export", "--out", linked, "--force")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "export metrics/")
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing written through the symlink")
}

// A broken run is left out with a warning, and the export still succeeds.
func TestExport_BrokenRunWarns(t *testing.T) {
	tr := newMetricsTree(t)
	meta := filepath.Join(tr.root, tr.exp, tr.run["tuned"], "meta.yaml")
	require.NoError(t, os.WriteFile(meta, []byte("{not: [yaml"), 0o644))
	out := filepath.Join(t.TempDir(), "export")
	stdout, stderr, code := tr.cli(t, "export", "--out", out)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "Exported 2 run(s)")
	require.Contains(t, stderr, "mlruns: warning: skipping broken entity")
	require.Contains(t, stderr, "1 warning(s) above: what they name is not in the export; run 'mlruns fsck'")
}

// Python reads the CSV export back to what MLflow itself reads from the
// store: runs.csv has mlflow.search_runs' columns (plus run_name and
// lifecycle_stage) with equal values, and every history file equals
// MlflowClient.get_metric_history, NaN and infinities included.
func TestExport_PythonReadsCSV(t *testing.T) {
	interoptest.Python(t)
	t.Parallel() // mostly waiting for Python to import mlflow
	tr := newMetricsTree(t)
	out := filepath.Join(t.TempDir(), "export")
	_, stderr, code := tr.cli(t, "export", "--out", out, "--view", "all")
	require.Equal(t, 0, code, stderr)
	got := interoptest.RunCode(t, `
import math, os, sys
import mlflow, pandas as pd
from mlflow.entities import ViewType
root, out = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri("file://" + root)
df = mlflow.search_runs(search_all_experiments=True, run_view_type=ViewType.ALL)
ex = pd.read_csv(os.path.join(out, "runs.csv"), dtype=str, keep_default_na=False)
assert set(ex.columns) - set(df.columns) == {"run_name", "lifecycle_stage"}, set(ex.columns) ^ set(df.columns)
assert sorted(df.run_id) == sorted(ex.run_id)
ex = ex.set_index("run_id")
def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b
bad = []
for _, r in df.iterrows():
    e = ex.loc[r.run_id]
    for col in df.columns.drop("run_id"):
        want, got = r[col], e[col]
        if col.startswith("metrics."):
            ok = (got == "" and math.isnan(want)) if got == "" else same(want, float(got))
        elif col in ("start_time", "end_time"):
            ok = (pd.isna(want) and got == "") or want == pd.to_datetime(got, utc=True)
        else:
            ok = (pd.isna(want) and got == "") or str(want) == got
        if not ok:
            bad.append((r.run_id, col, want, got))
c = mlflow.MlflowClient()
points = 0
for _, r in df.iterrows():
    for col in df.columns:
        if not col.startswith("metrics.") or pd.isna(r[col]) and ex.loc[r.run_id][col] == "":
            continue
        key = col[len("metrics."):]
        h = c.get_metric_history(r.run_id, key)
        f = pd.read_csv(os.path.join(out, "metrics", r.run_id, key + ".csv"))
        if len(h) != len(f):
            bad.append((r.run_id, key, len(h), len(f)))
            continue
        for m, (_, row) in zip(h, f.iterrows()):
            points += 1
            # Python's FileStore reads a dataset-tagged point's step as 0; we
            # keep the step written (README: deliberate differences).
            step_ok = m.step == row.step or m.dataset_name is not None
            if not step_ok or m.timestamp != row.timestamp or not same(m.value, float(row.value)):
                bad.append((r.run_id, key, m, tuple(row)))
print(len(df), points, bad)
`, nil, tr.root, out)
	require.Equal(t, "4 47 []\n", string(got))
}
