package pystr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pystr"
)

// strScript reads {"exprs": [...], "strings": [...]} on stdin and prints
// str() of each Python expression and repr() of each string (given as
// UTF-8 bytes in latin-1 code points, decoded with surrogateescape as
// Python decodes bytes that are not UTF-8) with the code points of each
// that are unassigned in Python's Unicode tables; one process for the
// whole table.
const strScript = `
import datetime, json, sys, unicodedata
nan, inf = float("nan"), float("inf")
req = json.load(sys.stdin)
env = {"datetime": datetime, "nan": nan, "inf": inf}
out = {
    "str": [str(eval(e, env)) for e in req["exprs"]],
    "repr": [],
    "cn": [],
}
for s in req["strings"]:
    s = s.encode("latin-1").decode("utf-8", "surrogateescape")
    out["repr"].append(repr(s))
    out["cn"].append([ord(c) for c in s if unicodedata.category(c) == "Cn"])
sys.stdout.write(json.dumps(out))
`

type point struct {
	X int
	Y string
}

type level int

func (l level) String() string { return "level-" + string(rune('0'+l)) }

type ptrStringer struct{}

func (p *ptrStringer) String() string { return "ptr" }

type hidden struct {
	when time.Time
	err  error
}

// twin pairs a Go value with the Python expression of its twin, written
// by hand: the expected text is what Python's str() prints for it.
type twin struct {
	name string
	v    any
	py   string
}

