package entities_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
)

func TestLatestMetric_Table(t *testing.T) {
	nan := math.NaN()
	m := func(ts, step int64, v float64) entities.Metric {
		return entities.Metric{Key: "k", Timestamp: ts, Step: step, Value: v}
	}
	cases := []struct {
		name string
		hist []entities.Metric
		want int // index into hist
	}{
		{"single", []entities.Metric{m(1, 0, 1)}, 0},
		{"17.7 nan first stays", []entities.Metric{m(10, 1, nan), m(10, 1, 5)}, 0},
		{"17.7 nan never wins", []entities.Metric{m(10, 1, 5), m(10, 1, nan), m(10, 1, 4)}, 0},
		{"17.7 greater after nan", []entities.Metric{m(10, 1, 4), m(10, 1, nan), m(10, 1, 5)}, 2},
		{"17.6 legacy", []entities.Metric{m(1, 0, 0.5), m(2, 0, 0.7), m(3, 5, 0.6), m(0, 5, nan), m(4, 1, math.Inf(1))}, 2},
		{"step first", []entities.Metric{m(100, 1, 9), m(1, 2, 1)}, 1},
		{"timestamp second", []entities.Metric{m(1, 1, 9), m(2, 1, 1)}, 1},
		{"value third", []entities.Metric{m(1, 1, 1), m(1, 1, 2)}, 1},
		{"equal keeps first", []entities.Metric{{Key: "a", Value: 1}, {Key: "b", Value: 1}}, 0},
		{"zero signs equal", []entities.Metric{m(1, 1, math.Copysign(0, -1)), m(1, 1, 0)}, 0},
		{"nan at higher step wins", []entities.Metric{m(1, 1, 9), m(1, 2, nan)}, 1},
		{"nan displaced by higher timestamp", []entities.Metric{m(1, 1, nan), m(2, 1, -1)}, 1},
		{"negative steps", []entities.Metric{m(1, -1, 5), m(1, -2, 6)}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := entities.LatestMetric(tc.hist)
			require.True(t, ok)
			want := tc.hist[tc.want]
			require.Equal(t, math.Float64bits(want.Value), math.Float64bits(got.Value))
			require.Equal(t, want.Key, got.Key)
			require.Equal(t, want.Step, got.Step)
			require.Equal(t, want.Timestamp, got.Timestamp)
		})
	}
}

func TestLatestMetric_Empty(t *testing.T) {
	_, ok := entities.LatestMetric(nil)
	require.False(t, ok)
}

func TestIsNewerMetric_NaN(t *testing.T) {
	a := entities.Metric{Value: math.NaN()}
	b := entities.Metric{Value: 1}
	require.False(t, entities.IsNewerMetric(a, b))
	require.False(t, entities.IsNewerMetric(b, a))
	require.False(t, entities.IsNewerMetric(a, a))
}

func TestLatestMetricsByDataset(t *testing.T) {
	hist := []entities.Metric{
		{Value: 1, Step: 1, DatasetName: "a", DatasetDigest: "1"},
		{Value: 2, Step: 1},
		{Value: 3, Step: 2, DatasetName: "a", DatasetDigest: "1"},
		{Value: 0, Step: 0},
		{Value: 5, Step: 0, DatasetName: "b", DatasetDigest: "1"},
	}
	got := entities.LatestMetricsByDataset(hist)
	require.Len(t, got, 3)
	require.Equal(t, 3.0, got[0].Value) // groups in order of first appearance
	require.Equal(t, 2.0, got[1].Value)
	require.Equal(t, 5.0, got[2].Value)
	require.Empty(t, entities.LatestMetricsByDataset(nil))
}
