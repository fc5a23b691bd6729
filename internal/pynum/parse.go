// Package pynum is Python's number text as MLflow writes and reads it:
// repr of a float (AppendFloat, FormatFloat: the text of every metric value
// on disk), and int() and float() of a string (ParseInt, ParseFloat, with
// Python's Unicode digits and spaces), with exact fast paths for the byte
// runs of metric lines (ParseIntPrefix, ParseFloatPrefix: Clinger's and
// Eisel-Lemire's algorithms, eight digits at a time).
package pynum

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// ParseFloat parses s the way Python's float() does, which is how
// MLflow reads metric values: surrounding (Unicode) whitespace, a sign,
// nan/inf/infinity in any case, underscores between digits, Unicode decimal
// digits. Overflow gives ±Inf and underflow ±0 without error, as in Python.
// Hex floats, which Go accepts and Python does not, are rejected. Errors are
// *strconv.NumError with Func "ParseFloat".
func ParseFloat(s string) (float64, error) {
	if f, ok := ParseFloatFast(unsafe.Slice(unsafe.StringData(s), len(s))); ok {
		return f, nil
	}
	if f, ok := parseFloatSlow(s); ok {
		return f, nil
	}
	return 0, &strconv.NumError{Func: "ParseFloat", Num: s, Err: strconv.ErrSyntax}
}

// ParseInt parses s the way Python's int() does for timestamps and
// steps: surrounding whitespace, a sign, leading zeros, underscores between
// digits, Unicode decimal digits; "1.0" is an error. Python has no size
// limit; values outside int64 are reported with strconv.ErrRange.
func ParseInt(s string) (int64, error) {
	if n, ok := ParseIntFast(unsafe.Slice(unsafe.StringData(s), len(s))); ok {
		return n, nil
	}
	return parseIntSlow(s)
}

// ParseIntFast handles the form MLflow writes: optional '-' and up to 18
// ASCII digits (which cannot overflow). Anything else goes to the slow path.
func ParseIntFast(b []byte) (int64, bool) {
	n, end, ok := ParseIntPrefix(b)
	return n, ok && end == len(b)
}

// ParseIntPrefix parses the optional '-' and 1 to 18 ASCII digits at the
// start of b and returns where they end; what follows is the caller's.
func ParseIntPrefix(b []byte) (int64, int, bool) {
	i := 0
	if len(b) > 0 && b[0] == '-' {
		i = 1
	}
	var n uint64
	end, nd := digitRun(b, i, &n)
	if nd == 0 || nd > 18 {
		return 0, 0, false
	}
	if i == 1 {
		return -int64(n), end, true
	}
	return int64(n), end, true
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// ParseFloatFast accepts [-]digits[.digits][e[±]digits] and nan/inf/-inf in
// plain ASCII, which covers everything MLflow writes. Short mantissas use
// Clinger's exact fast path; the rest goes to strconv, which is exact for
// this already validated decimal syntax. ok=false means "try the slow
// Python-compatible parser", not necessarily invalid.
func ParseFloatFast(b []byte) (float64, bool) {
	f, end, ok := ParseFloatPrefix(b)
	return f, ok && end == len(b)
}

// ParseFloatPrefix parses the longest prefix of b that ParseFloatFast's
// syntax allows and returns where it ends; the caller checks what follows
// (a metric line's ' ', or the end of the field).
func ParseFloatPrefix(b []byte) (float64, int, bool) {
	if len(b) >= 3 {
		switch string(b[:3]) {
		case "nan":
			return math.NaN(), 3, true
		case "inf":
			return math.Inf(1), 3, true
		case "-in":
			if len(b) >= 4 && b[3] == 'f' {
				return math.Inf(-1), 4, true
			}
		}
	}
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	// mant holds the significant digits (leading zeros skipped, so
	// 0.00123... keeps all 17 of its digits), nd counts them, frac counts
	// every digit after the dot.
	var mant uint64
	nd, frac := 0, 0
	first := i
	for i < len(b) && b[i] == '0' {
		i++
	}
	i, nd = digitRun(b, i, &mant)
	digits := i > first
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		if nd == 0 {
			for i < len(b) && b[i] == '0' {
				i++
			}
		}
		var n int
		i, n = digitRun(b, i, &mant)
		nd += n
		frac = i - fs
		digits = digits || i > fs
	}
	if !digits {
		return 0, 0, false
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		ed := i
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			if exp < 10000 {
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if i == ed {
			return 0, 0, false
		}
		if eneg {
			exp = -exp
		}
	}
	exp -= frac
	// Clinger's fast path: mant and 10^|exp| are exact doubles, so one
	// correctly rounded multiply or divide is the correctly rounded value.
	if nd <= 19 && mant <= 1<<53 && exp >= -22 && exp <= 22 {
		f := float64(mant)
		if exp < 0 {
			f /= pow10[-exp]
		} else {
			f *= pow10[exp]
		}
		if neg {
			f = -f
		}
		return f, i, true
	}
	if nd <= 19 { // mant did not overflow
		if f, ok := lemire(mant, exp, neg); ok {
			return f, i, true
		}
	}
	// The syntax is a plain decimal, so strconv can only report ErrRange,
	// with the ±Inf/±0 that Python returns too. strconv copies its input
	// into errors, so the unsafe view does not outlive this call.
	f, _ := strconv.ParseFloat(unsafe.String(&b[0], i), 64)
	return f, i, true
}

// digitRun appends the ASCII digits of b from i to *mant (wrapping past 19
// digits, which the caller detects by the count) and returns where they end
// and how many there were. Eight bytes at a time: a full word of digits is
// one step, and a word holding the end of the run takes its k leading
// digits in one step too (shifted up behind '0' padding).
func digitRun(b []byte, i int, mant *uint64) (int, int) {
	start, m := i, *mant
	for i+8 <= len(b) {
		v := binary.LittleEndian.Uint64(b[i:])
		if stop := nonDigits(v); stop != 0 {
			if k := bits.TrailingZeros64(stop) >> 3; k > 0 {
				m = m*pow10u[k] + eightDigits(v<<(64-8*k)|0x3030303030303030>>(8*k))
				i += k
			}
			*mant = m
			return i, i - start
		}
		m = m*100000000 + eightDigits(v)
		i += 8
	}
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		m = m*10 + uint64(b[i]-'0')
	}
	*mant = m
	return i, i - start
}

