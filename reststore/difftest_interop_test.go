package reststore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/difftest"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/reststore"
)

// The workloads of TestStore_DifftestWorkload_SameAsMlflowClient: the first
// seed and op count are filestore's TestDifferential's (20260501, 2000 ops
// over four seeds), so the full size runs the same workloads through a
// server that one runs through the file store. Every op kind of difftest
// has a REST endpoint, so none is left out.
const (
	restDiffSeed       = 20260501
	restDiffSeeds      = 4
	restDiffOps        = 500
	restDiffShortSeeds = 2
	restDiffShortOps   = 120
)

// TestStore_DifftestWorkload_SameAsMlflowClient runs internal/difftest's
// random workloads through our REST backend into one fresh SQLite server
// and through the RestStore of Python's MlflowClient (driver.py) into
// another, then reads both servers back with Python's MlflowClient and
// requires: the same outcome for every op (ok, or the same MLflow
// error_code: errs.Code on our side) and equal dumps after mapping ids to
// creation slots and replacing clock readings and generated run names.
//
// Reproduce one workload with MLRUNS_DIFF_SEED=N (one seed; MLRUNS_DIFF_SEEDS
// runs that many from N) and size it with MLRUNS_DIFF_OPS;
// MLRUNS_DIFF_SHOW_DUMP=1 logs the normalised dump and Python's errors.
func TestStore_DifftestWorkload_SameAsMlflowClient(t *testing.T) {
	interoptest.Python(t)
	seeds, ops := restDiffSeeds, restDiffOps
	if testing.Short() {
		seeds, ops = restDiffShortSeeds, restDiffShortOps
	}
	first := uint64(restDiffSeed)
	if v := os.Getenv("MLRUNS_DIFF_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "MLRUNS_DIFF_SEED")
		first, seeds = s, 1
	}
	if v := os.Getenv("MLRUNS_DIFF_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "MLRUNS_DIFF_SEEDS")
		seeds = n
	}
	if v := os.Getenv("MLRUNS_DIFF_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "MLRUNS_DIFF_OPS")
		ops = n
	}
	for i := range seeds {
		seed := first + uint64(i)
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			t.Parallel()
			t.Logf("seed %d, %d ops (reproduce: MLRUNS_DIFF_SEED=%d MLRUNS_DIFF_OPS=%d go test ./reststore -run TestStore_DifftestWorkload)", seed, ops, seed, ops)
			runRESTWorkload(t, difftest.Generate(seed, ops))
		})
	}
	t.Run("corners", func(t *testing.T) {
		t.Parallel()
		ops, err := difftest.LoadScript([]byte(restDiffCorners))
		require.NoError(t, err)
		runRESTWorkload(t, ops)
	})
}

// restDiffCorners are ops the generator seldom or never makes: an end time
// of 0 after an end time (the server stores it, a file store ignores it),
// tag deletes of keys no tag can have, batches over MLflow's limits, values
// over the server's lengths, an artifact location.
var restDiffCorners = `[
{"op":"create_run","exp":0,"start_time":1700000000000},
{"op":"update_run","run":0,"status":"FINISHED","end_time":1700000000100},
{"op":"update_run","run":0,"status":"FAILED","end_time":0},
{"op":"update_run","run":0,"status":"KILLED"},
{"op":"set_tag","run":0,"key":"t","value":"v"},
{"op":"delete_tag","run":0,"key":".."},
{"op":"delete_tag","run":0,"key":"a//b"},
{"op":"delete_tag","run":0,"key":""},
{"op":"delete_tag","run":0,"key":"t"},
{"op":"delete_experiment_tag","exp":0,"key":"/a"},
{"op":"delete_experiment_tag","exp":0,"key":""},
{"op":"create_experiment","name":"located","artifact_location":"s3://bucket/prefix"},
{"op":"create_run","exp":1,"start_time":1700000000001,"run_name":"r"},
{"op":"set_tag","run":1,"key":"long","value":"` + strings.Repeat("x", 8001) + `"},
{"op":"set_tag","run":1,"key":"long8000","value":"` + strings.Repeat("x", 8000) + `"},
{"op":"log_param","run":1,"key":"p6001","value":"` + strings.Repeat("p", 6001) + `"},
{"op":"set_experiment_tag","exp":1,"key":"e","value":"` + strings.Repeat("e", 5001) + `"},
{"op":"log_batch","run":1,"params":[` + kvList("p", 101) + `]},
{"op":"log_batch","run":1,"tags":[` + kvList("t", 101) + `]},
{"op":"log_batch","run":1,"params":[` + kvList("q", 100) + `],"tags":[` + kvList("u", 100) + `]},
{"op":"log_batch","run":1,"metrics":[` + metricList(1001) + `]},
{"op":"log_batch","run":1,"metrics":[` + metricList(1000) + `]},
{"op":"update_run","run":1,"status":"RUNNING","run_name":"renamed"},
{"op":"delete_run","run":1},
{"op":"delete_tag","run":1,"key":".."},
{"op":"delete_experiment","exp":1},
{"op":"delete_experiment_tag","exp":1,"key":".."}
]`

