package mlflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/mlflow"
	"github.com/mlruns-go/mlruns/tracking"
)

// The parity scenarios of issue 15: each makes the same calls as its twin
// in testdata/parity.py (Python MLflow 3.18's mlflow module and
// MlflowClient), into its own store; the test then has Python read both
// stores back (testdata/parity_dump.py) and compares the dumps. A scenario
// returns nothing: what Python saw (error messages, lines it wrote) comes
// to it as py, the scenario's entry in the script's output.
type parityScenario struct {
	name string
	// tree: compare the Go and Python stores read back by Python.
	tree bool
	// files: also compare the runs' metric files byte for byte (every
	// timestamp of the scenario is given, none is "now").
	files  bool
	goSide func(t *testing.T, ctx context.Context, py json.RawMessage)
}

// parityEnv are the variables a scenario starts without, as parity.py's
// reset does.
var parityEnv = []string{mlflow.EnvTrackingURI, "MLFLOW_EXPERIMENT_NAME", mlflow.EnvExperimentID,
	mlflow.EnvEnableAsyncLogging, "MLFLOW_RUN_ID"}

const missingRun = "0123456789abcdef0123456789abcdef"

// parityAsyncValues are the MLFLOW_ENABLE_ASYNC_LOGGING values of item 8,
// by the scenario suffix parity.py gives them.
var parityAsyncValues = map[string]string{"true": "true", "TRUE": "TRUE", "1": "1", "false": "false",
	"0": "0", "yes": "yes", "empty": "", "space_true": " true"}

func parityScenarios() []parityScenario {
	sc := []parityScenario{
		{"timestamp_zero", true, false, goTimestampZero},
		{"batches", true, true, goBatches},
		{"metric_inputs", true, true, goMetricInputs},
		{"bad_datasets", false, false, goBadDatasets},
		{"end_running", true, false, goEndRunning},
		{"nested_end", false, false, goNestedEnd},
		{"str_params", true, false, goStrParams},
		{"errors", false, false, goErrors},
	}
	for _, suffix := range []string{"true", "TRUE", "1", "false", "0", "yes", "empty", "space_true"} {
		sc = append(sc, parityScenario{"async_" + suffix, true, false, goAsyncEnv(parityAsyncValues[suffix])})
	}
	return sc
}

// TestMlflow_Issue15_SameAsPython runs every parity scenario in Go and in
// Python MLflow 3.18 and compares the two stores as Python reads them:
// params, tags, statuses, end times, metric histories in line order with
// their timestamps (a time in the test's window reads "<now>", any other
// is kept: timestamp 0 must stay 0), run inputs and logged models.
func TestMlflow_Issue15_SameAsPython(t *testing.T) {
	interoptest.Python(t)
	since := time.Now().UnixMilli()
	base := t.TempDir()
	scenarios := parityScenarios()
	args := []string{filepath.Join("testdata", "parity.py"), base}
	for _, sc := range scenarios {
		args = append(args, sc.name)
	}
	var pyResults map[string]json.RawMessage
	out := interoptest.Run(t, args[0], nil, args[1:]...)
	require.NoError(t, json.Unmarshal(out, &pyResults), "%s", out)

	ctx := context.Background()
	var roots []string
	for _, sc := range scenarios {
		root := filepath.Join(base, "go-"+sc.name, "mlruns")
		t.Run("go/"+sc.name, func(t *testing.T) {
			for _, name := range parityEnv {
				t.Setenv(name, "")
				require.NoError(t, os.Unsetenv(name))
			}
			mlflow.ResetForTest()
			defer mlflow.ResetForTest()
			mlflow.SetTrackingURI(root)
			sc.goSide(t, ctx, pyResults[sc.name])
		})
		pyRoot := filepath.Join(base, "py-"+sc.name, "mlruns")
		if sc.tree {
			roots = append(roots, root, pyRoot)
		}
		if sc.files {
			t.Run("files/"+sc.name, func(t *testing.T) {
				want := metricFiles(t, pyRoot)
				require.NotEmpty(t, want)
				got := metricFiles(t, root)
				require.Equal(t, len(want), len(got))
				for k, w := range want {
					require.Equal(t, w, got[k], "metric file %s", k)
				}
			})
		}
	}
	var dumps map[string]json.RawMessage
	dumpArgs := append([]string{strconv.FormatInt(since, 10)}, roots...)
	dumped := interoptest.Run(t, filepath.Join("testdata", "parity_dump.py"), nil, dumpArgs...)
	require.NoError(t, json.Unmarshal(dumped, &dumps))
	for i := 0; i < len(roots); i += 2 {
		goRoot, pyRoot := roots[i], roots[i+1]
		name := strings.TrimPrefix(filepath.Base(filepath.Dir(goRoot)), "go-")
		t.Run("tree/"+name, func(t *testing.T) {
			require.NotEmpty(t, dumps[pyRoot])
			require.JSONEq(t, string(dumps[pyRoot]), string(dumps[goRoot]))
			checkParityDump(t, name, dumps[pyRoot])
		})
	}
}

