package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// streamFile builds a metric file of n lines mixing every line shape the
// readers handle: plain, 2- and 5-field, CRLF, Python-only line breaks,
// padded and over-long lines, non-ASCII; bad lines when bad is set; and
// sometimes no final '\n' or a truncated UTF-8 tail.
func streamFile(rng *rand.Rand, n int, bad bool) []byte {
	var b bytes.Buffer
	for i := range n {
		switch k := rng.IntN(40); {
		case k < 25:
			fmt.Fprintf(&b, "%d %s %d\n", int64(1_700_000_000_000)+int64(i), pynum.FormatFloat(1/float64(i+3)), i)
		case k < 28:
			fmt.Fprintf(&b, "%d %d.5\n", i, i)
		case k < 30:
			fmt.Fprintf(&b, "%d 0.25 %d train d%d\n", i, i, rng.IntN(3))
		case k < 32:
			fmt.Fprintf(&b, "%d nan %d\r\n", i, i)
		case k < 33:
			fmt.Fprintf(&b, "%d inf %d\x0b%d -inf %d\n", i, i, i, i)
		case k < 34:
			fmt.Fprintf(&b, "%d 1.5 %d\u2028%d 2.5 %d\n", i, i, i, i)
		case k < 35:
			fmt.Fprintf(&b, "%s%d 3.5 %d   \n", strings.Repeat(" ", rng.IntN(3000)), i, i)
		case k < 36:
			fmt.Fprintf(&b, "%d %s %d\n", i, "0."+strings.Repeat("1", 200+rng.IntN(5000)), i)
		case k < 37:
			fmt.Fprintf(&b, "%d 1_0.5 %d\r", i, i) // a lone \r ends a line too
		default:
			if bad && rng.IntN(200) == 0 {
				b.WriteString([]string{"1 x 2\n", "1 2 3 4\n", "\xff 1 2\n", "1\n"}[rng.IntN(4)])
			} else {
				fmt.Fprintf(&b, "%d %d %d\n", -i, i, int64(1)<<40+int64(i))
			}
		}
	}
	out := b.Bytes()
	switch rng.IntN(4) {
	case 0:
		out = bytes.TrimRight(out, "\r\n")
	case 1:
		out = append(out, "7 8 9 \xe2\x82"...) // truncated: Python drops it
	}
	return out
}

type scanResult struct {
	ms  []entities.Metric
	err error
}

func scanWithScanner(data []byte) scanResult {
	var res scanResult
	s := NewMetricScanner(bytes.NewReader(data), "k")
	for s.Next() {
		res.ms = append(res.ms, s.Metric())
	}
	res.err = s.Err()
	return res
}

func sameScan(t *testing.T, name string, got, want scanResult) {
	t.Helper()
	if len(got.ms) != len(want.ms) {
		t.Fatalf("%s: %d metrics, want %d (err %v, want %v)", name, len(got.ms), len(want.ms), got.err, want.err)
	}
	for i := range want.ms {
		g, w := got.ms[i], want.ms[i]
		if math.Float64bits(g.Value) != math.Float64bits(w.Value) && !(math.IsNaN(g.Value) && math.IsNaN(w.Value)) {
			t.Fatalf("%s: metric %d value %v, want %v", name, i, g.Value, w.Value)
		}
		g.Value, w.Value = 0, 0
		if g != w {
			t.Fatalf("%s: metric %d %+v, want %+v", name, i, g, w)
		}
	}
	if fmt.Sprint(got.err) != fmt.Sprint(want.err) {
		t.Fatalf("%s: err %v, want %v", name, got.err, want.err)
	}
	var gc, wc *CorruptionError
	if errors.As(got.err, &gc) != errors.As(want.err, &wc) || gc != nil && gc.Line != wc.Line {
		t.Fatalf("%s: err %#v, want %#v", name, got.err, want.err)
	}
}

// ScanMetricHistory gives exactly what a MetricScanner gives (metrics,
// first bad line and its number) on files of every shape, with blocks
// small enough that lines of every kind straddle block ends, one to four
// parsers, and readers that return a byte or a block at a time.
func TestScanMetricHistory_AgreesWithScanner(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 300 {
		data := streamFile(rng, rng.IntN(3000), i%3 == 0)
		want := scanWithScanner(data)
		for _, workers := range []int{1, 2, 4} {
			for _, block := range []int{64, 1000, 4096, streamBlockSize} {
				var r io.Reader = bytes.NewReader(data)
				if i%5 == 0 {
					r = iotest.HalfReader(r)
				}
				var got scanResult
				got.err = scanMetricHistory(r, "k", func(m entities.Metric) bool {
					got.ms = append(got.ms, m)
					return true
				}, block, workers)
				sameScan(t, fmt.Sprintf("file %d workers %d block %d", i, workers, block), got, want)
			}
		}
	}
}

