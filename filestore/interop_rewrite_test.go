package filestore_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pyenv"
)

// pythonRenamer renames a run again and again with MlflowClient.set_tag
// ("mlflow.runName"), which makes Python's FileStore rewrite the run's
// meta.yaml in place (write_yaml truncates, then writes), until the stop
// file appears; it prints how many renames it did and how many failed.
const pythonRenamer = `
import os, sys, time, warnings
warnings.filterwarnings("ignore")
from mlflow import MlflowClient
root, run_id, stop = sys.argv[1:4]
c = MlflowClient("file://" + root)
n = failed = 0
open(stop + ".started", "w").close()
while not os.path.exists(stop):
    try:
        c.set_tag(run_id, "mlflow.runName", "py-%d" % n)
    except Exception as e:
        failed += 1
        print(repr(e), file=sys.stderr)
    n += 1
print(n, failed)
`

// TestInterop_PythonRewritesMetaInPlace: while a Python process rewrites a
// run's meta.yaml in place, Go calls on the same run (SetTag, UpdateRunInfo,
// GetRun, GetRunInfo, LogMetric) never fail: a meta.yaml found empty or
// half written is read again, as Python's FileStore reads again.
func TestInterop_PythonRewritesMetaInPlace(t *testing.T) {
	py := interoptest.Python(t)
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	id := r.Info.RunID
	stop := filepath.Join(t.TempDir(), "stop")
	cmd := exec.Command(py, "-c", pythonRenamer, root, id, stop)
	cmd.Env = pyenv.Env()
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Start())
	defer func() { os.WriteFile(stop, nil, 0o666); cmd.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, err := os.Stat(stop + ".started"); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the Python renamer did not start: %s", errOut.String())
		time.Sleep(20 * time.Millisecond)
	}

	calls := 6000
	if testing.Short() {
		calls = 600
	}
	failed := map[string]int{}
	var firstErr error
	for i := range calls {
		var err error
		var name string
		switch i % 5 {
		case 0:
			name, err = "SetTag", s.SetTag(ctx, id, "t", fmt.Sprint(i))
		case 1:
			name = "UpdateRunInfo"
			_, err = s.UpdateRunInfo(ctx, id, entities.StatusRunning, nil, "")
		case 2:
			name = "GetRun"
			_, err = s.GetRun(ctx, id)
		case 3:
			name = "GetRunInfo"
			_, err = s.GetRunInfo(ctx, id)
		case 4:
			name, err = "LogMetric", s.LogMetric(ctx, id, entities.Metric{Key: "m", Value: 1, Timestamp: int64(i), Step: int64(i)})
		}
		if err != nil {
			failed[name]++
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	require.NoError(t, os.WriteFile(stop, nil, 0o666))
	require.NoError(t, cmd.Wait(), errOut.String())
	var renames, pyFailed int
	_, err := fmt.Sscan(out.String(), &renames, &pyFailed)
	require.NoError(t, err, out.String())
	nFailed := 0
	for _, n := range failed {
		nFailed += n
	}
	t.Logf("%d Go calls while Python renamed the run %d times: %d Go calls failed %v, %d Python renames failed",
		calls, renames, nFailed, failed, pyFailed)
	require.Greater(t, renames, 20, "Python must rewrite the file during the Go calls for the test to mean anything")
	require.Empty(t, failed, "first failure: %v", firstErr)
	require.Zero(t, pyFailed, errOut.String())
}
