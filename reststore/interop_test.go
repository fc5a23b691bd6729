package reststore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
)

// dumpPy prints, as JSON, what Python's MlflowClient reads from the server
// at argv[1]: every experiment, run (info, data, full histories, inputs,
// outputs) and logged model, floats as Python's repr.
const dumpPy = `
import json, sys
from mlflow import MlflowClient
from mlflow.entities import ViewType
c = MlflowClient(sys.argv[1])
f = repr
exps = c.search_experiments(view_type=ViewType.ALL, max_results=1000)
out = {"experiments": [], "runs": [], "models": []}
for e in sorted(exps, key=lambda e: int(e.experiment_id)):
    out["experiments"].append({"id": e.experiment_id, "name": e.name, "stage": e.lifecycle_stage,
        "artifact_location": e.artifact_location, "tags": e.tags})
ids = [e.experiment_id for e in exps]
for r in sorted(c.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000), key=lambda r: r.info.start_time):
    i = r.info
    hist = {k: [[f(m.value), m.timestamp, m.step] for m in c.get_metric_history(i.run_id, k)] for k in r.data.metrics}
    g = c.get_run(i.run_id)
    out["runs"].append({"id": i.run_id, "exp": i.experiment_id, "name": i.run_name, "user": i.user_id,
        "status": i.status, "start": i.start_time, "end": i.end_time, "stage": i.lifecycle_stage,
        "artifact_uri": i.artifact_uri, "params": r.data.params, "tags": r.data.tags,
        "metrics": {k: [f(m.value), m.timestamp, m.step] for k, m in ((m.key, m) for m in g.data._metric_objs)},
        "history": hist,
        "datasets": [[d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source, d.dataset.schema,
                      d.dataset.profile, {t.key: t.value for t in d.tags}] for d in g.inputs.dataset_inputs],
        "model_inputs": [m.model_id for m in g.inputs.model_inputs],
        "model_outputs": [[m.model_id, m.step] for m in (g.outputs.model_outputs if g.outputs else [])]})
for m in sorted(c.search_logged_models(ids, max_results=1000), key=lambda m: m.name):
    out["models"].append({"id": m.model_id, "exp": m.experiment_id, "name": m.name, "status": str(m.status),
        "artifact_location": m.artifact_location, "source_run_id": m.source_run_id, "model_type": m.model_type,
        "tags": m.tags, "params": m.params,
        "metrics": sorted([[x.key, f(x.value), x.timestamp, x.step, x.run_id, x.model_id, x.dataset_name, x.dataset_digest]
                           for x in (m.metrics or [])])})
print(json.dumps(out, sort_keys=True))
`

// dump is the shape dumpPy prints.
type dump struct {
	Experiments []map[string]any `json:"experiments"`
	Runs        []map[string]any `json:"runs"`
	Models      []map[string]any `json:"models"`
}

