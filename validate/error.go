package validate

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/errs"
)

// Error reports a value that breaks one of MLflow's rules.
type Error struct {
	// Field is MLflow's parameter path: "key", "name", "run_id",
	// "metrics[3].timestamp", "params[0].key", ...
	Field string
	// Value is the offending value as text.
	Value string
	// Rule is the human reason, e.g. the "Names may only contain ..." text.
	Rule string
	// Kind is errs.ErrInvalidParameter, or errs.ErrInvalidPath for names
	// that would resolve to another file.
	Kind error

	msg string // MLflow's whole message; set by every constructor here
}

// Error returns "mlruns: " and the message Python MLflow raises.
func (e *Error) Error() string {
	if e.msg != "" {
		return "mlruns: " + e.msg
	}
	// A hand-built Error: fall back to MLflow's generic shape.
	return "mlruns: " + invalidValue(e.Field, pyJSONString(e.Value), e.Rule)
}

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error {
	if e.Kind == nil {
		return errs.ErrInvalidParameter
	}
	return e.Kind
}

// invalidValue is validation.py's invalid_value; jsonValue is already
// json.dumps-encoded.
func invalidValue(path, jsonValue, reason string) string {
	if reason != "" {
		return "Invalid value " + jsonValue + " for parameter '" + path + "' supplied: " + reason
	}
	return "Invalid value " + jsonValue + " for parameter '" + path + "' supplied."
}

// invalidString builds the invalid_value error for a string value.
func invalidString(kind error, field, value, rule string) *Error {
	return &Error{Field: field, Value: value, Rule: rule, Kind: kind,
		msg: invalidValue(field, pyJSONString(value), rule)}
}

// plain builds an error whose message does not follow invalid_value.
func plain(field, value, rule, msg string) *Error {
	return &Error{Field: field, Value: value, Rule: rule, Kind: errs.ErrInvalidParameter, msg: msg}
}

// pyJSONString is json.dumps(s) with Python's default ensure_ascii=True:
// everything outside printable ASCII becomes \uXXXX (UTF-16 pairs above
// the BMP). Invalid UTF-8 bytes, which a Python str cannot hold, show as
// U+FFFD.
func pyJSONString(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteByte('"')
	u4 := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hex[(r>>shift)&0xf])
		}
	}
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			u4(0xd800 | (r >> 10))
			u4(0xdc00 | (r & 0x3ff))
		default:
			u4(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// pyRepr is Python's repr() of a str.
func pyRepr(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteRune(quote)
	for _, r := range s {
		switch {
		case r == quote || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		case r < 0x7f:
			b.WriteRune(r)
		// Python's str.isprintable: not Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs
		// (ASCII space excepted), the same set as Go's IsPrint.
		case unicode.IsPrint(r) && r != utf8.RuneError:
			b.WriteRune(r)
		case r <= 0xff:
			b.WriteString(`\x`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		case r <= 0xffff:
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[(r>>shift)&0xf])
			}
		default:
			b.WriteString(`\U`)
			for shift := 28; shift >= 0; shift -= 4 {
				b.WriteByte(hex[(r>>shift)&0xf])
			}
		}
	}
	b.WriteRune(quote)
	return b.String()
}
