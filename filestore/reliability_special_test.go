//go:build unix

package filestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
)

// specialKinds are what a hostile user plants where the store expects a
// regular file: a named pipe (an open would wait for a writer forever) and
// symlinks to devices that never end.
var specialKinds = []struct {
	name  string
	plant func(t *testing.T, p string)
}{
	{"fifo", func(t *testing.T, p string) { require.NoError(t, unix.Mkfifo(p, 0o666)) }},
	{"dev zero", func(t *testing.T, p string) { require.NoError(t, os.Symlink("/dev/zero", p)) }},
	{"dev urandom", func(t *testing.T, p string) { require.NoError(t, os.Symlink("/dev/urandom", p)) }},
}

// specialWorld is a store with one run that has every kind of file: a
// metric, a param, a tag, a dataset input and a model output.
type specialWorld struct {
	s          *filestore.Store
	root, exp  string
	run        entities.Run
	runDir     string
	datasetDir string
}

func newSpecialWorld(t *testing.T) specialWorld {
	s, root := newStore(t, nil)
	exp, err := s.CreateExperiment(ctx, "special", "", nil)
	require.NoError(t, err)
	r := newRun(t, s, exp)
	id := r.Info.RunID
	require.NoError(t, s.LogBatch(ctx, id, []entities.Metric{{Key: "m", Value: 1, Timestamp: 1, Step: 1}},
		[]entities.Param{{Key: "p", Value: "v"}}, []entities.RunTag{{Key: "t", Value: "v"}}))
	require.NoError(t, s.LogInputs(ctx, id, []entities.DatasetInput{{Dataset: entities.Dataset{
		Name: "d", Digest: "dg", SourceType: "local", Source: "s"}}}, nil))
	require.NoError(t, s.LogOutputs(ctx, id, []entities.ModelOutput{{ModelID: "m-1", Step: 1}}))
	runDir := filepath.Join(root, exp, id)
	ds, err := filepath.Glob(filepath.Join(root, exp, "datasets", "*"))
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return specialWorld{s: s, root: root, exp: exp, run: r, runDir: runDir, datasetDir: ds[0]}
}

// loggedModelMeta is a logged model's meta.yaml as MLflow 3.18 writes it.
const loggedModelMeta = `artifact_location: file:///x/models/m-1/artifacts
creation_timestamp: 1
lifecycle_stage: active
experiment_id: '1'
last_updated_timestamp: 1
model_id: m-1
model_type: null
name: model
source_run_id: null
status: 1
status_message: null
`

// The calls a user (or the CLI, which is built on them) makes on such a
// store; each must return, with an error or without.
func specialCalls(w specialWorld) map[string]func() error {
	id := w.run.Info.RunID
	return map[string]func() error{
		"GetRun":     func() error { _, err := w.s.GetRun(ctx, id); return err },
		"GetRunInfo": func() error { _, err := w.s.GetRunInfo(ctx, id); return err },
		"ListRuns":   func() error { _, _, err := w.s.ListRuns(ctx, w.exp, entities.ViewAll); return err },
		"SearchRuns": func() error {
			_, _, err := w.s.SearchRuns(ctx, []string{w.exp}, "", entities.ViewAll, 0, nil, "")
			return err
		},
		"SearchRuns keys": func() error {
			_, _, err := w.s.SearchRuns(ctx, []string{w.exp}, "metrics.m > 0 and params.p = 'v' and tags.t = 'v'", entities.ViewAll, 0, nil, "")
			return err
		},
		"SearchRuns order": func() error {
			_, _, err := w.s.SearchRuns(ctx, []string{w.exp}, "", entities.ViewAll, 0, []string{"metrics.m"}, "")
			return err
		},
		"GetExperiment":   func() error { _, err := w.s.GetExperiment(ctx, w.exp); return err },
		"ListExperiments": func() error { _, _, err := w.s.ListExperiments(ctx, entities.ViewAll); return err },
		"SearchExperiments": func() error {
			_, _, err := w.s.SearchExperiments(ctx, entities.ViewAll, 0, "", nil, "")
			return err
		},
		"GetMetricHistory": func() error { _, err := w.s.GetMetricHistory(ctx, id, "m"); return err },
		"MetricHistoryIter": func() error {
			for _, err := range w.s.MetricHistoryIter(ctx, id, "m") {
				if err != nil {
					return err
				}
			}
			return nil
		},
		"LogMetric": func() error {
			return w.s.LogMetric(ctx, id, entities.Metric{Key: "m", Value: 2, Timestamp: 2, Step: 2})
		},
		"LogParam same": func() error { return w.s.LogParam(ctx, id, "p", "v") },
		"LogParam new":  func() error { return w.s.LogParam(ctx, id, "p2", "v") },
		"SetTag":        func() error { return w.s.SetTag(ctx, id, "t", "w") },
		"LogBatch": func() error {
			return w.s.LogBatch(ctx, id, []entities.Metric{{Key: "m", Value: 3, Timestamp: 3, Step: 3}}, nil, nil)
		},
		"GetLoggedModel": func() error { _, err := w.s.GetLoggedModel(ctx, "m-1"); return err },
		"Check":          func() error { _, err := w.s.Check(ctx, nil); return err },
		"GC dry run":     func() error { _, err := w.s.GC(ctx, filestore.GCOptions{DryRun: true}); return err },
	}
}

