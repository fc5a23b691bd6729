package filestore_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pyenv"
	"github.com/mlruns-go/mlruns/tracking"
)

// The tests below start copies of the test binary as separate processes:
// MLRUNS_HELPER names what the copy does (see TestReliabilityHelper), the
// other MLRUNS_H_* variables its arguments.

func longRun() bool { return os.Getenv("MLRUNS_LONG") == "1" }

func helperCmd(t *testing.T, mode string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReliabilityHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{"MLRUNS_HELPER=" + mode}, env...)...)
	return cmd
}

func henv(name string) string { return os.Getenv("MLRUNS_H_" + name) }

func henvInt(name string) int {
	n, _ := strconv.Atoi(henv(name))
	return n
}

// TestReliabilityHelper is the body of the helper processes; it does
// nothing in a normal test run.
func TestReliabilityHelper(t *testing.T) {
	mode := os.Getenv("MLRUNS_HELPER")
	if mode == "" {
		t.Skip("helper process only")
	}
	s, err := filestore.Open(henv("ROOT"), &filestore.Options{Durable: henv("DURABLE") == "1"})
	if err != nil {
		fmt.Println("ERR open", err)
		os.Exit(2)
	}
	switch mode {
	case "log":
		helperLog(s)
	case "list":
		helperList(s)
	case "create-exp":
		id, err := s.CreateExperiment(ctx, "same", "", nil)
		if errors.Is(err, errs.ErrAlreadyExists) {
			exp, gerr := s.GetExperimentByName(ctx, "same")
			if gerr != nil {
				fmt.Println("ERR", gerr)
				os.Exit(1)
			}
			fmt.Println("exists", exp.ExperimentID)
		} else if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		} else {
			fmt.Println("created", id)
		}
	case "param":
		err := s.LogParam(ctx, henv("RUN"), "p", henv("VALUE"))
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.Is(err, errs.ErrInvalidParameter):
			fmt.Println("immutable")
		default:
			fmt.Println("ERR", err)
		}
	case "crash":
		helperCrash(s)
	}
	os.Exit(0)
}

// helperLog: M goroutines each log N points to the shared metric (the
// writer in the timestamp: proc*1000+goroutine, the sequence in the step),
// every tenth point also to its own metric, a param and a tag each.
func helperLog(s *filestore.Store) {
	proc, m, n, run := henvInt("PROC"), henvInt("M"), henvInt("N"), henv("RUN")
	var wg sync.WaitGroup
	var failed sync.Once
	fail := func(err error) { failed.Do(func() { fmt.Println("ERR", err); os.Exit(1) }) }
	for g := 0; g < m; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			w := int64(proc*1000 + g)
			own := fmt.Sprintf("own/%d-%d", proc, g)
			for i := 0; i < n; i++ {
				if err := s.LogMetric(ctx, run, entities.Metric{Key: "shared", Value: float64(i) + 0.5, Timestamp: w, Step: int64(i)}); err != nil {
					fail(err)
				}
				if i%10 == 0 {
					if err := s.LogMetric(ctx, run, entities.Metric{Key: own, Value: float64(i), Timestamp: w, Step: int64(i)}); err != nil {
						fail(err)
					}
				}
			}
			if err := s.LogParam(ctx, run, fmt.Sprintf("p-%d-%d", proc, g), strconv.FormatInt(w, 10)); err != nil {
				fail(err)
			}
			if err := s.SetTag(ctx, run, fmt.Sprintf("t-%d-%d", proc, g), strconv.FormatInt(w, 10)); err != nil {
				fail(err)
			}
		}(g)
	}
	wg.Wait()
}