// metricFiles reads the metric files of the Default experiment's runs, by
// "<run name>/<key>": the lines in the order they were written, which
// Python's history read hides in part (it reads step 0 for a line with a
// dataset).
func metricFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	runs, err := os.ReadDir(filepath.Join(root, "0"))
	require.NoError(t, err)
	for _, r := range runs {
		dir := filepath.Join(root, "0", r.Name())
		name, err := os.ReadFile(filepath.Join(dir, "tags", "mlflow.runName"))
		if err != nil {
			continue // meta.yaml, or a folder that is no run
		}
		files, err := os.ReadDir(filepath.Join(dir, "metrics"))
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, "metrics", f.Name()))
			require.NoError(t, err)
			out[string(name)+"/"+f.Name()] = string(b)
		}
	}
	return out
}

// checkParityDump checks in Python's own dump what the scenario is about,
// so that the comparison cannot pass on two trees that both miss the point.
func checkParityDump(t *testing.T, name string, raw json.RawMessage) {
	var d struct {
		Runs []struct {
			Name          string
			Status        string
			End           any
			Params        map[string]string
			Tags          map[string]string
			History       map[string][][]any
			DatasetInputs [][]any  `json:"dataset_inputs"`
			ModelInputs   []string `json:"model_inputs"`
		}
		Models []struct {
			Name    string
			Metrics [][]any
		}
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	runs := map[string]int{}
	for i, r := range d.Runs {
		runs[r.Name] = i
	}
	run := func(n string) int {
		i, ok := runs[n]
		require.True(t, ok, "run %q in %s", n, name)
		return i
	}
	switch name {
	case "timestamp_zero":
		for _, n := range []string{"fluent", "client"} {
			r := d.Runs[run(n)]
			require.Equal(t, 0.0, r.History["m"][0][2], "%s: timestamp 0 is kept", n)
			require.Equal(t, "<now>", r.History["plain"][0][2], "%s: no timestamp is now", n)
		}
	case "batches":
		f, c := d.Runs[run("fluent")], d.Runs[run("client")]
		require.Len(t, f.History, 2500+1001)
		require.Len(t, f.Params, 250)
		require.Equal(t, "v149", f.Tags["t149"])
		require.Len(t, c.History["c3"], 150)
		require.Len(t, c.Params, 150)
	case "metric_inputs":
		f := d.Runs[run("fluent")]
		require.Len(t, f.DatasetInputs, 2, "train and eval, each once")
		require.Equal(t, []string{"model"}, f.ModelInputs)
		require.Len(t, d.Models, 1)
	case "end_running":
		for _, n := range []string{"a", "c"} {
			r := d.Runs[run(n)]
			require.Equal(t, "RUNNING", r.Status, n)
			require.Equal(t, "<now>", r.End, "%s: RUNNING with an end time", n)
		}
	case "str_params":
		require.Equal(t, "[64, 32]", d.Runs[run("str")].Params["list_int"])
	}
}

// requireErrorText requires err's text to be want, with the run id runID
// written as parity.py writes it, "<deleted>".
func requireErrorText(t *testing.T, err error, runID, want, what string) {
	t.Helper()
	require.Error(t, err, what)
	require.Equal(t, want, strings.ReplaceAll(err.Error(), runID, "<deleted>"), what)
}

func parityClient(t *testing.T) *tracking.Client {
	c, err := mlflow.Client()
	require.NoError(t, err)
	return c
}

// Item 1: timestamp 0 is the epoch in the fluent and the client calls.
func goTimestampZero(t *testing.T, ctx context.Context, _ json.RawMessage) {
	_, err := mlflow.StartRun(ctx, mlflow.RunName("fluent"))
	require.NoError(t, err)
	require.NoError(t, mlflow.LogMetric(ctx, "m", 1, mlflow.Timestamp(0)))
	require.NoError(t, mlflow.LogMetrics(ctx, map[string]float64{"a": 1, "b": 2}, mlflow.Step(2), mlflow.Timestamp(0)))
	require.NoError(t, mlflow.LogMetric(ctx, "plain", 3))
	require.NoError(t, mlflow.EndRun(ctx))
	c := parityClient(t)
	r, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{RunName: "client"})
	require.NoError(t, err)
	id := r.Info.RunID
	require.NoError(t, c.LogMetric(ctx, id, "m", 1, tracking.WithTimestamp(0)))
	require.NoError(t, c.LogBatch(ctx, id, []entities.Metric{
		{Key: "b", Value: 2, Timestamp: 0, Step: 0}, {Key: "b", Value: 3, Timestamp: 0, Step: 1},
	}, nil, nil))
	require.NoError(t, c.LogMetric(ctx, id, "plain", 4))
	require.NoError(t, c.SetTerminated(ctx, id, entities.StatusFinished))
}