// goDump reads the same as dumpPy through our store.
func goDump(t *testing.T, s *reststore.Store) []byte {
	t.Helper()
	ctx := context.Background()
	f := func(v float64) string { return pynum.FormatFloat(v) }
	exps, _, err := s.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	sort.SliceStable(exps, func(i, j int) bool {
		return len(exps[i].ExperimentID) < len(exps[j].ExperimentID) || len(exps[i].ExperimentID) == len(exps[j].ExperimentID) && exps[i].ExperimentID < exps[j].ExperimentID
	})
	var d dump
	var ids []string
	for _, e := range exps {
		d.Experiments = append(d.Experiments, map[string]any{"id": e.ExperimentID, "name": e.Name, "stage": string(e.LifecycleStage),
			"artifact_location": e.ArtifactLocation, "tags": e.Tags})
		ids = append(ids, e.ExperimentID)
	}
	runs, _, err := s.SearchRuns(ctx, ids, "", entities.ViewAll, 1000, nil, "")
	require.NoError(t, err)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Info.StartTime < runs[j].Info.StartTime })
	for _, r := range runs {
		i := r.Info
		g, err := s.GetRun(ctx, i.RunID)
		require.NoError(t, err)
		// The 3.18 server leaves model inputs out of SearchRuns' runs
		// (GetRun has them); everything else agrees.
		r.Inputs.ModelInputs = g.Inputs.ModelInputs
		require.Equal(t, r, g, "SearchRuns and GetRun agree")
		hist, latest := map[string]any{}, map[string]any{}
		for k, m := range g.Data.Metrics {
			latest[k] = []any{f(m.Value), m.Timestamp, m.Step}
			h, err := s.GetMetricHistory(ctx, i.RunID, k)
			require.NoError(t, err)
			c, err := s.GetMetricHistoryColumns(ctx, i.RunID, k) // the same pages, in columns
			require.NoError(t, err)
			require.Equal(t, len(h), c.Len())
			for j, m := range h {
				require.Equal(t, f(m.Value), f(c.Values[j]))
				m.Value = 0
				got := c.At(j)
				got.Value = 0
				require.Equal(t, m, got)
			}
			pts := []any{}
			for _, p := range h {
				pts = append(pts, []any{f(p.Value), p.Timestamp, p.Step})
			}
			hist[k] = pts
		}
		datasets, mins, mouts := []any{}, []any{}, []any{}
		for _, di := range g.Inputs.DatasetInputs {
			tags := map[string]string{}
			for _, t := range di.Tags {
				tags[t.Key] = t.Value
			}
			datasets = append(datasets, []any{di.Dataset.Name, di.Dataset.Digest, di.Dataset.SourceType, di.Dataset.Source,
				di.Dataset.Schema, di.Dataset.Profile, tags})
		}
		for _, m := range g.Inputs.ModelInputs {
			mins = append(mins, m.ModelID)
		}
		for _, m := range g.Outputs.ModelOutputs {
			mouts = append(mouts, []any{m.ModelID, m.Step})
		}
		d.Runs = append(d.Runs, map[string]any{"id": i.RunID, "exp": i.ExperimentID, "name": i.RunName, "user": i.UserID,
			"status": i.Status.String(), "start": i.StartTime, "end": i.EndTime, "stage": string(i.LifecycleStage),
			"artifact_uri": i.ArtifactURI, "params": g.Data.Params, "tags": g.Data.Tags, "metrics": latest, "history": hist,
			"datasets": datasets, "model_inputs": mins, "model_outputs": mouts})
	}
	models, _, err := s.SearchLoggedModels(ctx, ids, "", nil, 1000, nil, "")
	require.NoError(t, err)
	sort.SliceStable(models, func(i, j int) bool { return models[i].Name < models[j].Name })
	for _, m := range models {
		got, err := s.GetLoggedModel(ctx, m.ModelID)
		require.NoError(t, err)
		require.Equal(t, m, got, "SearchLoggedModels and GetLoggedModel agree")
		ms := [][]any{}
		for _, x := range m.Metrics {
			ms = append(ms, []any{x.Key, f(x.Value), x.Timestamp, x.Step, x.RunID, x.ModelID, x.DatasetName, x.DatasetDigest})
		}
		d.Models = append(d.Models, map[string]any{"id": m.ModelID, "exp": m.ExperimentID, "name": m.Name,
			"status": m.Status.String(), "artifact_location": m.ArtifactLocation,
			"source_run_id": m.SourceRunID, "model_type": m.ModelType, "tags": m.Tags, "params": m.Params, "metrics": ms})
	}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	return b
}

// canon re-encodes a JSON dump with sorted keys and empty maps and lists
// as empty, and, when ids is set, replaces run and model ids by names and
// drops server times, so dumps of two servers compare.
func canon(t *testing.T, b []byte, ids bool) string {
	t.Helper()
	d := decodeDump(t, b)
	out, err := json.MarshalIndent(d, "", " ")
	require.NoError(t, err)
	s := string(out)
	if ids {
		for _, r := range d.Runs {
			s = strings.ReplaceAll(s, r["id"].(string), "run:"+r["name"].(string))
		}
		for _, m := range d.Models {
			s = strings.ReplaceAll(s, m["id"].(string), "model:"+m["name"].(string))
		}
	}
	return s
}

// lastLine is the JSON line a script prints last (MlflowClient prints
// "View run ..." lines of its own when runs end).
func lastLine(out []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return lines[len(lines)-1]
}

// decodeDump decodes a dump keeping numbers exact (steps beyond 2^53).
func decodeDump(t *testing.T, b []byte) dump {
	t.Helper()
	var d dump
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&d))
	return d
}

// errCodes are the MLflow error codes of the invalid calls, in order.
type errCodes []string

func codeOf(err error) string {
	var re *reststore.Error
	if errors.As(err, &re) {
		return re.Code
	}
	if err == nil {
		return "OK"
	}
	return "CLIENT: " + err.Error()
}

