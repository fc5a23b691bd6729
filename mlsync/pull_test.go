package mlsync_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/tracking"
)

// pyPopulate logs, with Python's MlflowClient, what a team's server holds:
// an experiment with tags, a parent with a nested child, a deleted run, a
// run still running, odd values, a dataset input and artifacts in folders.
// It prints the parent's id.
const pyPopulate = `
import os, sys, tempfile
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, DatasetInput, Dataset, InputTag
c = MlflowClient(sys.argv[1])
prefix = sys.argv[2]
e = c.create_experiment(prefix + "team", tags={"owner": "bob", "purpose": "pull"})
e2 = c.create_experiment(prefix + "other")
parent = c.create_run(e, run_name="parent", start_time=1700000000000, tags={"mlflow.user": "bob"})
pid = parent.info.run_id
child = c.create_run(e, run_name="child", start_time=1700000001000, tags={"mlflow.parentRunId": pid})
gone = c.create_run(e2, run_name="gone", start_time=1700000002000)
live = c.create_run(e2, run_name="live", start_time=1700000003000)
for r in (parent, child, gone, live):
    rid = r.info.run_id
    ms = [Metric("loss", 1.0 / (s + 1), 1700000010000 + s, s) for s in range(1500)]
    ms += [Metric("odd", float("nan"), 1700000020000, 0), Metric("odd", float("inf"), 1700000020001, 1),
           Metric("odd", -0.0, 1700000020002, 2)]
    for i in range(0, len(ms), 1000):
        c.log_batch(rid, metrics=ms[i:i + 1000])
    c.log_batch(rid, params=[Param("lr", "0.01"), Param("long", "x" * 300)], tags=[RunTag("stage", "train")])
ds = Dataset(name="train", digest="0123abcd", source_type="local", source='{"uri": "/data/train.csv"}',
             schema='{"mlflow_colspec": [{"type": "double", "name": "x"}]}')
c.log_inputs(pid, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])
d = tempfile.mkdtemp()
os.makedirs(os.path.join(d, "plots"))
with open(os.path.join(d, "model.txt"), "w") as f:
    f.write("weights " * 100)
with open(os.path.join(d, "plots", "loss.csv"), "w") as f:
    f.write("step,loss\n0,1.0\n")
c.log_artifacts(pid, d)
from mlflow.entities import LoggedModelStatus, LoggedModelInput, LoggedModelOutput
m = c.create_logged_model(e, name="net", source_run_id=pid, params={"layers": "3"}, tags={"arch": "cnn"}, model_type="agent")
c.log_metric(pid, "val_acc", 0.75, timestamp=1700000030000, step=3, model_id=m.model_id, dataset_name="train", dataset_digest="0123abcd")
c.log_outputs(pid, [LoggedModelOutput(m.model_id, 3)])
c.log_inputs(child.info.run_id, models=[LoggedModelInput(m.model_id)])
md = tempfile.mkdtemp()
with open(os.path.join(md, "MLmodel"), "w") as f:
    f.write("flavors: {}\n")
c.log_model_artifacts(m.model_id, md)
c.finalize_logged_model(m.model_id, LoggedModelStatus.READY)
for r in (parent, child, gone):
    c.set_terminated(r.info.run_id, "FINISHED", end_time=1700000100000)
c.delete_run(gone.info.run_id)
print(pid)
`

