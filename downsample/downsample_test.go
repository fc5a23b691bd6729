package downsample_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/downsample"
	"github.com/mlruns-go/mlruns/entities"
)

func series(vals ...float64) []entities.Metric {
	out := make([]entities.Metric, len(vals))
	for i, v := range vals {
		out[i] = entities.Metric{Key: "m", Value: v, Step: int64(i)}
	}
	return out
}

func values(ms []entities.Metric) []float64 {
	var out []float64
	for _, m := range ms {
		out = append(out, m.Value)
	}
	return out
}

func TestLttb(t *testing.T) {
	tests := []struct {
		name string
		in   []entities.Metric
		n    int
		want []float64
	}{
		{"short history unchanged", series(1, 2, 3), 5, []float64{1, 2, 3}},
		{"n zero unchanged", series(1, 2, 3), 0, []float64{1, 2, 3}},
		{"keeps ends", series(0, 1, 2, 3, 4, 5), 2, []float64{0, 5}},
		{"keeps the spike", series(0, 0, 0, 9, 0, 0, 0, 0), 3, []float64{0, 9, 0}},
		{"skips NaN", series(0, math.NaN(), 0, 5, 0), 3, []float64{0, 5, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, values(downsample.Lttb(tt.in, tt.n)))
		})
	}
	long := make([]float64, 10000)
	for i := range long {
		long[i] = math.Sin(float64(i) / 100)
	}
	out := downsample.Lttb(series(long...), 500)
	require.Len(t, out, 500)
	for i := 1; i < len(out); i++ {
		require.Less(t, out[i-1].Step, out[i].Step)
	}
}

func TestMinMaxBuckets(t *testing.T) {
	tests := []struct {
		name string
		in   []entities.Metric
		n    int
		want []float64
	}{
		{"short history unchanged", series(1, 2), 4, []float64{1, 2}},
		{"min and max in order", series(5, 1, 9, 3, 2, 8, 7, 4), 4, []float64{1, 9, 2, 8}},
		{"max before min", series(9, 1, 5, 5), 2, []float64{9, 1}},
		{"all NaN bucket keeps first", series(math.NaN(), math.NaN(), 1, 2), 2, []float64{1, 2}},
		{"infinities count", series(math.Inf(-1), 0, 0, math.Inf(1)), 2, []float64{math.Inf(-1), math.Inf(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := downsample.MinMaxBuckets(tt.in, tt.n)
			require.Equal(t, tt.want, values(got))
		})
	}
}

// A Stream fed a history point by point returns exactly what Apply returns
// on the whole slice, for both methods, on histories with NaN, infinities,
// ties and steps out of order, at every n around the history's length.
func TestStream_AgreesWithApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, 1}
	for i := range 400 {
		total := rng.IntN(3000)
		if i < 40 {
			total = i
		}
		h := make([]entities.Metric, total)
		for j := range h {
			v := rng.NormFloat64()
			if rng.IntN(10) == 0 {
				v = specials[rng.IntN(len(specials))]
			}
			step := int64(j)
			if rng.IntN(20) == 0 {
				step = int64(rng.IntN(total + 1))
			}
			h[j] = entities.Metric{Key: "m", Value: v, Step: step, Timestamp: int64(j)}
		}
		for _, n := range []int{-1, 0, 1, 2, 3, 4, 5, 7, 10, 100, total - 1, total, total + 1, rng.IntN(total + 2)} {
			for _, m := range []downsample.Method{downsample.LTTB, downsample.MinMax} {
				want := downsample.Apply(m, h, n)
				s := downsample.NewStream(m, total, n)
				for j, p := range h {
					if more := s.Add(p); more != (j < total-1) {
						t.Fatalf("total %d n %d method %d: Add %d said more=%v", total, n, m, j, more)
					}
				}
				got, ok := s.Result()
				require.True(t, ok)
				if len(got) != len(want) {
					t.Fatalf("total %d n %d method %d: %d points, want %d", total, n, m, len(got), len(want))
				}
				for k := range want {
					if got[k].Timestamp != want[k].Timestamp {
						t.Fatalf("total %d n %d method %d: point %d is #%d, want #%d", total, n, m, k, got[k].Timestamp, want[k].Timestamp)
					}
				}
			}
		}
	}
}

// A Stream given fewer points than it was made for has no result, and
// ignores points past its total.
func TestStream_Count(t *testing.T) {
	h := series(1, 5, 2, 8, 3, 9, 4)
	s := downsample.NewStream(downsample.LTTB, 5, 3)
	for _, p := range h[:4] {
		s.Add(p)
	}
	_, ok := s.Result()
	require.False(t, ok)
	require.False(t, s.Add(h[4]))
	require.False(t, s.Add(h[5]))
	got, ok := s.Result()
	require.True(t, ok)
	require.Equal(t, values(downsample.Apply(downsample.LTTB, h[:5], 3)), values(got))
}
