package entities_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
)

// Appending points and reading them back gives the points (but their run
// ids), with neighbours of one dataset and model merged into one range.
func TestMetricColumns_Append_Table(t *testing.T) {
	pt := func(step int64, name, digest, model string) entities.Metric {
		return entities.Metric{Key: "k", Timestamp: 10 + step, Value: float64(step) / 2, Step: step,
			DatasetName: name, DatasetDigest: digest, ModelID: model}
	}
	ref := func(start, end int, name, digest, model string) entities.RefRange {
		return entities.RefRange{Start: start, End: end, DatasetName: name, DatasetDigest: digest, ModelID: model}
	}
	cases := []struct {
		name   string
		points []entities.Metric
		refs   []entities.RefRange
	}{
		{name: "empty"},
		{name: "plain", points: []entities.Metric{pt(0, "", "", ""), pt(1, "", "", "")}},
		{name: "one range", points: []entities.Metric{pt(0, "", "", ""), pt(1, "a", "d", ""), pt(2, "a", "d", ""), pt(3, "", "", "")},
			refs: []entities.RefRange{ref(1, 3, "a", "d", "")}},
		{name: "alternating", points: []entities.Metric{pt(0, "a", "d", ""), pt(1, "b", "d", ""), pt(2, "a", "d", "")},
			refs: []entities.RefRange{ref(0, 1, "a", "d", ""), ref(1, 2, "b", "d", ""), ref(2, 3, "a", "d", "")}},
		{name: "same dataset after a gap", points: []entities.Metric{pt(0, "a", "d", ""), pt(1, "", "", ""), pt(2, "a", "d", "")},
			refs: []entities.RefRange{ref(0, 1, "a", "d", ""), ref(2, 3, "a", "d", "")}},
		{name: "empty name kept", points: []entities.Metric{pt(0, "", "d", ""), pt(1, "", "d", "")},
			refs: []entities.RefRange{ref(0, 2, "", "d", "")}},
		{name: "model ids", points: []entities.Metric{pt(0, "", "", "m-1"), pt(1, "", "", "m-1"), pt(2, "a", "d", "m-1"), pt(3, "", "", "m-2")},
			refs: []entities.RefRange{ref(0, 2, "", "", "m-1"), ref(2, 3, "a", "d", "m-1"), ref(3, 4, "", "", "m-2")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := entities.MetricColumns{Key: "k"}
			for _, m := range tc.points {
				m.RunID = "r" // not kept
				c.Append(m)
			}
			require.Equal(t, tc.refs, c.Refs)
			require.Equal(t, len(tc.points), c.Len())
			want := tc.points
			if want == nil {
				want = []entities.Metric{}
			}
			require.Equal(t, want, c.Metrics())
			for i, m := range tc.points {
				require.Equal(t, m, c.At(i))
			}
		})
	}
}

// Ranges added piecewise merge as one, whatever the pieces, and RefAt
// finds the range of every point.
func TestMetricColumns_AddRefs_Merges(t *testing.T) {
	var c entities.MetricColumns
	a := func(start, end int) entities.RefRange {
		return entities.RefRange{Start: start, End: end, DatasetName: "a", DatasetDigest: "d"}
	}
	c.AddRefs(a(0, 3))
	c.AddRefs(a(3, 5))
	c.AddRefs(a(5, 6))
	c.AddRefs(a(7, 9))
	require.Equal(t, []entities.RefRange{a(0, 6), a(7, 9)}, c.Refs)
	for i, want := range []string{"a", "a", "a", "a", "a", "a", "", "a", "a", ""} {
		require.Equal(t, want, c.RefAt(i).DatasetName, "point %d", i)
	}
}
