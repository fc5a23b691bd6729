package mlflow_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/mlflow"
	"github.com/mlruns-go/mlruns/validate"
)

// TestMain lets the multi-process test re-execute this binary as a worker.
func TestMain(m *testing.M) {
	if w := os.Getenv("MLRUNS_TEST_WORKER"); w != "" {
		if err := worker(w); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// No goroutine may outlive the tests: the asynchronous writer's, a
	// run's background flush.
	goleak.VerifyTestMain(m)
}

// worker is one process of TestStartRun_ManyProcesses: experiment and
// store from the environment, one run with a child.
func worker(name string) (err error) {
	ctx := context.Background()
	return mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		if err := mlflow.LogParam(ctx, "worker", name); err != nil {
			return err
		}
		for step := int64(0); step < 20; step++ {
			if err := mlflow.LogMetric(ctx, "loss", 1/float64(step+1), mlflow.Step(step)); err != nil {
				return err
			}
		}
		return mlflow.WithRun(ctx, func(*mlflow.Run) error {
			err := mlflow.SetTag(ctx, "kind", "child")
			return err
		}, mlflow.Nested())
	}, mlflow.RunName("proc-"+name))
}

func TestStartRun_ManyProcesses(t *testing.T) {
	defer useTempStore()()
	root := mlflow.GetTrackingURI()
	const n = 4
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), "MLRUNS_TEST_WORKER="+fmt.Sprint(i),
			"MLFLOW_TRACKING_URI="+root, "MLFLOW_EXPERIMENT_NAME=shared")
		require.NoError(t, cmds[i].Start())
	}
	for _, c := range cmds {
		require.NoError(t, c.Wait())
	}
	ctx := context.Background()
	exp, err := mlflow.GetExperimentByName(ctx, "shared")
	require.NoError(t, err, "one experiment for all processes")
	client, err := mlflow.Client()
	require.NoError(t, err)
	runs, skipped, err := client.ListRuns(ctx, exp.ExperimentID, entities.ViewAll)
	require.NoError(t, err)
	require.Empty(t, skipped)
	require.Len(t, runs, 2*n)
	for _, r := range runs {
		require.Equal(t, entities.StatusFinished, r.Info.Status)
		if r.Data.Tags["kind"] == "child" {
			p, ok, err := mlflow.GetParentRun(ctx, r.Info.RunID)
			require.NoError(t, err)
			require.True(t, ok)
			require.True(t, strings.HasPrefix(p.Info.RunName, "proc-"))
		} else {
			h, err := client.GetMetricHistory(ctx, r.Info.RunID, "loss")
			require.NoError(t, err)
			require.Len(t, h, 20)
		}
	}
}

func TestTrackingURI_Resolution(t *testing.T) {
	defer useTempStore()()
	mlflow.SetTrackingURI("")
	t.Setenv(mlflow.EnvTrackingURI, "")
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, filestore.FileURI(filepath.Join(wd, "mlruns")), mlflow.GetTrackingURI())
	t.Setenv(mlflow.EnvTrackingURI, "/from/env")
	require.Equal(t, "/from/env", mlflow.GetTrackingURI())
	mlflow.SetTrackingURI("relative/store")
	require.Equal(t, "relative/store", mlflow.GetTrackingURI())
	require.Equal(t, "relative/store", os.Getenv(mlflow.EnvTrackingURI))
}

func TestTrackingURI_Forms(t *testing.T) {
	// A relative path gives plain absolute artifact locations, a file: URI
	// gives file: URIs (FileStore(uri, uri)).
	defer useTempStore()()
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := context.Background()
	forms := []struct{ uri, want string }{
		{"rel", filepath.Join(dir, "rel") + "/0/"},
		{"file:" + filepath.Join(dir, "abs"), "file://" + filepath.Join(dir, "abs") + "/0/"},
	}
	if runtime.GOOS == "windows" { // Python gives file: URIs for paths there too
		forms = []struct{ uri, want string }{
			{"rel", filestore.FileURI(filepath.Join(dir, "rel")) + "/0/"},
			{filestore.FileURI(filepath.Join(dir, "abs")), filestore.FileURI(filepath.Join(dir, "abs")) + "/0/"},
		}
	}
	for _, tc := range forms {
		mlflow.SetTrackingURI(tc.uri)
		r, err := mlflow.StartRun(ctx)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(r.Info().ArtifactURI, tc.want), r.Info().ArtifactURI)
		require.NoError(t, mlflow.EndRun(ctx))
	}
}

// Other backends than a folder or a tracking server (http(s): see
// tracking.TestOpen_Server) are refused by every call.
func TestTrackingURI_NotSupported(t *testing.T) {
	defer useTempStore()()
	for _, uri := range []string{"databricks", "databricks-uc", "sqlite:///mlflow.db", "mysql://u@h/db", "databricks://profile"} {
		mlflow.SetTrackingURI(uri)
		_, err := mlflow.StartRun(context.Background())
		require.ErrorIs(t, err, errs.ErrNotSupported, uri)
		err = mlflow.LogMetric(context.Background(), "m", 1)
		require.ErrorIs(t, err, errs.ErrNotSupported, uri)
	}
}