// Item 2: batches over MLflow's per-request limits are split and succeed.
func goBatches(t *testing.T, ctx context.Context, _ json.RawMessage) {
	_, err := mlflow.StartRun(ctx, mlflow.RunName("fluent"))
	require.NoError(t, err)
	many := func(n int, key string, value func(i int) float64) map[string]float64 {
		m := make(map[string]float64, n)
		for i := range n {
			m[fmt.Sprintf(key, i)] = value(i)
		}
		return m
	}
	require.NoError(t, mlflow.LogMetrics(ctx, many(2500, "m%04d", func(i int) float64 { return float64(i) * 0.5 }),
		mlflow.Step(0), mlflow.Timestamp(1000)))
	require.NoError(t, mlflow.LogMetrics(ctx, many(1001, "k%04d", func(i int) float64 { return float64(i) }),
		mlflow.Step(1), mlflow.Timestamp(2000)))
	require.NoError(t, mlflow.LogMetrics(ctx, many(1001, "k%04d", func(i int) float64 { return -float64(i) }),
		mlflow.Step(0), mlflow.Timestamp(3000)))
	params := map[string]any{}
	for i := range 250 {
		params[fmt.Sprintf("p%03d", i)] = i
	}
	require.NoError(t, mlflow.LogParams(ctx, params))
	tags := map[string]any{}
	for i := range 150 {
		tags[fmt.Sprintf("t%03d", i)] = fmt.Sprintf("v%d", i)
	}
	require.NoError(t, mlflow.SetTags(ctx, tags))
	require.NoError(t, mlflow.EndRun(ctx))

	c := parityClient(t)
	r, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{RunName: "client"})
	require.NoError(t, err)
	var ms []entities.Metric
	for i := range 1500 {
		ms = append(ms, entities.Metric{Key: fmt.Sprintf("c%d", i%10), Value: float64(i) / 7,
			Timestamp: int64(i), Step: int64(i*37) % 150})
	}
	var ps []entities.Param
	for i := range 150 {
		ps = append(ps, entities.Param{Key: fmt.Sprintf("p%03d", i), Value: strconv.Itoa(i)})
	}
	var ts []entities.RunTag
	for i := range 120 {
		ts = append(ts, entities.RunTag{Key: fmt.Sprintf("t%03d", i), Value: fmt.Sprintf("v%d", i)})
	}
	require.NoError(t, c.LogBatch(ctx, r.Info.RunID, ms, ps, ts))
	require.NoError(t, c.SetTerminated(ctx, r.Info.RunID, entities.StatusFinished))
}

