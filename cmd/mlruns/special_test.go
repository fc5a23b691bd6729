//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
)

// A named pipe or a symlink to /dev/zero in place of a meta.yaml, a metric,
// a param or a tag file: every command returns within seconds having
// allocated little, and fsck names the file (exit 1).
func TestCLI_SpecialFiles(t *testing.T) {
	for _, target := range []string{"meta.yaml", "metrics/m", "params/p", "tags/t"} {
		for _, kind := range []string{"fifo", "dev zero"} {
			t.Run(target+"/"+kind, func(t *testing.T) {
				root := filepath.Join(t.TempDir(), "mlruns")
				s, err := filestore.Open(root, nil)
				require.NoError(t, err)
				r, err := s.CreateRun(t.Context(), filestore.CreateRunOptions{ExperimentID: "0", StartTime: 1})
				require.NoError(t, err)
				id := r.Info.RunID
				require.NoError(t, s.LogBatch(t.Context(), id, []entities.Metric{{Key: "m", Value: 1, Timestamp: 1}},
					[]entities.Param{{Key: "p", Value: "v"}}, []entities.RunTag{{Key: "t", Value: "v"}}))
				p := filepath.Join(root, "0", id, filepath.FromSlash(target))
				require.NoError(t, os.Remove(p))
				if kind == "fifo" {
					require.NoError(t, unix.Mkfifo(p, 0o666))
				} else {
					require.NoError(t, os.Symlink("/dev/zero", p))
				}
				out := filepath.Join(t.TempDir(), "export")
				for _, args := range [][]string{
					{"runs", "show", id}, {"runs", "list"}, {"runs", "list", "--json"},
					{"runs", "compare", id, id}, {"metrics", "history", id, "m"},
					{"experiments", "list"}, {"export", "--out", out}, {"gc", "--dry-run"},
				} {
					code, _ := invokeBounded(t, root, args...)
					require.Contains(t, []int{0, 1}, code, "%v", args)
				}
				code, stdout := invokeBounded(t, root, "fsck")
				require.Equal(t, 1, code, "fsck finds the problem")
				require.Contains(t, stdout, "0/"+id+"/"+target, "fsck names the file")
				require.Contains(t, stdout, "not a regular file")
			})
		}
	}
}

// invokeBounded is invokeCLI that fails t when the command takes longer
// than 10 s or allocates more than 200 MB; it returns the exit code and
// everything printed.
func invokeBounded(t *testing.T, root string, args ...string) (int, string) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	type result struct {
		code int
		out  string
	}
	done := make(chan result, 1)
	go func() {
		var out bytes.Buffer
		code := run(t.Context(), append([]string{"--root", root}, args...), &out, &out)
		done <- result{code, out.String()}
	}()
	select {
	case r := <-done:
		runtime.ReadMemStats(&after)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(200<<20), "%v allocated too much", args)
		return r.code, r.out
	case <-time.After(10 * time.Second):
		t.Fatalf("mlruns %v did not return within 10 s", args)
		return 0, ""
	}
}

// A run whose metric file does not parse is left out of every listing,
// and every listing says so on stderr (export, runs list in each format,
// experiments' runs through compare), instead of dropping it silently.
func TestCLI_ListingsReportSkippedRuns(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	r, err := s.CreateRun(t.Context(), filestore.CreateRunOptions{ExperimentID: "0", StartTime: 1})
	require.NoError(t, err)
	p := filepath.Join(root, "0", r.Info.RunID, "metrics", "bad")
	require.NoError(t, os.WriteFile(p, []byte("not a metric line\n"), 0o666))
	for _, args := range [][]string{{"runs", "list"}, {"runs", "list", "--json"}, {"runs", "list", "--csv"},
		{"export", "--out", filepath.Join(t.TempDir(), "x")}} {
		_, stderr, code := invokeCLI(t, root, args...)
		require.Equal(t, 0, code, "%v: %s", args, stderr)
		require.Contains(t, stderr, "mlruns: warning: skipping broken entity", "%v", args)
		require.Contains(t, stderr, r.Info.RunID, "%v", args)
	}
	require.NoError(t, os.Remove(p))
}

// A root that is a file gets the same one-line message from every command.
func TestCLI_RootIsAFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	require.NoError(t, os.WriteFile(root, []byte("x"), 0o644))
	for _, args := range [][]string{{"runs", "list"}, {"experiments", "list"}, {"fsck"}, {"gc", "--dry-run"}, {"demo"},
		{"export", "--out", filepath.Join(t.TempDir(), "x")}} {
		_, stderr, code := invokeCLI(t, root, args...)
		require.Equal(t, 1, code, "%v", args)
		require.Equal(t, "mlruns: store root "+root+" is not a folder (it is a regular file); point the root (--root, MLFLOW_TRACKING_URI) at a folder, or move the file away (INVALID_PARAMETER_VALUE)\n", stderr, "%v", args)
	}
}

// TestCLI_MissingRootNotCreated: the commands that check or clean a store
// refuse a root that does not exist rather than create an empty store
// there (a typo in --root must not look like a healthy, empty store).
func TestCLI_MissingRootNotCreated(t *testing.T) {
	for _, args := range [][]string{{"fsck"}, {"fsck", "--repair"}, {"gc"}, {"gc", "--dry-run"}} {
		root := filepath.Join(t.TempDir(), "nope")
		_, errOut, code := invokeCLI(t, root, args...)
		require.Equal(t, 1, code, "%v", args)
		require.Contains(t, errOut, "no mlruns folder at", "%v", args)
		require.NoDirExists(t, root, "%v", args)
	}
}
