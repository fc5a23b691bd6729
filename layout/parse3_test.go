package layout

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// parse3Fast is a shortcut of the general line parser: on lines built from
// fragments of valid and invalid fields, reading through the scanner
// (which tries parse3Fast first) gives what the general parser gives.
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