func strp(s string) *string { return &s }

var (
	parityTrain = entities.Dataset{Name: "train", Digest: "abc123", SourceType: "local",
		Source: `{"uri": "/data/train.csv"}`, Schema: strp(`{"mlflow_colspec": []}`), Profile: strp(`{"num_rows": 3}`)}
	parityEval = entities.Dataset{Name: "eval", Digest: "def456", SourceType: "http",
		Source: `{"url": "https://example.com/eval"}`}
)

// Item 3: metrics with a dataset and a model record them as run inputs,
// each once, in the fluent layer; the client's LogMetric only tags the
// line, as MlflowClient.log_metric does.
func goMetricInputs(t *testing.T, ctx context.Context, _ json.RawMessage) {
	c := parityClient(t)
	fs, ok := c.Store().(*filestore.Store)
	require.True(t, ok)
	model, err := fs.CreateLoggedModel(ctx, "0", filestore.CreateLoggedModelOptions{Name: "model"})
	require.NoError(t, err)
	mid := model.ModelID
	_, err = mlflow.StartRun(ctx, mlflow.RunName("fluent"))
	require.NoError(t, err)
	require.NoError(t, mlflow.LogMetric(ctx, "acc", 0.5, mlflow.Step(0), mlflow.Timestamp(10),
		mlflow.Dataset(parityTrain), mlflow.ModelID(mid)))
	require.NoError(t, mlflow.LogMetric(ctx, "acc", 0.6, mlflow.Step(1), mlflow.Timestamp(11), mlflow.Dataset(parityTrain)))
	require.NoError(t, mlflow.LogMetric(ctx, "loss", 0.1, mlflow.Timestamp(12), mlflow.ModelID(mid)))
	require.NoError(t, mlflow.LogMetrics(ctx, map[string]float64{"f1": 0.3, "f2": 0.4}, mlflow.Step(2),
		mlflow.Timestamp(13), mlflow.Dataset(parityEval)))
	require.NoError(t, mlflow.LogMetrics(ctx, map[string]float64{"f1": 0.35}, mlflow.Step(3),
		mlflow.Timestamp(14), mlflow.Dataset(parityEval)))
	require.NoError(t, mlflow.EndRun(ctx))
	r, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{RunName: "client"})
	require.NoError(t, err)
	require.NoError(t, c.LogMetric(ctx, r.Info.RunID, "acc", 0.7, tracking.WithTimestamp(20), tracking.WithStep(0),
		tracking.WithModelID(mid), tracking.WithDataset("train", "abc123")))
	require.NoError(t, c.SetTerminated(ctx, r.Info.RunID, entities.StatusFinished))
}