// helperList lists and reads runs until the stop file appears; it prints
// how many listings it made.
func helperList(s *filestore.Store) {
	stop, exp := henv("STOP"), henv("EXP")
	count := 0
	for !exists(stop) {
		runs, skipped, err := s.ListRuns(ctx, exp, entities.ViewAll)
		if err != nil || len(skipped) > 0 || len(runs) != 1 {
			fmt.Println("ERR list", err, skipped, len(runs))
			os.Exit(1)
		}
		count++
	}
	fmt.Println("listed", count)
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestStore_Concurrent_Processes: P processes x M goroutines log to one run
// (one shared metric, separate metrics, params, tags) while another process
// lists it. Every point is there exactly once, every line parses, and each
// writer's points are in its own order. MLRUNS_LONG=1 makes it larger.
func TestStore_Concurrent_Processes(t *testing.T) {
	procs, m, n := 8, 8, 2000
	switch {
	case longRun():
		procs, m, n = 16, 16, 5000
	case raceBuild:
		// Race-instrumented helpers are ~4x slower; scripts/test.sh runs
		// the full size without -race.
		n = 500
	}
	if testing.Short() {
		procs, m, n = 2, 2, 100
	}
	// /dev/shm when there is one: flock and O_APPEND behave the same, and
	// the CI disk's metadata operations would dominate.
	root := filepath.Join(fastTempDir(t), "mlruns")
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	t.Cleanup(func() { mustCheck(t, s) })
	r := newRun(t, s, "0")
	run := r.Info.RunID
	stop := filepath.Join(t.TempDir(), "stop")
	lister := helperCmd(t, "list", "MLRUNS_H_ROOT="+root, "MLRUNS_H_STOP="+stop, "MLRUNS_H_EXP=0")
	var listOut bytes.Buffer
	lister.Stdout, lister.Stderr = &listOut, &listOut
	require.NoError(t, lister.Start())
	start := time.Now()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for p := 0; p < procs; p++ {
		cmd := helperCmd(t, "log", "MLRUNS_H_ROOT="+root, "MLRUNS_H_RUN="+run,
			"MLRUNS_H_PROC="+strconv.Itoa(p), "MLRUNS_H_M="+strconv.Itoa(m), "MLRUNS_H_N="+strconv.Itoa(n))
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "writer %d: %s", i, outs[i])
	}
	elapsed := time.Since(start)
	require.NoError(t, os.WriteFile(stop, nil, 0o666))
	require.NoError(t, lister.Wait(), "lister: %s", &listOut)

	hist, err := s.GetMetricHistory(ctx, run, "shared")
	require.NoError(t, err)
	require.Len(t, hist, procs*m*n)
	next := map[int64]int64{}
	for _, pt := range hist {
		require.Equal(t, next[pt.Timestamp], pt.Step, "writer %d out of order", pt.Timestamp)
		require.Equal(t, float64(pt.Step)+0.5, pt.Value)
		next[pt.Timestamp]++
	}
	require.Len(t, next, procs*m)
	got, err := s.GetRun(ctx, run)
	require.NoError(t, err)
	for p := 0; p < procs; p++ {
		for g := 0; g < m; g++ {
			w := strconv.Itoa(p*1000 + g)
			own, err := s.GetMetricHistory(ctx, run, fmt.Sprintf("own/%d-%d", p, g))
			require.NoError(t, err)
			require.Len(t, own, (n+9)/10)
			for i, pt := range own {
				require.Equal(t, int64(i*10), pt.Step)
			}
			require.Equal(t, w, got.Data.Params[fmt.Sprintf("p-%d-%d", p, g)])
			require.Equal(t, w, got.Data.Tags[fmt.Sprintf("t-%d-%d", p, g)])
		}
	}
	t.Logf("%d processes x %d goroutines x %d points = %d points on one metric in %v; lister: %s",
		procs, m, n, len(hist), elapsed, strings.TrimSpace(listOut.String()))
}

// TestStore_Concurrent_GoAndPython: Python MLflow's FileStore.log_metric
// (no locks, append mode) and Go writers append to one metric file at once:
// no torn or merged lines.
func TestStore_Concurrent_GoAndPython(t *testing.T) {
	py := interoptest.Python(t)
	n := 2000
	if longRun() {
		n = 20000
	}
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	run := r.Info.RunID
	code := `
import sys
from mlflow.store.tracking.file_store import FileStore
from mlflow.entities import Metric
root, run, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = FileStore(root)
print("ready", flush=True)
sys.stdin.readline()
for i in range(n):
    s.log_metric(run, Metric("shared", i + 0.25, 999999, i))
`
	cmd := exec.Command(py, "-c", code, root, run, strconv.Itoa(n))
	cmd.Env = pyenv.Env()
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		werr := cmd.Wait() // stderr is complete only after Wait
		t.Fatalf("python did not start: %v, %v\n%s", err, werr, stderr.String())
	}
	require.Equal(t, "ready\n", line)
	_, err = stdin.Write([]byte("go\n"))
	require.NoError(t, err)
	const gw = 4
	var wg sync.WaitGroup
	for g := 0; g < gw; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				require.NoError(t, s.LogMetric(ctx, run, entities.Metric{Key: "shared", Value: float64(i) + 0.5, Timestamp: int64(g), Step: int64(i)}))
			}
		}(g)
	}
	wg.Wait()
	werr := cmd.Wait()
	require.NoError(t, werr, stderr.String())
	hist, err := s.GetMetricHistory(ctx, run, "shared")
	require.NoError(t, err)
	require.Len(t, hist, (gw+1)*n)
	next := map[int64]int64{}
	for _, pt := range hist {
		require.Equal(t, next[pt.Timestamp], pt.Step)
		next[pt.Timestamp]++
	}
	require.Len(t, next, gw+1)
	// Python reads the same file back whole.
	out := interoptest.RunCode(t, `
import sys
from mlflow.store.tracking.file_store import FileStore
print(len(FileStore(sys.argv[1]).get_metric_history(sys.argv[2], "shared")))
`, nil, root, run)
	require.Equal(t, strconv.Itoa((gw+1)*n), strings.TrimSpace(string(out)))
}

