package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/stretchr/testify/require"
)

// TestDriver_Quick runs the driver binary end to end (`-quick` at a tiny
// scale, with the pinned Python MLflow) and checks the JSON rows: every
// scenario present, rates positive where the column applies, null where it
// does not, ratios consistent with the rates.
func TestDriver_Quick(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the driver")
	}
	py := interoptest.Python(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bench")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	jsonPath := filepath.Join(dir, "rows.json")
	cmd := exec.Command(bin, "-quick", "-scale", "0.1", "-coldstarts", "1", "-python", py, "-json", jsonPath)
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	raw, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
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
		{"S5", true, true}, {"S6", true, false}, {"S7", true, false}, {"S8", false, false},
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