// Item 3, a dataset reference a metric line cannot hold: Python writes a
// line (6 fields for a name with a space, 4 for an empty digest) that its
// own reader then refuses, so the run cannot be read at all. Go refuses
// the call, naming the field, and writes nothing. Python's store cannot be
// read back, so there is no tree comparison: the assertions say what each
// side did.
func goBadDatasets(t *testing.T, ctx context.Context, py json.RawMessage) {
	var pySaw map[string]struct {
		LogError       string `json:"log_error"`
		Line           string
		InputsRecorded bool   `json:"inputs_recorded"`
		ReadError      string `json:"read_error"`
	}
	require.NoError(t, json.Unmarshal(py, &pySaw))
	cases := []struct {
		name, dsName, digest, field string
		fields                      int
	}{
		{"space", "a b", "d1", "dataset_name", 6},
		{"empty_digest", "ds", "", "dataset_digest", 4},
	}
	c := parityClient(t)
	for _, tc := range cases {
		p := pySaw[tc.name]
		// What Python does (the reason Go refuses): it accepts the call,
		// writes a line, and its own get_run refuses that line.
		require.Empty(t, p.LogError, tc.name)
		require.Equal(t, tc.fields, len(strings.Fields(p.Line)), "python line %q", p.Line)
		require.Contains(t, p.ReadError, fmt.Sprintf("contained %d fields", tc.fields))

		run, err := mlflow.StartRun(ctx, mlflow.RunName(tc.name))
		require.NoError(t, err)
		err = mlflow.LogMetric(ctx, "m", 1, mlflow.Timestamp(7), mlflow.Dataset(entities.Dataset{
			Name: tc.dsName, Digest: tc.digest, SourceType: "local", Source: "{}"}))
		require.ErrorIs(t, err, errs.ErrInvalidParameter, tc.name)
		require.Contains(t, err.Error(), tc.field, tc.name)
		require.NoError(t, mlflow.EndRun(ctx))
		got, err := c.GetRun(ctx, run.ID())
		require.NoError(t, err)
		require.Empty(t, got.Data.Metrics, "%s: no metric line", tc.name)
		require.Empty(t, got.Inputs.DatasetInputs, "%s: no dataset input", tc.name)
	}
}

// Item 6: RUNNING is a status end_run and set_terminated accept, with an
// end time, and the ended run is no longer active.
func goEndRunning(t *testing.T, ctx context.Context, _ json.RawMessage) {
	_, err := mlflow.StartRun(ctx, mlflow.RunName("a"))
	require.NoError(t, err)
	require.NoError(t, mlflow.EndRunWithStatus(ctx, entities.StatusRunning))
	require.Nil(t, mlflow.ActiveRun())
	_, err = mlflow.StartRun(ctx, mlflow.RunName("b")) // no Nested: "a" is no longer active
	require.NoError(t, err)
	require.NoError(t, mlflow.EndRun(ctx))
	c := parityClient(t)
	r, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{RunName: "c"})
	require.NoError(t, err)
	require.NoError(t, c.SetTerminated(ctx, r.Info.RunID, entities.StatusRunning))
	_, err = mlflow.StartRun(ctx, mlflow.RunName("parent"))
	require.NoError(t, err)
	_, err = mlflow.StartRun(ctx, mlflow.RunName("child"), mlflow.Nested())
	require.NoError(t, err)
	require.NoError(t, mlflow.EndRun(ctx))
	require.NoError(t, mlflow.EndRun(ctx))
}

// Item 6, ending a parent while a nested child is active. Ours is defined:
// the child is ended first with the same status and neither stays active.
// Python has no call that ends a given run of the stack: the exit of
// `with mlflow.start_run() as parent:` around an unended
// `mlflow.start_run(nested=True)` runs end_run(), which ends the innermost
// run, so Python leaves the child FINISHED and the parent RUNNING and still
// active (checked below against parity.py's nested_end).
func goNestedEnd(t *testing.T, ctx context.Context, py json.RawMessage) {
	var pySaw struct {
		Parent, Child     string
		ParentStillActive bool `json:"parent_still_active"`
	}
	require.NoError(t, json.Unmarshal(py, &pySaw))
	require.Equal(t, "RUNNING", pySaw.Parent)
	require.Equal(t, "FINISHED", pySaw.Child)
	require.True(t, pySaw.ParentStillActive)

	parent, err := mlflow.StartRun(ctx, mlflow.RunName("parent"))
	require.NoError(t, err)
	child, err := mlflow.StartRun(ctx, mlflow.RunName("child"), mlflow.Nested())
	require.NoError(t, err)
	require.NoError(t, parent.EndWithStatus(ctx, entities.StatusKilled))
	require.Nil(t, mlflow.ActiveRun())
	c := parityClient(t)
	for _, r := range []*mlflow.Run{parent, child} {
		info, err := c.GetRunInfo(ctx, r.ID())
		require.NoError(t, err)
		require.Equal(t, entities.StatusKilled, info.Status)
		require.NotNil(t, info.EndTime)
	}
}

