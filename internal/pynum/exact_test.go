package pynum

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// The Lemire path of ParseFloatFast against strconv.ParseFloat (correctly
// rounded) on reprs of random doubles and on random decimal strings of up
// to 19 digits, which include halfway and near-halfway cases.
func TestParseFloatFast_Lemire(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(s string) {
		t.Helper()
		want, err := strconv.ParseFloat(s, 64)
		got, ok := ParseFloatFast([]byte(s))
		if !ok {
			t.Fatalf("ParseFloatFast(%q) not ok", s)
		}
		if err != nil && !math.IsInf(want, 0) && want != 0 {
			t.Fatalf("strconv(%q): %v", s, err)
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("ParseFloatFast(%q) = %v (%x), strconv %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	n := 300_000
	if testing.Short() {
		n = 30_000
	}
	for range n {
		v := math.Float64frombits(rng.Uint64())
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		check(FormatFloat(v))
		check(strconv.FormatFloat(rng.Float64()*math.Pow(10, float64(rng.IntN(40)-20)), 'g', -1, 64))
		// random digit strings, 1-19 digits, random exponent
		nd := 1 + rng.IntN(19)
		b := make([]byte, 0, 32)
		for i := range nd {
			b = append(b, byte('0'+rng.IntN(10)))
			if i == 0 && rng.IntN(2) == 0 {
				b = append(b, '.')
			}
		}
		b = append(b, 'e')
		b = strconv.AppendInt(b, int64(rng.IntN(700)-350), 10)
		check(string(b))
	}
	// leading zeros (not significant), the Clinger bound 2^53, digit runs
	// across the eight-byte steps, long mantissas that wrap the uint64
	for range n / 4 {
		var b []byte
		if rng.IntN(2) == 0 {
			b = append(b, '-')
		}
		b = append(b, "000000000"[:rng.IntN(10)]...)
		for range rng.IntN(12) {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		b = append(b, '.')
		b = append(b, "0000000000000"[:rng.IntN(14)]...)
		for range rng.IntN(26) {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		if len(b) == 1 || string(b) == "-." || b[len(b)-1] == '.' && (len(b) == 1 || b[len(b)-2] == '-') {
			b = append(b, '7')
		}
		if rng.IntN(3) == 0 {
			b = append(b, 'e')
			b = strconv.AppendInt(b, int64(rng.IntN(60)-30), 10)
		}
		check(string(b))
	}
	for _, s := range []string{"9007199254740992", "9007199254740993", "9007199254740991", "0.9007199254740993", "900719925474099.3e-7",
		"12345678", "123456789", "1234567812345678", "0.12345678", "00000000.000000001", "0000000000000000000000001", "0.", "00", "-0.0",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", "0.000000000000000000000000000000123456789012345678"} {
		check(s)
	}
	// halfway between two doubles: 2^53+1 and friends
	for _, s := range []string{"9007199254740993", "9007199254740995", "1.00000000000000011102230246251565404236316680908203125",
		"4.9406564584124654e-324", "2.2250738585072011e-308", "1.7976931348623157e308", "0.1", "0.3", "1e23", "8.98846567431158e307"} {
		check(s)
	}
}

// ParseIntFast against strconv.ParseInt on the digit strings it takes,
// across the eight-byte steps, and its refusals.
func TestParseIntFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100_000 {
		var b []byte
		if rng.IntN(2) == 0 {
			b = append(b, '-')
		}
		for range 1 + rng.IntN(18) {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		want, err := strconv.ParseInt(string(b), 10, 64)
		got, ok := ParseIntFast(b)
		if err != nil || !ok || got != want {
			t.Fatalf("ParseIntFast(%q) = %d %v, strconv %d %v", b, got, ok, want, err)
		}
	}
	for _, s := range []string{"", "-", "1234567890123456789", "12345678x", "x12345678", "1234 5678", "+1", "1_000", "1.0", "12345678123456789/"} {
		if _, ok := ParseIntFast([]byte(s)); ok {
			t.Fatalf("ParseIntFast(%q) accepted", s)
		}
	}
}

func BenchmarkParseFloatFast(b *testing.B) {
	in := []byte("0.0012345678901234567")[:19]
	for b.Loop() {
		ParseFloatFast(in)
	}
}

func BenchmarkParseFloat_Strconv(b *testing.B) {
	in := "0.0012345678901234567"[:19]
	for b.Loop() {
		strconv.ParseFloat(in, 64)
	}
}
