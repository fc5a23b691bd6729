package mlsync_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/faultproxy"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pyenv"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/tracking"
)

// serverSetup is a local tree and a destination server for one subtest;
// subtests share one server and keep apart by experiment names.
type serverSetup struct {
	tr   *tree
	srv  *interoptest.Server
	rest store.Store
	dst  *counting
	opts mlsync.Options
}

func newServerSetup(t *testing.T, srv *interoptest.Server) *serverSetup {
	t.Helper()
	src, root := storetest.New(t, nil)
	prefix := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-"
	tr := makeTree(t, src, root, prefix)
	rest, err := tracking.OpenStore(srv.URL, nil)
	require.NoError(t, err)
	t.Cleanup(func() { rest.Close() })
	return &serverSetup{tr: tr, srv: srv, rest: rest, dst: newCounting(rest),
		opts: mlsync.Options{Root: root, Target: srv.URL}}
}

func (f *serverSetup) push(t *testing.T) *mlsync.Report {
	t.Helper()
	rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, f.opts)
	require.NoError(t, err)
	require.True(t, rep.Complete(), "push: %s %+v", rep.Summary(), rep)
	return rep
}

func TestPush_Server_SQLite(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})

	t.Run("mirror", func(t *testing.T) {
		f := newServerSetup(t, srv)
		f.tr.addOddValues(t)
		rep := f.push(t)
		require.Equal(t, 4, rep.Count(mlsync.RunCreated))
		require.Equal(t, map[mlsync.LossKind]int64{
			mlsync.LossInfinity: 2, mlsync.LossNegativeZero: 1, mlsync.LossDuplicatePoint: 1,
		}, rep.Lossy)
		ids := requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
		diffs, err := mlsync.Verify(context.Background(), f.tr.s, f.rest, f.opts)
		require.NoError(t, err)
		require.Empty(t, diffs, "the server read back differs only by what was reported")

		// NaN survives: the parent's odd history holds it.
		hist, err := f.rest.GetMetricHistory(context.Background(), ids[f.tr.parent], "odd")
		require.NoError(t, err)
		require.Contains(t, history(t, f.rest, ids[f.tr.parent], "odd", exact, false), "1700000020000 0 NaN", "%v", hist)

		// Python's MlflowClient sees the parent link; Python's FileStore
		// still lists the tree with the journal and lock files at its root.
		out := interoptest.RunCodeEnv(t, srv.Env(), `
import sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
print(c.get_run(sys.argv[2]).data.tags["mlflow.parentRunId"])
`, nil, srv.URL, ids[f.tr.kids[0]])
		require.Equal(t, ids[f.tr.parent], strings.TrimSpace(string(out)))
		ents, err := os.ReadDir(f.tr.root)
		require.NoError(t, err)
		var state []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".mlruns-sync-") {
				require.True(t, e.Type().IsRegular(), e.Name())
				state = append(state, e.Name())
			}
		}
		require.Len(t, state, 2, "journal and lock: %v", state)
		out = interoptest.RunCodeEnv(t, []string{"MLFLOW_ALLOW_FILE_STORE=true"}, `
import sys
from mlflow.store.tracking.file_store import FileStore
from mlflow.entities import ViewType
fs = FileStore(sys.argv[1])
exps = fs.search_experiments(view_type=ViewType.ALL)
runs = fs.search_runs([e.experiment_id for e in exps], "", ViewType.ALL)
print(len(exps), len(runs))
`, nil, f.tr.root)
		require.Equal(t, "3 4", strings.TrimSpace(string(out)), "Default and two experiments, four runs")

		f.dst.reset()
		rep = f.push(t)
		require.Zero(t, f.dst.total(), "a second push writes nothing: %v", f.dst.writes)
		require.Equal(t, 4, rep.Count(mlsync.RunUnchanged))
		require.Empty(t, rep.Lossy)
	})

	t.Run("logged models", func(t *testing.T) {
		f := newServerSetup(t, srv)
		local := f.tr.addModel(t)
		rep := f.push(t)
		require.Empty(t, rep.Lossy, "the model's metric keeps its dataset, the links their model")
		ids := requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
		remote := requireModelMirrored(t, f.tr.s, f.rest, local, ids)

		// Python's MlflowClient sees the model, its metric and the links.
		out := interoptest.RunCodeEnv(t, srv.Env(), `
import sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
m = c.get_logged_model(sys.argv[2])
mm = m.metrics[0]
print(m.name, m.status, m.source_run_id == sys.argv[3], mm.key, mm.value, mm.step, mm.dataset_name, mm.run_id == sys.argv[3])
print([o.model_id == sys.argv[2] and o.step for o in c.get_run(sys.argv[3]).outputs.model_outputs])
print([i.model_id == sys.argv[2] for i in c.get_run(sys.argv[4]).inputs.model_inputs])
`, nil, srv.URL, remote, ids[f.tr.parent], ids[f.tr.kids[0]])
		require.Equal(t, "model READY True acc 0.75 3 train True\n[3]\n[True]", strings.TrimSpace(string(out)))

		f.dst.reset()
		rep = f.push(t)
		require.Zero(t, f.dst.total(), "a second push writes nothing: %v", f.dst.writes)
		require.Equal(t, mlsync.RunUnchanged, rep.Models[0].State)

		// A model param's new value is refused by a SQL server (UNIQUE
		// constraint): counted as lost, once, instead of failing the model.
		ctx := context.Background()
		require.NoError(t, f.tr.s.LogLoggedModelParams(ctx, local, map[string]string{"alpha": "0.7", "beta": "1"}))
		f.dst.reset()
		rep = f.push(t)
		require.Equal(t, map[mlsync.LossKind]int64{mlsync.LossModelParamChanged: 1}, rep.Lossy)
		rm, err := f.rest.GetLoggedModel(ctx, remote)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"alpha": "0.5", "beta": "1"}, rm.Params)
		rep = f.push(t)
		require.Empty(t, rep.Lossy)
		require.NoError(t, f.tr.s.LogLoggedModelParams(ctx, local, map[string]string{"alpha": "0.5"}))

		// Without the journal, the model is found again by its tag and the
		// output (LogOutputs refuses a repeat) is not sent again.
		require.NoError(t, os.Remove(mlsync.JournalPath(f.opts.Root, f.opts.Target)))
		f.dst.reset()
		rep = f.push(t)
		require.Equal(t, mlsync.RunAdopted, rep.Models[0].State)
		require.Zero(t, f.dst.writes["CreateLoggedModel"]+f.dst.writes["LogOutputs"], "%v", f.dst.writes)
		requireModelMirrored(t, f.tr.s, f.rest, local, ids)
	})

	t.Run("artifacts", func(t *testing.T) {
		f := newServerSetup(t, srv)
		src := f.tr.addArtifacts(t)
		model := f.tr.addModel(t)
		rep := f.push(t)
		files, _ := rep.ArtifactFiles()
		require.Equal(t, 4, files, "three of the run, one of the model")
		ids := requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
		remoteModel := requireModelMirrored(t, f.tr.s, f.rest, model, ids)
		want := artifactFiles(t, src)
		dst, err := f.rest.RunArtifacts(context.Background(), ids[f.tr.parent])
		require.NoError(t, err)
		require.Equal(t, want, artifactFiles(t, dst))
		diffs, err := mlsync.Verify(context.Background(), f.tr.s, f.rest, f.opts)
		require.NoError(t, err)
		require.Empty(t, diffs)

		// Python's MlflowClient downloads the same bytes.
		dir := t.TempDir()
		out := interoptest.RunCodeEnv(t, srv.Env(), `
import hashlib, os, sys
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
c = MlflowClient(sys.argv[1])
root = c.download_artifacts(sys.argv[2], "", sys.argv[3])
lines = []
for d, _, fs in os.walk(root):
    for n in fs:
        p = os.path.join(d, n)
        lines.append(os.path.relpath(p, root).replace(os.sep, "/") + " " + hashlib.sha256(open(p, "rb").read()).hexdigest()[:16])
print("\n".join(sorted(lines)))
m = c.get_logged_model(sys.argv[4])
p = mlflow.artifacts.download_artifacts(artifact_uri=m.artifact_location + "/MLmodel", dst_path=sys.argv[3] + "/model")
print("MLmodel", open(p).read() == "artifact_path: model\nflavors: {}\n")
`, nil, srv.URL, ids[f.tr.parent], dir, remoteModel)
		var lines []string
		for _, p := range slices.Sorted(maps.Keys(want)) {
			sum := sha256.Sum256([]byte(want[p]))
			lines = append(lines, p+" "+hex.EncodeToString(sum[:])[:16])
		}
		lines = append(lines, "MLmodel True")
		require.Equal(t, strings.Join(lines, "\n"), strings.TrimSpace(string(out)))

		f.dst.reset()
		f.push(t)
		require.Zero(t, f.dst.total(), "a second push sends nothing: %v", f.dst.writes)
		putArtifact(t, src, "notes.txt", "changed")
		f.dst.reset()
		f.push(t)
		require.Equal(t, map[string]int{"Put": 1}, f.dst.writes)
		require.Equal(t, artifactFiles(t, src), artifactFiles(t, dst))
	})

	t.Run("append", func(t *testing.T) {
		f := newServerSetup(t, srv)
		f.push(t)
		var ms []entities.Metric
		for i := range int64(1500) {
			ms = append(ms, entities.Metric{Key: "loss", Value: float64(i), Timestamp: 1_700_000_060_000 + i, Step: 100 + i})
		}
		require.NoError(t, f.tr.s.LogBatch(context.Background(), f.tr.kids[0], ms[:1000], nil, nil))
		require.NoError(t, f.tr.s.LogBatch(context.Background(), f.tr.kids[0], ms[1000:], nil, nil))
		f.dst.reset()
		rep := f.push(t)
		require.Equal(t, 1500, f.dst.points())
		require.Equal(t, 2, f.dst.writes["LogBatch"], "within the 1000-metric limit: %v", f.dst.writes)
		require.Equal(t, 1, rep.Count(mlsync.RunUpdated))
		requireMirrored(t, f.tr.s, f.rest, sqlValue, true)

		// mlflow migrate-filestore converts the tree with the journal at its
		// root. (Not the mirror subtest's tree: the migrator fails on an exact
		// duplicate point, UNIQUE constraint failed: metrics.key, ...)
		mig := exec.Command(filepath.Join(filepath.Dir(interoptest.Python(t)), "mlflow"), "migrate-filestore",
			"--source", f.tr.root, "--target", "sqlite:///"+filepath.Join(t.TempDir(), "migrated.db"))
		mig.Env = pyenv.Env("MLFLOW_ALLOW_FILE_STORE=true")
		out, err := mig.CombinedOutput()
		require.NoError(t, err, "migrate-filestore beside the journal: %s", out)
	})

	t.Run("crash", func(t *testing.T) {
		// A push killed right after each of these writes, then run again
		// to completion: every run once, everything there.
		for _, at := range []string{"CreateRun:1", "CreateRun:3", "LogBatch:1", "LogBatch:4"} {
			t.Run(strings.ReplaceAll(at, ":", "-"), func(t *testing.T) {
				f := newServerSetup(t, srv)
				code := pushInHelper(t, f, at)
				require.Equal(t, crashExit, code, "the helper died at %s", at)
				rep := f.push(t)
				if strings.HasPrefix(at, "CreateRun") {
					require.GreaterOrEqual(t, rep.Count(mlsync.RunAdopted), 1, "the run made just before the crash is found by its tag: %+v", rep.Runs)
				}
				requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
				f.dst.reset()
				f.push(t)
				require.Zero(t, f.dst.total())
			})
		}
	})

	t.Run("lost responses", func(t *testing.T) {
		// The server commits the second CreateRun and the first LogBatch,
		// and their responses are lost: the run is found by its tag in the
		// same push, the batch re-sent (a SQL server drops what it has).
		proxy, err := faultproxy.New(srv.URL)
		require.NoError(t, err)
		t.Cleanup(proxy.Close)
		create := proxy.Inject(faultproxy.Rule{Match: faultproxy.Path("/api/2.0/mlflow/runs/create"), Skip: 1, Times: 1, Fault: faultproxy.Drop()})
		batch := proxy.Inject(faultproxy.Rule{Match: faultproxy.Path("/api/2.0/mlflow/runs/log-batch"), Times: 1, Fault: faultproxy.Drop()})
		f := newServerSetup(t, srv)
		viaProxy, err := tracking.OpenStore(proxy.URL, nil)
		require.NoError(t, err)
		t.Cleanup(func() { viaProxy.Close() })
		o := f.opts
		o.Target = proxy.URL
		rep, err := mlsync.Push(context.Background(), f.tr.s, viaProxy, o)
		require.NoError(t, err)
		require.True(t, rep.Complete(), rep.Summary())
		require.Equal(t, 1, proxy.Fired(create))
		require.Equal(t, 1, proxy.Fired(batch))
		require.Equal(t, 1, rep.Count(mlsync.RunAdopted), "%+v", rep.Runs)
		requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
	})

	// A SQL server deletes an experiment's runs with it (the file store
	// keeps their stage), so here only a run is deleted.
	t.Run("kill after each write", func(t *testing.T) { killEachWrite(t, srv, sqlValue, true, false) })

	t.Run("jobs and follow", func(t *testing.T) { serverJobsAndFollow(t, srv) })

	t.Run("concurrent", func(t *testing.T) {
		f := newServerSetup(t, srv)
		var wg sync.WaitGroup
		reps := make([]*mlsync.Report, 2)
		errs := make([]error, 2)
		for i := range reps {
			wg.Go(func() {
				src, err := filestore.Open(f.tr.root, nil)
				if err == nil {
					var dst store.Store
					dst, err = tracking.OpenStore(srv.URL, nil)
					if err == nil {
						defer dst.Close()
						reps[i], errs[i] = mlsync.Push(context.Background(), src, dst, f.opts)
						return
					}
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i := range reps {
			require.NoError(t, errs[i])
			require.True(t, reps[i].Complete(), reps[i].Summary())
		}
		require.Equal(t, 4, reps[0].Count(mlsync.RunCreated)+reps[1].Count(mlsync.RunCreated))
		requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
	})

	t.Run("rewritten", func(t *testing.T) {
		f := newServerSetup(t, srv)
		f.push(t)
		p := filepath.Join(f.tr.root, f.tr.expA, f.tr.kids[1], "metrics", "loss")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		lines := strings.SplitAfter(string(data), "\n")
		// A repair that dropped the last point, then a new one appended:
		// the sent prefix is gone.
		lines = append(lines[:len(lines)-2], "1700000070000 0.125 29\n")
		require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "")), 0o666))
		f.dst.reset()
		rep := f.push(t)
		require.Equal(t, 1, f.dst.points())
		require.Equal(t, int64(1), rep.Lossy[mlsync.LossStaleRemotePoint], "%+v", rep)
		got := history(t, f.rest, remoteRuns(t, f.rest)[f.tr.kids[1]][0].Info.RunID, "loss", exact, false)
		require.Len(t, got, 31, "30 points and the stale one")
	})

	t.Run("long values", func(t *testing.T) {
		f := newServerSetup(t, srv)
		dir := filepath.Join(f.tr.root, f.tr.expB, f.tr.other)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "params", "long"), []byte(strings.Repeat("p", 7000)), 0o666))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tags", "long"), []byte(strings.Repeat("é", 9000)), 0o666))
		rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, f.opts)
		require.NoError(t, err)
		require.True(t, rep.Complete(), rep.Summary())
		require.Equal(t, int64(1), rep.Lossy[mlsync.LossParamTruncated])
		require.Equal(t, int64(1), rep.Lossy[mlsync.LossTagTruncated])
		r, err := f.rest.GetRun(context.Background(), remoteRuns(t, f.rest)[f.tr.other][0].Info.RunID)
		require.NoError(t, err)
		require.Equal(t, 6000, len(r.Data.Params["long"]), "the server truncated it")
		require.Equal(t, 8000, utf8.RuneCountInString(r.Data.Tags["long"]))

		st, err := mlsync.Status(context.Background(), f.tr.s, f.opts)
		require.NoError(t, err)
		require.Equal(t, int64(1), st.Lossy[mlsync.LossParamTruncated], "status keeps what was lossy")
		require.Equal(t, 4, st.Count(mlsync.RunSynced))
	})

	t.Run("dry run", func(t *testing.T) {
		f := newServerSetup(t, srv)
		o := f.opts
		o.DryRun = true
		rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, o)
		require.NoError(t, err)
		require.Equal(t, 4, rep.Count(mlsync.RunNew))
		require.Zero(t, f.dst.total())
		_, err = f.rest.GetExperimentByName(context.Background(), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())+"-sync-a")
		require.Error(t, err, "nothing was created on the server")
	})
}