// pyDump prints, with Python's MlflowClient over the tracking URI in
// argv[1] (a server, or a tree read by Python's FileStore), the
// experiments whose names start with argv[2] and their runs and logged
// models, as JSON. With argv[3] "by-source", runs and models are keyed,
// and named in parent tags, sources and links, by their mlruns.sync
// source ids (a pushed copy then reads as the tree it came from).
const pyDump = `
import json, math, sys
import mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType
# list_artifacts looks a folder named as a logged model up through the
# default tracking URI, not the client's.
mlflow.set_tracking_uri(sys.argv[1])
c = MlflowClient(sys.argv[1])
by_source = len(sys.argv) > 3 and sys.argv[3] == "by-source"
def val(v):
    return repr(v) if math.isnan(v) or math.isinf(v) else v
def arts(rid, path=None):
    out = {}
    for f in c.list_artifacts(rid, path):
        if f.is_dir:
            out.update(arts(rid, f.path))
        else:
            out[f.path] = f.file_size
    return out
exps = [e for e in c.search_experiments(view_type=ViewType.ALL) if e.name.startswith(sys.argv[2])]
runs_of = {e.experiment_id: c.search_runs([e.experiment_id], run_view_type=ViewType.ALL) for e in exps}
models_of = {e.experiment_id: c.search_logged_models([e.experiment_id]) for e in exps}
rid, mid = {}, {}
for e in exps:
    for r in runs_of[e.experiment_id]:
        rid[r.info.run_id] = r.data.tags.get("mlruns.sync.sourceRunId", r.info.run_id) if by_source else r.info.run_id
    for m in models_of[e.experiment_id]:
        mid[m.model_id] = m.tags.get("mlruns.sync.sourceModelId", m.model_id) if by_source else m.model_id
out = {}
for e in exps:
    runs = {}
    for r in runs_of[e.experiment_id]:
        i = r.info
        hist = {}
        for k in r.data.metrics:
            hist[k] = sorted((m.timestamp, m.step, val(m.value)) for m in c.get_metric_history(i.run_id, k))
        tags = {k: v for k, v in r.data.tags.items() if not k.startswith("mlruns.sync.")}
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = rid.get(tags["mlflow.parentRunId"], tags["mlflow.parentRunId"])
        run = c.get_run(i.run_id)
        runs[rid[i.run_id]] = {
            "name": i.run_name, "user": i.user_id, "status": i.status, "start": i.start_time,
            "end": i.end_time, "stage": i.lifecycle_stage, "params": r.data.params, "tags": tags,
            "metrics": hist, "artifacts": arts(i.run_id),
            "datasets": [(d.dataset.name, d.dataset.digest, d.dataset.source, [(t.key, t.value) for t in d.tags])
                         for d in r.inputs.dataset_inputs],
            "model_inputs": sorted(mid.get(x.model_id, x.model_id) for x in run.inputs.model_inputs),
            "model_outputs": sorted((mid.get(x.model_id, x.model_id), x.step) for x in run.outputs.model_outputs),
        }
    models = {}
    for m in models_of[e.experiment_id]:
        models[mid[m.model_id]] = {
            "name": m.name, "status": str(m.status), "source": rid.get(m.source_run_id, m.source_run_id),
            "type": m.model_type, "created": m.creation_timestamp, "params": m.params,
            "tags": {k: v for k, v in m.tags.items() if not k.startswith("mlruns.sync.")},
            "metrics": sorted((x.key, x.value, x.step, x.timestamp, x.dataset_name, x.dataset_digest, rid.get(x.run_id, x.run_id))
                              for x in m.metrics),
            "artifacts": sorted((f.path, f.file_size) for f in c.list_logged_model_artifacts(m.model_id)),
        }
    out[e.name] = {"stage": e.lifecycle_stage, "tags": e.tags, "runs": runs, "models": models}
print(json.dumps(out, sort_keys=True, default=str))
`

func dump(t *testing.T, env []string, uri, prefix string, mode ...string) map[string]any {
	t.Helper()
	out := interoptest.RunCodeEnv(t, append(env, "MLFLOW_ALLOW_FILE_STORE=true"), pyDump, nil, append([]string{uri, prefix}, mode...)...)
	var d map[string]any
	require.NoError(t, json.Unmarshal(out, &d), "%s", out)
	return d
}

