package mlserver_test

import (
	"net/http"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/mlserver"
	"github.com/mlruns-go/mlruns/internal/procgroup"
	"github.com/mlruns-go/mlruns/internal/pyenv"
)

// A SQLite-backed server answers the REST API, its group holds its
// processes, and Stop leaves none of them.
func TestStart_SQLite_AnswersAndStops(t *testing.T) {
	interoptest.Python(t)
	dir := t.TempDir()
	s, err := mlserver.Start(mlserver.Config{
		Command: []string{pyenv.VenvBin("mlflow")},
		Args: []string{"--backend-store-uri", "sqlite:///" + filepath.ToSlash(filepath.Join(dir, "mlflow.db")),
			"--workers", "2"},
		Env: pyenv.Env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"),
		Dir: dir,
	})
	require.NoError(t, err)
	defer s.Stop()
	resp, err := http.Get(s.URL + "/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	if runtime.GOOS == "linux" {
		pids, err := procgroup.PIDs(s.PID())
		require.NoError(t, err)
		// mlflow, uvicorn's supervisor and two workers.
		require.GreaterOrEqual(t, len(pids), 3, "%v", pids)
		require.Contains(t, pids, s.PID())
	}
	s.Stop()
	require.True(t, procgroup.Gone(s.PID()), "the server's process group is stopped")
}

// A server that cannot start is an error with its output, not a hang.
func TestStart_BadBackend_ErrorWithOutput(t *testing.T) {
	interoptest.Python(t)
	dir := t.TempDir()
	_, err := mlserver.Start(mlserver.Config{
		Command: []string{pyenv.VenvBin("mlflow")},
		Args:    []string{"--backend-store-uri", "nosuchscheme://x"},
		Env:     pyenv.Env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"),
		Dir:     dir,
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "mlflow server output")
}