// crashExit is the helper's exit code when it "crashes".
const crashExit = 77

// pushInHelper runs a push of f's tree in a child process (this test
// binary) that exits at once, without cleanup, right after the destination
// answered the write at (what:n); it returns the child's exit code.
func pushInHelper(t *testing.T, f *serverSetup, at string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess_Push$")
	opts, err := json.Marshal(f.opts)
	require.NoError(t, err)
	cmd.Env = append(os.Environ(), "MLSYNC_HELPER=1", "MLSYNC_AT="+at, "MLSYNC_OPTS="+string(opts))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	require.NoError(t, err, "%s", out)
	return 0
}

func TestHelperProcess_Push(t *testing.T) {
	if os.Getenv("MLSYNC_HELPER") != "1" {
		t.Skip("the child process of the crash tests")
	}
	var o mlsync.Options
	require.NoError(t, json.Unmarshal([]byte(os.Getenv("MLSYNC_OPTS")), &o))
	what, nth, _ := strings.Cut(os.Getenv("MLSYNC_AT"), ":")
	src, err := filestore.Open(o.Root, nil)
	require.NoError(t, err)
	rest, err := tracking.OpenStore(o.Target, nil)
	require.NoError(t, err)
	dst := newCounting(rest)
	dst.after = func(w string, n int) {
		if w == what && fmt.Sprint(n) == nth {
			os.Exit(crashExit)
		}
	}
	_, err = mlsync.Push(context.Background(), src, dst, o)
	require.NoError(t, err)
}

