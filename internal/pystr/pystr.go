// Package pystr is Python's str() of Go values: the text MLflow stores for
// a param or tag value is str(value), so a Go value is rendered as str()
// renders its Python twin. []int{64, 32} is the list [64, 32],
// map[string]int{"a": 1} the dict {'a': 1}, true is True, nil is None.
//
// The twins, and the forms chosen where Python has no twin:
//
//   - nil, a nil pointer, a nil interface: None.
//   - bool: True, False. Integers of every size: their decimal digits.
//   - float64: Python's float repr (pynum.FormatFloat): 1.0, 1e+16, nan,
//     inf, -0.0. float32: the Python float its shortest decimal names, so
//     float32(0.1) is 0.1 (as numpy prints a float32), not the 0.10000000149011612
//     its widening to float64 would give.
//   - complex64, complex128: Python's complex repr: (1+2j), 2j, (-0-1j).
//   - string: itself; inside a container its repr, 'a' or "it's", with
//     Python 3's escapes (\n, \t, \\, \x07, \u200b). Bytes that are not
//     UTF-8 stand for the lone surrogates Python's surrogateescape decodes
//     them to (\udcff). Printable is Go's unicode.IsPrint, the same
//     classes as Python's str.isprintable (Unicode 15 in Go; Python 3.11
//     has 14, so it escapes the code points assigned since).
//   - []byte (a slice of any byte kind): bytes, b'a\x00'. An array of
//     bytes is a list of ints, as encoding/json treats the two.
//   - slices and arrays: lists, [1, 'a']; nil and empty slices are [].
//   - maps: dicts, {'a': 1}. A Python dict keeps insertion order and a Go
//     map has none, so keys are sorted as fmt prints maps: numbers by
//     value (NaN first), strings by bytes, false before true, interface
//     keys by type name then value.
//   - pointers: the value they point to.
//   - time.Time: a datetime.datetime with a fixed-offset tzinfo, so str()
//     is '2024-01-02 03:04:05.123456+00:00' and the repr inside a
//     container is datetime.datetime(2024, 1, 2, 3, 4, 5, 123456,
//     tzinfo=datetime.timezone.utc). datetime holds microseconds: finer
//     digits are dropped. The zone's name is not kept, only its offset.
//   - time.Duration: a datetime.timedelta, '1 day, 2:03:04.000005',
//     datetime.timedelta(days=1, seconds=7384, microseconds=5) inside a
//     container, truncated toward zero to microseconds.
//   - error, fmt.Stringer: Error() or String() (error first, as fmt does);
//     inside a container the repr of that text, as if it were a str.
//   - structs (no twin): a dataclass's form, Point(x=1, y='a'), every
//     field, exported or not, in declaration order; an unnamed struct type
//     is struct(...).
//   - functions, channels, unsafe pointers: fmt's %v (an address).
//
// A value that contains itself (a map holding itself, a cycle of pointers)
// is cut where it recurs, as Python prints [...] and {...}.
package pystr

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/mlruns-go/mlruns/internal/pynum"
)

// Str is Python's str() of v's twin (see the package doc).
func Str(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		return pyBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pynum.FormatFloat(x)
	case time.Time:
		return string(appendDatetimeStr(nil, x))
	case time.Duration:
		return string(appendTimedeltaStr(nil, x))
	}
	var p printer
	p.value(reflect.ValueOf(v), true)
	return string(p.buf)
}

// Repr is Python's repr() of v's twin: a string is quoted ('a'), a time is
// datetime.datetime(...); for other values it is Str(v).
func Repr(v any) string {
	var p printer
	p.value(reflect.ValueOf(v), false)
	return string(p.buf)
}

// printer renders one value. seen holds the maps, slices and pointers
// being rendered, to cut a value where it contains itself.
type printer struct {
	buf  []byte
	seen map[seenKey]bool
}

type seenKey struct {
	ptr uintptr
	len int
	typ reflect.Type
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	errorType    = reflect.TypeFor[error]()
	stringerType = reflect.TypeFor[fmt.Stringer]()
)

