package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/tracking"
)

// TestCLI_SyncPush_Server: a demo tree pushed into a real server, then
// again (nothing sent), its status, a lossy value with and without
// --strict, a dry run and the JSON report.
func TestCLI_SyncPush_Server(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	root := filepath.Join(t.TempDir(), "mlruns")
	invoke := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"--root", root}, args...), &out, &errOut)
		require.Equal(t, want, code, "%v: %s%s", args, out.String(), errOut.String())
		return out.String(), errOut.String()
	}
	invoke(0, "demo", "--epochs", "5", "--folds", "2", "--seed", "3")

	out, _ := invoke(0, "sync", "push", "--to", srv.URL, "--dry-run")
	require.Contains(t, out, "dry run, nothing sent to "+srv.URL+": would push 3 run(s) (3 new")
	out, _ = invoke(0, "sync", "push", "--to", srv.URL)
	require.Contains(t, out, "pushed to "+srv.URL+": 2 experiment(s) (1 created), 3 run(s) (3 created, 0 adopted, 0 updated, 0 unchanged, 0 failed)")
	out, _ = invoke(0, "sync", "push", "--to", srv.URL, "--verify")
	require.Contains(t, out, "3 run(s) (0 created, 0 adopted, 0 updated, 3 unchanged, 0 failed), 0 param(s), 0 tag(s), 0 point(s)")
	require.Contains(t, out, "verified: "+srv.URL+" holds the tree's 3 run(s)")
	out, _ = invoke(0, "sync", "status", "--to", srv.URL)
	require.Contains(t, out, srv.URL+": 3 synced, 0 pending, 0 new, 0 point(s) and 0 artifact file(s) to send")

	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	exp, err := s.GetExperimentByName(context.Background(), demoExperiment)
	require.NoError(t, err)
	runs, _, err := s.ListRuns(context.Background(), exp.ExperimentID, entities.ViewAll)
	require.NoError(t, err)
	require.NoError(t, s.LogMetric(context.Background(), runs[0].Info.RunID, entities.Metric{Key: "odd", Value: math.Inf(1), Timestamp: 1, Step: 0}))
	out, _ = invoke(0, "sync", "status", "--to", srv.URL)
	require.Contains(t, out, "2 synced, 1 pending, 0 new, 1 point(s) and 0 artifact file(s) to send")
	_, errOut := invoke(1, "sync", "push", "--to", srv.URL, "--strict")
	require.Contains(t, errOut, "1 value(s) reached the server changed (--strict)")
	out, _ = invoke(0, "sync", "push", "--to", srv.URL, "--json")
	var rep mlsync.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, 3, rep.Count(mlsync.RunUnchanged), "pushed by the --strict run")
	out, _ = invoke(0, "sync", "status", "--to", srv.URL)
	require.Contains(t, out, "1 value(s) pushed lossy (1 infinity)")

	// --verify tells a change made on the server.
	rest, err := tracking.OpenStore(srv.URL, nil)
	require.NoError(t, err)
	defer rest.Close()
	require.NoError(t, rest.SetTag(context.Background(), rep.Runs[0].RemoteRunID, "changed", "on the server"))
	_, errOut = invoke(1, "sync", "push", "--to", srv.URL, "--verify")
	require.Contains(t, errOut, "tag changed: tree (none), server \"on the server\"")
	require.Contains(t, errOut, "the server differs from the tree in 1 place(s)")
}

func TestCLI_SyncPush_Unreachable(t *testing.T) {
	t.Setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
	root := filepath.Join(t.TempDir(), "mlruns")
	_, err := filestore.Open(root, nil)
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"--root", root, "sync", "push", "--to", "http://127.0.0.1:1"}, &out, &errOut)
	require.Equal(t, 1, code, out.String())
	require.Contains(t, errOut.String(), "http://127.0.0.1:1")
}

func TestCLI_Sync_Usage(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	_, err := filestore.Open(root, nil)
	require.NoError(t, err)
	for _, args := range [][]string{{"sync"}, {"sync", "push"}, {"sync", "status"}, {"sync", "push", "--to"}} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"--root", root}, args...), &out, &errOut)
		require.Equal(t, 2, code, "%v: %s", args, errOut.String())
	}
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"--root", "http://127.0.0.1:1", "sync", "push", "--to", "http://127.0.0.1:2"}, &out, &errOut)
	require.Equal(t, 1, code)
	require.True(t, strings.Contains(errOut.String(), "local store folder"), errOut.String())
}