func kvList(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `["%s%d","v%d"]`, prefix, i, i)
	}
	return b.String()
}

func metricList(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"key":"m%d","value":"%d.5","timestamp":1700000000000,"step":%d}`, i%7, i, i)
	}
	return b.String()
}

// runRESTWorkload runs ops through our store into one fresh server and
// through Python's into another and compares (see
// TestStore_DifftestWorkload_SameAsMlflowClient).
func runRESTWorkload(t *testing.T, ops []difftest.Op) {
	n := len(ops)
	goSrv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	pySrv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})

	py := difftest.RunPython(t, []difftest.PyWorkload{{Root: pySrv.URL, Ops: ops}})[0]
	s, err := reststore.Open(goSrv.URL, &reststore.Options{CredentialsPath: filepath.Join(t.TempDir(), "none")})
	require.NoError(t, err)
	got := difftest.Execute(context.Background(), s, ops)

	var report []string
	codes := map[string]int{}
	kinds := map[string]map[string]int{} // op kind -> outcome -> count
	for j, op := range ops {
		if kinds[op.Op] == nil {
			kinds[op.Op] = map[string]int{}
		}
		kinds[op.Op][py.Outcomes[j]]++
		if py.Outcomes[j] != got.Outcomes[j] {
			b, _ := json.Marshal(op)
			report = append(report, fmt.Sprintf("op %d %s: outcome python %s, go %s\n    op: %s\n    python: %s\n    go:     %s",
				j, op.Op, py.Outcomes[j], got.Outcomes[j], b, py.Details[j], got.Details[j]))
		} else if o := py.Outcomes[j]; o != difftest.OutcomeOK && o != difftest.OutcomeNoRef {
			codes[o]++
		}
	}

	dumps := difftest.DumpPython(t, []string{pySrv.URL, goSrv.URL})
	for _, d := range dumps {
		require.NotEmpty(t, d, "a server dump is empty")
		require.False(t, strings.HasPrefix(d[0], "ERROR "), "driver.py could not read a server: %s", strings.Join(d, "\n"))
	}
	want := difftest.NormaliseServerDump(dumps[0], py)
	have := difftest.NormaliseServerDump(dumps[1], got)
	for _, d := range difftest.CompareLines("python-client-server", "reststore-server", want, have) {
		report = append(report, "read back: "+d)
	}

	var cs []string
	total := 0
	for c, k := range codes {
		cs = append(cs, fmt.Sprintf("%s=%d", c, k))
		total += k
	}
	sort.Strings(cs)
	t.Logf("%d ops, %d dump lines; %d failed on both with the same code: %s", n, len(want), total, strings.Join(cs, " "))
	var ks []string
	for k, byOutcome := range kinds {
		ks = append(ks, fmt.Sprintf("%s%v", k, byOutcome))
	}
	sort.Strings(ks)
	t.Logf("outcomes by op kind (python's): %s", strings.Join(ks, " "))
	if os.Getenv("MLRUNS_DIFF_SHOW_DUMP") != "" {
		t.Logf("normalised dump:\n%s", strings.Join(want, "\n"))
		for j, d := range py.Details {
			if d != "" {
				t.Logf("op %d %s: %s", j, ops[j].Op, d)
			}
		}
	}
	if len(report) > 0 {
		shown := report
		if len(shown) > 60 {
			shown = append(shown[:60:60], fmt.Sprintf("... and %d more", len(report)-60))
		}
		require.FailNowf(t, "our REST backend differs from Python's MlflowClient", "%d differences:\n%s",
			len(report), strings.Join(shown, "\n"))
	}
	require.Positive(t, codes["INVALID_PARAMETER_VALUE"], "the workload exercised no invalid input")
}
