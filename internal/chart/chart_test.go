package chart

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

func TestSegmentHitsRect(t *testing.T) {
	r := vg.Rectangle{Min: vg.Point{X: 10, Y: 10}, Max: vg.Point{X: 20, Y: 20}}
	pt := func(x, y vg.Length) vg.Point { return vg.Point{X: x, Y: y} }
	cases := []struct {
		name string
		a, b vg.Point
		want bool
	}{
		{"inside", pt(12, 12), pt(18, 18), true},
		{"crosses", pt(0, 15), pt(30, 15), true},
		{"diagonal through", pt(0, 0), pt(30, 30), true},
		{"ends inside", pt(0, 0), pt(15, 15), true},
		{"left of it", pt(0, 0), pt(5, 30), false},
		{"above it", pt(0, 25), pt(30, 25), false},
		{"cuts the corner", pt(0, 25), pt(25, 0), true}, // through (12.5, 12.5)
		{"misses the corner", pt(0, 15), pt(15, 0), false},
		{"a point inside", pt(15, 15), pt(15, 15), true},
		{"a point outside", pt(5, 5), pt(5, 5), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, segmentHitsRect(r, c.a, c.b))
		})
	}
}

func TestTicks(t *testing.T) {
	labels := func(ts []plot.Tick) []string {
		var out []string
		for _, t := range ts {
			if t.Label != "" {
				out = append(out, t.Label)
			}
		}
		return out
	}
	cases := []struct {
		name   string
		ticker plot.Ticker
		lo, hi float64
		want   []string
	}{
		{"steps", niceTicks{n: 6, integer: true}, 0, 29, []string{"0", "5", "10", "15", "20", "25"}},
		{"few steps", niceTicks{n: 6, integer: true}, -1, 1, []string{"-1", "0", "1"}},
		{"a few more steps", niceTicks{n: 7, integer: true}, 0, 12, []string{"0", "2", "4", "6", "8", "10", "12"}},
		{"loss", niceTicks{n: 5}, 0.07, 2.39, []string{"0.5", "1.0", "1.5", "2.0"}},
		{"negative", niceTicks{n: 5}, -1, 1, []string{"-1.0", "-0.5", "0", "0.5", "1.0"}},
		{"big", niceTicks{n: 3}, 0, 4e7, []string{"0", "2e+07", "4e+07"}},
		{"log dense", logTicks{}, 0.07, 2.39, []string{"0.1", "0.2", "0.5", "1", "2"}},
		{"log sparse", logTicks{}, 0.001, 20, []string{"0.001", "0.01", "0.1", "1", "10"}},
		{"minutes", scaledTicks{niceTicks{n: 3}, 60}, 0, 600, []string{"0", "5", "10"}},
		{"clock", timeTicks{n: 4, format: "15:04"}, 1714979289, 1714979289 + 3*3600, []string{"08:00", "09:00", "10:00"}},
		{"clock sub-second", timeTicks{n: 3, format: "15:04:05"}, 1714979289, 1714979289.5, []string{"07:08:09.000", "07:08:09.250", "07:08:09.500"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, labels(c.ticker.Ticks(c.lo, c.hi)))
		})
	}
}