func twins() []twin {
	ist := time.FixedZone("IST", 5*3600+30*60)
	est := time.FixedZone("EST", -5*3600)
	lmt := time.FixedZone("LMT", 0*3600+9*60+21)
	one := 1
	var nilPtr *int
	var nilMap map[string]int
	var nilErr error
	self := map[string]any{"a": 1}
	self["self"] = self
	list := []any{1, nil}
	list[1] = list
	return []twin{
		{"nil", nil, "None"},
		{"true", true, "True"},
		{"false", false, "False"},
		{"int", 42, "42"},
		{"int8 min", int8(math.MinInt8), "-128"},
		{"int16", int16(-300), "-300"},
		{"int32", int32(math.MaxInt32), "2147483647"},
		{"int64 min", int64(math.MinInt64), "-9223372036854775808"},
		{"uint", uint(7), "7"},
		{"uint8", uint8(255), "255"},
		{"uint16", uint16(65535), "65535"},
		{"uint32", uint32(math.MaxUint32), "4294967295"},
		{"uint64 max", uint64(math.MaxUint64), "18446744073709551615"},
		{"uintptr", uintptr(12), "12"},
		{"named int", level(3), "'level-3'"},
		{"float 1", 1.0, "1.0"},
		{"float 0.1", 0.1, "0.1"},
		{"float 1e16", 1e16, "1e+16"},
		{"float 1e15", 1e15, "1000000000000000.0"},
		{"float 1e-5", 1e-5, "1e-05"},
		{"float 0.0001", 0.0001, "0.0001"},
		{"float -0", math.Copysign(0, -1), "-0.0"},
		{"float nan", math.NaN(), "nan"},
		{"float inf", math.Inf(1), "inf"},
		{"float -inf", math.Inf(-1), "-inf"},
		{"float max", math.MaxFloat64, "1.7976931348623157e+308"},
		{"float smallest", math.SmallestNonzeroFloat64, "5e-324"},
		{"float32 0.1", float32(0.1), "0.1"},
		{"float32 1", float32(1), "1.0"},
		{"float32 max", float32(math.MaxFloat32), "3.4028235e+38"},
		{"float32 nan", float32(math.NaN()), "nan"},
		{"float32 -inf", float32(math.Inf(-1)), "-inf"},
		{"complex", complex(1, 2), "complex(1, 2)"},
		{"complex pure imag", complex(0, 2), "complex(0, 2)"},
		{"complex neg zero real", complex(math.Copysign(0, -1), -1), "complex(-0.0, -1)"},
		{"complex zero", complex(0, 0), "complex(0, 0)"},
		{"complex imag -0", complex(0, math.Copysign(0, -1)), "complex(0, -0.0)"},
		{"complex frac", complex(1.5, -2.25), "complex(1.5, -2.25)"},
		{"complex big", complex(1e16, 1e-7), "complex(1e16, 1e-7)"},
		{"complex nan", complex(math.NaN(), math.Inf(1)), "complex(nan, inf)"},
		{"complex imag nan", complex(1, math.NaN()), "complex(1, nan)"},
		{"complex imag -inf", complex(0, math.Inf(-1)), "complex(0, -inf)"},
		{"complex64", complex64(complex(0.1, 1)), "complex(0.1, 1)"},
		{"string", "hello", "'hello'"},
		{"string empty", "", "''"},
		{"string quotes", `it's "x"`, `'it\'s "x"'`},
		{"string newline", "a\nb", "'a\\nb'"},
		{"bytes", []byte("a'\x00\xff\n\\"), `b"a'\x00\xff\n\\"`},
		{"bytes both quotes", []byte(`'"`), `b'\'"'`},
		{"bytes empty", []byte{}, "b''"},
		{"bytes nil", []byte(nil), "b''"},
		{"list ints", []int{64, 32}, "[64, 32]"},
		{"list empty", []int{}, "[]"},
		{"list nil", []string(nil), "[]"},
		{"list strings", []string{"a", "it's", "\t"}, `["a", "it's", "\t"]`},
		{"list mixed", []any{1, "a", nil, true, 2.0, []byte("b")}, `[1, "a", None, True, 2.0, b"b"]`},
		{"list floats", []float64{1, math.NaN(), math.Inf(-1), 1e16}, "[1.0, nan, -inf, 1e+16]"},
		{"array", [3]int{1, 2, 3}, "[1, 2, 3]"},
		{"array of bytes", [2]byte{1, 2}, "[1, 2]"},
		{"nested", [][]any{{1, "x"}, {}}, `[[1, "x"], []]`},
		{"map", map[string]int{"a": 1}, "{'a': 1}"},
		{"map sorted", map[string]any{"b": []int{1}, "a": "x", "c": nil}, `{"a": "x", "b": [1], "c": None}`},
		{"map int keys", map[int]string{10: "ten", 9: "nine", -1: "m"}, `{-1: "m", 9: "nine", 10: "ten"}`},
		{"map float keys", map[float64]int{2.5: 1, math.Inf(-1): 2}, "{-inf: 2, 2.5: 1}"},
		{"map bool keys", map[bool]int{true: 1, false: 0}, "{False: 0, True: 1}"},
		{"map mixed keys", map[any]any{"b": 2, 1: "a", nil: 0, 2.5: nil}, "{None: 0, 2.5: None, 1: 'a', 'b': 2}"},
		{"map empty", map[string]int{}, "{}"},
		{"map nil", nilMap, "{}"},
		{"map nested", map[string]map[string][]int{"x": {"y": {1, 2}}}, `{"x": {"y": [1, 2]}}`},
		{"map self", self, `(lambda d: (d.__setitem__("self", d), d)[1])({"a": 1})`},
		{"list self", list, `(lambda l: (l.append(l), l)[1])([1])`},
		{"pointer", &one, "1"},
		{"pointer nil", nilPtr, "None"},
		{"pointer in list", []*int{&one, nil}, "[1, None]"},
		{"pointer to string", ptrTo("s"), "'s'"},
		{"pointer to string in list", []*string{ptrTo("s")}, "['s']"},
		{"nil error", nilErr, "None"},
		{"error", errors.New("boom"), "'boom'"},
		{"error in list", []error{errors.New("boom")}, "['boom']"},
		{"stringer", level(2), "'level-2'"},
		{"stringer in map", map[string]level{"l": 1}, "{'l': 'level-1'}"},
		{"pointer stringer", &ptrStringer{}, "'ptr'"},
		{"time utc", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)"},
		{"time micro", time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC),
			"datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)"},
		{"time offset", time.Date(1999, 12, 31, 23, 59, 0, 0, ist),
			"datetime.datetime(1999, 12, 31, 23, 59, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)))"},
		{"time negative offset", time.Date(2024, 6, 1, 0, 0, 0, 1000, est),
			"datetime.datetime(2024, 6, 1, 0, 0, 0, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))"},
		{"time offset seconds", time.Date(1850, 1, 1, 12, 0, 0, 0, lmt),
			"datetime.datetime(1850, 1, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=561)))"},
		{"time zero", time.Time{}, "datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc)"},
		{"time pointer", ptrTo(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), "datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)"},
		{"times in list", []time.Time{time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), time.Date(2024, 1, 2, 3, 4, 0, 0, est)},
			"[datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc), " +
				"datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone(-datetime.timedelta(hours=5)))]"},
		{"time in list offset seconds", []time.Time{time.Date(1850, 1, 1, 12, 0, 7, 0, lmt)},
			"[datetime.datetime(1850, 1, 1, 12, 0, 7, tzinfo=datetime.timezone(datetime.timedelta(seconds=561)))]"},
		{"duration", 90 * time.Second, "datetime.timedelta(seconds=90)"},
		{"duration zero", time.Duration(0), "datetime.timedelta(0)"},
		{"duration days", 26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Microsecond + 999,
			"datetime.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5)"},
		{"duration two days", 48 * time.Hour, "datetime.timedelta(days=2)"},
		{"duration negative", -time.Microsecond, "datetime.timedelta(microseconds=-1)"},
		{"duration negative days", -50 * time.Hour, "datetime.timedelta(hours=-50)"},
		{"duration sub-micro negative", -1500 * time.Nanosecond, "datetime.timedelta(microseconds=-1)"},
		{"durations in list", []time.Duration{0, time.Second, -time.Hour * 25, 1500 * time.Millisecond},
			"[datetime.timedelta(0), datetime.timedelta(seconds=1), datetime.timedelta(hours=-25), datetime.timedelta(seconds=1.5)]"},
		{"duration max", time.Duration(math.MaxInt64), "datetime.timedelta(microseconds=9223372036854775)"},
		{"duration min", time.Duration(math.MinInt64), "datetime.timedelta(microseconds=-9223372036854775)"},
		{"struct", point{1, "a"}, `(lambda: __import__("dataclasses").make_dataclass("point", ["X", "Y"])(1, "a"))()`},
		{"struct pointer in list", []*point{{2, "b"}}, `[__import__("dataclasses").make_dataclass("point", ["X", "Y"])(2, "b")]`},
		{"unnamed struct", struct{ A []int }{[]int{1}}, `__import__("dataclasses").make_dataclass("struct", ["A"])([1])`},
		{"struct unexported fields", hidden{time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), errors.New("e")},
			`__import__("dataclasses").make_dataclass("hidden", ["when", "err"])(datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc), "e")`},
		{"struct unexported nested", struct{ m map[string]hidden }{map[string]hidden{"k": {err: errors.New("e")}}},
			`__import__("dataclasses").make_dataclass("struct", ["m"])({"k": __import__("dataclasses").make_dataclass("hidden", ["when", "err"])(datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc), "e")})`},
	}
}