func TestPull_Server_SQLite(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	ctx := context.Background()
	prefix := "pull-"
	lines := strings.Fields(string(interoptest.RunCodeEnv(t, srv.Env(), pyPopulate, nil, srv.URL, prefix)))
	parent := lines[len(lines)-1] // after MLflow's "View run" lines
	rest, err := tracking.OpenStore(srv.URL, nil)
	require.NoError(t, err)
	t.Cleanup(func() { rest.Close() })
	s, root := storetest.New(t, nil)
	o := mlsync.Options{Root: root, Target: srv.URL}

	rep, err := mlsync.Pull(ctx, rest, s, o)
	require.NoError(t, err)
	require.True(t, rep.Complete(), "%s %+v", rep.Summary(), rep)
	require.Equal(t, 4, rep.Count(mlsync.RunCreated), rep.Summary())
	require.Equal(t, int64(4*1503+1), rep.Points())
	require.Len(t, rep.Models, 1)
	require.Equal(t, mlsync.RunCreated, rep.Models[0].State)
	require.Equal(t, map[mlsync.LossKind]int64{mlsync.LossDatasetStep: 1}, rep.Lossy,
		"the model's metric keeps its dataset, the links their model; Python's FileStore reads the point with a dataset at step 0")
	want := dump(t, srv.Env(), srv.URL, prefix)
	require.Len(t, want, 2)
	asRead := func(d map[string]any) map[string]any {
		// That point, as Python's FileStore reads the tree.
		acc := d[prefix+"team"].(map[string]any)["runs"].(map[string]any)[parent].(map[string]any)["metrics"].(map[string]any)["val_acc"].([]any)
		require.Len(t, acc, 1)
		require.Equal(t, float64(3), acc[0].([]any)[1])
		acc[0].([]any)[1] = float64(0)
		return d
	}
	asRead(want)
	require.Equal(t, want, dump(t, nil, root, prefix), "Python's FileStore reads the tree as the server")
	require.Len(t, want[prefix+"team"].(map[string]any)["models"], 1, "the dump holds the model")
	got, err := s.GetRun(ctx, parent)
	require.NoError(t, err, "the run keeps its id")
	require.Equal(t, "parent", got.Info.RunName)

	// Again: nothing is written; a push to the server sends nothing.
	rep, err = mlsync.Pull(ctx, rest, s, o)
	require.NoError(t, err)
	require.Zero(t, rep.Requests, rep.Summary())
	require.Equal(t, 4, rep.Count(mlsync.RunUnchanged), rep.Summary())
	dst := newCounting(rest)
	prep, err := mlsync.Push(ctx, s, dst, o)
	require.NoError(t, err)
	require.True(t, prep.Complete(), prep.Summary())
	require.Zero(t, dst.total(), "a push after a pull writes nothing: %v (%s)", dst.writes, prep.Summary())

	// A lost journal: the push finds the pulled runs by their ids.
	journal := mlsync.JournalPath(root, srv.URL)
	saved, err := os.ReadFile(journal)
	require.NoError(t, err)
	require.NoError(t, os.Remove(journal))
	dst.reset()
	prep, err = mlsync.Push(ctx, s, dst, o)
	require.NoError(t, err)
	require.Equal(t, 4, prep.Count(mlsync.RunAdopted), prep.Summary())
	require.Zero(t, dst.writes["CreateRun"], "no run created twice: %v", dst.writes)
	require.Zero(t, dst.writes["CreateLoggedModel"], "no model created twice: %v", dst.writes)
	require.NoError(t, os.WriteFile(journal, saved, 0o644))

	// The server's run grows and ends: only the new points come.
	interoptest.RunCodeEnv(t, srv.Env(), `
import sys
from mlflow import MlflowClient
from mlflow.entities import Metric, RunTag
c = MlflowClient(sys.argv[1])
rid = [r for r in c.search_runs([c.get_experiment_by_name(sys.argv[2] + "other").experiment_id]) if r.info.run_name == "live"][0].info.run_id
c.log_batch(rid, metrics=[Metric("loss", 0.5, 1700000050000 + s, 1500 + s) for s in range(25)], tags=[RunTag("stage", "eval")])
c.set_terminated(rid, "KILLED", end_time=1700000200000)
`, nil, srv.URL, prefix)
	rep, err = mlsync.Pull(ctx, rest, s, o)
	require.NoError(t, err)
	require.Equal(t, int64(25), rep.Points(), rep.Summary())
	require.Equal(t, 1, rep.Count(mlsync.RunUpdated), rep.Summary())
	require.Equal(t, asRead(dump(t, srv.Env(), srv.URL, prefix)), dump(t, nil, root, prefix))
	dst.reset()
	_, err = mlsync.Push(ctx, s, dst, o)
	require.NoError(t, err)
	require.Zero(t, dst.total(), "%v", dst.writes)

	// A run logged in the tree and pushed is not pulled back.
	exp, err := s.GetExperimentByName(ctx, prefix+"team")
	require.NoError(t, err)
	mine, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp.ExperimentID, RunName: "mine"})
	require.NoError(t, err)
	require.NoError(t, s.LogMetric(ctx, mine.Info.RunID, entities.Metric{Key: "acc", Value: 0.9, Timestamp: 1, Step: 0}))
	prep, err = mlsync.Push(ctx, s, rest, o)
	require.NoError(t, err)
	require.Equal(t, 1, prep.Count(mlsync.RunCreated), prep.Summary())
	rep, err = mlsync.Pull(ctx, rest, s, o)
	require.NoError(t, err)
	require.Zero(t, rep.Requests, rep.Summary())
	runs, _, err := s.ListRuns(ctx, exp.ExperimentID, entities.ViewAll)
	require.NoError(t, err)
	require.Len(t, runs, 3, "parent, child and the local run, once")
}