// value appends v's str() (top) or repr() (inside a container).
func (p *printer) value(v reflect.Value, top bool) {
	if !v.IsValid() {
		p.buf = append(p.buf, "None"...)
		return
	}
	if nilable(v.Kind()) && v.Kind() != reflect.Slice && v.Kind() != reflect.Map && v.IsNil() {
		p.buf = append(p.buf, "None"...)
		return
	}
	switch v.Type() {
	case timeType:
		t, _ := v.Interface().(time.Time)
		if top {
			p.buf = appendDatetimeStr(p.buf, t)
		} else {
			p.buf = appendDatetimeRepr(p.buf, t)
		}
		return
	case durationType:
		d := time.Duration(v.Int())
		if top {
			p.buf = appendTimedeltaStr(p.buf, d)
		} else {
			p.buf = appendTimedeltaRepr(p.buf, d)
		}
		return
	}
	if v.Kind() == reflect.Pointer && (v.Type().Elem() == timeType || v.Type().Elem() == durationType) {
		p.value(v.Elem(), top) // the time's own form, not its String
		return
	}
	if s, ok := methodText(v); ok {
		if top {
			p.buf = append(p.buf, s...)
		} else {
			p.buf = AppendRepr(p.buf, s)
		}
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		p.buf = append(p.buf, pyBool(v.Bool())...)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.buf = strconv.AppendInt(p.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.buf = strconv.AppendUint(p.buf, v.Uint(), 10)
	case reflect.Float32:
		p.buf = pynum.AppendFloat(p.buf, float32Twin(v.Float()))
	case reflect.Float64:
		p.buf = pynum.AppendFloat(p.buf, v.Float())
	case reflect.Complex64:
		c := v.Complex()
		p.buf = appendComplex(p.buf, float32Twin(real(c)), float32Twin(imag(c)))
	case reflect.Complex128:
		c := v.Complex()
		p.buf = appendComplex(p.buf, real(c), imag(c))
	case reflect.String:
		if top {
			p.buf = append(p.buf, v.String()...)
		} else {
			p.buf = AppendRepr(p.buf, v.String())
		}
	case reflect.Interface:
		p.value(v.Elem(), top)
	case reflect.Pointer:
		if p.enter(v, 0) {
			p.buf = append(p.buf, "..."...)
			return
		}
		p.value(v.Elem(), top)
		p.leave(v, 0)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			p.buf = appendBytesRepr(p.buf, v.Bytes())
			return
		}
		if p.enter(v, v.Len()) {
			p.buf = append(p.buf, "[...]"...)
			return
		}
		p.list(v)
		p.leave(v, v.Len())
	case reflect.Array:
		p.list(v)
	case reflect.Map:
		if p.enter(v, 0) {
			p.buf = append(p.buf, "{...}"...)
			return
		}
		p.dict(v)
		p.leave(v, 0)
	case reflect.Struct:
		if !v.CanAddr() { // for exported: fields of a copy
			c := reflect.New(v.Type()).Elem()
			c.Set(v)
			v = c
		}
		p.structFields(v)
	default: // func, chan, unsafe pointer
		p.buf = fmt.Append(p.buf, v)
	}
}

func nilable(k reflect.Kind) bool {
	switch k {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return true
	}
	return false
}