// An early stop returns at once, calls fn no more, and leaves no goroutine
// reading r afterwards.
func TestScanMetricHistory_StopEarly(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	data := streamFile(rng, 50_000, false)
	before := runtime.NumGoroutine()
	for _, stopAt := range []int{1, 10, 1000, 20_000} {
		var done atomic.Bool
		src := bytes.NewReader(data)
		r := readFunc(func(p []byte) (int, error) {
			if done.Load() {
				t.Error("read after ScanMetricHistory returned")
			}
			return src.Read(p)
		})
		n := 0
		err := scanMetricHistory(r, "k", func(entities.Metric) bool {
			n++
			return n < stopAt
		}, 512, 2)
		done.Store(true)
		if err != nil || n != stopAt {
			t.Fatalf("stop at %d: fn called %d times, err %v", stopAt, n, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines left running (%d before)", g-before, before)
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// A failed read ends the scan with the read error after the whole lines
// read before it, in order, as with a MetricScanner.
func TestScanMetricHistory_ReadError(t *testing.T) {
	// short lines only, so that every cut point has whole lines before it
	// in the block being read
	var data []byte
	for i := range 20_000 {
		data = fmt.Appendf(data, "%d %s %d\n", int64(1_700_000_000_000)+int64(i), pynum.FormatFloat(1/float64(i+3)), i)
	}
	boom := errors.New("boom")
	for i, at := range []int{0, 10, 70_000, len(data)/2 + 7, 5000, 33_333} {
		mk := func() io.Reader {
			r := io.MultiReader(bytes.NewReader(data[:at]), iotest.ErrReader(boom))
			if i >= 4 { // small reads: the error comes with whole lines unblocked
				r = iotest.OneByteReader(r)
			}
			return r
		}
		var want scanResult
		s := NewMetricScanner(mk(), "k")
		for s.Next() {
			want.ms = append(want.ms, s.Metric())
		}
		want.err = s.Err()
		if !errors.Is(want.err, boom) {
			t.Fatalf("scanner err %v", want.err)
		}
		for _, workers := range []int{1, 2} {
			var got scanResult
			got.err = scanMetricHistory(mk(), "k", func(m entities.Metric) bool {
				got.ms = append(got.ms, m)
				return true
			}, 1024, workers)
			sameScan(t, fmt.Sprintf("error at %d, workers %d", at, workers), got, want)
		}
	}
}

// ScanLatestMetric gives DecodeLatestMetric's value or error on files of
// every shape, read in pieces.
func TestScanLatestMetric_AgreesWithDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for i := range 300 {
		data := streamFile(rng, rng.IntN(2000), i%3 == 0)
		want, werr := DecodeLatestMetric("k", data)
		got, gerr := ScanLatestMetric(iotest.HalfReader(bytes.NewReader(data)), "k")
		sameScan(t, fmt.Sprintf("file %d", i), scanResult{[]entities.Metric{got}, gerr}, scanResult{[]entities.Metric{want}, werr})
	}
}

// A file whose lines end in lone '\r' only (Python's splitlines takes it as
// a line break) reads as the same file with '\n' ends, streamed through the
// scanner's buffer and decoded whole, and each next '\n' is searched for
// once, not once a line (200,000 such lines took minutes before).
func TestMetricScanner_LoneCRLines_SameAsNewlines(t *testing.T) {
	var lf, cr bytes.Buffer
	for i := range 200_000 {
		line := fmt.Sprintf("%d %s %d", int64(1_700_000_000_000)+int64(i), pynum.FormatFloat(1/float64(i+3)), i)
		lf.WriteString(line + "\n")
		cr.WriteString(line + "\r")
	}
	want, err := DecodeMetricHistory("k", lf.Bytes())
	require.NoError(t, err)
	got, err := DecodeMetricHistory("k", cr.Bytes())
	require.NoError(t, err)
	require.Equal(t, want, got)

	s := NewMetricScanner(iotest.HalfReader(bytes.NewReader(cr.Bytes())), "k")
	var streamed []entities.Metric
	for s.Next() {
		streamed = append(streamed, s.Metric())
	}
	require.NoError(t, s.Err())
	require.Equal(t, want, streamed)
}
