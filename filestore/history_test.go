package filestore_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/downsample"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/layout"
)

func TestStore_GetMetricHistoryPage(t *testing.T) {
	s, _ := newStore(t, nil)
	ctx := context.Background()
	r := newRun(t, s, "0")
	id := r.Info.RunID
	var ms []entities.Metric
	for i := 0; i < 10; i++ {
		ms = append(ms, entities.Metric{Key: "loss", Value: float64(i), Timestamp: int64(i), Step: int64(i)})
	}
	ms[4].Value = math.NaN()
	require.NoError(t, s.LogBatch(ctx, id, ms, nil, nil))
	all, err := s.GetMetricHistory(ctx, id, "loss")
	require.NoError(t, err)

	var got []entities.Metric
	tok, pages := "", 0
	for {
		page, next, err := s.GetMetricHistoryPage(ctx, id, "loss", 3, tok)
		require.NoError(t, err)
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		tok = next
	}
	require.Equal(t, 4, pages)
	require.Len(t, got, 10)
	for i := range got {
		require.Equal(t, math.Float64bits(all[i].Value), math.Float64bits(got[i].Value))
	}
	// No max: everything from the offset, no token (FileStore with max_results=None).
	rest, next, err := s.GetMetricHistoryPage(ctx, id, "loss", 0, "eyJvZmZzZXQiOiA4fQ==")
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, rest, 2)
	// Exactly one full page: no next token.
	page, next, err := s.GetMetricHistoryPage(ctx, id, "loss", 10, "")
	require.NoError(t, err)
	require.Len(t, page, 10)
	require.Empty(t, next)

	none, next, err := s.GetMetricHistoryPage(ctx, id, "never", 5, "")
	require.NoError(t, err)
	require.Empty(t, none)
	require.Empty(t, next)
	_, _, err = s.GetMetricHistoryPage(ctx, "0123456789abcdef0123456789abcdef", "loss", 5, "")
	require.ErrorIs(t, err, errs.ErrNotFound)
	_, _, err = s.GetMetricHistoryPage(ctx, id, "loss", 5, "bad token")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
}

func TestStore_MetricHistoryIter(t *testing.T) {
	s, _ := newStore(t, nil)
	ctx := context.Background()
	r := newRun(t, s, "0")
	id := r.Info.RunID
	var ms []entities.Metric
	for i := 0; i < 5000; i++ {
		ms = append(ms, entities.Metric{Key: "a/b", Value: float64(i) / 3, Timestamp: 1, Step: int64(i)})
	}
	for i := 0; i < len(ms); i += 1000 {
		require.NoError(t, s.LogBatch(ctx, id, ms[i:i+1000], nil, nil))
	}
	n := 0
	for m, err := range s.MetricHistoryIter(ctx, id, "a/b") {
		require.NoError(t, err)
		require.Equal(t, int64(n), m.Step)
		n++
		if n == 4000 {
			break // stopping early is fine
		}
	}
	require.Equal(t, 4000, n)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var last error
	for _, err := range s.MetricHistoryIter(cctx, id, "a/b") {
		last = err
	}
	require.ErrorIs(t, last, context.Canceled)

	for _, err := range s.MetricHistoryIter(ctx, id, "../escape") {
		require.ErrorIs(t, err, errs.ErrInvalidParameter)
	}

	lt, err := s.GetMetricHistoryDownsampled(ctx, id, "a/b", 100, downsample.LTTB)
	require.NoError(t, err)
	require.Len(t, lt, 100)
	mm, err := s.GetMetricHistoryDownsampled(ctx, id, "a/b", 100, downsample.MinMax)
	require.NoError(t, err)
	require.LessOrEqual(t, len(mm), 100)
}

// A long history streams (through the parallel block reader) exactly what
// GetMetricHistory's whole-file decoder returns, and a bad line deep in it
// ends the stream after every point before it with the same error, line
// number and path.
func TestStore_MetricHistoryIter_LongMatchesSlice(t *testing.T) {
	s, root := newStore(t, nil)
	ctx := context.Background()
	r := newRun(t, s, "0")
	id := r.Info.RunID
	logHistory(t, s, id, 300_000, func(i int) entities.Metric {
		return entities.Metric{Key: "loss", Value: 1 / float64(i+7), Timestamp: 1_700_000_000_000 + int64(i), Step: int64(i % 977)}
	})
	check := func() {
		t.Helper()
		want, werr := s.GetMetricHistory(ctx, id, "loss")
		var got []entities.Metric
		var gerr error
		for m, err := range s.MetricHistoryIter(ctx, id, "loss") {
			if err != nil {
				gerr = err
				break
			}
			got = append(got, m)
		}
		if werr != nil {
			require.Error(t, gerr)
			require.Equal(t, werr.Error(), gerr.Error())
			var wc, gc *layout.CorruptionError
			require.ErrorAs(t, werr, &wc)
			require.ErrorAs(t, gerr, &gc)
			require.Equal(t, wc.Line, gc.Line)
			require.Equal(t, wc.Path, gc.Path)
			require.Len(t, got, wc.Line-1)
			return
		}
		require.NoError(t, gerr)
		require.Equal(t, want, got)
	}
	check()
	// a line Python would refuse, then more good lines after it
	p := filepath.Join(root, "0", id, "metrics", "loss")
	restore := appendRaw(t, p, "1700000000000 not-a-number 3\n1700000000001 0.5 4\n")
	check()
	restore()
}