// TestStore_SpecialFiles: a named pipe, or a symlink to /dev/zero or
// /dev/urandom, in place of any file of the tree makes no call hang or
// grow without bound: every call returns within seconds having allocated
// little, listings go on without the broken entity, and Check names the
// file as not a regular one.
func TestStore_SpecialFiles(t *testing.T) {
	targets := []struct {
		name string
		path func(w specialWorld) string
	}{
		{"run meta.yaml", func(w specialWorld) string { return filepath.Join(w.runDir, "meta.yaml") }},
		{"experiment meta.yaml", func(w specialWorld) string { return filepath.Join(w.root, w.exp, "meta.yaml") }},
		{"metric file", func(w specialWorld) string { return filepath.Join(w.runDir, "metrics", "m") }},
		{"param file", func(w specialWorld) string { return filepath.Join(w.runDir, "params", "p") }},
		{"tag file", func(w specialWorld) string { return filepath.Join(w.runDir, "tags", "t") }},
		{"run name tag", func(w specialWorld) string { return filepath.Join(w.runDir, "tags", "mlflow.runName") }},
		{"input meta.yaml", func(w specialWorld) string {
			ins, _ := filepath.Glob(filepath.Join(w.runDir, "inputs", "*", "meta.yaml"))
			return ins[0]
		}},
		{"dataset meta.yaml", func(w specialWorld) string { return filepath.Join(w.datasetDir, "meta.yaml") }},
		{"output meta.yaml", func(w specialWorld) string { return filepath.Join(w.runDir, "outputs", "m-1", "meta.yaml") }},
		{"logged model meta.yaml", func(w specialWorld) string {
			p := filepath.Join(w.root, w.exp, "models", "m-1", "meta.yaml")
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o777))
			require.NoError(t, os.WriteFile(p, []byte(loggedModelMeta), 0o666))
			return p
		}},
	}
	for _, target := range targets {
		for _, kind := range specialKinds {
			t.Run(target.name+"/"+kind.name, func(t *testing.T) {
				w := newSpecialWorld(t)
				p := target.path(w)
				orig, err := os.ReadFile(p)
				require.NoError(t, err)
				require.NoError(t, os.Remove(p))
				kind.plant(t, p)
				t.Cleanup(func() { unblockFifo(p) })
				for name, call := range specialCalls(w) {
					err := withinBounds(t, name, call)
					if err != nil && strings.Contains(err.Error(), p) {
						var nr *filestore.NotRegularError
						if errors.As(err, &nr) {
							require.Equal(t, p, nr.Path, name)
						}
					}
				}
				probsRes, err := w.s.Check(ctx, nil)
				probs := probsRes.Problems
				require.NoError(t, err)
				found := false
				for _, pr := range probs {
					if pr.Kind == filestore.ProblemNotRegular && pr.Path == p {
						found = true
					}
				}
				require.True(t, found, "Check must name %s; got %v", p, probs)
				// the file put back, the store is whole again (the cleanup checks)
				require.NoError(t, os.Remove(p))
				require.NoError(t, os.WriteFile(p, orig, 0o666))
			})
		}
	}
}

// withinBounds runs call and fails t if it does not return within 10 s
// or allocates more than 200 MB.
func withinBounds(t *testing.T, name string, call func() error) error {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		runtime.ReadMemStats(&after)
		grew := after.TotalAlloc - before.TotalAlloc
		require.Less(t, grew, uint64(200<<20), "%s allocated %d bytes", name, grew)
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10 s", name)
		return nil
	}
}

// unblockFifo lets a reader stuck in open(2) of the pipe at p go: an open
// for writing completes its open, and the close gives it end of file.
func unblockFifo(p string) {
	for range 50 {
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_NONBLOCK, 0)
		if err != nil {
			return
		}
		unix.Close(fd)
	}
}