// runGo writes the workload through our store and returns the error codes
// of its invalid calls.
func runGo(t *testing.T, url string) errCodes {
	t.Helper()
	ctx := context.Background()
	s, err := reststore.Open(url, &reststore.Options{CredentialsPath: filepath.Join(t.TempDir(), "none")})
	require.NoError(t, err)
	defer s.Close()
	exp1, err := s.CreateExperiment(ctx, "diff-a", "", []entities.ExperimentTag{{Key: "team", Value: "x"}})
	require.NoError(t, err)
	exp2, err := s.CreateExperiment(ctx, "diff-b", "", nil)
	require.NoError(t, err)
	require.NoError(t, s.SetExperimentTag(ctx, exp1, "k", "v"))
	require.NoError(t, s.DeleteExperimentTag(ctx, exp1, "team"))
	require.NoError(t, s.RenameExperiment(ctx, exp2, "diff-b2"))
	require.NoError(t, s.DeleteExperiment(ctx, exp2))
	require.NoError(t, s.RestoreExperiment(ctx, exp2))
	require.NoError(t, s.DeleteExperiment(ctx, exp2))
	// The server refuses renaming a deleted experiment with HTTP 500
	// INVALID_STATE: a refusal, not an unknown outcome of a write.
	err = s.RenameExperiment(ctx, exp2, "diff-b3")
	require.ErrorIs(t, err, errs.ErrInvalidState)
	var unknown *reststore.UnknownOutcomeError
	require.False(t, errors.As(err, &unknown), "%v", err)

	r1, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp1, UserID: "alice", StartTime: 1_700_000_000_000,
		RunName: "r1", Tags: []entities.RunTag{{Key: entities.TagUser, Value: "alice"}, {Key: "t1", Value: "v1"}}})
	require.NoError(t, err)
	id1 := r1.Info.RunID
	ts := int64(1_700_000_000_001)
	require.NoError(t, s.LogMetric(ctx, id1, entities.Metric{Key: "loss", Value: 0.5, Timestamp: ts, Step: 0}))
	require.NoError(t, s.LogBatch(ctx, id1, []entities.Metric{
		{Key: "loss", Value: 0.25, Timestamp: ts + 1, Step: 1},
		{Key: "loss", Value: math.NaN(), Timestamp: ts + 2, Step: 2},
		{Key: "loss", Value: math.Inf(1), Timestamp: ts + 3, Step: 3},
		{Key: "loss", Value: math.Inf(-1), Timestamp: ts + 4, Step: 4},
		{Key: "loss", Value: math.Copysign(0, -1), Timestamp: ts + 5, Step: 5},
		{Key: "acc", Value: 1e22, Timestamp: ts, Step: -7},
		{Key: "tiny", Value: 5e-324, Timestamp: ts, Step: 9_007_199_254_740_993},
		{Key: "third", Value: 1.0 / 3, Timestamp: 0, Step: 0},
	}, []entities.Param{{Key: "lr", Value: "0.01"}, {Key: "note", Value: "ünï \"q\"\nline"}},
		[]entities.RunTag{{Key: "t2", Value: "v2"}}))
	require.NoError(t, s.LogParam(ctx, id1, "layers", "3"))
	require.NoError(t, s.SetTag(ctx, id1, "t3", "v3"))
	require.NoError(t, s.DeleteTag(ctx, id1, "t1"))
	end := int64(1_700_000_001_000)
	_, err = s.UpdateRunInfo(ctx, id1, entities.StatusFinished, &end, "")
	require.NoError(t, err)
	_, err = s.UpdateRunInfo(ctx, id1, entities.StatusFinished, nil, "r1b")
	require.NoError(t, err)

	r2, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp1, UserID: "alice", StartTime: 1_700_000_002_000,
		RunName: "r2", Tags: []entities.RunTag{{Key: entities.TagUser, Value: "alice"}}})
	require.NoError(t, err)
	id2 := r2.Info.RunID
	schema := `{"a": 1}`
	require.NoError(t, s.LogInputs(ctx, id2, []entities.DatasetInput{{
		Dataset: entities.Dataset{Name: "d", Digest: "abc", SourceType: "local", Source: "/x", Schema: &schema},
		Tags:    []entities.InputTag{{Key: entities.TagDatasetContext, Value: "train"}},
	}}, nil))
	m1, err := s.CreateLoggedModel(ctx, exp1, store.CreateLoggedModelOptions{Name: "m1", SourceRunID: id2, ModelType: "agent",
		Params: map[string]string{"p": "1"}, Tags: map[string]string{"mt": "1"}})
	require.NoError(t, err)
	require.NoError(t, s.LogOutputs(ctx, id2, []entities.ModelOutput{{ModelID: m1.ModelID, Step: 3}}))
	require.NoError(t, s.LogInputs(ctx, id2, nil, []entities.ModelInput{{ModelID: m1.ModelID}}))
	require.NoError(t, s.LogMetric(ctx, id2, entities.Metric{Key: "acc", Value: 0.9, Timestamp: ts, Step: 1,
		ModelID: m1.ModelID, DatasetName: "d", DatasetDigest: "abc"}))
	require.NoError(t, s.SetLoggedModelTags(ctx, m1.ModelID, map[string]string{"x": "y"}))
	require.NoError(t, s.DeleteLoggedModelTag(ctx, m1.ModelID, "mt"))
	require.NoError(t, s.LogLoggedModelParams(ctx, m1.ModelID, map[string]string{"q": "2"}))
	_, err = s.FinalizeLoggedModel(ctx, m1.ModelID, entities.LoggedModelReady)
	require.NoError(t, err)
	m2, err := s.CreateLoggedModel(ctx, exp1, store.CreateLoggedModelOptions{Name: "m2"})
	require.NoError(t, err)
	require.NoError(t, s.DeleteLoggedModel(ctx, m2.ModelID))

	r3, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp1, UserID: "unknown", StartTime: 1_700_000_003_000, RunName: "r3"})
	require.NoError(t, err)
	id3 := r3.Info.RunID
	require.NoError(t, s.DeleteRun(ctx, id3))
	require.NoError(t, s.RestoreRun(ctx, id3))
	require.NoError(t, s.DeleteRun(ctx, id3))

	var codes errCodes
	codes = append(codes, codeOf(s.LogParam(ctx, id1, "lr", "0.02")))
	codes = append(codes, codeOf(s.LogMetric(ctx, id3, entities.Metric{Key: "x", Value: 1, Timestamp: 1})))
	_, err = s.GetRun(ctx, "0123456789abcdef0123456789abcdef")
	codes = append(codes, codeOf(err))
	_, err = s.GetLoggedModel(ctx, "m-0123456789abcdef0123456789abcdef")
	codes = append(codes, codeOf(err))
	_, err = s.CreateExperiment(ctx, "diff-a", "", nil)
	codes = append(codes, codeOf(err))
	codes = append(codes, codeOf(s.DeleteTag(ctx, id1, "nope")))
	_, err = s.GetExperiment(ctx, "12345")
	codes = append(codes, codeOf(err))
	codes = append(codes, codeOf(s.LogOutputs(ctx, id2, []entities.ModelOutput{{ModelID: m1.ModelID, Step: 3}})))
	_, err = s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp2, StartTime: 1})
	codes = append(codes, codeOf(err))
	_, err = s.GetExperimentByName(ctx, "no-such")
	codes = append(codes, codeOf(err))
	return codes
}

