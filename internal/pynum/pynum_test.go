package pynum_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/internal/testkit"
)

// floatTable is docs/format.md §7.3 and §17.5 plus the fixed/exponent boundaries,
// each checked against Python 3.11's repr.
var floatTable = []struct {
	v    float64
	want string
}{
	{math.NaN(), "nan"},
	{math.Copysign(math.NaN(), -1), "nan"},
	{math.Inf(1), "inf"},
	{math.Inf(-1), "-inf"},
	{math.Copysign(0, -1), "-0.0"},
	{0, "0.0"},
	{0.1, "0.1"},
	{0.5, "0.5"},
	{0.25, "0.25"},
	{1, "1.0"},
	{-1.5, "-1.5"},
	{1e-7, "1e-07"},
	{1e20, "1e+20"},
	{1e15, "1000000000000000.0"},
	{1e16, "1e+16"},
	{9999999999999998, "9999999999999998.0"},
	{123456789, "123456789.0"},
	{123456789012345678, "1.2345678901234568e+17"},
	{5e-324, "5e-324"},
	{0.30000000000000004, "0.30000000000000004"},
	{1e-5, "1e-05"},
	{1e-4, "0.0001"},
	{0.00012345, "0.00012345"},
	{9.999999999999999e-05, "9.999999999999999e-05"},
	{1e6, "1000000.0"},
	{1.5e300, "1.5e+300"},
	{math.MaxFloat64, "1.7976931348623157e+308"},
	{-math.MaxFloat64, "-1.7976931348623157e+308"},
	{2.2250738585072014e-308, "2.2250738585072014e-308"},
	{123.456, "123.456"},
	{1234567890123456.7, "1234567890123456.8"},
	{-1e-100, "-1e-100"},
}

func TestAppendPythonFloat_Table(t *testing.T) {
	for _, tc := range floatTable {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, pynum.FormatFloat(tc.v))
			require.Equal(t, "x"+tc.want, string(pynum.AppendFloat([]byte("x"), tc.v)))
			back, err := pynum.ParseFloat(tc.want)
			require.NoError(t, err)
			testkit.SameFloat(t, tc.v, back)
		})
	}
}

func TestAppendPythonFloat_NoAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		for _, tc := range floatTable {
			buf = pynum.AppendFloat(buf[:0], tc.v)
		}
	})
	require.Zero(t, allocs)
}

// pyNumberTable holds what Python 3.11's float() and int() do with each
// input (checked with the pinned interpreter; also re-checked live by
// TestParsePython_Interop).
var pyFloatTable = []struct {
	in   string
	want float64
	ok   bool
}{
	{"0.5", 0.5, true},
	{"+1.5", 1.5, true},
	{" 1.5\t", 1.5, true},
	{"1.5\v", 1.5, true},
	{"1_000.5", 1000.5, true},
	{"1e1_0", 1e10, true},
	{".5", 0.5, true},
	{"5.", 5, true},
	{"5.e3", 5000, true},
	{"+.5e-3", 0.0005, true},
	{"1.5E+3", 1500, true},
	{"nan", math.NaN(), true},
	{"NaN", math.NaN(), true},
	{"-nan", math.NaN(), true},
	{"+nan", math.NaN(), true},
	{"inf", math.Inf(1), true},
	{"iNF", math.Inf(1), true},
	{"Infinity", math.Inf(1), true},
	{"-Infinity", math.Inf(-1), true},
	{"inf ", math.Inf(1), true},
	{"1e500", math.Inf(1), true},
	{"-1e500", math.Inf(-1), true},
	{"1e-400", 0, true},
	{"-1e-400", math.Copysign(0, -1), true},
	{"0.30000000000000004", 0.30000000000000004, true},
	{"1e0000000000000000000001", 10, true},
	{"\u00a01.5\u3000", 1.5, true},
	{" \u0661.\u0665", 1.5, true},
	{"\uff11.\uff15", 1.5, true},
	{"1.5\u0085", 1.5, true},
	{"", 0, false},
	{" ", 0, false},
	{".", 0, false},
	{"e5", 0, false},
	{"1.5e", 0, false},
	{"1_.5", 0, false},
	{"1._5", 0, false},
	{"1e_10", 0, false},
	{"_1", 0, false},
	{"1.5_", 0, false},
	{"1__5", 0, false},
	{"nan_", 0, false},
	{"0x1p3", 0, false},
	{"1.5\x1f", 0, false},
	{"1.5\x00", 0, false},
	{"in f", 0, false},
	{"infinit", 0, false},
	{"nana", 0, false},
	{"+-1", 0, false},
	{"--1", 0, false},
	{"1 2", 0, false},
	{"\ufeff1", 0, false},
	{"1.0\xff", 0, false},
	{"١_٠", 10, true},
}

func TestParsePythonFloat_Table(t *testing.T) {
	for _, tc := range pyFloatTable {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			got, err := pynum.ParseFloat(tc.in)
			if !tc.ok {
				require.Error(t, err)
				var ne *strconv.NumError
				require.True(t, errors.As(err, &ne))
				return
			}
			require.NoError(t, err)
			testkit.SameFloat(t, tc.want, got)
		})
	}
}

