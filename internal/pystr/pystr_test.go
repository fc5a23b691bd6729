package pystr_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/pystr"
)

// decodePyRepr reads back a Python str literal as AppendRepr writes it,
// by Python's rules (\xhh is a code point, not a byte), into the bytes Go
// holds: lone surrogates U+DC80..U+DCFF are the bytes surrogateescape
// made them from. It fails on anything Python would not write.
func decodePyRepr(t *testing.T, lit string) string {
	t.Helper()
	require.GreaterOrEqual(t, len(lit), 2, "literal %q", lit)
	quote := lit[0]
	require.Contains(t, `'"`, string(quote), "literal %q", lit)
	require.Equal(t, quote, lit[len(lit)-1], "literal %q", lit)
	body := lit[1 : len(lit)-1]
	var out []byte
	for i := 0; i < len(body); {
		c := body[i]
		if c == quote {
			t.Fatalf("unescaped quote in %q", lit)
		}
		if c != '\\' {
			r, n := utf8.DecodeRuneInString(body[i:])
			require.False(t, r == utf8.RuneError && n == 1, "invalid UTF-8 in %q", lit)
			require.True(t, unicode.IsPrint(r), "unprintable %U unescaped in %q", r, lit)
			out = append(out, body[i:i+n]...)
			i += n
			continue
		}
		require.Less(t, i+1, len(body), "dangling backslash in %q", lit)
		e := body[i+1]
		i += 2
		digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
		switch {
		case e == '\\' || e == '\'' || e == '"':
			out = append(out, e)
		case e == 't':
			out = append(out, '\t')
		case e == 'n':
			out = append(out, '\n')
		case e == 'r':
			out = append(out, '\r')
		case digits > 0:
			require.LessOrEqual(t, i+digits, len(body), "short escape in %q", lit)
			v, err := strconv.ParseUint(body[i:i+digits], 16, 32)
			require.NoError(t, err, "escape in %q", lit)
			require.Equal(t, strings.ToLower(body[i:i+digits]), body[i:i+digits], "upper-case hex in %q", lit)
			i += digits
			r := rune(v)
			if r >= 0xdc80 && r <= 0xdcff {
				out = append(out, byte(r-0xdc00))
			} else {
				require.True(t, utf8.ValidRune(r), "escape of %U in %q", r, lit)
				require.False(t, unicode.IsPrint(r) && r >= 0x80 && r != '\\', "printable %U escaped in %q", r, lit)
				out = utf8.AppendRune(out, r)
			}
		default:
			t.Fatalf("unknown escape \\%c in %q", e, lit)
		}
	}
	return string(out)
}

// Random strings: Repr is a Python literal that reads back as the string,
// with nothing printable escaped and nothing unprintable left raw, and a
// list of the string is that literal in brackets. What Python itself
// prints is checked on a corpus in TestStr_Interop_MatchesPython.
func FuzzRepr(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := pystr.Repr(s)
		require.Equal(t, s, decodePyRepr(t, lit))
		if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
			require.Equal(t, byte('"'), lit[0])
		} else {
			require.Equal(t, byte('\''), lit[0])
		}
		require.Equal(t, s, pystr.Str(s))
		require.Equal(t, "["+lit+"]", pystr.Str([]any{s}))
		require.Equal(t, "{"+lit+": "+lit+"}", pystr.Str(map[string]string{s: s}))
	})
}

type node struct {
	Name string
	Next *node
}

// Values that contain themselves are cut where they recur, instead of
// recursing until the stack overflows (as fmt does); the same value twice
// side by side is not a cycle.
func TestStr_Cycles(t *testing.T) {
	n := &node{Name: "a"}
	n.Next = n
	require.Equal(t, "node(Name='a', Next=...)", pystr.Str(n))

	m := map[string]any{}
	m["m"] = m
	require.Equal(t, "{'m': {...}}", pystr.Str(m))

	s := []any{nil}
	s[0] = s
	require.Equal(t, "[[...]]", pystr.Str(s))

	var p any
	p = &p
	require.Equal(t, "...", pystr.Str(p))

	shared := []int{1}
	require.Equal(t, "[[1], [1]]", pystr.Str([][]int{shared, shared}))
	b := &node{Name: "b"}
	require.Equal(t, "[node(Name='b', Next=None), node(Name='b', Next=None)]", pystr.Str([]*node{b, b}))
}

// Kinds without a Python twin render without panicking: functions,
// channels and unsafe pointers as fmt's address, nil ones as None.
func TestStr_NoTwinKinds(t *testing.T) {
	ch := make(chan int)
	x := 1
	for _, v := range []any{func() {}, ch, unsafe.Pointer(&x), []any{ch}, map[chan int]int{ch: 1}} {
		require.NotPanics(t, func() { require.Contains(t, pystr.Str(v), "0x") })
	}
	var nilFunc func()
	var nilChan chan int
	require.Equal(t, "None", pystr.Str(nilFunc))
	require.Equal(t, "[None]", pystr.Str([]any{nilChan}))
}

type panicky struct{ N int }

func (panicky) String() string { panic("no") }

// A String method that panics does not make Str panic: the value is
// rendered by its kind.
func TestStr_PanickingStringer(t *testing.T) {
	require.Equal(t, "panicky(N=1)", pystr.Str(panicky{1}))
	require.Equal(t, "[panicky(N=2)]", pystr.Str([]panicky{{2}}))
}

func ExampleStr() {
	fmt.Println(pystr.Str([]int{64, 32}))
	fmt.Println(pystr.Str(map[string]any{"b": true, "a": []string{"x"}}))
	fmt.Println(pystr.Str(1.0), pystr.Str(nil), pystr.Str("plain"))
	// Output:
	// [64, 32]
	// {'a': ['x'], 'b': True}
	// 1.0 None plain
}
