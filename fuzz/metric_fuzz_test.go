package fuzz_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/layout"
)

func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// FuzzMetricLineRoundTrip: every metric we write reads back identically.
func FuzzMetricLineRoundTrip(f *testing.F) {
	f.Add(int64(1700000002000), math.Float64bits(0.5), int64(0), false)
	f.Add(int64(0), math.Float64bits(math.NaN()), int64(-1), true)
	f.Add(int64(math.MaxInt64), math.Float64bits(math.Inf(-1)), int64(math.MinInt64), false)
	f.Add(int64(10), math.Float64bits(5e-324), int64(3), true)
	f.Fuzz(func(t *testing.T, ts int64, bits uint64, step int64, dataset bool) {
		if ts < 0 {
			ts = -(ts + 1) // MLflow only logs non-negative timestamps
		}
		m := entities.Metric{Key: "k", Timestamp: ts, Value: math.Float64frombits(bits), Step: step}
		if dataset {
			m.DatasetName, m.DatasetDigest = "iris", "abc123"
		}
		line := layout.AppendMetricLine(nil, m)
		got, err := layout.ParseMetricLine("k", line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		wantStep := m.Step
		if got.Timestamp != ts || got.Step != wantStep || !sameBits(got.Value, m.Value) ||
			got.DatasetName != m.DatasetName || got.DatasetDigest != m.DatasetDigest {
			t.Fatalf("%q: got %+v", line, got)
		}
		model := layout.AppendModelMetricLine(nil, m, "r1")
		got, err = layout.ParseModelMetricLine("k", model)
		if err != nil || got.Step != step || got.RunID != "r1" || !sameBits(got.Value, m.Value) {
			t.Fatalf("%q: got %+v, %v", model, got, err)
		}
		hist, err := layout.DecodeMetricHistory("k", bytes.Repeat(line, 3))
		if err != nil || len(hist) != 3 {
			t.Fatalf("history of %q: %d, %v", line, len(hist), err)
		}
	})
}

// FuzzParseMetricLine: arbitrary bytes never panic; an accepted line
// re-encodes to one that parses to the same metric; the streaming scanner
// and the whole-file decoder agree.
func FuzzParseMetricLine(f *testing.F) {
	for _, s := range []string{"1700000002000 0.5 0\n", "10 nan 1\r\n", "1 2", "2000 0.5 3 iris abc123",
		" 1_0 +Infinity 1\t", "10 1.0 1 x", "", "\n\n", "1 1.0 1\r2 2.0 2", "\ufeff1 1 1", "1 \u0661 1\u2028", "1 1 1\xe2\x80"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := layout.ParseMetricLine("k", data)
		if err == nil {
			again, err := layout.ParseMetricLine("k", layout.AppendMetricLine(nil, m))
			if err != nil {
				t.Fatalf("re-encoded %q: %v", data, err)
			}
			if again.Timestamp != m.Timestamp || again.Step != m.Step || !sameBits(again.Value, m.Value) {
				t.Fatalf("%q: %+v then %+v", data, m, again)
			}
		}
		_, _ = layout.ParseModelMetricLine("k", data)
		hist, herr := layout.DecodeMetricHistory("k", data)
		s := layout.NewMetricScanner(bytes.NewReader(data), "k")
		n := 0
		for s.Next() {
			if n >= len(hist) || !sameBits(s.Metric().Value, hist[n].Value) || s.Metric().Step != hist[n].Step {
				if herr == nil {
					t.Fatalf("%q: scanner and decoder disagree at %d", data, n)
				}
			}
			n++
		}
		if (s.Err() == nil) != (herr == nil) || herr == nil && n != len(hist) {
			t.Fatalf("%q: scanner %v (%d), decoder %v (%d)", data, s.Err(), n, herr, len(hist))
		}
		latest, lerr := layout.DecodeLatestMetric("k", data)
		if herr == nil && len(hist) > 0 {
			want, _ := entities.LatestMetric(hist)
			if lerr != nil || !sameBits(want.Value, latest.Value) || want.Step != latest.Step {
				t.Fatalf("%q: latest %+v %v, want %+v", data, latest, lerr, want)
			}
		}
	})
}

// FuzzScanMetricHistory: the block-parallel streaming reader and the
// latest-value scanner agree with the MetricScanner (metrics, error, line
// number). The input is repeated past 130 KB so that the 64 KiB blocks cut
// it at every kind of place and the parallel path runs.
func FuzzScanMetricHistory(f *testing.F) {
	for _, s := range []string{"1700000002000 0.5 0\n", "10 nan 1\r\n", "1 2\r", "2000 0.5 3 iris abc123\n",
		" 1_0 +Infinity 1\x0b", "1 1 1\xe2\x80", "1 x 2\n", "5 0.3333333333333333 7\u2028"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, unit []byte) {
		if len(unit) == 0 {
			return
		}
		data := bytes.Repeat(unit, 130_000/len(unit)+1)
		var want []entities.Metric
		s := layout.NewMetricScanner(bytes.NewReader(data), "k")
		for s.Next() {
			want = append(want, s.Metric())
		}
		werr := s.Err()
		var got []entities.Metric
		gerr := layout.ScanMetricHistory(bytes.NewReader(data), "k", func(m entities.Metric) bool {
			got = append(got, m)
			return true
		})
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || len(got) != len(want) {
			t.Fatalf("%q: %d metrics, %v; scanner %d, %v", unit, len(got), gerr, len(want), werr)
		}
		var gc, wc *layout.CorruptionError
		if errors.As(gerr, &gc) && errors.As(werr, &wc) && gc.Line != wc.Line {
			t.Fatalf("%q: bad line %d, scanner %d", unit, gc.Line, wc.Line)
		}
		for i := range want {
			if !sameBits(got[i].Value, want[i].Value) || got[i].Step != want[i].Step || got[i].Timestamp != want[i].Timestamp ||
				got[i].DatasetName != want[i].DatasetName || got[i].DatasetDigest != want[i].DatasetDigest {
				t.Fatalf("%q: metric %d %+v, scanner %+v", unit, i, got[i], want[i])
			}
		}
		latest, lerr := layout.ScanLatestMetric(bytes.NewReader(data), "k")
		dl, derr := layout.DecodeLatestMetric("k", data)
		if fmt.Sprint(lerr) != fmt.Sprint(derr) || lerr == nil && (!sameBits(latest.Value, dl.Value) || latest.Step != dl.Step || latest.Timestamp != dl.Timestamp) {
			t.Fatalf("%q: latest %+v %v, decoded %+v %v", unit, latest, lerr, dl, derr)
		}
	})
}

