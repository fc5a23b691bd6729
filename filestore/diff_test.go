package filestore_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/difftest"
	"github.com/mlruns-go/mlruns/internal/interoptest"
)

var diffSeed = flag.Uint64("seed", 0, "seed of TestDifferential's workload (0: $MLRUNS_DIFF_SEED, else 20260501)")

const (
	defaultDiffSeed = 20260501
	defaultDiffOps  = 2000
	diffWorkloads   = 4 // the ops are split over this many fresh roots
)

func diffConfig(t *testing.T) (seed uint64, ops int) {
	seed = *diffSeed
	if seed == 0 {
		seed = defaultDiffSeed
		if v := os.Getenv("MLRUNS_DIFF_SEED"); v != "" {
			s, err := strconv.ParseUint(v, 10, 64)
			require.NoError(t, err, "MLRUNS_DIFF_SEED")
			seed = s
		}
	}
	ops = defaultDiffOps
	if v := os.Getenv("MLRUNS_DIFF_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "MLRUNS_DIFF_OPS")
		ops = n
	}
	return seed, ops
}

// TestDifferential runs seeded random workloads through Python MLflow's
// FileStore (driver.py) and through the Go store, each in fresh roots, and
// requires: the same outcome for every op; byte-identical trees after
// normalisation; and that each store reads both trees the same way (Go's
// and Python's dumps of one tree are equal, and Go's dump of the Python
// tree equals Python's dump of the Go tree after normalisation).
//
// Reproduce a failure with -seed N (or MLRUNS_DIFF_SEED=N); size with
// MLRUNS_DIFF_OPS.
func TestDifferential(t *testing.T) {
	interoptest.Python(t)
	seed, total := diffConfig(t)
	t.Logf("seed %d, %d ops in %d workloads (reproduce: go test ./filestore -run TestDifferential -seed %d)", seed, total, diffWorkloads, seed)
	ctx := context.Background()
	dir := t.TempDir()

	type workload struct {
		ops            []difftest.Op
		pyRoot, goRoot string
		py, go_        difftest.Result
	}
	ws := make([]*workload, diffWorkloads)
	var pyIn []difftest.PyWorkload
	for i := range ws {
		n := total / diffWorkloads
		if i == 0 {
			n += total % diffWorkloads
		}
		w := &workload{
			ops:    difftest.Generate(seed+uint64(i), n),
			pyRoot: filepath.Join(dir, fmt.Sprintf("py%d", i)),
			goRoot: filepath.Join(dir, fmt.Sprintf("go%d", i)),
		}
		ws[i] = w
		pyIn = append(pyIn, difftest.PyWorkload{Root: w.pyRoot, Ops: w.ops})
	}
	pyRes := difftest.RunPython(t, pyIn)
	for i, w := range ws {
		w.py = pyRes[i]
		s, err := filestore.Open(w.goRoot, nil)
		require.NoError(t, err)
		w.go_ = difftest.Execute(ctx, s, w.ops)
	}

	var roots []string
	for _, w := range ws {
		roots = append(roots, w.pyRoot, w.goRoot)
	}
	pyDumps := difftest.DumpPython(t, roots)

	var report []string
	kinds := map[string]int{}
	for i, w := range ws {
		name := fmt.Sprintf("workload %d (seed %d)", i, seed+uint64(i))
		for _, op := range w.ops {
			kinds[op.Op]++
		}
		// 1. outcomes, op by op
		for j, op := range w.ops {
			if w.py.Outcomes[j] != w.go_.Outcomes[j] {
				report = append(report, fmt.Sprintf("%s op %d %s: outcome python %s, go %s\n    op: %s\n    python: %s\n    go:     %s",
					name, j, op.Op, w.py.Outcomes[j], w.go_.Outcomes[j], opJSON(op), w.py.Details[j], w.go_.Details[j]))
			}
		}
		// 2. normalised trees
		pyTree, err := difftest.Normalise(w.pyRoot, w.py)
		require.NoError(t, err)
		goTree, err := difftest.Normalise(w.goRoot, w.go_)
		require.NoError(t, err)
		for _, d := range difftest.CompareTrees("python", "go", pyTree, goTree) {
			report = append(report, name+" tree: "+d)
		}
		// 3. cross-reads
		goOfPy, err := dumpGo(ctx, w.pyRoot)
		if err != nil {
			report = append(report, fmt.Sprintf("%s: Go cannot read the Python tree: %v", name, err))
		}
		goOfGo, err := dumpGo(ctx, w.goRoot)
		if err != nil {
			report = append(report, fmt.Sprintf("%s: Go cannot read the Go tree: %v", name, err))
		}
		pyOfPy, pyOfGo := pyDumps[2*i], pyDumps[2*i+1]
		for _, d := range difftest.CompareLines("python-reads-python", "go-reads-python", pyOfPy, goOfPy) {
			report = append(report, name+" read: "+d)
		}
		for _, d := range difftest.CompareLines("python-reads-go", "go-reads-go", pyOfGo, goOfGo) {
			report = append(report, name+" read: "+d)
		}
		a := difftest.NormaliseDumpTimes(difftest.NormaliseLines(goOfPy, w.pyRoot, w.py), w.py)
		b := difftest.NormaliseDumpTimes(difftest.NormaliseLines(pyOfGo, w.goRoot, w.go_), w.go_)
		for _, d := range difftest.CompareLines("go-reads-python", "python-reads-go", a, b) {
			report = append(report, name+" cross-read: "+d)
		}
	}
	var ks []string
	for k, n := range kinds {
		ks = append(ks, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(ks)
	t.Logf("op kinds: %s", strings.Join(ks, " "))
	if len(report) > 0 {
		max := 60 // MLRUNS_DIFF_SHOW raises the number of differences shown
		if v, err := strconv.Atoi(os.Getenv("MLRUNS_DIFF_SHOW")); err == nil {
			max = v
		}
		shown := report
		if len(shown) > max {
			shown = append(shown[:max:max], fmt.Sprintf("... and %d more", len(report)-max))
		}
		require.FailNowf(t, "Go store differs from Python MLflow", "seed %d: %d differences:\n%s",
			seed, len(report), strings.Join(shown, "\n"))
	}
}

func dumpGo(ctx context.Context, root string) ([]string, error) {
	s, err := filestore.Open(root, nil)
	if err != nil {
		return nil, err
	}
	return difftest.Dump(ctx, s)
}

func opJSON(op difftest.Op) string {
	b, _ := jsonMarshal(op)
	if len(b) > 300 {
		b = append(b[:300:300], "..."...)
	}
	return string(b)
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