func TestRun_End_Statuses(t *testing.T) {
	defer useTempStore()()
	ctx := context.Background()
	failing := func() (err error) {
		r, err := mlflow.StartRun(ctx, mlflow.RunName("fails"))
		require.NoError(t, err)
		defer r.End(&err)
		return errors.New("training diverged")
	}
	require.Error(t, failing())
	run, _, err := mlflow.LastActiveRun(ctx)
	require.NoError(t, err)
	require.Equal(t, entities.StatusFailed, run.Info.Status)
	require.NotNil(t, run.Info.EndTime)

	require.PanicsWithValue(t, "boom", func() {
		r, err := mlflow.StartRun(ctx, mlflow.RunName("panics"))
		require.NoError(t, err)
		defer r.End(nil)
		panic("boom")
	})
	run, _, err = mlflow.LastActiveRun(ctx)
	require.NoError(t, err)
	require.Equal(t, "panics", run.Info.RunName)
	require.Equal(t, entities.StatusFailed, run.Info.Status)
	require.Nil(t, mlflow.ActiveRun())

	require.Panics(t, func() {
		_ = mlflow.WithRun(ctx, func(*mlflow.Run) error { panic("boom") }, mlflow.RunName("withrun-panics"))
	})
	run, _, err = mlflow.LastActiveRun(ctx)
	require.NoError(t, err)
	require.Equal(t, entities.StatusFailed, run.Info.Status)
	require.Nil(t, mlflow.ActiveRun())
}

func TestStartRun_Errors(t *testing.T) {
	defer useTempStore()()
	ctx := context.Background()
	r, err := mlflow.StartRun(ctx)
	require.NoError(t, err)
	_, err = mlflow.StartRun(ctx)
	require.ErrorIs(t, err, errs.ErrInvalidState, "a second top-level run needs Nested")
	_, err = mlflow.StartRun(ctx, mlflow.Description("d"), mlflow.Tags(map[string]any{"mlflow.note.content": "x"}), mlflow.Nested())
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.NoError(t, mlflow.EndRunWithStatus(ctx, entities.StatusKilled))

	// resume through MLFLOW_RUN_ID: RUNNING again, end time kept until End
	t.Setenv(mlflow.EnvRunID, r.ID())
	again, err := mlflow.StartRun(ctx)
	require.NoError(t, err)
	require.Equal(t, r.ID(), again.ID())
	require.Equal(t, entities.StatusRunning, again.Info().Status)
	require.Empty(t, os.Getenv(mlflow.EnvRunID))
	require.NoError(t, again.EndWithStatus(ctx, entities.StatusFinished))

	client, _ := mlflow.Client()
	require.NoError(t, client.DeleteRun(ctx, r.ID()))
	_, err = mlflow.StartRun(ctx, mlflow.ResumeRun(r.ID()))
	require.ErrorIs(t, err, errs.ErrInvalidState)
	_, err = mlflow.StartRun(ctx, mlflow.ParentRunID(r.ID()), mlflow.Detached())
	require.ErrorIs(t, err, errs.ErrInvalidState)
	_, err = mlflow.StartRun(ctx, mlflow.ResumeRun("not a run id"))
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
}

func TestLog_Errors(t *testing.T) {
	defer useTempStore()()
	ctx := context.Background()
	r, err := mlflow.StartRun(ctx)
	require.NoError(t, err)

	err = mlflow.LogParam(ctx, "lr", 0.1)
	require.NoError(t, err)
	err = mlflow.LogParam(ctx, "lr", 0.1)
	require.NoError(t, err, "the same value again is allowed")
	err = mlflow.LogParam(ctx, "lr", 0.2)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)

	var ve *validate.Error
	err = mlflow.LogMetric(ctx, "bad key!", 1)
	require.ErrorAs(t, err, &ve)
	op := mlflow.LogMetricAsync(ctx, "bad key!", 1)
	require.ErrorAs(t, op.Err(), &ve, "async calls validate before queueing")
	require.ErrorAs(t, op.Wait(), &ve)
	err = mlflow.SetTag(ctx, "../x", "v")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.ErrorIs(t, mlflow.DeleteTag(ctx, "missing"), errs.ErrNotFound)

	// a finished run still takes values, as in MLflow
	require.NoError(t, r.EndWithStatus(ctx, entities.StatusFinished))
	err = mlflow.LogMetric(ctx, "late", 1, mlflow.ForRun(r.ID()))
	require.NoError(t, err)
	require.Nil(t, mlflow.ActiveRun(), "ForRun starts no run")

	// a deleted run takes nothing, synchronously or not
	client, _ := mlflow.Client()
	require.NoError(t, client.DeleteRun(ctx, r.ID()))
	err = mlflow.LogMetric(ctx, "m", 1, mlflow.ForRun(r.ID()))
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	op = mlflow.LogMetricAsync(ctx, "m", 1, mlflow.ForRun(r.ID()))
	require.ErrorIs(t, op.Wait(), errs.ErrInvalidParameter)
	require.ErrorIs(t, mlflow.Flush(ctx), errs.ErrInvalidParameter)
	hist, err := client.GetMetricHistory(ctx, r.ID(), "m")
	require.NoError(t, err)
	require.Empty(t, hist)
	cols, err := mlflow.GetMetricHistoryColumns(ctx, r.ID(), "late")
	require.NoError(t, err)
	require.Equal(t, 1, cols.Len())
	require.Equal(t, 1.0, cols.Values[0])
}

