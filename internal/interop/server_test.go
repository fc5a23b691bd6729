package interop_test

import (
	"encoding/json"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interop"
)

// The server answers the REST API on the given tree, and its whole process
// group is gone after the test's cleanup.
func TestStartServer(t *testing.T) {
	interop.Python(t)
	root := filepath.Join(t.TempDir(), "mlruns")
	var pgid int
	t.Run("serve", func(t *testing.T) {
		s := interop.StartServer(t, root)
		body := s.Post(t, "/api/2.0/mlflow/experiments/search", map[string]any{"max_results": 10})
		var resp struct {
			Experiments []struct {
				ExperimentID string `json:"experiment_id"`
				Name         string `json:"name"`
			} `json:"experiments"`
		}
		require.NoError(t, json.Unmarshal(body, &resp))
		require.Len(t, resp.Experiments, 1)
		require.Equal(t, "Default", resp.Experiments[0].Name)
		require.FileExists(t, filepath.Join(root, "0", "meta.yaml"), "the server uses the tree it was given")
		pgid = s.PID()
	})
	require.NotZero(t, pgid)
	require.ErrorIs(t, syscall.Kill(-pgid, 0), syscall.ESRCH, "the server's process group is stopped")
}
