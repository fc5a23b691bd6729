package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// TestCLI_Server: the main job and the read commands work against an
// MLflow server as against a folder: `mlruns demo` logs there (its run is
// read back by the server's own API), experiments list, runs list and
// show, and metrics history read it.
func TestCLI_Server(t *testing.T) {
	srv := interoptest.StartServer(t, t.TempDir())
	invoke := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"--tracking-uri", srv.URL}, args...), &out, &errOut)
		require.Equal(t, 0, code, "%v: %s", args, errOut.String())
		return out.String()
	}
	demo := invoke("demo", "--epochs", "4", "--folds", "2", "--seed", "7")
	require.Contains(t, demo, srv.URL, "the demo names the server it logged to")
	m := regexp.MustCompile(`\(([0-9a-f]{32})\)`).FindStringSubmatch(demo)
	require.Len(t, m, 2, demo)
	runID := m[1]
	require.Contains(t, invoke("experiments", "list"), "mlruns-demo")
	require.Contains(t, invoke("runs", "list", "--experiment-name", "mlruns-demo"), runID)
	require.Contains(t, invoke("runs", "show", runID), "train/loss")
	hist := invoke("metrics", "history", runID, "train/loss", "--csv")
	require.Equal(t, 1+4, strings.Count(strings.TrimSpace(hist), "\n")+1, "a header and one line per epoch:\n%s", hist)
	body := srv.Get(t, "/api/2.0/mlflow/runs/get?run_id="+runID)
	require.Contains(t, string(body), `"train/loss"`, "the server holds the demo's metrics")
}