// A FileStore-backed server keeps ±inf and -0.0 as sent and every point it
// is sent, duplicates included: nothing is lossy there, and a push killed
// after a batch landed sends no point twice when it is run again.
func TestPush_Server_FileStore(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.FileStore})
	// Its artifacts are file: URIs under this folder, which the server
	// makes only when it writes there: made, they are reachable from here
	// (the server shares this machine), and the push writes them itself.
	require.NoError(t, os.MkdirAll(srv.ArtifactRoot, 0o777))
	t.Run("kill after each write", func(t *testing.T) { killEachWrite(t, srv, exact, false, true) })
	t.Run("model metric step", func(t *testing.T) {
		f := newServerSetup(t, srv)
		f.tr.addModel(t)
		rep := f.push(t)
		require.Equal(t, map[mlsync.LossKind]int64{mlsync.LossDatasetStep: 1}, rep.Lossy)
	})
	f := newServerSetup(t, srv)
	f.tr.addOddValues(t)
	require.Equal(t, crashExit, pushInHelper(t, f, "LogBatch:2"))
	rep := f.push(t)
	require.Empty(t, rep.Lossy)
	requireMirrored(t, f.tr.s, f.rest, exact, false)
	f.dst.reset()
	f.push(t)
	require.Zero(t, f.dst.total())
}