var pyIntTable = []struct {
	in   string
	want int64
	ok   bool
}{
	{"0", 0, true},
	{"1700000002000", 1700000002000, true},
	{"-5", -5, true},
	{"+5", 5, true},
	{"-0", 0, true},
	{" 1 ", 1, true},
	{"1\t", 1, true},
	{"1_0", 10, true},
	{"007", 7, true},
	{"\u00a01\u3000", 1, true},
	{"\u0663\u0663", 33, true},
	{"1\u0085", 1, true},
	{"١_٠", 10, true},
	{"9223372036854775807", math.MaxInt64, true},
	{"-9223372036854775808", math.MinInt64, true},
	{"123456789012345678", 123456789012345678, true},
	{"1234567890123456789", 1234567890123456789, true},
	{"9223372036854775808", 0, false}, // Python accepts; beyond int64
	{"99999999999999999999999", 0, false},
	{"", 0, false},
	{"1.0", 0, false},
	{"1e3", 0, false},
	{"_1", 0, false},
	{"1_", 0, false},
	{"+_1", 0, false},
	{"1__0", 0, false},
	{"+ 1", 0, false},
	{"--1", 0, false},
	{"1\x1f", 0, false},
	{"\x1f1", 0, false},
	{"0x10", 0, false},
	{"nan", 0, false},
	{"１２a", 0, false},
}

func TestParsePythonInt_Table(t *testing.T) {
	for _, tc := range pyIntTable {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			got, err := pynum.ParseInt(tc.in)
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestAppendPythonFloat_Interop sends ~50,000 random bit patterns and edge
// values to one Python process and compares repr() byte for byte; it also
// checks that Python's float() of our text and ParseFloat agree.
func TestAppendPythonFloat_Interop(t *testing.T) {
	interoptest.Python(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var vals []float64
	for _, tc := range floatTable {
		vals = append(vals, tc.v)
	}
	for e := -330; e <= 310; e++ { // every decade and its neighbours
		p, _ := strconv.ParseFloat("1e"+strconv.Itoa(e), 64)
		vals = append(vals, p, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)), -p, 3*p, p/7)
	}
	for range 50000 {
		switch rng.IntN(4) {
		case 0: // any bit pattern
			vals = append(vals, math.Float64frombits(rng.Uint64()))
		case 1: // typical metric magnitudes
			vals = append(vals, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(12)-6)))
		case 2: // integral values near the 1e16 switch
			vals = append(vals, float64(rng.Int64N(1<<60))/math.Pow(10, float64(rng.IntN(8))))
		default: // short decimals
			vals = append(vals, float64(rng.IntN(100000))/math.Pow(10, float64(rng.IntN(10))))
		}
	}
	var in bytes.Buffer
	for _, v := range vals {
		in.WriteString(strconv.FormatUint(math.Float64bits(v), 16))
		in.WriteByte('\n')
	}
	out := interoptest.RunCode(t, `
import struct, sys
w = sys.stdout.write
for line in sys.stdin:
    w(repr(struct.unpack("<d", struct.pack("<Q", int(line, 16)))[0]) + "\n")
`, in.Bytes())
	sc := bufio.NewScanner(bytes.NewReader(out))
	var buf []byte
	for i, v := range vals {
		require.True(t, sc.Scan(), "python output ends at %d", i)
		buf = pynum.AppendFloat(buf[:0], v)
		require.Equal(t, sc.Text(), string(buf), "bits %016x", math.Float64bits(v))
		back, err := pynum.ParseFloat(string(buf))
		require.NoError(t, err)
		testkit.SameFloat(t, v, back)
	}
	require.False(t, sc.Scan())
}

// TestParsePython_Interop compares ParseFloat and ParseInt
// with Python's float() and int() on strings assembled from tricky pieces.
func TestParsePython_Interop(t *testing.T) {
	interoptest.Python(t)
	pieces := []string{"1", "0", "9", "5", "12", ".", "_", "e", "E", "+", "-", " ", "\t", "\v", "\x1f",
		"\u00a0", "\u3000", "\u0661", "\uff15", "nan", "NaN", "inf", "Infinity", "x", "\x00", "\ufeff", "500", "e-400"}
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := []string{}
	for _, tc := range pyFloatTable {
		inputs = append(inputs, tc.in)
	}
	for _, tc := range pyIntTable {
		inputs = append(inputs, tc.in)
	}
	for range 20000 {
		var sb strings.Builder
		for range 1 + rng.IntN(6) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		inputs = append(inputs, sb.String())
	}
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, s := range inputs {
		if !utfOK(s) {
			continue
		}
		require.NoError(t, enc.Encode(s))
	}
	out := interoptest.RunCode(t, `
import json, struct, sys
for line in sys.stdin:
    s = json.loads(line)
    try:
        f = "%016x" % struct.unpack("<Q", struct.pack("<d", float(s)))[0]
    except ValueError:
        f = None
    try:
        i = int(s)
        i = str(i) if -2**63 <= i < 2**63 else "big"
    except ValueError:
        i = None
    print(json.dumps([s, f, i]))
`, in.Bytes())
	dec := json.NewDecoder(bytes.NewReader(out))
	n := 0
	for dec.More() {
		var row [3]*string
		require.NoError(t, dec.Decode(&row))
		s := *row[0]
		f, ferr := pynum.ParseFloat(s)
		if row[1] == nil {
			require.Error(t, ferr, "float(%q)", s)
		} else {
			require.NoError(t, ferr, "float(%q)", s)
			bits, _ := strconv.ParseUint(*row[1], 16, 64)
			testkit.SameFloat(t, math.Float64frombits(bits), f)
		}
		i, ierr := pynum.ParseInt(s)
		switch {
		case row[2] == nil || *row[2] == "big":
			require.Error(t, ierr, "int(%q)", s)
		default:
			require.NoError(t, ierr, "int(%q)", s)
			require.Equal(t, *row[2], strconv.FormatInt(i, 10))
		}
		n++
	}
	require.Greater(t, n, 20000)
}

func utfOK(s string) bool { return strings.ToValidUTF8(s, "") == s }
