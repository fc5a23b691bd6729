package filestore_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/downsample"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
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
