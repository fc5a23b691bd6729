package filestore_test

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/layout"
)

// requireSameHistory checks that the columns hold the history's points:
// values by bits (NaN equal to NaN), every other field equal.
func requireSameHistory(t *testing.T, want []entities.Metric, got entities.MetricColumns) {
	t.Helper()
	require.Equal(t, len(want), got.Len())
	all := got.Metrics()
	for i := range want {
		w, g := want[i], all[i]
		if math.Float64bits(w.Value) != math.Float64bits(g.Value) && !(math.IsNaN(w.Value) && math.IsNaN(g.Value)) {
			t.Fatalf("point %d: value %v, want %v", i, g.Value, w.Value)
		}
		if w.Value, g.Value = 0, 0; w != g {
			require.Equal(t, w, g, "point %d", i)
		}
	}
}

// requireSameRead compares GetMetricHistoryColumns with GetMetricHistory
// on one metric: the same points, or the same error (line and path).
func requireSameRead(t *testing.T, s *filestore.Store, runID, key string) {
	t.Helper()
	want, werr := s.GetMetricHistory(ctx, runID, key)
	got, gerr := s.GetMetricHistoryColumns(ctx, runID, key)
	if werr != nil {
		require.Error(t, gerr)
		require.Equal(t, werr.Error(), gerr.Error())
		for _, target := range []error{errs.ErrNotFound, errs.ErrInvalidParameter, errs.ErrCorrupt} {
			require.Equal(t, errors.Is(werr, target), errors.Is(gerr, target), "%v", target)
		}
		var wc, gc *layout.CorruptionError
		if errors.As(werr, &wc) {
			require.True(t, errors.As(gerr, &gc))
			require.Equal(t, *wc, *gc)
		}
		return
	}
	require.NoError(t, gerr)
	require.Equal(t, key, got.Key)
	requireSameHistory(t, want, got)
}

// A long history of every kind of value (NaN, ±Inf, -0.0, the largest and
// smallest doubles, negative steps, dataset points) reads back into columns
// as GetMetricHistory reads it, parsed on all cores; so do lines another
// writer appended with CRLF ends, and a torn or bad line is the same
// error, with the same line number and path.
func TestStore_GetMetricHistoryColumns_MatchesSlice(t *testing.T) {
	s, root := newStore(t, nil)
	id := newRun(t, s, "0").Info.RunID
	odd := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-300, 1e16}
	logHistory(t, s, id, 200_000, func(i int) entities.Metric {
		m := entities.Metric{Key: "loss", Value: 1 / float64(i+7), Timestamp: 1_700_000_000_000 + int64(i), Step: int64(i%977) - 300}
		if i%1000 < len(odd) {
			m.Value = odd[i%1000]
		}
		if i%5000 < 3 {
			m.DatasetName, m.DatasetDigest = "train", "abc123"
		}
		return m
	})
	requireSameRead(t, s, id, "loss")
	cols, err := s.GetMetricHistoryColumns(ctx, id, "loss")
	require.NoError(t, err)
	require.Len(t, cols.Refs, 40)

	p := filepath.Join(root, "0", id, "metrics", "loss")
	for _, raw := range []string{
		"1700000000000 0.5 -4\r\n1700000000001 nan 5\r\n", // another writer's CRLF lines
		"1700000000000 not-a-number 3\n1700000000001 0.5 4\n",
		"1700000000000 0.5 3\n17000", // a torn last line
		"1700000000000 0.5 3 train\n",
	} {
		restore := appendRaw(t, p, raw)
		requireSameRead(t, s, id, "loss")
		restore()
	}
}

// The columns refuse what GetMetricHistory refuses, and a metric never
// logged is an empty history.
func TestStore_GetMetricHistoryColumns_Errors(t *testing.T) {
	s, _ := newStore(t, nil)
	id := newRun(t, s, "0").Info.RunID
	require.NoError(t, s.LogMetric(ctx, id, entities.Metric{Key: "a/b", Value: 1, Timestamp: 1, Step: 2}))
	for _, tc := range []struct{ name, runID, key string }{
		{"logged", id, "a/b"},
		{"never logged", id, "never"},
		{"missing run", "0123456789abcdef0123456789abcdef", "a/b"},
		{"bad run id", "../x", "a/b"},
		{"escaping key", id, "../escape"},
		{"empty key", id, ""},
		{"a folder", id, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireSameRead(t, s, tc.runID, tc.key)
		})
	}
	c, err := s.GetMetricHistoryColumns(ctx, id, "never")
	require.NoError(t, err)
	require.Equal(t, entities.MetricColumns{Key: "never"}, c)
}
