package tracking_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/internal/testkit"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/tracking"
)

// countingStore counts LogBatch calls and can hold them until released.
type countingStore struct {
	store.Store
	batches atomic.Int64
	hold    chan struct{}
}

func (s *countingStore) LogBatch(ctx context.Context, runID string, m []entities.Metric, p []entities.Param, t []entities.RunTag) error {
	if s.hold != nil {
		<-s.hold
	}
	s.batches.Add(1)
	return s.Store.LogBatch(ctx, runID, m, p, t)
}

func newClient(t *testing.T, opts *tracking.Options) (*tracking.Client, *countingStore, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "mlruns")
	st, err := tracking.OpenStore(root, nil)
	require.NoError(t, err)
	fs, ok := st.(*filestore.Store)
	require.True(t, ok, "a folder opens as the file store")
	cs := &countingStore{Store: fs}
	c := tracking.NewClient(cs, opts)
	t.Cleanup(func() {
		c.Close(context.Background())
		storetest.Clean(t, fs)
	})
	run, err := c.CreateRun(context.Background(), "0", tracking.CreateRunOptions{RunName: "r"})
	require.NoError(t, err)
	return c, cs, run.Info.RunID
}

func TestOpenStore_URIs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, uri string
		want      error
	}{
		{"plain", filepath.Join(dir, "a"), nil},
		{"file URI", filestore.FileURI(filepath.Join(dir, "b")), nil},
		{"http", "http://localhost:5000", nil}, // a server: opened without a request
		{"https", "https://mlflow.example.com", nil},
		{"sqlite", "sqlite:///mlflow.db", errs.ErrNotSupported},
		{"postgres driver", "postgresql+psycopg2://u@h/db", errs.ErrNotSupported},
		{"databricks", "databricks", errs.ErrNotSupported}, // Python's Databricks store, not a folder
		{"bare word", "runs", nil},                         // a relative path, as in Python
		{"unknown scheme", "s3://bucket/x", errs.ErrNotSupported},
		{"empty", "", errs.ErrInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(dir)
			_, err := tracking.OpenStore(tc.uri, nil)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestClient_LogBatchAsync_Batches(t *testing.T) {
	c, cs, runID := newClient(t, &tracking.Options{AsyncWindow: 50 * time.Millisecond})
	ctx := context.Background()
	var ops []*tracking.Operation
	for i := 0; i < 2500; i++ {
		op := c.LogBatchAsync(ctx, runID, []entities.Metric{{Key: "loss", Value: float64(i), Step: int64(i)}}, nil, nil)
		require.NoError(t, op.Err())
		ops = append(ops, op)
	}
	require.NoError(t, c.Flush(ctx))
	for _, op := range ops {
		require.NoError(t, op.Wait())
	}
	hist, err := c.GetMetricHistory(ctx, runID, "loss")
	require.NoError(t, err)
	require.Len(t, hist, 2500)
	cols, err := c.GetMetricHistoryColumns(ctx, runID, "loss")
	require.NoError(t, err)
	require.Equal(t, hist, cols.Metrics())
	for i, m := range hist {
		require.Equal(t, int64(i), m.Step) // file order is call order
	}
	n := cs.batches.Load()
	require.GreaterOrEqual(t, n, int64(3)) // at most 1000 metrics a batch
	require.Less(t, n, int64(100), "points were not merged into few batches")
}

func TestClient_LogBatchAsync_Invalid(t *testing.T) {
	c, cs, runID := newClient(t, nil)
	err := c.LogBatchAsync(context.Background(), runID, []entities.Metric{{Key: "bad key!", Value: 1}}, nil, nil).Err()
	var ve interface{ Unwrap() error }
	require.ErrorAs(t, err, &ve)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.Zero(t, cs.batches.Load())
}

func TestClient_LogBatchAsync_DeletedRun(t *testing.T) {
	c, _, runID := newClient(t, nil)
	ctx := context.Background()
	other, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{})
	require.NoError(t, err)
	require.NoError(t, c.DeleteRun(ctx, runID))
	bad := c.LogBatchAsync(ctx, runID, []entities.Metric{{Key: "m", Value: 1}}, nil, nil)
	require.NoError(t, bad.Err()) // queued: the run's state is the writer's to find
	good := c.LogBatchAsync(ctx, other.Info.RunID, []entities.Metric{{Key: "m", Value: 2}}, nil, nil)
	require.NoError(t, good.Err())
	require.ErrorIs(t, bad.Wait(), errs.ErrInvalidParameter)
	require.NoError(t, good.Wait())
	err = c.Flush(ctx)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.NoError(t, c.Flush(ctx), "an error is reported by one flush")
	hist, err := c.GetMetricHistory(ctx, runID, "m")
	require.NoError(t, err)
	require.Empty(t, hist) // nothing written
}

func TestClient_LogBatchAsync_ParamConflictInMergedBatch(t *testing.T) {
	c, _, runID := newClient(t, &tracking.Options{AsyncWindow: 100 * time.Millisecond})
	ctx := context.Background()
	require.NoError(t, c.LogParam(ctx, runID, "lr", "0.1"))
	ok1 := c.LogBatchAsync(ctx, runID, []entities.Metric{{Key: "a", Value: 1}}, nil, nil)
	require.NoError(t, ok1.Err())
	bad := c.LogBatchAsync(ctx, runID, nil, []entities.Param{{Key: "lr", Value: "0.2"}}, nil)
	require.NoError(t, bad.Err())
	ok2 := c.LogBatchAsync(ctx, runID, []entities.Metric{{Key: "b", Value: 2}}, nil, nil)
	require.NoError(t, ok2.Err())
	require.NoError(t, ok1.Wait())
	require.ErrorIs(t, bad.Wait(), errs.ErrInvalidParameter)
	require.NoError(t, ok2.Wait())
	require.Error(t, c.SetTerminated(ctx, runID, entities.StatusFinished))
	run, err := c.GetRun(ctx, runID)
	require.NoError(t, err)
	require.Equal(t, "0.1", run.Data.Params["lr"])
	require.Len(t, run.Data.Metrics, 2)
	require.Equal(t, entities.StatusFinished, run.Info.Status)
}

func TestClient_LogBatchAsync_BackPressure(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	fs, err := tracking.OpenStore(root, nil)
	require.NoError(t, err)
	cs := &countingStore{Store: fs, hold: make(chan struct{})}
	c := tracking.NewClient(cs, &tracking.Options{AsyncQueueSize: 2, AsyncWindow: time.Millisecond})
	run, err := c.CreateRun(context.Background(), "0", tracking.CreateRunOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var blocked error
	for i := 0; i < 5000 && blocked == nil; i++ { // past one batch the writer holds, and the queue
		blocked = c.LogBatchAsync(ctx, run.Info.RunID, []entities.Metric{{Key: "m", Value: 1}}, nil, nil).Err()
	}
	require.ErrorIs(t, blocked, context.DeadlineExceeded, "a full queue must block the caller")
	close(cs.hold)
	require.NoError(t, c.Close(context.Background()))
}

func TestClient_LogMetric_FinishedRunAllowed(t *testing.T) {
	// MLflow's file store only refuses deleted runs; a FINISHED run takes
	// more values.
	c, _, runID := newClient(t, nil)
	ctx := context.Background()
	require.NoError(t, c.SetTerminated(ctx, runID, entities.StatusFinished))
	require.NoError(t, c.LogMetric(ctx, runID, "late", 1))
	require.NoError(t, c.DeleteRun(ctx, runID))
	require.ErrorIs(t, c.LogMetric(ctx, runID, "late", 2), errs.ErrInvalidParameter)
	require.ErrorIs(t, c.SetTerminated(ctx, runID, entities.StatusRunning), errs.ErrInvalidParameter)
}

func TestClient_LogArtifact(t *testing.T) {
	c, _, runID := newClient(t, nil)
	ctx := context.Background()
	src := t.TempDir()
	file := filepath.Join(src, "model.txt")
	require.NoError(t, os.WriteFile(file, []byte("weights"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(src, "tree", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "tree", "sub", "a.json"), []byte("{}"), 0o600))

	withUmask(t, 0o027)
	require.NoError(t, c.LogArtifact(ctx, runID, file, ""))
	require.NoError(t, c.LogArtifact(ctx, runID, file, "models/v1"))
	require.NoError(t, c.LogArtifacts(ctx, runID, filepath.Join(src, "tree"), "data"))
	dir, err := c.ArtifactDir(ctx, runID)
	require.NoError(t, err)
	for _, p := range []string{"model.txt", "models/v1/model.txt", "data/sub/a.json"} {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		require.NoError(t, err, p)
		if umaskModes {
			require.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "mode from the umask, not the source: %s", p)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "models", "v1", "model.txt"))
	require.NoError(t, err)
	require.Equal(t, "weights", string(b))
}

// escapeFixture is what the refusal tests start from: a run, a source
// folder holding one file, the run's artifact folder, and a folder outside
// the store that must stay empty.
type escapeFixture struct {
	c                              *tracking.Client
	runID, src, file, dir, outside string
}

func newEscapeFixture(t *testing.T) escapeFixture {
	t.Helper()
	c, _, runID := newClient(t, nil)
	src := t.TempDir()
	file := filepath.Join(src, "f.txt")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	dir, err := c.ArtifactDir(context.Background(), runID)
	require.NoError(t, err)
	return escapeFixture{c: c, runID: runID, src: src, file: file, dir: dir, outside: t.TempDir()}
}

// requireOutsideEmpty fails if anything was written to the outside folder.
func (f escapeFixture) requireOutsideEmpty(t *testing.T, msg string) {
	t.Helper()
	entries, err := os.ReadDir(f.outside)
	require.NoError(t, err)
	require.Empty(t, entries, msg)
}

func TestClient_LogArtifact_Refused(t *testing.T) {
	f := newEscapeFixture(t)
	ctx := context.Background()
	testkit.Symlink(t, f.outside, filepath.Join(f.dir, "escape"))

	for _, tc := range []struct{ name, artifactPath string }{
		{"dotdot", "../x"},
		{"inner dotdot", "a/../../x"},
		{"absolute", "/tmp/x"},
		{"backslash", `a\b`},
		{"symlink out", "escape"},
		{"symlink out deeper", "escape/sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.c.LogArtifact(ctx, f.runID, f.file, tc.artifactPath)
			require.ErrorIs(t, err, errs.ErrInvalidPath)
			err = f.c.LogArtifacts(ctx, f.runID, f.src, tc.artifactPath)
			require.ErrorIs(t, err, errs.ErrInvalidPath)
		})
	}
	f.requireOutsideEmpty(t, "nothing may be written outside the artifact folder")
	require.True(t, errors.Is(f.c.LogArtifact(ctx, f.runID, f.src, ""), errs.ErrInvalidParameter))
}

// A run whose artifacts folder is a symlink out of the store's root gets
// no artifact: LogArtifact and LogArtifacts refuse, and nothing lands
// outside.
func TestClient_LogArtifact_SymlinkedArtifactsFolder(t *testing.T) {
	f := newEscapeFixture(t)
	ctx := context.Background()
	require.NoError(t, os.Remove(f.dir))
	testkit.Symlink(t, f.outside, f.dir)
	require.ErrorIs(t, f.c.LogArtifact(ctx, f.runID, f.file, ""), errs.ErrInvalidPath)
	require.ErrorIs(t, f.c.LogArtifacts(ctx, f.runID, f.src, "sub"), errs.ErrInvalidPath)
	f.requireOutsideEmpty(t, "nothing written outside the store")
	require.NoError(t, os.Remove(f.dir))
	require.NoError(t, os.Mkdir(f.dir, 0o777))
}

// LogText refuses artifact files that are not a safe relative file path,
// as MLflow's validate_path_is_safe, and writes nothing for them.
func TestClient_LogText_BadPaths(t *testing.T) {
	c, _, runID := newClient(t, nil)
	ctx := context.Background()
	dir, err := c.ArtifactDir(ctx, runID)
	require.NoError(t, err)
	for _, p := range []string{"", ".", "../x.txt", "a/../../x.txt", "/abs.txt", `a\b.txt`, "c:x.txt", "a#b.txt"} {
		err := c.LogText(ctx, runID, "text", p)
		require.Error(t, err, "%q", p)
		require.True(t, errors.Is(err, errs.ErrInvalidPath) || errors.Is(err, errs.ErrInvalidParameter), "%q: %v", p, err)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
	require.NoError(t, c.LogText(ctx, runID, "ok", "a/b.txt"))
	data, err := os.ReadFile(filepath.Join(dir, "a", "b.txt"))
	require.NoError(t, err)
	require.Equal(t, "ok", string(data))
}

// An end time of 0 is now, as Python's set_terminated reads it
// (`end_time or get_current_time_millis()`); any other value is kept.
func TestClient_SetTerminatedAt_ZeroIsNow(t *testing.T) {
	now := time.UnixMilli(1700000123456)
	c, _, runID := newClient(t, &tracking.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	for _, tc := range []struct{ given, want int64 }{{0, now.UnixMilli()}, {1700000000001, 1700000000001}} {
		require.NoError(t, c.SetTerminatedAt(ctx, runID, entities.StatusFinished, tc.given))
		run, err := c.GetRun(ctx, runID)
		require.NoError(t, err)
		require.NotNil(t, run.Info.EndTime)
		require.Equal(t, tc.want, *run.Info.EndTime, "given %d", tc.given)
	}
}
