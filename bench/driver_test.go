package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/stretchr/testify/require"
)

// runDriver builds the driver binary, runs it with args, the pinned
// Python and -json, and returns the JSON rows it wrote. It skips in -short
// mode, and skips or fails (MLRUNS_INTEROP=required) without the venv.
func runDriver(t *testing.T, args ...string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the driver")
	}
	py := interoptest.Python(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bench")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	jsonPath := filepath.Join(dir, "rows.json")
	out, err = exec.Command(bin, append(args, "-python", py, "-json", jsonPath)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	raw, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	return raw
}

// TestDriver_Quick runs the driver binary end to end (`-quick` at a tiny
// scale, with the pinned Python MLflow, without the server section) and
// checks the JSON rows: every scenario present, rates positive where the
// column applies, null where it does not, ratios consistent with the rates.
func TestDriver_Quick(t *testing.T) {
	raw := runDriver(t, "-quick", "-scale", "0.1", "-coldstarts", "1", "-no-server")
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(raw, &rows))
	for _, r := range rows {
		for _, k := range []string{"scenario", "ours_per_s", "python_per_s", "floor_per_s", "ours_over_python", "ours_over_floor"} {
			require.Contains(t, r, k, "row %v", r)
		}
	}
	byID := map[string]map[string]any{}
	for _, r := range rows {
		name, ok := r["scenario"].(string)
		require.True(t, ok, "scenario %v", r["scenario"])
		byID[strings.Fields(name)[0]] = r
	}
	positive := func(id, col string) float64 {
		v, ok := byID[id][col].(float64)
		require.True(t, ok && v > 0, "%s %s = %v, want a positive number", id, col, byID[id][col])
		return v
	}
	null := func(id, col string) {
		require.Nil(t, byID[id][col], "%s %s", id, col)
	}
	// against checks one comparison: with a baseline, its rate and our ratio
	// to it agree; without one, both columns are null.
	against := func(id string, ours float64, applies bool, rateCol, ratioCol string) {
		if !applies {
			null(id, rateCol)
			null(id, ratioCol)
			return
		}
		ratio := positive(id, ratioCol)
		require.InEpsilon(t, ours/positive(id, rateCol), ratio, 1e-9, id)
	}
	// Which columns apply to which scenario.
	for _, tc := range []struct {
		id            string
		python, floor bool
	}{
		{"S1", true, true}, {"S2", true, true}, {"S3", true, true}, {"S4", true, true},
		{"S5", true, true}, {"S5c", true, true}, {"S5i", true, true}, {"S6", true, false}, {"S7", true, false}, {"S8", false, false},
	} {
		require.Contains(t, byID, tc.id)
		ours := positive(tc.id, "ours_per_s")
		against(tc.id, ours, tc.python, "python_per_s", "ours_over_python")
		against(tc.id, ours, tc.floor, "floor_per_s", "ours_over_floor")
	}
	positive("S8", "peak_rss_mb")
	for _, id := range []string{"F1", "F2", "F3"} {
		positive(id, "floor_per_s")
		null(id, "ours_per_s")
	}
}

// TestDriver_Server runs the server section alone (`-server` at tiny sizes,
// against real mlflow servers the driver starts from the pinned venv) and
// checks its rows: ours, Python and floor rates positive with consistent
// ratios, the floor rows per concurrency, and the CPU per point measured
// for every side (the server's only on Linux, where /proc has it). The
// sync rows come from a driver that has already checked the pushes: the
// first sends every point of the tree, the second no request at all.
func TestDriver_Server(t *testing.T) {
	raw := runDriver(t, "-server", "-quick", "-scale", "0.4", "-server-workers", "2")
	var rows []row // the driver's own type: its JSON tags are what -json writes
	require.NoError(t, json.Unmarshal(raw, &rows))
	var ids []string
	for _, r := range rows {
		id := strings.Fields(r.Scenario)[0]
		ids = append(ids, id)
		require.NotNil(t, r.CPU, id)
		var serverCPU []*float64
		switch {
		case id == "Y2": // ours alone: a push with nothing to send
			require.Nil(t, r.Python, id)
			require.Nil(t, r.Floor, id)
			require.NotNil(t, r.Ours, id)
			require.Positive(t, *r.Ours, id)
			require.NotNil(t, r.Seconds, id)
			require.Positive(t, *r.Seconds, id)
			require.NotNil(t, r.CPU.OursClient, "%s ours client CPU", id)
			// The server answers a probe and little else: within a clock tick of
			// nothing in /proc, so measured but possibly zero.
			if runtime.GOOS == "linux" {
				require.NotNil(t, r.CPU.OursServer, id)
				require.GreaterOrEqual(t, *r.CPU.OursServer, 0.0, id)
			}
		case strings.HasPrefix(id, "F"):
			require.Nil(t, r.Ours, id)
			require.Nil(t, r.Python, id)
			require.NotNil(t, r.Floor, id)
			require.Positive(t, *r.Floor, id)
			require.NotNil(t, r.CPU.FloorClient, "%s floor client CPU", id)
			serverCPU = append(serverCPU, r.CPU.FloorServer)
		default:
			require.NotNil(t, r.Ours, id)
			require.NotNil(t, r.Python, id)
			require.NotNil(t, r.Floor, id)
			require.Positive(t, *r.Floor, id)
			require.InEpsilon(t, *r.Ours / *r.Python, *r.OursOverPython, 1e-9, id)
			require.InEpsilon(t, *r.Ours / *r.Floor, *r.OursOverFloor, 1e-9, id)
			require.NotNil(t, r.CPU.OursClient, "%s ours client CPU", id)
			require.NotNil(t, r.CPU.PythonClient, "%s Python client CPU", id)
			require.Positive(t, *r.CPU.PythonClient, "%s: Python's process_time over its loop", id)
			require.NotNil(t, r.CPU.FloorClient, "%s floor client CPU", id)
			serverCPU = append(serverCPU, r.CPU.OursServer, r.CPU.PythonServer, r.CPU.FloorServer)
		}
		for _, c := range serverCPU {
			if runtime.GOOS != "linux" {
				require.Nil(t, c, "%s: the server's CPU is read from /proc", id)
				continue
			}
			require.NotNil(t, c, id)
			// The server parses JSON and writes SQLite for every point: no
			// side can have cost it nothing.
			require.Positive(t, *c, "%s server CPU", id)
		}
	}
	require.Equal(t, []string{"R1", "R2", "R2b", "FR1", "FR4", "FR10", "R3", "Y1", "Y1s", "FY1", "FY4", "Y2"}, ids)
}
