package sysmetrics

import "context"

// FakeValue is one scripted reading of a FakeSource.
type FakeValue struct {
	Name string
	V    float64
	Last bool // aggregated as the last sample (network-style), else the mean
}

// FakeSource gives scripted samples: sample i adds Next(i).
type FakeSource struct {
	Next func(i int) []FakeValue
	n    int
}

func (f *FakeSource) collect(_ context.Context, w *window) {
	for _, v := range f.Next(f.n) {
		how := aggMean
		if v.Last {
			how = aggLast
		}
		w.add(v.Name, v.V, how)
	}
	f.n++
}

// UseSources replaces the machine's collectors of o.
func UseSources(o *Options, srcs ...*FakeSource) {
	for _, s := range srcs {
		o.sources = append(o.sources, s)
	}
}

var (
	Round1     = round1
	CPUPercent = cpuPercent
)
