package tracking_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/tracking"
)

// inFlightStore records how many LogBatch calls run at once and the order
// in which batches carrying tags are applied; each call takes a little,
// unequal while, as a request to a server does.
type inFlightStore struct {
	store.Store
	delay    time.Duration
	now, max atomic.Int64
	mu       sync.Mutex
	tagOrder []string // values of tag "phase", in arrival order
}

func (s *inFlightStore) LogBatch(ctx context.Context, runID string, m []entities.Metric, p []entities.Param, t []entities.RunTag) error {
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for {
		old := s.max.Load()
		if n <= old || s.max.CompareAndSwap(old, n) {
			break
		}
	}
	time.Sleep(s.delay + time.Duration(rand.Int64N(int64(2*s.delay)+1))) // requests take unequal times
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tag := range t {
		if tag.Key == "phase" {
			s.tagOrder = append(s.tagOrder, tag.Value)
		}
	}
	return s.Store.LogBatch(ctx, runID, m, p, t)
}

// concurrentStore is an inFlightStore that says metric-only batches commute.
type concurrentStore struct{ *inFlightStore }

func (concurrentStore) ConcurrentBatches() bool { return true }

func newInFlightClient(t *testing.T, concurrent bool, opts *tracking.Options) (*tracking.Client, *inFlightStore, string) {
	t.Helper()
	fs, err := filestore.Open(filepath.Join(t.TempDir(), "mlruns"), nil)
	require.NoError(t, err)
	ifs := &inFlightStore{Store: fs, delay: 3 * time.Millisecond}
	var st store.Store = ifs
	if concurrent {
		st = concurrentStore{ifs}
	}
	c := tracking.NewClient(st, opts)
	t.Cleanup(func() {
		c.Close(context.Background())
		storetest.Clean(t, fs)
	})
	run, err := c.CreateRun(context.Background(), "0", tracking.CreateRunOptions{RunName: "r"})
	require.NoError(t, err)
	return c, ifs, run.Info.RunID
}

// On a store that allows it, metric-only batches are in flight at once, up
// to AsyncInFlight; batches with tags reach the store in call order (the
// last value wins, as called); a param given a second value fails on the
// later call, as written; Flush returns with nothing in flight; and every
// point is stored once.
func TestClient_LogBatchAsync_ConcurrentBatches(t *testing.T) {
	const inFlight, calls, perCall = 4, 400, 50
	c, st, runID := newInFlightClient(t, true, &tracking.Options{AsyncInFlight: inFlight, AsyncWindow: time.Millisecond})
	ctx := context.Background()
	var ops []*tracking.Operation
	var wantTags []string
	for i := range calls {
		ms := make([]entities.Metric, perCall)
		for j := range ms {
			ms[j] = entities.Metric{Key: "m", Value: float64(i*perCall + j), Timestamp: 1, Step: int64(i*perCall + j)}
		}
		var tags []entities.RunTag
		if i%20 == 0 {
			tags = []entities.RunTag{{Key: "phase", Value: strconv.Itoa(i)}}
			wantTags = append(wantTags, strconv.Itoa(i))
		}
		ops = append(ops, c.LogBatchAsync(ctx, runID, ms, nil, tags))
	}
	first := c.LogBatchAsync(ctx, runID, nil, []entities.Param{{Key: "p", Value: "1"}}, nil)
	second := c.LogBatchAsync(ctx, runID, nil, []entities.Param{{Key: "p", Value: "2"}}, nil)
	err := c.Flush(ctx)
	require.Zero(t, st.now.Load(), "Flush returned with batches in flight")
	require.ErrorIs(t, err, errs.ErrInvalidParameter, "the param's second value is reported by Flush")
	for _, op := range ops {
		require.NoError(t, op.Wait())
	}
	require.NoError(t, first.Wait())
	require.ErrorIs(t, second.Wait(), errs.ErrInvalidParameter)

	require.Greater(t, st.max.Load(), int64(1), "metric-only batches were sent one at a time")
	require.LessOrEqual(t, st.max.Load(), int64(inFlight))
	st.mu.Lock()
	require.Equal(t, wantTags, st.tagOrder, "batches with tags reach the store in call order")
	st.mu.Unlock()

	run, err := c.GetRun(ctx, runID)
	require.NoError(t, err)
	require.Equal(t, wantTags[len(wantTags)-1], run.Data.Tags["phase"])
	require.Equal(t, "1", run.Data.Params["p"])
	hist, err := c.GetMetricHistory(ctx, runID, "m")
	require.NoError(t, err)
	steps := make([]int64, len(hist))
	for i, m := range hist {
		steps[i] = m.Step
	}
	slices.Sort(steps)
	want := make([]int64, calls*perCall)
	for i := range want {
		want[i] = int64(i)
	}
	require.Equal(t, want, steps, "every point stored exactly once")
}

// A store that does not say batches commute (the file store) gets one
// batch at a time, so a history keeps call order in its file, whatever
// AsyncInFlight says.
func TestClient_LogBatchAsync_OneInFlightWithoutConcurrentBatches(t *testing.T) {
	c, st, runID := newInFlightClient(t, false, &tracking.Options{AsyncInFlight: 8, AsyncWindow: time.Millisecond})
	ctx := context.Background()
	for i := range 3000 {
		c.LogMetricAsync(ctx, runID, "m", float64(i), tracking.WithStep(int64(i)))
	}
	require.NoError(t, c.Flush(ctx))
	require.Equal(t, int64(1), st.max.Load())
	hist, err := c.GetMetricHistory(ctx, runID, "m")
	require.NoError(t, err)
	require.Len(t, hist, 3000)
	for i, m := range hist {
		require.Equal(t, int64(i), m.Step, "file order is call order")
	}
}

// MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE bounds the batches in flight when
// Options.AsyncInFlight is zero, as it bounds Python's logging pool; a
// value Python's int() refuses, or one below zero, refuses every
// asynchronous write with a message naming the variable.
func TestClient_LogBatchAsync_ThreadPoolSizeVariable(t *testing.T) {
	for _, tc := range []struct {
		value   string
		max     int64 // most in flight; 0: refused
		message string
	}{
		{value: "2", max: 2},
		{value: "0", max: 10}, // Python: .get() or 10
		{value: " 3 ", max: 3},
		{value: "four", message: "Failed to convert 'four' for MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE"},
		{value: "-1", message: "MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE must be greater than 0"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Setenv(tracking.EnvAsyncLoggingThreadPoolSize, tc.value)
			c, st, runID := newInFlightClient(t, true, &tracking.Options{AsyncWindow: time.Millisecond})
			st.delay = 20 * time.Millisecond
			ctx := context.Background()
			var ops []*tracking.Operation
			for i := range 12 {
				ms := make([]entities.Metric, 1000) // one full batch per call
				for j := range ms {
					ms[j] = entities.Metric{Key: fmt.Sprint("k", i), Value: 1, Timestamp: 1, Step: int64(j)}
				}
				ops = append(ops, c.LogBatchAsync(ctx, runID, ms, nil, nil))
			}
			if tc.message != "" {
				for _, op := range ops {
					err := op.Wait()
					require.ErrorIs(t, err, errs.ErrInvalidParameter)
					require.ErrorContains(t, err, tc.message)
				}
				require.Zero(t, st.max.Load(), "nothing is written")
				return
			}
			require.NoError(t, c.Flush(ctx))
			require.LessOrEqual(t, st.max.Load(), tc.max)
			require.Greater(t, st.max.Load(), int64(1))
		})
	}
}
