package layout

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mlruns-go/mlruns/entities"
)

// parse3Line is a shortcut of the general line parser: on lines built from
// fragments of valid and invalid fields, reading through the scanner
// (which tries parse3Line first) gives what the general parser gives.
func TestParse3Fast_AgreesWithGeneralParser(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ints := []string{"0", "1", "-1", "1700000000000", "+5", "1_0", "٣", "", "-", "99999999999999999999", "007", " 1", "1.0", "0x10"}
	floats := []string{"0.5", "1.0", "-0.0", "nan", "NaN", "inf", "-inf", "Infinity", "1e-300", "1e400", "0.30000000000000004",
		"123456789012345678901234", "1_0.5", ".5", "5.", "1e", "-", "", "0.1e+2", "٣.5", "1.7976931348623157e+308"}
	seps := []string{" ", " ", " ", "  ", "\t", "\u00a0"} // no line breaks: they make two lines
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	for range n {
		var b strings.Builder
		b.WriteString(ints[rng.IntN(len(ints))])
		b.WriteString(seps[rng.IntN(len(seps))])
		b.WriteString(floats[rng.IntN(len(floats))])
		if rng.IntN(8) > 0 {
			b.WriteString(seps[rng.IntN(len(seps))])
			b.WriteString(ints[rng.IntN(len(ints))])
		}
		if rng.IntN(10) == 0 {
			b.WriteString(" ds d1")
		}
		line := b.String()
		var p lineParser
		want, werr := p.parse("k", []byte(line), false)
		got, gerr := DecodeMetricHistory("k", []byte(line+"\n"))
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%q: general parser err=%v, scanner err=%v", line, werr, gerr)
		}
		if werr != nil {
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%q: scanner read %d lines", line, len(got))
		}
		g := got[0]
		if g.Timestamp != want.Timestamp || g.Step != want.Step || math.Float64bits(g.Value) != math.Float64bits(want.Value) && !(math.IsNaN(g.Value) && math.IsNaN(want.Value)) ||
			g.DatasetName != want.DatasetName || g.DatasetDigest != want.DatasetDigest {
			t.Fatalf("%q: scanner %+v, general parser %+v", line, g, want)
		}
	}
}

// The scanner keeps the key and empty dataset fields across plain lines
// and stores only the numbers: a file mixing 3-, 2- and 5-field lines (and
// lines for the slow path) reads back line for line as the general parser
// reads each line alone, so no dataset or key leaks from one line into the
// next.
func TestScanner_MixedLinesDoNotLeak(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	kinds := []string{"1700000000000 0.25 3", "1700000000001 0.5", "1700000000002 0.75 4 train d1", "5 1_0.5 6",
		"7 8.5 9 eval d2", "10 11.5 12", " 13 14.5 15 ", "16 17.5 18 ds dg", "19 Infinity 20", "21 2e0 22"}
	var file strings.Builder
	var want []string
	for range 5000 {
		line := kinds[rng.IntN(len(kinds))]
		file.WriteString(line + "\n")
		want = append(want, line)
	}
	for _, read := range []struct {
		name string
		all  func() ([]entities.Metric, error)
	}{
		{"DecodeMetricHistory", func() ([]entities.Metric, error) { return DecodeMetricHistory("k", []byte(file.String())) }},
		{"MetricScanner", func() ([]entities.Metric, error) {
			var out []entities.Metric
			s := NewMetricScanner(iotest.OneByteReader(strings.NewReader(file.String())), "k")
			for s.Next() {
				out = append(out, s.Metric())
			}
			return out, s.Err()
		}},
	} {
		got, err := read.all()
		if err != nil || len(got) != len(want) {
			t.Fatalf("%s: %d metrics, %v", read.name, len(got), err)
		}
		for i, line := range want {
			var p lineParser
			w, err := p.parse("k", []byte(line), false)
			if err != nil {
				t.Fatal(err)
			}
			if got[i] != w {
				t.Fatalf("%s line %d %q: %+v, want %+v", read.name, i+1, line, got[i], w)
			}
		}
	}
}