// logHistory logs n points made by point to run id, 1,000 per LogBatch.
func logHistory(t *testing.T, s *filestore.Store, id string, n int, point func(i int) entities.Metric) {
	t.Helper()
	batch := make([]entities.Metric, 0, 1000)
	for i := range n {
		batch = append(batch, point(i))
		if len(batch) == cap(batch) || i == n-1 {
			require.NoError(t, s.LogBatch(context.Background(), id, batch, nil, nil))
			batch = batch[:0]
		}
	}
}

// appendRaw appends text to the file p as a writer outside the store would
// and returns a func that truncates it back (a store's cleanup check wants
// its files sound).
func appendRaw(t *testing.T, p, text string) (restore func()) {
	t.Helper()
	st, err := os.Stat(p)
	require.NoError(t, err)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return func() { require.NoError(t, os.Truncate(p, st.Size())) }
}

// A metric file too big to hold whole for its latest value (past
// streamMetricPast) is decoded as it is read: GetRun and searches (first,
// cache-filling and repeated) give the latest value by MLflow's rule, which
// here is in the middle of the file, and a bad line deep in the file is
// reported with its line number and path (GetRun) or the run passed over
// (search).
func TestStore_BigMetricFileLatest(t *testing.T) {
	s, root := newStore(t, nil)
	ctx := context.Background()
	r := newRun(t, s, "0")
	id := r.Info.RunID
	logHistory(t, s, id, 120_000, func(i int) entities.Metric { // ~4.6 MB
		step := int64(i % 1000)
		if i == 61_234 {
			step = 5000 // the latest: highest step, though not the last line
		}
		return entities.Metric{Key: "loss", Value: 1 / float64(i+7), Timestamp: 1_700_000_000_000 + int64(i), Step: step}
	})
	require.NoError(t, s.LogMetric(ctx, id, entities.Metric{Key: "acc", Value: 0.5, Timestamp: 1, Step: 1}))
	hist, err := s.GetMetricHistory(ctx, id, "loss")
	require.NoError(t, err)
	want := hist[0]
	for _, m := range hist[1:] {
		if entities.IsNewerMetric(m, want) {
			want = m
		}
	}
	require.Equal(t, int64(5000), want.Step)
	got, err := s.GetRun(ctx, id)
	require.NoError(t, err)
	require.Equal(t, want, got.Data.Metrics["loss"])
	for i := range 3 {
		runs, _, err := s.SearchRuns(ctx, []string{"0"}, "metrics.loss > 0", entities.ViewActiveOnly, 10, []string{"metrics.loss DESC"}, "")
		require.NoError(t, err, "search %d", i)
		require.Len(t, runs, 1)
		require.Equal(t, want, runs[0].Data.Metrics["loss"], "search %d", i)
	}

	p := filepath.Join(root, "0", id, "metrics", "loss")
	restore := appendRaw(t, p, "1700000000000 not-a-number 3\n")
	_, err = s.GetRun(ctx, id)
	var ce *layout.CorruptionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 120_001, ce.Line)
	require.Equal(t, p, ce.Path)
	// a search passes over (and logs) a run it cannot read, never with a
	// value from half the file
	runs, _, err := s.SearchRuns(ctx, []string{"0"}, "metrics.loss > 0", entities.ViewActiveOnly, 10, nil, "")
	require.NoError(t, err)
	require.Empty(t, runs)
	restore()
}

// GetMetricHistoryDownsampled streams (two passes, bounded memory) to
// exactly what downsample.Apply gives on the whole history.
func TestStore_GetMetricHistoryDownsampled_MatchesApply(t *testing.T) {
	s, _ := newStore(t, nil)
	ctx := context.Background()
	r := newRun(t, s, "0")
	id := r.Info.RunID
	logHistory(t, s, id, 200_000, func(i int) entities.Metric {
		v := math.Sin(float64(i)/500) + float64(i%7)/10
		if i%9973 == 0 {
			v = math.NaN()
		}
		return entities.Metric{Key: "loss", Value: v, Timestamp: int64(i), Step: int64(i)}
	})
	h, err := s.GetMetricHistory(ctx, id, "loss")
	require.NoError(t, err)
	for _, n := range []int{0, 2, 3, 1000, 4097, 199_999, 200_000} {
		for _, m := range []downsample.Method{downsample.LTTB, downsample.MinMax} {
			got, err := s.GetMetricHistoryDownsampled(ctx, id, "loss", n, m)
			require.NoError(t, err)
			want := downsample.Apply(m, h, n)
			require.Equal(t, len(want), len(got), "n %d method %d", n, m)
			for i := range want {
				require.Equal(t, want[i].Timestamp, got[i].Timestamp, "n %d method %d point %d", n, m, i)
			}
		}
	}
	got, err := s.GetMetricHistoryDownsampled(ctx, id, "never-logged", 100, downsample.LTTB)
	require.NoError(t, err)
	require.Empty(t, got)
}