// pow10u[k] is 10^k for the digit counts of one word.
var pow10u = [8]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000}

// IsSpace is Python's str.isspace for one character: Unicode White_Space
// plus the ASCII separators U+001C..U+001F, which Go does not count.
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// isASCIISpace is CPython's Py_ISSPACE, used by int() and float() after
// their Unicode-to-ASCII transformation.
func isASCIISpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// decimalValue returns the value of a Unicode decimal digit (category Nd),
// or -1. Unicode encodes every decimal digit set as a contiguous 0..9 run,
// so the value is the position in the run of adjacent digits modulo 10.
func decimalValue(r rune) int {
	if !unicode.Is(unicode.Nd, r) {
		return -1
	}
	n := 0
	for unicode.Is(unicode.Nd, r-rune(n)-1) {
		n++
	}
	return n % 10
}

// pyToASCII mirrors CPython's _PyUnicode_TransformDecimalAndSpaceToASCII,
// which int() and float() apply first: ASCII stays, Unicode whitespace
// becomes ' ', Unicode digits become ASCII digits, anything else fails.
func pyToASCII(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				return dst, false
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			return dst, false
		case IsSpace(r):
			dst = append(dst, ' ')
		default:
			d := decimalValue(r)
			if d < 0 {
				return dst, false
			}
			dst = append(dst, byte('0'+d))
		}
	}
	return dst, true
}

func trimASCIISpace(b []byte) []byte {
	for len(b) > 0 && isASCIISpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isASCIISpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseFloatSlow is CPython's PyFloat_FromString: transform to ASCII, check
// and drop underscores (only between two digits), strip whitespace, then
// nan/inf/infinity or a decimal literal.
func parseFloatSlow(s string) (float64, bool) {
	var buf [64]byte
	b, ok := pyToASCII(buf[:0], s)
	if !ok {
		return 0, false
	}
	w := 0
	for i, c := range b {
		if c == '_' {
			if i == 0 || i == len(b)-1 || !isDigit(b[i-1]) || !isDigit(b[i+1]) {
				return 0, false
			}
			continue
		}
		b[w] = c
		w++
	}
	b = trimASCIISpace(b[:w])
	body, neg := b, false
	if len(body) > 0 && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	var special float64
	switch {
	case equalFold(body, "nan"):
		special = math.NaN()
	case equalFold(body, "inf"), equalFold(body, "infinity"):
		special = math.Inf(1)
	default:
		if len(body) == 0 || body[0] == '+' || body[0] == '-' {
			return 0, false
		}
		if neg {
			body = b // keep the '-' for ParseFloatFast
		} else {
			body = b[len(b)-len(body):]
		}
		return ParseFloatFast(body)
	}
	if neg {
		special = math.Copysign(special, -1)
	}
	return special, true
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// parseIntSlow is CPython's int(s, 10): transform to ASCII, strip
// whitespace, a sign, then digits with single underscores between them.
func parseIntSlow(s string) (int64, error) {
	var buf [64]byte
	b, ok := pyToASCII(buf[:0], s)
	if !ok {
		return 0, &strconv.NumError{Func: "ParseInt", Num: s, Err: strconv.ErrSyntax}
	}
	b = trimASCIISpace(b)
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || !isDigit(b[0]) || !isDigit(b[len(b)-1]) {
		return 0, &strconv.NumError{Func: "ParseInt", Num: s, Err: strconv.ErrSyntax}
	}
	var n uint64
	overflow := false
	for i, c := range b {
		if c == '_' {
			if !isDigit(b[i-1]) { // the last byte is a digit, so b[i+1] exists
				return 0, &strconv.NumError{Func: "ParseInt", Num: s, Err: strconv.ErrSyntax}
			}
			continue
		}
		if !isDigit(c) {
			return 0, &strconv.NumError{Func: "ParseInt", Num: s, Err: strconv.ErrSyntax}
		}
		if n > (math.MaxUint64-9)/10 {
			overflow = true
		} else {
			n = n*10 + uint64(c-'0')
		}
	}
	switch {
	case !overflow && !neg && n <= math.MaxInt64:
		return int64(n), nil
	case !overflow && neg && n <= 1<<63:
		return int64(-n), nil
	}
	return 0, &strconv.NumError{Func: "ParseInt", Num: s, Err: strconv.ErrRange}
}
