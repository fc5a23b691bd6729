package difftest

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// DriverPath is the absolute path of driver.py.
func DriverPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "driver.py")
}

// PyWorkload is a workload and the root Python runs it in: a folder
// (Python's FileStore) or an http(s) tracking URI (the RestStore under
// MlflowClient; see driver.py's open_store).
type PyWorkload struct {
	Root string `json:"root"`
	Ops  []Op   `json:"ops"`
}

// RunPython runs workloads through Python MLflow in one process and returns
// one Result per workload. It skips t when Python MLflow is unavailable
// (interoptest.Python).
func RunPython(t testing.TB, workloads []PyWorkload) []Result {
	t.Helper()
	var resp struct {
		Results []Result `json:"results"`
	}
	callDriver(t, "run", map[string]any{"workloads": workloads}, &resp)
	if len(resp.Results) != len(workloads) {
		t.Fatalf("driver.py run: %d results for %d workloads", len(resp.Results), len(workloads))
	}
	return resp.Results
}

// DumpPython reads each root with Python MLflow (driver.py dump) in one
// process: a folder through FileStore, a tracking URI through MlflowClient;
// see Dump for the line format.
func DumpPython(t testing.TB, roots []string) [][]string {
	t.Helper()
	var resp struct {
		Dumps [][]string `json:"dumps"`
	}
	callDriver(t, "dump", map[string]any{"roots": roots}, &resp)
	return resp.Dumps
}

// callDriver runs driver.py in mode with req as its JSON input, in one
// Python process, and decodes its JSON answer into resp.
func callDriver(t testing.TB, mode string, req, resp any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out := interoptest.Run(t, DriverPath(), in, mode)
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("driver.py %s: %v\n%s", mode, err, out)
	}
}