// On PostgreSQL the server enforces its column lengths: a run whose name
// is over 250 characters is refused (400), reported as failed, and every
// other run is pushed, with the logged model and the artifacts; renamed,
// it follows, and the server reads back equal (Verify).
func TestPush_Server_Postgres(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.Postgres})
	f := newServerSetup(t, srv)
	f.tr.addOddValues(t)
	model := f.tr.addModel(t)
	f.tr.addArtifacts(t)
	long, err := f.tr.s.CreateRun(context.Background(), store.CreateRunOptions{ExperimentID: f.tr.expB, RunName: strings.Repeat("n", 300)})
	require.NoError(t, err)
	rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, f.opts)
	require.NoError(t, err)
	require.False(t, rep.Complete())
	require.Equal(t, 4, rep.Count(mlsync.RunCreated))
	for _, r := range rep.Runs {
		if r.RunID == long.Info.RunID {
			require.Equal(t, mlsync.RunFailed, r.State)
			require.Contains(t, r.Error, "varying(250)", "the server's reason")
		}
	}
	remote := remoteRuns(t, f.rest)
	require.Len(t, remote, 4)
	require.Equal(t, map[mlsync.LossKind]int64{
		mlsync.LossInfinity: 2, mlsync.LossNegativeZero: 1, mlsync.LossDuplicatePoint: 1,
	}, rep.Lossy)
	// Renamed locally, it goes with the next push.
	_, err = f.tr.s.UpdateRunInfo(context.Background(), long.Info.RunID, entities.StatusFinished, nil, "short")
	require.NoError(t, err)
	rep = f.push(t)
	require.Equal(t, 1, rep.Count(mlsync.RunCreated))
	ids := requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
	requireModelMirrored(t, f.tr.s, f.rest, model, ids)
	diffs, err := mlsync.Verify(context.Background(), f.tr.s, f.rest, f.opts)
	require.NoError(t, err)
	require.Empty(t, diffs)
}

