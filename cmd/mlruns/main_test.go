package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
)

func TestDemo(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"--root", root, "demo", "--epochs", "7", "--folds", "3", "--seed", "1"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "mlflow ui --backend-store-uri file://"+root)

	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	exp, err := s.GetExperimentByName(ctx, demoExperiment)
	require.NoError(t, err)
	runs, skipped, err := s.ListRuns(ctx, exp.ExperimentID, entities.ViewAll)
	require.NoError(t, err)
	require.Empty(t, skipped)
	require.Len(t, runs, 4)
	var parent entities.Run
	children := 0
	for _, r := range runs {
		require.Equal(t, entities.StatusFinished, r.Info.Status)
		require.NotNil(t, r.Info.EndTime)
		if _, ok := r.Data.Tags[entities.TagParentRunID]; ok {
			children++
		} else {
			parent = r
		}
	}
	require.Equal(t, 3, children)
	require.Len(t, parent.Data.Params, 7)
	hist, err := s.GetMetricHistory(ctx, parent.Info.RunID, "train/loss")
	require.NoError(t, err)
	require.Len(t, hist, 7)
	require.Greater(t, hist[0].Value, hist[6].Value, "the loss curve goes down")
	require.Len(t, parent.Inputs.DatasetInputs, 1)
	probsRes, err := s.Check(ctx, nil)
	probs := probsRes.Problems
	require.NoError(t, err)
	require.Empty(t, probs)

	// a second demo reuses the experiment
	code = run(ctx, []string{"--root", root, "demo", "--epochs", "2", "--folds", "0"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	exps, _, err := s.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	require.Len(t, exps, 2) // Default and mlruns-demo
}

// The same --seed gives the same parent run name and loss curve in two
// stores (the run ids and times differ); another seed another name.
func TestDemo_SeedRepeats(t *testing.T) {
	ctx := context.Background()
	parent := func(seed string) (string, []float64) {
		t.Helper()
		root := filepath.Join(t.TempDir(), "mlruns")
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"--root", root, "demo", "--epochs", "5", "--folds", "0", "--seed", seed}, &out, &errOut)
		require.Equal(t, 0, code, errOut.String())
		s, err := filestore.Open(root, nil)
		require.NoError(t, err)
		defer s.Close()
		exp, err := s.GetExperimentByName(ctx, demoExperiment)
		require.NoError(t, err)
		runs, _, err := s.ListRuns(ctx, exp.ExperimentID, entities.ViewAll)
		require.NoError(t, err)
		require.Len(t, runs, 1)
		hist, err := s.GetMetricHistory(ctx, runs[0].Info.RunID, "train/loss")
		require.NoError(t, err)
		var vals []float64
		for _, m := range hist {
			vals = append(vals, m.Value)
		}
		return runs[0].Info.RunName, vals
	}
	n1, v1 := parent("42")
	n2, v2 := parent("42")
	n3, _ := parent("43")
	require.Equal(t, n1, n2)
	require.Equal(t, v1, v2)
	require.NotEqual(t, n1, n3)
	require.Regexp(t, `^[a-z]+-[a-z]+-\d+$`, n1)
}

func TestRun_ExitCodes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no command", nil, 2, "no command given"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"bad flag", []string{"demo", "--epochs", "x"}, 2, "invalid value"},
		{"bad epochs", []string{"demo", "--epochs", "0"}, 2, "--epochs must be"},
		{"unsupported root", []string{"--root", "sqlite:///mlflow.db", "demo"}, 1, "not supported"},
		{"help", []string{"help"}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(ctx, c.args, &out, &errOut)
			require.Equal(t, c.code, code)
			require.Contains(t, errOut.String(), c.msg)
			if c.code == 1 {
				require.Equal(t, 1, strings.Count(strings.TrimSpace(errOut.String()), "\n")+1, "one line")
			}
		})
	}
}

// The demo's tree opens in Python MLflow: the runs, the parent's params and
// the loss curve are all there.
func TestDemo_PythonReads(t *testing.T) {
	interoptest.Python(t)
	root := filepath.Join(t.TempDir(), "mlruns")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"--root", root, "demo", "--epochs", "5", "--folds", "2"}, &out, &errOut), errOut.String())
	got := interoptest.RunCode(t, `
import sys, warnings
warnings.filterwarnings("ignore")
from mlflow import MlflowClient
c = MlflowClient("file://" + sys.argv[1])
e = c.get_experiment_by_name("mlruns-demo")
runs = c.search_runs([e.experiment_id])
parent = [r for r in runs if "mlflow.parentRunId" not in r.data.tags][0]
hist = c.get_metric_history(parent.info.run_id, "val/accuracy")
print(len(runs), len(parent.data.params), len(hist), parent.info.status)
`, nil, root)
	require.Equal(t, "3 7 5 FINISHED\n", string(got))
}

