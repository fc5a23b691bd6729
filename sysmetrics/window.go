package sysmetrics

import (
	"strconv"

	"github.com/mlruns-go/mlruns/entities"
)

// agg is how a window turns a metric's samples into the logged value.
type agg uint8

const (
	// aggMean is MLflow's round(sum(v) / len(v), 1).
	aggMean agg = iota
	// aggLast is the last sample as it is (NetworkMonitor's dict(...)).
	aggLast
)

// window holds the samples of one logging window, keys in the order they
// first appeared (the order of Python's dicts).
type window struct {
	keys []string
	accs map[string]*acc
}

type acc struct {
	sum  float64
	n    int
	last float64
	how  agg
}

// add records one sample's value of a metric.
func (w *window) add(name string, v float64, how agg) {
	if w.accs == nil {
		w.accs = map[string]*acc{}
	}
	a, ok := w.accs[name]
	if !ok {
		a = &acc{how: how}
		w.accs[name] = a
		w.keys = append(w.keys, name)
	}
	a.sum += v // left to right, as Python 3.11's sum()
	a.n++
	a.last = v
}

func (w *window) empty() bool { return len(w.keys) == 0 }

// metrics returns the window's values under prefix, all at one timestamp
// and step, and empties the window.
func (w *window) metrics(prefix string, ts, step int64) []entities.Metric {
	out := make([]entities.Metric, 0, len(w.keys))
	for _, k := range w.keys {
		a := w.accs[k]
		v := a.last
		if a.how == aggMean {
			v = round1(a.sum / float64(a.n))
		}
		out = append(out, entities.Metric{Key: prefix + k, Value: v, Timestamp: ts, Step: step})
	}
	w.keys = w.keys[:0]
	clear(w.accs)
	return out
}

// round1 is Python's round(x, 1): the exact binary value rounded to one
// decimal, ties to even (strconv rounds the exact decimal expansion the
// same way).
func round1(x float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 1, 64), 64)
	if err != nil { // ±Inf, NaN: as they are
		return x
	}
	return r
}