// killEachWrite kills a push right after the k-th write the destination
// answered, for every k of the push (experiments, runs, batches, run
// updates, a logged model's creation, params, tags and finalization, model
// inputs and outputs, a run's deletion and, with deleteExp, an
// experiment's), runs it again to completion and checks the destination
// equals the tree: every run and model once, no point missing or twice.
func killEachWrite(t *testing.T, srv *interoptest.Server, vm valueMap, dedup, deleteExp bool) {
	finished := false
	for k := 1; !finished && !t.Failed(); k++ {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			f := newServerSetup(t, srv)
			// Python's FileStore reads a point with a dataset back at
			// step 0 (counted as dataset_step): the model's is at 0 there.
			model := f.tr.addModelAt(t, map[bool]int64{true: 3, false: 0}[dedup])
			require.NoError(t, f.tr.s.DeleteRun(context.Background(), f.tr.kids[1]))
			if deleteExp {
				require.NoError(t, f.tr.s.DeleteExperiment(context.Background(), f.tr.expB))
			}
			code := pushInHelper(t, f, fmt.Sprintf("any:%d", k))
			if code == 0 {
				require.Greater(t, k, 10, "a push of this tree makes more writes")
				finished = true
				return
			}
			require.Equal(t, crashExit, code)
			f.push(t)
			ids := requireMirrored(t, f.tr.s, f.rest, vm, dedup)
			requireModelMirrored(t, f.tr.s, f.rest, model, ids)
		})
	}
}

