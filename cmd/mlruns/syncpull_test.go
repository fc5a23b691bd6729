package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// TestCLI_SyncPull_Server: a node's demo tree pushed into a real server,
// then pulled into an empty tree elsewhere (made by the pull), again
// (nothing written), and pushed back from there (nothing sent).
func TestCLI_SyncPull_Server(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	node := filepath.Join(t.TempDir(), "node")
	laptop := filepath.Join(t.TempDir(), "laptop")
	invoke := func(root string, want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"--root", root}, args...), &out, &errOut)
		require.Equal(t, want, code, "%v: %s%s", args, out.String(), errOut.String())
		return out.String()
	}
	invoke(node, 0, "demo", "--epochs", "5", "--folds", "2", "--seed", "3")
	invoke(node, 0, "sync", "push", "--to", srv.URL)

	out := invoke(laptop, 0, "sync", "pull", "--from", srv.URL)
	require.Contains(t, out, "pulled from "+srv.URL+": 2 experiment(s) (1 created), 3 run(s) (3 created, 0 updated, 0 unchanged, 0 failed)")
	out = invoke(laptop, 0, "sync", "pull", "--from", srv.URL)
	require.Contains(t, out, "3 run(s) (0 created, 0 updated, 3 unchanged, 0 failed), 0 param(s), 0 tag(s), 0 point(s)")
	out = invoke(laptop, 0, "sync", "push", "--to", srv.URL)
	require.Contains(t, out, "3 run(s) (0 created, 0 adopted, 0 updated, 3 unchanged, 0 failed), 0 param(s), 0 tag(s), 0 point(s)")
	out = invoke(laptop, 0, "runs", "list", "--experiment-name", demoExperiment)
	require.Equal(t, 3+1, bytes.Count([]byte(out), []byte("\n")), "a header and three runs: %s", out)

	invoke(laptop, 2, "sync", "pull")
}