func ptrTo[T any](v T) *T { return &v }

// trickyStrings are the strings whose repr tests every rule: the quote
// choice, each escape, the printable classes, UTF-8 edge cases and bytes
// that are not UTF-8.
var trickyStrings = []string{
	"", "a", "'", `"`, `'"`, `it's`, `say "hi"`, `both ' and "`, `\`, `\'`, `\\n`,
	"\n", "\r", "\t", "\x00", "\x07", "\x1b", "\x1f", " ", "~", "\x7f",
	"\u0080", "\u0085", "\u009f", "\u00a0", "\u00a1", "é", "\u00ff", "\u0100",
	"\u00ad", // soft hyphen: Cf
	"\u034f", // combining grapheme joiner: Mn, printable
	"\u0378", // unassigned
	"\u061c", "\u180e", "\u2000", "\u200b", "\u200d", "\u2028", "\u2029", "\u202e", "\u2060", "\u3000",
	"\ud7ff", "\ue000", "\uf8ff", "\ufeff", "\ufff9", "\ufffd", "\ufffe", "\uffff",
	"日本語", "한국어", "العربية", "עברית", "हिन्दी",
	"\U00010000", "\U0001f600", "\U0001f1fa\U0001f1f8", "\U000e0001", "\U000e0100", "\U000f0000", "\U0010ffff",
	"\xff", "\x80", "a\xc3", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xc0\xaf",
	"mixed 'q' \"d\" \\ \t\n\x00é\u200b\U0001f600\xff",
}