// exported returns struct field f of addressable struct v so that it can
// be read with Interface even when unexported: fields are rendered as
// fmt renders them, and a time or an error in an unexported field then
// renders as one in an exported field does.
func exported(v reflect.Value, i int) reflect.Value {
	f := v.Field(i)
	if f.CanInterface() || !f.CanAddr() {
		return f
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// methodText returns Error() or String() when v has one. A method that
// panics counts as none (v is then rendered by its kind), as fmt survives
// it too.
func methodText(v reflect.Value) (text string, ok bool) {
	defer func() {
		if recover() != nil {
			text, ok = "", false
		}
	}()
	if !v.CanInterface() || !(v.Type().Implements(errorType) || v.Type().Implements(stringerType)) {
		return "", false
	}
	switch x := v.Interface().(type) {
	case error:
		return x.Error(), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}

// enter marks a map, slice or pointer as being rendered; true means it is
// already (the value contains itself).
func (p *printer) enter(v reflect.Value, n int) bool {
	k := seenKey{v.Pointer(), n, v.Type()}
	if p.seen[k] {
		return true
	}
	if p.seen == nil {
		p.seen = map[seenKey]bool{}
	}
	p.seen[k] = true
	return false
}

func (p *printer) leave(v reflect.Value, n int) { delete(p.seen, seenKey{v.Pointer(), n, v.Type()}) }

func (p *printer) list(v reflect.Value) {
	p.buf = append(p.buf, '[')
	for i := range v.Len() {
		if i > 0 {
			p.buf = append(p.buf, ", "...)
		}
		p.value(v.Index(i), false)
	}
	p.buf = append(p.buf, ']')
}

func (p *printer) dict(v reflect.Value) {
	p.buf = append(p.buf, '{')
	for i, k := range sortedKeys(v) {
		if i > 0 {
			p.buf = append(p.buf, ", "...)
		}
		p.value(k, false)
		p.buf = append(p.buf, ": "...)
		p.value(v.MapIndex(k), false)
	}
	p.buf = append(p.buf, '}')
}

func (p *printer) structFields(v reflect.Value) {
	t := v.Type()
	name := t.Name()
	if name == "" {
		name = "struct"
	}
	p.buf = append(p.buf, name...)
	p.buf = append(p.buf, '(')
	for i := range t.NumField() {
		if i > 0 {
			p.buf = append(p.buf, ", "...)
		}
		p.buf = append(p.buf, t.Field(i).Name...)
		p.buf = append(p.buf, '=')
		p.value(exported(v, i), false)
	}
	p.buf = append(p.buf, ')')
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// float32Twin is the float64 that float32 f's shortest decimal names:
// float32(0.1) is 0.1.
func float32Twin(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	t, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
	return t
}

// appendComplex is Python's complex repr: the parts in repr('r') form
// without the ".0" a float gets, the imaginary part signed, in
// parentheses unless the real part is +0.
func appendComplex(dst []byte, re, im float64) []byte {
	if re == 0 && !math.Signbit(re) {
		return append(appendShortFloat(dst, im), 'j')
	}
	dst = append(dst, '(')
	dst = appendShortFloat(dst, re)
	if !math.Signbit(im) || math.IsNaN(im) {
		dst = append(dst, '+')
	}
	dst = appendShortFloat(dst, im)
	return append(dst, "j)"...)
}

// appendShortFloat is float repr without the ".0" of an integral value
// (PyOS_double_to_string(x, 'r', 0, 0)): 1, 1.5, 1e+16.
func appendShortFloat(dst []byte, f float64) []byte {
	n := len(dst)
	dst = pynum.AppendFloat(dst, f)
	if s := dst[n:]; len(s) > 2 && s[len(s)-2] == '.' && s[len(s)-1] == '0' {
		dst = dst[:len(dst)-2]
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// AppendRepr appends Python 3's repr() of s: single quotes unless s holds a
// single quote and no double quote; backslash escapes for the quote, the
// backslash, \t \n \r, other control characters (\x07), and the
// non-printable (\x85, \u200b, \U000e0001). Bytes of s that are not UTF-8
// are the surrogates surrogateescape decodes them to (\udcff).
func AppendRepr(dst []byte, s string) []byte {
	quote := byte('\'')
	if containsByte(s, '\'') && !containsByte(s, '"') {
		quote = '"'
	}
	dst = append(dst, quote)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendByte(dst, c, quote)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = appendEscape(dst, 0xdc00+rune(c))
		} else if unicode.IsPrint(r) {
			dst = append(dst, s[i:i+n]...)
		} else {
			dst = appendEscape(dst, r)
		}
		i += n
	}
	return append(dst, quote)
}

// appendEscape is \xhh, \uhhhh or \Uhhhhhhhh, the shortest that holds r.
func appendEscape(dst []byte, r rune) []byte {
	digits := 8
	switch {
	case r <= 0xff:
		dst, digits = append(dst, `\x`...), 2
	case r <= 0xffff:
		dst, digits = append(dst, `\u`...), 4
	default:
		dst = append(dst, `\U`...)
	}
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[r>>shift&0xf])
	}
	return dst
}

// appendBytesRepr is Python's repr() of bytes: b'...' with the quote rule
// of str, printable ASCII as is, every other byte \xhh.
func appendBytesRepr(dst, b []byte) []byte {
	quote := byte('\'')
	if containsByte(string(b), '\'') && !containsByte(string(b), '"') {
		quote = '"'
	}
	dst = append(dst, 'b', quote)
	for _, c := range b {
		dst = appendByte(dst, c, quote)
	}
	return append(dst, quote)
}

// appendByte is a byte of a bytes repr, or an ASCII character of a str
// repr: the quote and the backslash escaped, \t \n \r, printable ASCII as
// is, any other byte \xhh.
func appendByte(dst []byte, c, quote byte) []byte {
	switch {
	case c == quote || c == '\\':
		return append(dst, '\\', c)
	case c == '\t':
		return append(dst, `\t`...)
	case c == '\n':
		return append(dst, `\n`...)
	case c == '\r':
		return append(dst, `\r`...)
	case c < ' ' || c >= 0x7f:
		return append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(dst, c)
}

func containsByte(s string, c byte) bool { return strings.IndexByte(s, c) >= 0 }
