package mlflow_test

import (
	"os"
	"path/filepath"

	"github.com/mlruns-go/mlruns/mlflow"
)

// storeDir, when set, is the store the next example uses (the interop
// test points it at a folder it reads back); else a temporary folder.
var storeDir string

// useTempStore gives an example a fresh store and fresh fluent state, as a
// new Python process with MLFLOW_TRACKING_URI set would have. The returned
// function ends any run left active, forgets the state and removes the
// temporary store.
func useTempStore() func() {
	mlflow.ResetForTest()
	dir := storeDir
	remove := false
	if dir == "" {
		d, err := os.MkdirTemp("", "mlflow-example")
		if err != nil {
			panic(err)
		}
		dir, remove = d, true
	}
	// a missing folder, so that it is created with the Default experiment
	mlflow.SetTrackingURI(filepath.Join(dir, "mlruns"))
	return func() {
		mlflow.ResetForTest()
		os.Unsetenv(mlflow.EnvTrackingURI)
		os.Unsetenv(mlflow.EnvExperimentID)
		if remove {
			os.RemoveAll(dir)
		}
	}
}
