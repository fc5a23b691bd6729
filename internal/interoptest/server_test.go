package interoptest_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// The server answers the REST API on the given tree, and its whole process
// group is gone after the test's cleanup.
func TestStartServer(t *testing.T) {
	interoptest.Python(t)
	root := filepath.Join(t.TempDir(), "mlruns")
	var pgid int
	t.Run("serve", func(t *testing.T) {
		s := interoptest.StartServer(t, root)
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
	require.True(t, interoptest.GroupGone(pgid), "the server's process group is stopped")
}

// The comparison is strict where it must be: key order, number tokens and
// run order count; only the lists MLflow leaves unordered are sorted.
func TestCanonicalJSON(t *testing.T) {
	same := func(a, b string) bool {
		x, err := interoptest.CanonicalJSON([]byte(a))
		require.NoError(t, err)
		y, err := interoptest.CanonicalJSON([]byte(b))
		require.NoError(t, err)
		return x == y
	}
	require.False(t, same(`{"a":1,"b":2}`, `{"b":2,"a":1}`), "key order")
	require.False(t, same(`{"v":1.0}`, `{"v":1}`), "number token")
	require.False(t, same(`{"v":"1"}`, `{"v":1}`), "type")
	require.False(t, same(`{"runs":[{"x":1},{"x":2}]}`, `{"runs":[{"x":2},{"x":1}]}`), "run order")
	require.False(t, same(`{"metrics":[{"key":"b"},{"key":"a"}]}`, `{"metrics":[{"key":"a"},{"key":"b"}]}`), "history order")
	require.True(t, same(`{"data":{"metrics":[{"key":"b"},{"key":"a"}],"tags":[{"key":"y"},{"key":"x"}]}}`,
		`{"data":{"metrics":[{"key":"a"},{"key":"b"}],"tags":[{"key":"x"},{"key":"y"}]}}`), "a run's lists")
	require.True(t, same(`{"s":"\u00fc"}`, `{"s":"ü"}`), "string escapes")
	for _, bad := range []string{`{"a":1,"a":2}`, `{"a":1} {}`, `{"a":`} {
		_, err := interoptest.CanonicalJSON([]byte(bad))
		require.Error(t, err, bad)
	}
}