// Item 9: Str renders Go values as Python's str() renders their twins.
func goStrParams(t *testing.T, ctx context.Context, _ json.RawMessage) {
	_, err := mlflow.StartRun(ctx, mlflow.RunName("str"))
	require.NoError(t, err)
	for _, p := range []struct {
		key   string
		value any
	}{
		{"list_int", []int{64, 32}},
		{"dict_int", map[string]int{"a": 1, "b": 2}},
		{"list_str", []string{"x", "y"}},
		{"bool", true},
		{"none", nil},
		{"float", 0.1},
		{"float32", float32(0.1)},
		{"big", 1e16},
		{"list_any", []any{1, "a", nil}},
		{"dict_any", map[string]any{"k": []int{1}}},
	} {
		require.NoError(t, mlflow.LogParam(ctx, p.key, p.value), p.key)
	}
	require.NoError(t, mlflow.EndRun(ctx))
}

// Item 8: MLFLOW_ENABLE_ASYNC_LOGGING is read as Python reads it: an
// invalid value fails the logging call with Python's ValueError text; a
// true value queues the write, which is on disk after Flush.
func goAsyncEnv(value string) func(t *testing.T, ctx context.Context, py json.RawMessage) {
	return func(t *testing.T, ctx context.Context, py json.RawMessage) {
		var pySaw struct {
			LogError string `json:"log_error"`
		}
		require.NoError(t, json.Unmarshal(py, &pySaw))
		t.Setenv(mlflow.EnvEnableAsyncLogging, value)
		run, err := mlflow.StartRun(ctx, mlflow.RunName("async"))
		require.NoError(t, err)
		err = mlflow.LogMetric(ctx, "x", 1, mlflow.Timestamp(5))
		if pySaw.LogError != "" {
			require.EqualError(t, err, "mlruns: "+pySaw.LogError)
			require.ErrorIs(t, err, errs.ErrInvalidParameter)
		} else {
			require.NoError(t, err)
			require.NoError(t, mlflow.Flush(ctx))
			hist, err := mlflow.GetMetricHistory(ctx, run.ID(), "x")
			require.NoError(t, err)
			require.Len(t, hist, 1)
		}
		require.NoError(t, mlflow.EndRun(ctx))
	}
}

