package layout

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// oddValuesFile builds a metric file of n lines of the values, steps and
// line shapes a history can hold: random float bits, NaN, ±Inf, -0.0, the
// largest and smallest doubles, negative and huge steps, dataset lines
// (one with an empty name), CRLF and lone CR ends; maybe a torn last line.
func oddValuesFile(rng *rand.Rand, n int) []byte {
	vals := []string{"nan", "inf", "-inf", "-0.0", "0.0", "5e-324", "1.7976931348623157e+308", "-2.2250738585072014e-308", "1e+16", "Infinity", "1_0.5"}
	var b []byte
	for i := range n {
		v := vals[rng.IntN(len(vals))]
		if rng.IntN(2) == 0 {
			v = pynum.FormatFloat(math.Float64frombits(rng.Uint64()))
		}
		step := []int64{int64(i), -int64(i), math.MinInt64, math.MaxInt64}[rng.IntN(4)]
		b = fmt.Appendf(b, "%d %s %d", 1_700_000_000_000+int64(i), v, step)
		switch rng.IntN(20) {
		case 0:
			b = fmt.Appendf(b, " ds%d dg", rng.IntN(2))
		case 1:
			b = append(b, "  dg"...) // an empty dataset name
		}
		b = append(b, []string{"\n", "\n", "\n", "\r\n", "\r"}[rng.IntN(5)]...)
	}
	if rng.IntN(3) == 0 {
		b = append(b, "1700000000000 0."...) // torn: reads as a 2-field line
	}
	return b
}

func requireSameColumns(t *testing.T, name string, want []entities.Metric, werr error, got entities.MetricColumns, gerr error) {
	t.Helper()
	if werr != nil {
		require.Error(t, gerr, name)
		require.Equal(t, werr.Error(), gerr.Error(), name)
		var wc, gc *CorruptionError
		require.Equal(t, errors.As(werr, &wc), errors.As(gerr, &gc), name)
		if wc != nil {
			require.Equal(t, *wc, *gc, name)
		}
		return
	}
	require.NoError(t, gerr, name)
	require.Equal(t, "k", got.Key, name)
	require.Equal(t, len(want), got.Len(), name)
	require.Len(t, got.Values, len(want), name)
	require.Len(t, got.Steps, len(want), name)
	all := got.Metrics()
	for i := range want {
		for _, g := range []entities.Metric{all[i], got.At(i)} {
			w := want[i]
			if math.Float64bits(w.Value) != math.Float64bits(g.Value) && !(math.IsNaN(w.Value) && math.IsNaN(g.Value)) {
				t.Fatalf("%s: point %d value %v, want %v", name, i, g.Value, w.Value)
			}
			if w.Value, g.Value = 0, 0; w != g { // require.Equal per point is slow
				require.Equal(t, w, g, "%s: point %d", name, i)
			}
		}
	}
	for i, r := range got.Refs {
		require.Less(t, r.Start, r.End, name)
		require.Empty(t, r.ModelID, name)
		if i > 0 {
			p := got.Refs[i-1]
			require.LessOrEqual(t, p.End, r.Start, name)
			p.Start, p.End, r.Start, r.End = 0, 0, 0, 0
			require.False(t, got.Refs[i-1].End == got.Refs[i].Start && p == r, "%s: equal neighbours are one range", name)
		}
	}
}

// DecodeMetricColumns gives DecodeMetricHistory's points and errors (the
// same first bad line, numbered in the whole file) on files of every
// shape, short ones and ones long enough to be parsed on 2 and 4 cores.
func TestDecodeMetricColumns_AgreesWithHistory(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(21, 22))
	for i := range 120 {
		var data []byte
		switch {
		case i%4 == 0:
			data = oddValuesFile(rng, rng.IntN(2000))
		case i%10 == 1:
			// past parallelMinBytes: chunks cut lines of every kind
			data = append(streamFile(rng, 40_000, i%3 == 0), oddValuesFile(rng, 20_000)...)
		default:
			data = streamFile(rng, rng.IntN(3000), i%3 == 0)
		}
		for _, procs := range []int{1, 2, 4} {
			runtime.GOMAXPROCS(procs)
			want, werr := decodeAll("k", data, false)
			got, gerr := DecodeMetricColumns("k", data)
			requireSameColumns(t, fmt.Sprintf("file %d (%d bytes), %d procs", i, len(data), procs), want, werr, got, gerr)
		}
	}
}

// A long file with a bad line in its last chunk, then also in its first:
// the first in file order is reported, numbered in the whole file; and
// chunks with more lines than '\n's (lone CRs), which outgrow their
// regions, come out whole.
func TestDecodeMetricColumns_ParallelEdges(t *testing.T) {
	var buf []byte
	for i := range 120_000 {
		m := entities.Metric{Key: "k", Value: float64(i) / 7, Timestamp: int64(i), Step: int64(i % 13)}
		if i%50_000 < 3 {
			m.DatasetName, m.DatasetDigest = "train", "d"
		}
		buf = AppendMetricLine(buf, m)
	}
	want, werr := decodeAll("k", buf, false)
	got, gerr := DecodeMetricColumns("k", buf)
	requireSameColumns(t, "valid", want, werr, got, gerr)
	require.Len(t, got.Refs, 3)

	late := bytes.Clone(buf)
	late[len(late)-10] = 'x'
	want, werr = decodeAll("k", late, false)
	got, gerr = DecodeMetricColumns("k", late)
	require.Error(t, werr)
	requireSameColumns(t, "bad last line", want, werr, got, gerr)
	late[5] = 'x'
	want, werr = decodeAll("k", late, false)
	got, gerr = DecodeMetricColumns("k", late)
	requireSameColumns(t, "bad first line", want, werr, got, gerr)

	crs := bytes.Clone(buf) // every third line ended by a lone CR
	for i, n := 0, 0; i < len(crs); i++ {
		if crs[i] == '\n' {
			if n++; n%3 == 0 {
				crs[i] = '\r'
			}
		}
	}
	want, werr = decodeAll("k", crs, false)
	got, gerr = DecodeMetricColumns("k", crs)
	require.NoError(t, werr)
	requireSameColumns(t, "lone CRs", want, werr, got, gerr)
}

func TestDecodeMetricColumns_Empty(t *testing.T) {
	c, err := DecodeMetricColumns("k", nil)
	require.NoError(t, err)
	require.Equal(t, "k", c.Key)
	require.Zero(t, c.Len())
	require.Empty(t, c.Metrics())
}

// BenchmarkDecodeMetricHistory decodes a 1M-line file held in memory
// into a slice and into columns, on all cores.
func BenchmarkDecodeMetricHistory(b *testing.B) {
	var data []byte
	const lines = 1_000_000
	for i := range lines {
		data = AppendMetricLine(data, entities.Metric{Value: 1 / float64(i+1), Timestamp: 1_700_000_000_000 + int64(i), Step: int64(i)})
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N)*lines/b.Elapsed().Seconds(), "lines/s")
	}
	b.Run("form=slice", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ms, err := DecodeMetricHistory("loss", data); err != nil || len(ms) != lines {
				b.Fatal(len(ms), err)
			}
		}
		report(b)
	})
	b.Run("form=columns", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if c, err := DecodeMetricColumns("loss", data); err != nil || c.Len() != lines {
				b.Fatal(c.Len(), err)
			}
		}
		report(b)
	})
}