// --root may come after the command, as users write it (mlruns demo
// --root DIR), in both forms; a missing value is a usage error.
func TestRun_RootAfterCommand(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "after")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"demo", "--root", root, "--epochs", "2", "--folds", "2"}, &out, &errOut), errOut.String())
	require.DirExists(t, filepath.Join(root, ".trash"))
	out.Reset()
	require.Equal(t, 0, run(ctx, []string{"runs", "list", "--root=" + root, "--csv"}, &out, &errOut), errOut.String())
	require.Equal(t, 4, strings.Count(out.String(), "\n"), "header and the demo's three runs:\n%s", out.String())
	require.Equal(t, 2, run(ctx, []string{"runs", "list", "--root"}, &out, &errOut))
}

// The detail view never shortens its fields to fit a narrow terminal: a
// run id cut short cannot be copied.
func TestRunsShow_NarrowTerminalKeepsIDs(t *testing.T) {
	t.Setenv("COLUMNS", "40")
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "m")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"--root", root, "demo", "--epochs", "2", "--folds", "2"}, &out, &errOut), errOut.String())
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	exps, _, err := s.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	var ids []string
	for _, e := range exps {
		rs, _, err := s.ListRuns(ctx, e.ExperimentID, entities.ViewAll)
		require.NoError(t, err)
		for _, r := range rs {
			ids = append(ids, r.Info.RunID)
		}
	}
	require.NotEmpty(t, ids)
	for _, id := range ids {
		out.Reset()
		require.Equal(t, 0, run(ctx, []string{"--root", root, "runs", "show", id}, &out, &errOut), errOut.String())
		require.Contains(t, out.String(), "run_id:           "+id+"\n")
	}
}

// A root that names no local store (from --root or MLFLOW_TRACKING_URI) is
// refused with the backend named, and no folder is created for it: before,
// MLFLOW_TRACKING_URI=databricks made a ./databricks store.
func TestCLI_Root_NotLocal(t *testing.T) {
	for _, uri := range []string{"databricks", "databricks-uc", "sqlite:///mlflow.db", "file://otherhost/x"} {
		t.Run(uri, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for _, viaEnv := range []bool{false, true} {
				var out, errOut bytes.Buffer
				args := []string{"--root", uri, "runs", "list"}
				if viaEnv {
					t.Setenv("MLFLOW_TRACKING_URI", uri)
					args = args[2:]
				}
				code := run(t.Context(), args, &out, &errOut)
				require.NotEqual(t, 0, code)
				require.Contains(t, errOut.String(), uri)
				entries, err := os.ReadDir(".")
				require.NoError(t, err)
				require.Empty(t, entries, "nothing is created")
			}
		})
	}
}

// fsck and gc work on files: pointed at a server they say so and touch
// nothing (before a server URI became a folder name).
func TestCLI_FileCommands_Server(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{{"fsck"}, {"fsck", "--repair"}, {"gc"}, {"gc", "--dry-run"}} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"--root", "http://127.0.0.1:5000"}, args...), &out, &errOut)
		require.NotEqual(t, 0, code, "%v", args)
		require.Contains(t, errOut.String(), "works on a local store folder", "%v", args)
		entries, err := os.ReadDir(".")
		require.NoError(t, err)
		require.Empty(t, entries)
	}
}

// The demo's parent run has MLflow's system metrics and the Go runtime's
// (one step: the run is shorter than an interval); --system-metrics=false
// logs none.
func TestDemo_SystemMetrics(t *testing.T) {
	ctx := context.Background()
	for _, on := range []bool{true, false} {
		root := filepath.Join(t.TempDir(), "mlruns")
		var out, errOut bytes.Buffer
		args := []string{"--root", root, "demo", "--epochs", "3", "--folds", "1", "--seed", "1"}
		if !on {
			args = append(args, "--system-metrics=false")
		}
		require.Equal(t, 0, run(ctx, args, &out, &errOut), errOut.String())
		s, err := filestore.Open(root, nil)
		require.NoError(t, err)
		exp, err := s.GetExperimentByName(ctx, demoExperiment)
		require.NoError(t, err)
		runs, _, err := s.ListRuns(ctx, exp.ExperimentID, entities.ViewAll)
		require.NoError(t, err)
		var system []string
		for _, r := range runs {
			for k, m := range r.Data.Metrics {
				if strings.HasPrefix(k, "system/") {
					_, child := r.Data.Tags[entities.TagParentRunID]
					require.False(t, child, "only the parent run samples")
					require.Equal(t, int64(0), m.Step, k)
					system = append(system, k)
				}
			}
		}
		if !on {
			require.Empty(t, system)
			require.Contains(t, out.String(), "system metrics: 0")
			continue
		}
		require.Len(t, system, 11, "MLflow's eight and the Go runtime's three: %v", system)
		require.Contains(t, system, "system/go_goroutines")
		require.Contains(t, out.String(), "system metrics: 11")
		s.Close()
	}
}