// workloadPy is runGo's workload through Python's MlflowClient; it prints
// the error codes of the invalid calls.
const workloadPy = `
import json, math, sys
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, DatasetInput, Dataset, InputTag, LoggedModelOutput, LoggedModelInput, LoggedModelStatus
from mlflow.exceptions import MlflowException
c = MlflowClient(sys.argv[1])
exp1 = c.create_experiment("diff-a", tags={"team": "x"})
exp2 = c.create_experiment("diff-b")
c.set_experiment_tag(exp1, "k", "v")
c.delete_experiment_tag(exp1, "team")
c.rename_experiment(exp2, "diff-b2")
c.delete_experiment(exp2); c.restore_experiment(exp2); c.delete_experiment(exp2)
id1 = c.create_run(exp1, start_time=1700000000000, tags={"mlflow.user": "alice", "t1": "v1"}, run_name="r1").info.run_id
ts = 1700000000001
c.log_metric(id1, "loss", 0.5, timestamp=ts, step=0)
c.log_batch(id1, metrics=[Metric("loss", 0.25, ts + 1, 1), Metric("loss", math.nan, ts + 2, 2), Metric("loss", math.inf, ts + 3, 3),
    Metric("loss", -math.inf, ts + 4, 4), Metric("loss", -0.0, ts + 5, 5), Metric("acc", 1e22, ts, -7),
    Metric("tiny", 5e-324, ts, 9007199254740993), Metric("third", 1 / 3, 0, 0)],
    params=[Param("lr", "0.01"), Param("note", 'ünï "q"\nline')], tags=[RunTag("t2", "v2")])
c.log_param(id1, "layers", "3")
c.set_tag(id1, "t3", "v3")
c.delete_tag(id1, "t1")
c.set_terminated(id1, "FINISHED", end_time=1700000001000)
c.update_run(id1, status="FINISHED", name="r1b")
id2 = c.create_run(exp1, start_time=1700000002000, tags={"mlflow.user": "alice"}, run_name="r2").info.run_id
c.log_inputs(id2, datasets=[DatasetInput(Dataset("d", "abc", "local", "/x", schema='{"a": 1}'), tags=[InputTag("mlflow.data.context", "train")])])
m1 = c.create_logged_model(exp1, name="m1", source_run_id=id2, model_type="agent", params={"p": "1"}, tags={"mt": "1"}).model_id
c.log_outputs(id2, [LoggedModelOutput(m1, 3)])
c.log_inputs(id2, models=[LoggedModelInput(m1)])
c.log_metric(id2, "acc", 0.9, timestamp=ts, step=1, model_id=m1, dataset_name="d", dataset_digest="abc")
c.set_logged_model_tags(m1, {"x": "y"})
c.delete_logged_model_tag(m1, "mt")
c.log_model_params(m1, {"q": "2"})
c.finalize_logged_model(m1, LoggedModelStatus.READY)
m2 = c.create_logged_model(exp1, name="m2").model_id
c.delete_logged_model(m2)
id3 = c.create_run(exp1, start_time=1700000003000, run_name="r3").info.run_id
c.delete_run(id3); c.restore_run(id3); c.delete_run(id3)
codes = []
def code(f):
    try:
        r = f()
        codes.append("OK" if r is not None or True else "OK")
    except MlflowException as e:
        codes.append(e.error_code)
code(lambda: c.log_param(id1, "lr", "0.02"))
code(lambda: c.log_metric(id3, "x", 1, timestamp=1))
code(lambda: c.get_run("0123456789abcdef0123456789abcdef"))
code(lambda: c.get_logged_model("m-0123456789abcdef0123456789abcdef"))
code(lambda: c.create_experiment("diff-a"))
code(lambda: c.delete_tag(id1, "nope"))
code(lambda: c.get_experiment("12345"))
code(lambda: c.log_outputs(id2, [LoggedModelOutput(m1, 3)]))
code(lambda: c.create_run(exp2, start_time=1))
r = c.get_experiment_by_name("no-such")
codes.append("RESOURCE_DOES_NOT_EXIST" if r is None else "OK")
print(json.dumps(codes))
`

