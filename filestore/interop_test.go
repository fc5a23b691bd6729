package filestore_test

import (
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pyenv"
)

// writeRichTree logs, through the Go store, a tree that uses every feature
// of the store: experiments renamed, deleted, restored and with tags; nested
// runs in every status; deleted and restored runs; metrics with odd keys,
// values and steps; params and tags with newlines, unicode and emoji;
// datasets and model inputs and outputs.
func writeRichTree(t testing.TB, root string) *filestore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	must := func(err error) { t.Helper(); require.NoError(t, err) }

	expA, err := s.CreateExperiment(ctx, "image classification", "", []entities.ExperimentTag{
		{Key: "team", Value: "vision"}, {Key: "a/b", Value: "nested key"}, {Key: "mlflow.note.content", Value: "multi\nline note"},
	})
	must(err)
	expB, err := s.CreateExperiment(ctx, "yes", "", nil) // YAML-quoted name
	must(err)
	expC, err := s.CreateExperiment(ctx, "to be deleted ü 名前", "", []entities.ExperimentTag{{Key: "k", Value: "v"}})
	must(err)
	expD, err := s.CreateExperiment(ctx, "deleted then restored", filepath.Join(root, "custom-artifacts"), nil)
	must(err)
	must(s.RenameExperiment(ctx, expB, "123"))

	mk := func(exp, name string, tags ...entities.RunTag) string {
		r, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, UserID: "alice", StartTime: 1700000000000, RunName: name, Tags: tags})
		require.NoError(t, err)
		return r.Info.RunID
	}
	parent := mk(expA, "parent")
	child := mk(expA, "child", entities.RunTag{Key: entities.TagParentRunID, Value: parent})
	anon := mk(expA, "")
	failed := mk(expB, "failed-run")
	gone := mk(expC, "in deleted experiment")
	restored := mk(expD, "restored")
	deleted := mk(expA, "deleted run")

	odd := []float64{0.1, 1e-7, 1e20, 1e15, 1e16, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 5e-324, 1e6, 123456789012345678, 0.1 + 0.2}
	var ms []entities.Metric
	for i, v := range odd {
		ms = append(ms, entities.Metric{Key: "odd values", Value: v, Timestamp: 1700000000000 + int64(i), Step: int64(i*7 - 20)})
	}
	must(s.LogBatch(ctx, parent, ms, []entities.Param{
		{Key: "lr", Value: "0.001"}, {Key: "nested/param", Value: "multi\nline\n"},
		{Key: "unicode ключ", Value: "名前 😀 emoji"}, {Key: "quotes", Value: `it's "quoted"`},
	}, []entities.RunTag{{Key: "note", Value: "tab\there"}, {Key: "a:b/c.d-e f", Value: ""}}))
	for step := int64(0); step < 50; step++ {
		must(s.LogMetric(ctx, parent, entities.Metric{Key: "train/loss", Value: 1 / float64(step+1), Timestamp: 1700000001000 + step, Step: step}))
	}
	must(s.LogMetric(ctx, parent, entities.Metric{Key: "tie", Value: 5, Timestamp: 10, Step: 1}))
	must(s.LogMetric(ctx, parent, entities.Metric{Key: "tie", Value: math.NaN(), Timestamp: 10, Step: 1}))
	must(s.LogMetric(ctx, parent, entities.Metric{Key: "tie", Value: 4, Timestamp: 10, Step: 1}))
	must(s.LogMetric(ctx, child, entities.Metric{Key: "acc", Value: 0.5, Timestamp: 2000, Step: 3, DatasetName: "iris", DatasetDigest: "abc123"}))
	must(s.LogMetric(ctx, child, entities.Metric{Key: "neg", Value: -1, Timestamp: 0, Step: math.MinInt64}))
	must(s.LogMetric(ctx, child, entities.Metric{Key: "neg", Value: 1, Timestamp: 1, Step: math.MaxInt64}))
	must(s.SetTag(ctx, child, "mlflow.runName", "child renamed"))
	must(s.SetTag(ctx, anon, "to-delete", "x"))
	must(s.DeleteTag(ctx, anon, "to-delete"))
	must(s.LogInputs(ctx, parent, []entities.DatasetInput{
		{Dataset: entities.Dataset{Name: "iris", Digest: "abc123", SourceType: "local", Source: `{"uri": "iris.csv"}`},
			Tags: []entities.InputTag{{Key: entities.TagDatasetContext, Value: "train"}}},
		{Dataset: entities.Dataset{Name: "iris", Digest: "def456", SourceType: "http", Source: "{}", Schema: ptr(`{"mlflow_colspec": []}`), Profile: ptr(`{"num_rows": 150}`)}},
	}, []entities.ModelInput{{ModelID: "m-e5641962c7e5467e9a1a0c715a129ecd"}}))
	must(s.LogOutputs(ctx, parent, []entities.ModelOutput{{ModelID: "m-0123456789abcdef0123456789abcdef", Step: 7}}))

	end := int64(1700000009000)
	_, err = s.UpdateRunInfo(ctx, parent, entities.StatusFinished, &end, "")
	must(err)
	_, err = s.UpdateRunInfo(ctx, failed, entities.StatusFailed, &end, "")
	must(err)
	_, err = s.UpdateRunInfo(ctx, child, entities.StatusKilled, nil, "")
	must(err)
	must(s.LogParam(ctx, gone, "p", "v"))
	must(s.DeleteRun(ctx, deleted))
	must(s.DeleteRun(ctx, restored))
	must(s.DeleteExperiment(ctx, expC))
	must(s.DeleteExperiment(ctx, expD))
	must(s.RestoreExperiment(ctx, expD))
	return s
}

