package downsample_test

import (
	"math"
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