// randomString mixes ASCII, controls, Latin-1, the BMP, other planes and
// bytes that are not UTF-8.
func randomString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(12) {
		switch rng.IntN(6) {
		case 0:
			b.WriteByte(byte(rng.IntN(0x80)))
		case 1:
			b.WriteRune(rune(0x80 + rng.IntN(0x180)))
		case 2:
			b.WriteRune(rune(0x100 + rng.IntN(0xd700)))
		case 3:
			b.WriteRune(rune(0xe000 + rng.IntN(0x2000)))
		case 4:
			b.WriteRune(rune(0x10000 + rng.IntN(0x100000)))
		default:
			b.WriteByte(byte(0x80 + rng.IntN(0x80)))
		}
	}
	return b.String()
}

// latin1 spells s's bytes as code points 0-255, so JSON carries bytes that
// are not UTF-8.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := range len(s) {
		r[i] = rune(s[i])
	}
	return string(r)
}

// Every Go value of the table renders as Python's str() of its twin, and
// every string (tricky ones and 3000 random ones) as Python's repr.
func TestStr_Interop_MatchesPython(t *testing.T) {
	cases := twins()
	strs := append([]string(nil), trickyStrings...)
	rng := rand.New(rand.NewPCG(15, 9))
	for range 3000 {
		strs = append(strs, randomString(rng))
	}
	req := struct {
		Exprs   []string `json:"exprs"`
		Strings []string `json:"strings"`
	}{}
	for _, c := range cases {
		req.Exprs = append(req.Exprs, c.py)
	}
	for _, s := range strs {
		req.Strings = append(req.Strings, latin1(s))
	}
	in, err := json.Marshal(req)
	require.NoError(t, err)
	var got struct {
		Str  []string `json:"str"`
		Repr []string `json:"repr"`
		Cn   [][]rune `json:"cn"`
	}
	require.NoError(t, json.Unmarshal(interoptest.RunCode(t, strScript, in), &got))
	require.Len(t, got.Str, len(cases))
	require.Len(t, got.Repr, len(strs))

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, got.Str[i], pystr.Str(c.v), "Python: str(%s)", c.py)
		})
	}
	var tolerated int
	for i, s := range strs {
		repr, newer := escapeNewer(pystr.Repr(s), got.Cn[i])
		if newer {
			tolerated++
		}
		require.Equal(t, got.Repr[i], repr, "repr of %q", s)
		list, _ := escapeNewer(pystr.Str([]string{s}), got.Cn[i])
		require.Equal(t, "["+got.Repr[i]+"]", list, "str of a list of %q", s)
	}
	t.Logf("%d random strings hold code points assigned after Python's Unicode tables", tolerated)
}

// escapeNewer escapes, as Python does, the code points Go prints but
// Python's older Unicode tables leave unassigned (Go 1.26 has Unicode 15,
// Python 3.11 14): with them escaped, our repr must be Python's.
func escapeNewer(goRepr string, cn []rune) (string, bool) {
	changed := false
	for _, r := range cn {
		if strings.ContainsRune(goRepr, r) {
			esc := fmt.Sprintf(`\u%04x`, r)
			if r > 0xffff {
				esc = fmt.Sprintf(`\U%08x`, r)
			}
			goRepr = strings.ReplaceAll(goRepr, string(r), esc)
			changed = true
		}
	}
	return goRepr, changed
}
