package mlflow_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pyenv"
)

// scenarios pairs each Go example with its Python original in
// testdata/examples.py.
var scenarios = []struct {
	name string
	goEx func()
}{
	{"basic", Example},
	{"steps", ExampleLogMetric_steps},
	{"batch", ExampleLogMetrics},
	{"async_loop", ExampleLogMetricAsync},
	{"timestamp", ExampleTimestamp},
	{"env_experiment", ExampleSetExperiment_envVar},
	{"sweep", ExampleNested},
	{"sequential", ExampleStartRun_sequential},
	{"parallel", ExampleRun_StartChild},
	{"tags", ExampleSetTags},
	{"last_active", ExampleLastActiveRun},
	{"models", ExampleInitializeLoggedModel},
	{"text", ExampleLogText},
}

// silenceStdout runs fn with the examples' printing sent nowhere.
func silenceStdout(t *testing.T, fn func()) {
	t.Helper()
	devnull, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer devnull.Close()
	old := os.Stdout
	os.Stdout = devnull
	defer func() { os.Stdout = old }()
	fn()
}

// TestInterop_Examples runs every Go example and its Python original into
// fresh stores, has Python MLflow read all the trees back (one dump
// script) and compares the normalised dumps.
func TestInterop_Examples(t *testing.T) {
	py := interoptest.Python(t)
	base := t.TempDir()
	var roots []string
	for _, sc := range scenarios {
		goDir := filepath.Join(base, "go-"+sc.name)
		require.NoError(t, os.MkdirAll(goDir, 0o777))
		storeDir = goDir
		silenceStdout(t, sc.goEx)
		storeDir = ""
		roots = append(roots, filepath.Join(goDir, "mlruns"))
	}
	// The Python originals, in one process that resets its state between
	// them (one interpreter start instead of one per scenario).
	args := []string{filepath.Join("testdata", "examples.py"), base}
	for _, sc := range scenarios {
		args = append(args, sc.name)
		roots = append(roots, filepath.Join(base, "py-"+sc.name, "mlruns"))
	}
	cmd := exec.Command(py, args...)
	cmd.Env = withoutVars(pyenv.Env(), "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_ENABLE_ASYNC_LOGGING", "MLFLOW_RUN_ID")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "python examples: %s", out)
	var dumps map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(interoptest.Run(t, filepath.Join("testdata", "dump.py"), nil, roots...), &dumps))
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			goDump, pyDump := dumps[roots[i]], dumps[roots[len(scenarios)+i]]
			require.NotEmpty(t, goDump)
			require.JSONEq(t, string(pyDump), string(goDump))
			require.True(t, bytes.Contains(goDump, []byte(`"runs"`)))
			if sc.name == "text" {
				require.True(t, bytes.Contains(goDump, []byte(`"notes/training.txt"`)), "%s", goDump)
			}
			if sc.name == "models" {
				require.True(t, bytes.Contains(goDump, []byte(`"MLmodel"`)), "the external model's spec is read back: %s", goDump)
				require.True(t, bytes.Contains(goDump, []byte(`"candidate"`)), "%s", goDump)
			}
		})
	}
}

// withoutVars removes variables from an environment list.
func withoutVars(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}