// A server run with --no-serve-artifacts gives runs server-local artifact
// folders, which its clients write themselves. While the server's folder
// is not on this machine, the run's artifacts are a per-run report and
// everything else is pushed; once it is (the server shares this machine's
// filesystem), the push writes the files there, as Python's client does,
// and Python reads them back.
func TestPush_Server_NoServeArtifacts(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite, NoServeArtifacts: true})
	f := newServerSetup(t, srv)
	src := f.tr.addArtifacts(t)
	for range 2 { // reported again: nothing of it was journaled
		rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, f.opts)
		require.NoError(t, err)
		require.False(t, rep.Complete())
		require.Contains(t, rep.Summary(), "--no-serve-artifacts")
		for _, r := range rep.Runs {
			require.NotEqual(t, mlsync.RunFailed, r.State)
			if r.RunID == f.tr.parent {
				require.Contains(t, r.Artifacts.Error, "--no-serve-artifacts")
			} else {
				require.Empty(t, r.Artifacts.Error)
			}
		}
	}
	ids := requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
	o := f.opts
	o.NoArtifacts = true
	rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, o)
	require.NoError(t, err)
	require.True(t, rep.Complete(), "without artifacts: %s", rep.Summary())

	require.NoError(t, os.MkdirAll(srv.ArtifactRoot, 0o777))
	rep = f.push(t)
	files, _ := rep.ArtifactFiles()
	require.Equal(t, 3, files)
	dir := t.TempDir()
	out := interoptest.RunCodeEnv(t, srv.Env(), `
import os, sys
from mlflow import MlflowClient
root = MlflowClient(sys.argv[1]).download_artifacts(sys.argv[2], "", sys.argv[3])
lines = []
for d, _, fs in os.walk(root):
    for n in fs:
        p = os.path.join(d, n)
        lines.append("%s %d" % (os.path.relpath(p, root).replace(os.sep, "/"), os.path.getsize(p)))
print("\n".join(sorted(lines)))
`, nil, srv.URL, ids[f.tr.parent], dir)
	var lines []string
	want := artifactFiles(t, src)
	for _, p := range slices.Sorted(maps.Keys(want)) {
		lines = append(lines, fmt.Sprintf("%s %d", p, len(want[p])))
	}
	require.Equal(t, strings.Join(lines, "\n"), strings.TrimSpace(string(out)))
}
