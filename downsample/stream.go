package downsample

import (
	"math"

	"github.com/mlruns-go/mlruns/entities"
)

// A Stream is Apply over a history fed one point at a time, for a history
// whose length is known before it is read (a first pass counts it): it
// keeps the chosen points and the points of at most two LTTB buckets (of
// one min/max bucket: its first, minimum and maximum), never the history,
// so a 10M-point metric is downsampled in memory bounded by n and the
// bucket size. Fed the same points, it returns what Apply returns.
type Stream struct {
	method   Method
	total, n int
	added    int
	out      []entities.Metric

	// LTTB: bucket k is being filled; cur is bucket k-1, complete, which
	// is chosen from once bucket k (its "next") is complete too.
	width     float64
	k         int
	cur, fill []entities.Metric
	hasCur    bool
	a         entities.Metric // the point chosen last

	// min/max buckets: bucket b spans [lo, hi) of the history.
	buckets, b, lo, hi int
	first, mi, ma      entities.Metric
	miAt, maAt         int // their places in the history; -1: none yet (all NaN)
}

// NewStream starts downsampling a history of total points to n by the
// method.
func NewStream(m Method, total, n int) *Stream {
	s := &Stream{method: m, total: total, n: n}
	switch {
	case n <= 0 || total <= n:
		s.out = make([]entities.Metric, 0, max(total, 0))
	case m == MinMax:
		s.buckets = max(n/2, 1)
		s.out = make([]entities.Metric, 0, 2*s.buckets)
		s.b = -1
		s.nextBucket()
	case n >= 3:
		s.width = float64(total-2) / float64(n-2)
		s.out = make([]entities.Metric, 0, n)
	}
	return s
}

// Add feeds the next point of the history. It returns false once the
// history's total points have been added (and ignores any more).
func (s *Stream) Add(p entities.Metric) bool {
	if s.added >= s.total {
		return false
	}
	j := s.added
	s.added++
	switch {
	case s.n <= 0 || s.total <= s.n:
		s.out = append(s.out, p)
	case s.method == MinMax:
		s.addMinMax(j, p)
	case s.n < 3:
		if j == 0 || s.n == 2 && j == s.total-1 {
			s.out = append(s.out, p)
		}
	default:
		s.addLttb(j, p)
	}
	return s.added < s.total
}

// Result returns the downsampled history; ok is false when fewer points
// were added than the total the Stream was made for.
func (s *Stream) Result() (out []entities.Metric, ok bool) {
	if s.added < s.total {
		return nil, false
	}
	if len(s.out) == 0 {
		return nil, true // as Apply on an empty history
	}
	return s.out, true
}

// lttbHi is the end of LTTB bucket i, computed as Lttb does.
func (s *Stream) lttbHi(i int) int { return int(float64(i+1)*s.width) + 1 }

func (s *Stream) addLttb(j int, p entities.Metric) {
	last := s.n - 3 // the last bucket
	switch {
	case j == 0:
		s.out = append(s.out, p)
		s.a = p
		return
	case j == s.total-1:
		if s.hasCur {
			s.choose(s.cur, s.fill)
		}
		s.choose(s.fill, []entities.Metric{p})
		s.out = append(s.out, p)
		return
	}
	for s.k < last && j >= s.lttbHi(s.k) { // bucket k is complete
		if s.hasCur {
			s.choose(s.cur, s.fill)
		}
		s.cur, s.fill, s.hasCur = s.fill, s.cur[:0], true
		s.k++
	}
	if j >= s.lttbHi(s.k) {
		return // past the last bucket's rounded end: in no bucket, as in Lttb
	}
	s.fill = append(s.fill, p)
}

// choose keeps the point of bucket that forms the largest triangle with
// the point kept before and the average of next, as Lttb does.
func (s *Stream) choose(bucket, next []entities.Metric) {
	var ax, ay float64
	cnt := 0
	for _, m := range next {
		if finite(m.Value) {
			ax += float64(m.Step)
			ay += m.Value
			cnt++
		}
	}
	if cnt > 0 {
		ax /= float64(cnt)
		ay /= float64(cnt)
	}
	if len(bucket) == 0 {
		return
	}
	best, bestArea := 0, -1.0
	px, py := float64(s.a.Step), s.a.Value
	for j, m := range bucket {
		area := -0.5
		if finite(m.Value) {
			area = math.Abs((px-ax)*(m.Value-py) - (px-float64(m.Step))*(ay-py))
			if math.IsNaN(area) {
				area = 0
			}
		}
		if area > bestArea {
			best, bestArea = j, area
		}
	}
	s.out = append(s.out, bucket[best])
	s.a = bucket[best]
}

// nextBucket moves to the next non-empty min/max bucket.
func (s *Stream) nextBucket() {
	for {
		s.b++
		s.lo, s.hi = s.b*s.total/s.buckets, (s.b+1)*s.total/s.buckets
		if s.lo < s.hi || s.b >= s.buckets {
			break
		}
	}
	s.miAt, s.maAt = -1, -1
}

func (s *Stream) addMinMax(j int, p entities.Metric) {
	if j == s.lo {
		s.first = p
	}
	if v := p.Value; !math.IsNaN(v) {
		if s.miAt < 0 || v < s.mi.Value {
			s.mi, s.miAt = p, j
		}
		if s.maAt < 0 || v > s.ma.Value {
			s.ma, s.maAt = p, j
		}
	}
	if j+1 < s.hi {
		return
	}
	// The bucket is complete: the same choice as MinMaxBuckets, in
	// history order.
	switch {
	case s.miAt < 0:
		s.out = append(s.out, s.first)
	case s.miAt == s.maAt:
		s.out = append(s.out, s.mi)
	case s.miAt < s.maAt:
		s.out = append(s.out, s.mi, s.ma)
	default:
		s.out = append(s.out, s.ma, s.mi)
	}
	s.nextBucket()
}