func TestAsyncLogging_Env(t *testing.T) {
	defer useTempStore()()
	t.Setenv(mlflow.EnvEnableAsyncLogging, "true")
	ctx := context.Background()
	var runID string
	require.NoError(t, mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		runID = r.ID()
		for i := int64(0); i < 300; i++ {
			if err := mlflow.LogMetric(ctx, "x", float64(i), mlflow.Step(i-150)); err != nil {
				return err
			}
		}
		err := mlflow.LogParams(ctx, map[string]any{"a": 1, "b": true, "c": nil})
		return err
	}))
	run, err := mlflow.GetRun(ctx, runID)
	require.NoError(t, err)
	require.Equal(t, int64(149), run.Data.Metrics["x"].Step)
	require.Equal(t, map[string]string{"a": "1", "b": "True", "c": "None"}, run.Data.Params)
}

func TestStartRun_SystemTags(t *testing.T) {
	defer useTempStore()()
	t.Setenv("LOGNAME", "alice")
	ctx := context.Background()
	r, err := mlflow.StartRun(ctx, mlflow.RunName("tagged"))
	require.NoError(t, err)
	child, err := mlflow.StartRun(ctx, mlflow.Nested())
	require.NoError(t, err)
	got, err := mlflow.GetRun(ctx, child.ID())
	require.NoError(t, err)
	tags := got.Data.Tags
	require.Equal(t, "alice", tags["mlflow.user"])
	require.Equal(t, "alice", got.Info.UserID)
	require.Equal(t, os.Args[0], tags["mlflow.source.name"])
	require.Equal(t, "LOCAL", tags["mlflow.source.type"])
	require.Equal(t, r.ID(), tags["mlflow.parentRunId"])
	require.Equal(t, got.Info.RunName, tags["mlflow.runName"])
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		require.Equal(t, strings.TrimSpace(string(out)), tags["mlflow.source.git.commit"])
	}
	require.NoError(t, child.EndWithStatus(ctx, entities.StatusFinished))
	require.NoError(t, r.EndWithStatus(ctx, entities.StatusFinished))
}

func TestArtifacts_Fluent(t *testing.T) {
	defer useTempStore()()
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "report.txt")
	require.NoError(t, os.WriteFile(f, []byte("ok"), 0o644))
	require.NoError(t, mlflow.LogArtifact(ctx, f, "reports"))
	uri, err := mlflow.GetArtifactURI(ctx, "reports/report.txt")
	require.NoError(t, err)
	b, err := os.ReadFile(uri)
	require.NoError(t, err)
	require.Equal(t, "ok", string(b))
	require.ErrorIs(t, mlflow.LogArtifact(ctx, f, "../out"), errs.ErrInvalidPath)
	require.NoError(t, mlflow.EndRun(ctx))
}

// mlflow.source.name names the program as its user knows it: os.Args[0],
// except for the temporary binary of `go run`, where the main package's
// path (or, for `go run file.go`, the binary's name) stands in.
func TestSourceName_GoRun(t *testing.T) {
	for _, tc := range []struct{ arg0, mainPath, want string }{
		{"./train", "example.com/train", "./train"},
		{"/usr/local/bin/train", "example.com/train", "/usr/local/bin/train"},
		{"/tmp/go-build3356820086/b001/exe/train", "example.com/ml/cmd/train", "example.com/ml/cmd/train"},
		{"/tmp/go-build3356820086/b001/exe/main", "command-line-arguments", "main"},
		{`C:\Users\u\AppData\Local\Temp\go-build1\b001\exe\train.exe`, "", "train"},
		{"/home/u/exe/train", "example.com/train", "/home/u/exe/train"}, // an exe folder, not go run's
	} {
		arg0 := filepath.FromSlash(tc.arg0)
		if strings.Contains(tc.arg0, `\`) && filepath.Separator != '\\' {
			continue // a Windows path means nothing elsewhere
		}
		want := tc.want // a package path keeps its slashes; a file path is the OS's
		if tc.want == tc.arg0 {
			want = arg0
		}
		require.Equal(t, want, mlflow.SourceNameOf(arg0, tc.mainPath), tc.arg0)
	}
}