// TestStore_CreateExperiment_Processes: 16 processes create one name at
// once: one experiment; the others get ErrAlreadyExists and then find the
// same id by name.
func TestStore_CreateExperiment_Processes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	outs := runHelpers(t, 16, func(i int) *exec.Cmd { return helperCmd(t, "create-exp", "MLRUNS_H_ROOT="+root) })
	created, ids := 0, map[string]bool{}
	for _, o := range outs {
		f := strings.Fields(o)
		require.Len(t, f, 2, o)
		if f[0] == "created" {
			created++
		} else {
			require.Equal(t, "exists", f[0], o)
		}
		ids[f[1]] = true
	}
	require.Equal(t, 1, created)
	require.Len(t, ids, 1)
	requireOneExperimentCreated(t, s)
}

// TestStore_LogParam_Processes: 16 processes log one param with different
// values: one wins, the others get the immutability error.
func TestStore_LogParam_Processes(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	outs := runHelpers(t, 16, func(i int) *exec.Cmd {
		return helperCmd(t, "param", "MLRUNS_H_ROOT="+root, "MLRUNS_H_RUN="+r.Info.RunID, "MLRUNS_H_VALUE=v"+strconv.Itoa(i))
	})
	ok, winner := 0, -1
	for i, o := range outs {
		switch strings.TrimSpace(o) {
		case "ok":
			ok, winner = ok+1, i
		case "immutable":
		default:
			t.Fatalf("process %d: %s", i, o)
		}
	}
	require.Equal(t, 1, ok)
	got, err := s.GetRun(ctx, r.Info.RunID)
	require.NoError(t, err)
	require.Equal(t, "v"+strconv.Itoa(winner), got.Data.Params["p"])
}

// runHelpers starts n helpers at once and returns their outputs.
func runHelpers(t *testing.T, n int, mk func(i int) *exec.Cmd) []string {
	t.Helper()
	cmds := make([]*exec.Cmd, n)
	bufs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = mk(i)
		bufs[i] = &bytes.Buffer{}
		cmds[i].Stdout = bufs[i]
		cmds[i].Stderr = bufs[i]
		require.NoError(t, cmds[i].Start())
	}
	outs := make([]string, n)
	for i, c := range cmds {
		require.NoError(t, c.Wait(), "%s", bufs[i])
		outs[i] = bufs[i].String()
	}
	return outs
}

