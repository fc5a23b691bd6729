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
	buckets := max(n/2, 1)
	out := make([]entities.Metric, 0, 2*buckets)
	for b := 0; b < buckets; b++ {
		lo := b * len(h) / buckets
		hi := (b + 1) * len(h) / buckets
		if lo == hi {
			continue
		}
		mi, ma := -1, -1
		for j := lo; j < hi; j++ {
			v := h[j].Value
			if !finite(v) && !math.IsInf(v, 0) {
				continue // NaN
			}
			if mi < 0 || v < h[mi].Value {
				mi = j
			}
			if ma < 0 || v > h[ma].Value {
				ma = j
			}
		}
		switch {
		case mi < 0:
			out = append(out, h[lo])
		case mi == ma:
			out = append(out, h[mi])
		case mi < ma:
			out = append(out, h[mi], h[ma])
		default:
			out = append(out, h[ma], h[mi])
		}
	}
	return out
}