func ptr(s string) *string { return &s }

// TestInterop_PythonReadsGoTree: Python MLflow 3.18's MlflowClient reads a
// Go-written tree to exactly the values the Go store reads.
func TestInterop_PythonReadsGoTree(t *testing.T) {
	interoptest.Python(t)
	root := filepath.Join(t.TempDir(), "mlruns")
	s := writeRichTree(t, root)
	want := dumpStore(t, s, true)
	got := pythonDump(t, filestore.FileURI(root))
	require.Equal(t, want, got)
	// sanity: the dump is not trivially empty
	require.Len(t, got["runs"], 7)
	require.Len(t, got["experiments"], 5)
}

func pythonDump(t *testing.T, uri string) map[string]any {
	t.Helper()
	out := interoptest.Run(t, filepath.Join("testdata", "dump_client.py"), nil, uri)
	var got map[string]any
	require.NoError(t, json.Unmarshal(out, &got))
	return got
}

// TestInterop_MigrateFilestore: `mlflow migrate-filestore` converts a
// Go-written tree to SQLite without error, and MlflowClient reads the same
// values back from the database.
func TestInterop_MigrateFilestore(t *testing.T) {
	py := interoptest.Python(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "mlruns")
	s := writeRichTree(t, root)
	want := dumpStore(t, s, false)
	db := "sqlite:///" + filepath.Join(dir, "mlflow.db")
	cmd := exec.Command(filepath.Join(filepath.Dir(py), "mlflow"), "migrate-filestore", "--source", root, "--target", db)
	cmd.Env = pyenv.Env()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "migrate-filestore: %s", out)
	require.NotContains(t, strings.ToLower(string(out)), "error")
	got := pythonDump(t, db)
	require.Equal(t, sqlView(want), sqlView(got))
}

// sqlView keeps what the SQL store preserves of a file store dump. The
// migrator itself changes some values, none of which is ours to fix:
// SQLite stores -0.0 as 0.0 and clamps ±inf to ±max float, orders tied
// history rows by value, keeps model inputs only for models that exist,
// and keeps a metric's dataset only as a run input. So metric values and
// histories are compared by keys and lengths; everything else fully.
func sqlView(dump map[string]any) map[string]any {
	out := map[string]any{"experiments": dump["experiments"]}
	var runs []any
	for _, r := range dump["runs"].([]any) {
		run := map[string]any{}
		for k, v := range r.(map[string]any) {
			run[k] = v
		}
		lens := map[string]int{}
		for k, h := range run["history"].(map[string]any) {
			lens[k] = len(h.([]any))
		}
		run["history"] = lens
		keys := []string{}
		for k := range run["metrics"].(map[string]any) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		run["metrics"] = keys
		delete(run, "model_inputs")
		runs = append(runs, run)
	}
	out["runs"] = runs
	return out
}