// helperCrash logs continuously (appends, batches, tag and status
// rewrites, a param now and then, points queued on the asynchronous writer
// of tracking.Client) and writes an ack line to the ack file after each
// call returns: "m <step>" for a point of metric "a", "b <step>" for a
// batch (points on "b" and "c"), and "q <step>" for each queued point of
// metric "q" once a Flush that followed it returned.
func helperCrash(s *filestore.Store) {
	client := tracking.NewClient(s, nil)
	var queued []int64
	run := henv("RUN")
	acks, err := os.OpenFile(henv("ACKS"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	step := int64(henvInt("START"))
	statuses := []entities.RunStatus{entities.StatusRunning, entities.StatusScheduled, entities.StatusRunning}
	for i := 0; ; i++ {
		step++
		var ack string
		// the asynchronous case comes first: on a loaded machine a child
		// may be killed after a few iterations
		switch (i + 4) % 5 {
		case 0, 1:
			err = s.LogMetric(ctx, run, entities.Metric{Key: "a", Value: float64(step), Timestamp: step, Step: step})
			ack = fmt.Sprintf("m %d\n", step)
		case 2:
			err = s.LogBatch(ctx, run,
				[]entities.Metric{{Key: "b", Value: 1, Timestamp: step, Step: step}, {Key: "c", Value: 2, Timestamp: step, Step: step}},
				[]entities.Param{{Key: "p" + strconv.FormatInt(step%50, 10), Value: strconv.FormatInt(step%50, 10)}},
				[]entities.RunTag{{Key: "t", Value: strconv.FormatInt(step, 10)}})
			ack = fmt.Sprintf("b %d\n", step)
		case 3:
			_, err = s.UpdateRunInfo(ctx, run, statuses[step%3], nil, "")
			if err == nil {
				err = s.SetTag(ctx, run, entities.TagRunName, "r"+strconv.FormatInt(step, 10))
			}
		case 4:
			err = client.LogBatchAsync(ctx, run, []entities.Metric{{Key: "q", Value: 3, Timestamp: step, Step: step}}, nil, nil).Err()
			queued = append(queued, step)
			if err == nil && len(queued) >= 1+int(step%3) { // flush after 1 to 3 queued points
				if err = client.Flush(ctx); err == nil {
					for _, q := range queued {
						ack += fmt.Sprintf("q %d\n", q)
					}
					queued = queued[:0]
				}
			}
		}
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		if ack != "" {
			if _, err := acks.WriteString(ack); err != nil {
				os.Exit(1)
			}
		}
	}
}

// TestStore_Crash: a child logs continuously and is SIGKILLed at a random
// moment, again and again (200 times; 1,000 with MLRUNS_LONG=1). After each
// kill the store opens, Check finds no damaged meta.yaml and at most torn
// metric tails, which Repair removes, and every acknowledged point is on
// disk, asynchronous ones included once a Flush after them returned. SIGKILL keeps the page cache, so acks need no fsync.
func TestStore_Crash(t *testing.T) {
	kills := 200
	if longRun() {
		kills = 1000
	}
	if testing.Short() {
		kills = 10
	}
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	run := r.Info.RunID
	acks := filepath.Join(t.TempDir(), "acks")
	repaired := 0
	start := 0
	var acked map[string]int
	for k := 0; k < kills; k++ {
		cmd := helperCmd(t, "crash", "MLRUNS_H_ROOT="+root, "MLRUNS_H_RUN="+run,
			"MLRUNS_H_ACKS="+acks, "MLRUNS_H_START="+strconv.Itoa(start))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		delay := 20 + rand.IntN(60)
		if runtime.GOOS == "windows" { // processes start slowly there (and under Wine)
			delay = 150 + rand.IntN(450)
		}
		time.Sleep(time.Duration(delay) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		err := cmd.Wait()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "child ended by itself: %v\n%s", err, out.String())
		if runtime.GOOS != "windows" { // there a killed process exits with code 1
			require.False(t, ee.Exited(), "child exited: %s", out.String())
		}

		s2, err := filestore.Open(root, nil)
		require.NoError(t, err)
		probsRes, err := s2.Check(ctx, nil)
		probs := probsRes.Problems
		require.NoError(t, err)
		for _, p := range probs {
			require.Contains(t, []filestore.ProblemKind{filestore.ProblemTornTail, filestore.ProblemTempFile,
				filestore.ProblemEmptyMetricFile, filestore.ProblemEmptyDir}, p.Kind, "kill %d: %s", k, p)
		}
		fixed, after, err := s2.Repair(ctx, nil)
		remaining := after.Problems
		require.NoError(t, err)
		require.Empty(t, remaining, "kill %d", k)
		repaired += len(fixed)

		// Every acknowledged point is on disk.
		data, err := os.ReadFile(acks)
		if errors.Is(err, os.ErrNotExist) {
			err = nil // killed before its first ack (a loaded machine)
		}
		require.NoError(t, err)
		hist := map[string]map[int64]bool{}
		for _, key := range []string{"a", "b", "c", "q"} {
			h, err := s2.GetMetricHistory(ctx, run, key)
			require.NoError(t, err)
			hist[key] = map[int64]bool{}
			for _, m := range h {
				hist[key][m.Step] = true
			}
		}
		last := int64(0)
		acked = map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if line == "" {
				continue
			}
			var kind string
			var step int64
			_, err := fmt.Sscanf(line, "%s %d", &kind, &step)
			require.NoError(t, err, "ack %q", line)
			acked[kind]++
			switch kind {
			case "m":
				require.True(t, hist["a"][step], "kill %d: acknowledged point a@%d lost", k, step)
			case "q":
				require.True(t, hist["q"][step], "kill %d: point q@%d acknowledged after Flush lost", k, step)
			default:
				require.True(t, hist["b"][step] && hist["c"][step], "kill %d: acknowledged batch @%d lost", k, step)
			}
			last = max(last, step)
		}
		info, err := s2.GetRunInfo(ctx, run)
		require.NoError(t, err)
		require.Equal(t, entities.StageActive, info.LifecycleStage)
		start = int(last) + 1000 // steps of the next child stay unique
	}
	t.Logf("%d kills survived; Repair fixed %d problems; acknowledged and found: %d points, %d batches, %d async points",
		kills, repaired, acked["m"], acked["b"], acked["q"])
	require.Positive(t, acked["q"], "no async point was ever acknowledged: the test would prove nothing")
}