// Items 7 and 10: messages and no panics. Errors of asynchronous writes
// are the store's, once, with the text of Python's synchronous call for the
// same problem; MLFLOW_EXPERIMENT_ID naming no experiment fails StartRun
// with Python's message.
func goErrors(t *testing.T, ctx context.Context, py json.RawMessage) {
	var pySaw map[string]string
	require.NoError(t, json.Unmarshal(py, &pySaw))
	want := func(key string) string {
		require.NotEmpty(t, pySaw[key], key)
		return "mlruns: " + pySaw[key]
	}

	t.Setenv(mlflow.EnvExperimentID, "999")
	_, err := mlflow.StartRun(ctx)
	require.EqualError(t, err, want("experiment_999"))
	require.NoError(t, os.Unsetenv(mlflow.EnvExperimentID))

	c := parityClient(t)
	newRun := func() string {
		r, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{})
		require.NoError(t, err)
		return r.Info.RunID
	}
	deleted := newRun()
	require.NoError(t, c.DeleteRun(ctx, deleted))
	on := mlflow.ForRun(deleted)
	for name, op := range map[string]*mlflow.Operation{
		"deleted_metric":      mlflow.LogMetricAsync(ctx, "m", 1, on),
		"deleted_tag":         mlflow.SetTagAsync(ctx, "t", "v", on),
		"deleted_batch_param": mlflow.LogParamAsync(ctx, "p", "v", on),
	} {
		requireErrorText(t, op.Wait(), deleted, want(name), name)
	}
	requireErrorText(t, c.LogMetricAsync(ctx, deleted, "m", 1).Wait(), deleted, want("deleted_metric"), "client")
	require.EqualError(t, mlflow.LogMetricAsync(ctx, "m", 1, mlflow.ForRun(missingRun)).Wait(), want("missing_metric"))
	// Flush reports the failed writes again; they are the ones above.
	require.Error(t, mlflow.Flush(ctx))

	// Item 7: every asynchronous entry point refuses an invalid key with
	// an Operation (never nil, never a panic on Wait).
	live := newRun()
	run, err := mlflow.StartRun(ctx, mlflow.ResumeRun(live))
	require.NoError(t, err)
	on = mlflow.ForRun(live)
	for name, tc := range map[string]struct {
		op   *mlflow.Operation
		want string
	}{
		"LogMetricAsync":         {mlflow.LogMetricAsync(ctx, "", 1), "empty_metric_key"},
		"LogMetricAsync/ForRun":  {mlflow.LogMetricAsync(ctx, "", 1, on), "empty_metric_key"},
		"LogMetricsAsync":        {mlflow.LogMetricsAsync(ctx, map[string]float64{"": 1}), "empty_metric_key"},
		"LogParamAsync":          {mlflow.LogParamAsync(ctx, "", 1), "empty_param_key"},
		"LogParamsAsync":         {mlflow.LogParamsAsync(ctx, map[string]any{"": 1}), "empty_param_key"},
		"SetTagAsync":            {mlflow.SetTagAsync(ctx, "", 1), "empty_tag_key"},
		"SetTagsAsync":           {mlflow.SetTagsAsync(ctx, map[string]any{"": 1}), "empty_tag_key"},
		"Run.LogMetricAsync":     {run.LogMetricAsync(ctx, "", 1), "empty_metric_key"},
		"Run.LogMetricsAsync":    {run.LogMetricsAsync(ctx, map[string]float64{"": 1}), "empty_metric_key"},
		"Run.LogParamsAsync":     {run.LogParamsAsync(ctx, map[string]any{"": 1}), "empty_param_key"},
		"Run.SetTagsAsync":       {run.SetTagsAsync(ctx, map[string]any{"": 1}), "empty_tag_key"},
		"Client.LogMetricAsync":  {c.LogMetricAsync(ctx, live, "", 1), "empty_metric_key"},
		"Client.LogBatchAsync/m": {c.LogBatchAsync(ctx, live, []entities.Metric{{Key: ""}}, nil, nil), "empty_metric_key"},
		"Client.LogBatchAsync/p": {c.LogBatchAsync(ctx, live, nil, []entities.Param{{Key: ""}}, nil), "empty_param_key"},
		"Client.LogBatchAsync/t": {c.LogBatchAsync(ctx, live, nil, nil, []entities.RunTag{{Key: ""}}), "empty_tag_key"},
	} {
		require.NotNil(t, tc.op, name)
		require.Error(t, tc.op.Err(), "%s: refused at once", name)
		err := tc.op.Wait()
		require.ErrorIs(t, err, errs.ErrInvalidParameter, name)
		require.EqualError(t, err, want(tc.want), name)
	}
	require.NoError(t, mlflow.EndRun(ctx))
	got, err := c.GetRun(ctx, live)
	require.NoError(t, err)
	require.Empty(t, got.Data.Metrics)
	require.Empty(t, got.Data.Params)
}