var (
	plainFloat = regexp.MustCompile(`^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
	plainInt   = regexp.MustCompile(`^-?[0-9]+$`)
)

// FuzzPythonFloat: format then parse gives the same bits; parsing
// arbitrary text never panics and anything accepted re-formats stably.
func FuzzPythonFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 0.1, 1e16, 1e15, 1e-5, 1e-4, 5e-324, math.MaxFloat64, math.Inf(1), math.NaN()} {
		f.Add(math.Float64bits(v), "")
	}
	f.Add(uint64(0), "1_000.5")
	f.Add(uint64(0), " -Infinity ")
	f.Add(uint64(0), "0.0012345678901234567")
	f.Add(uint64(0), "9007199254740993")
	f.Add(uint64(0), "-1700000000123")
	f.Fuzz(func(t *testing.T, bits uint64, s string) {
		v := math.Float64frombits(bits)
		text := pynum.FormatFloat(v)
		back, err := pynum.ParseFloat(text)
		if err != nil || !sameBits(v, back) {
			t.Fatalf("%016x -> %q -> %v, %v", bits, text, back, err)
		}
		if got, err := pynum.ParseFloat(s); err == nil {
			again, err := pynum.ParseFloat(pynum.FormatFloat(got))
			if err != nil || !sameBits(got, again) {
				t.Fatalf("%q -> %v -> %v, %v", s, got, again, err)
			}
		}
		// On plain ASCII decimals Python's float() and int() are
		// strconv's correctly rounded parse (the fast paths must agree).
		if plainFloat.MatchString(s) {
			want, _ := strconv.ParseFloat(s, 64)
			got, err := pynum.ParseFloat(s)
			if err != nil || !sameBits(got, want) {
				t.Fatalf("float(%q) = %v %v, strconv %v", s, got, err, want)
			}
		}
		n, err := pynum.ParseInt(s)
		if plainInt.MatchString(s) {
			want, werr := strconv.ParseInt(s, 10, 64)
			if (werr == nil) != (err == nil) || err == nil && n != want {
				t.Fatalf("int(%q) = %d %v, strconv %d %v", s, n, err, want, werr)
			}
		}
	})
}

// FuzzDecodeMetricColumns: the columnar decoder gives the slice decoder's
// points (values by bits), dataset fields and error with its line number,
// on the input and on it repeated past a MiB, which is parsed on all cores
// in chunks cut at every kind of place.
func FuzzDecodeMetricColumns(f *testing.F) {
	for _, s := range []string{"1700000002000 0.5 0\n", "10 nan -1\r\n", "1 2\r", "2000 -0.0 3 iris abc123\n", "1 1e-300 -2  dg\n",
		" 1_0 +Infinity 1\x0b", "1 1 1\xe2\x80", "1 x 2\n", "5 0.3333333333333333 7\u2028", "1 1.0 1\n2 2."} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, unit []byte) {
		if len(unit) == 0 {
			return
		}
		// Chunks are cut after a '\n'; a unit without one is a MiB of
		// lines ended by other breaks (lone '\r', ...) in one chunk.
		inputs := [][]byte{unit, bytes.Repeat(unit, (1<<20)/len(unit)+2)}
		for _, data := range inputs {
			want, werr := layout.DecodeMetricHistory("k", data)
			got, gerr := layout.DecodeMetricColumns("k", data)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("%q: columns %v, slice %v", unit, gerr, werr)
			}
			var gc, wc *layout.CorruptionError
			if errors.As(gerr, &gc) != errors.As(werr, &wc) || gc != nil && gc.Line != wc.Line {
				t.Fatalf("%q: columns %#v, slice %#v", unit, gerr, werr)
			}
			if werr != nil {
				continue
			}
			if got.Len() != len(want) || len(got.Values) != len(want) || len(got.Steps) != len(want) {
				t.Fatalf("%q: %d points, want %d", unit, got.Len(), len(want))
			}
			for i, w := range want {
				g := got.At(i)
				if !sameBits(g.Value, w.Value) || g.Timestamp != w.Timestamp || g.Step != w.Step ||
					g.DatasetName != w.DatasetName || g.DatasetDigest != w.DatasetDigest || g.Key != w.Key {
					t.Fatalf("%q: point %d %+v, want %+v", unit, i, g, w)
				}
			}
		}
	})
}