// The same workload through our store into one fresh SQLite server and
// through Python's MlflowClient into another: Python reads the same from
// both (after mapping ids to names), the invalid calls fail with the same
// MLflow codes, and our reads of our server equal Python's reads of it.
func TestStore_Server_DifferentialAgainstPython(t *testing.T) {
	goURL := startSQLiteServer(t)
	pyURL := startSQLiteServer(t)

	goCodes := runGo(t, goURL)
	var pyCodes errCodes
	require.NoError(t, json.Unmarshal(lastLine(interoptest.RunCode(t, workloadPy, nil, pyURL)), &pyCodes))
	require.Equal(t, pyCodes, goCodes, "error codes of the invalid calls")
	require.Equal(t, errCodes{"INVALID_PARAMETER_VALUE", "INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST",
		"RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST", "RESOURCE_DOES_NOT_EXIST",
		"BAD_REQUEST", "INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"}, goCodes)

	goSeenByPy := lastLine(interoptest.RunCode(t, dumpPy, nil, goURL))
	pySeenByPy := lastLine(interoptest.RunCode(t, dumpPy, nil, pyURL))
	require.Equal(t, canon(t, pySeenByPy, true), canon(t, goSeenByPy, true), "Python's reads of the two servers")

	s, err := reststore.Open(goURL, &reststore.Options{CredentialsPath: filepath.Join(t.TempDir(), "none")})
	require.NoError(t, err)
	require.Equal(t, canon(t, goSeenByPy, false), canon(t, goDump(t, s), false), "our reads equal Python's reads of one server")

	// The lossy mappings of a SQL server, as Python reads them back.
	d := decodeDump(t, goSeenByPy)
	var r1 map[string]any
	for _, r := range d.Runs {
		if r["name"] == "r1b" {
			r1 = r
		}
	}
	require.NotNil(t, r1)
	var vals []any
	for _, p := range r1["history"].(map[string]any)["loss"].([]any) {
		vals = append(vals, p.([]any)[0])
	}
	require.Equal(t, []any{"0.5", "0.25", "nan", "1.7976931348623157e+308", "-1.7976931348623157e+308", "0.0"}, vals)
	require.Equal(t, []any{"5e-324", json.Number("1700000000001"), json.Number("9007199254740993")}, r1["history"].(map[string]any)["tiny"].([]any)[0])
	require.Regexp(t, regexp.MustCompile(`^mlflow-artifacts:/1/[0-9a-f]{32}/artifacts$`), r1["artifact_uri"])
}
