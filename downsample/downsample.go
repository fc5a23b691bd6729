package downsample

import (
	"math"

	"github.com/mlruns-go/mlruns/entities"
)

// Method names a downsampling algorithm.
type Method int

const (
	// LTTB keeps n points chosen by Largest-Triangle-Three-Buckets.
	LTTB Method = iota
	// MinMax splits the history into n/2 buckets and keeps the minimum and
	// maximum of each, in their original order.
	MinMax
)

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Apply runs the method. n <= 0, or a history no longer than n, is
// returned unchanged (a copy).
func Apply(m Method, h []entities.Metric, n int) []entities.Metric {
	if m == MinMax {
		return MinMaxBuckets(h, n)
	}
	return Lttb(h, n)
}

// Lttb returns n points of h chosen by Largest-Triangle-Three-Buckets
// (Steinarsson 2013): the first and last points, and from each of n-2
// equal buckets between them the point forming the largest triangle with
// the point kept before and the average of the next bucket.
func Lttb(h []entities.Metric, n int) []entities.Metric {
	if n <= 0 || len(h) <= n {
		return append([]entities.Metric(nil), h...)
	}
	if n < 3 {
		out := []entities.Metric{h[0]}
		if n == 2 {
			out = append(out, h[len(h)-1])
		}
		return out
	}
	out := make([]entities.Metric, 0, n)
	out = append(out, h[0])
	width := float64(len(h)-2) / float64(n-2)
	a := 0
	for i := 0; i < n-2; i++ {
		lo := int(float64(i)*width) + 1
		hi := int(float64(i+1)*width) + 1
		// average of the next bucket (the last point for the last bucket)
		nlo, nhi := hi, min(int(float64(i+2)*width)+1, len(h))
		if i == n-3 {
			nlo, nhi = len(h)-1, len(h)
		}
		var ax, ay float64
		cnt := 0
		for j := nlo; j < nhi; j++ {
			if finite(h[j].Value) {
				ax += float64(h[j].Step)
				ay += h[j].Value
				cnt++
			}
		}
		if cnt > 0 {
			ax /= float64(cnt)
			ay /= float64(cnt)
		}
		best, bestArea := lo, -1.0
		px, py := float64(h[a].Step), h[a].Value
		for j := lo; j < hi; j++ {
			area := -0.5
			if finite(h[j].Value) {
				area = math.Abs((px-ax)*(h[j].Value-py) - (px-float64(h[j].Step))*(ay-py))
				if math.IsNaN(area) {
					area = 0
				}
			}
			if area > bestArea {
				best, bestArea = j, area
			}
		}
		out = append(out, h[best])
		a = best
	}
	return append(out, h[len(h)-1])
}

// MinMaxBuckets splits h into n/2 equal buckets and keeps each bucket's
// minimum and maximum value (one point when they coincide), in history
// order, so spikes survive however long the history is.
func MinMaxBuckets(h []entities.Metric, n int) []entities.Metric {
	if n <= 0 || len(h) <= n {
		return append([]entities.Metric(nil), h...)
	}
	idx := MinMaxIndices(len(h), max(n/2, 1), func(i int) float64 { return h[i].Value })
	out := make([]entities.Metric, len(idx))
	for i, j := range idx {
		out[i] = h[j]
	}
	return out
}

// MinMaxIndices splits count points into the given number of equal
// buckets and returns, in order, the index of each bucket's minimum and
// maximum value (one index when they coincide, the bucket's first when all
// its values are NaN): the min/max bucketing of MinMaxBuckets, for callers
// whose points are not entities.Metric (a chart's preselection).
func MinMaxIndices(count, buckets int, value func(i int) float64) []int {
	out := make([]int, 0, 2*buckets)
	for b := 0; b < buckets; b++ {
		lo := b * count / buckets
		hi := (b + 1) * count / buckets
		if lo == hi {
			continue
		}
		mi, ma := -1, -1
		for j := lo; j < hi; j++ {
			v := value(j)
			if math.IsNaN(v) {
				continue
			}
			if mi < 0 || v < value(mi) {
				mi = j
			}
			if ma < 0 || v > value(ma) {
				ma = j
			}
		}
		switch {
		case mi < 0:
			out = append(out, lo)
		case mi == ma:
			out = append(out, mi)
		default:
			out = append(out, min(mi, ma), max(mi, ma))
		}
	}
	return out
}
