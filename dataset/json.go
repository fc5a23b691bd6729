package dataset

import "strconv"

// The JSON of a dataset record (source, schema, profile) and of the
// MetaDataset digest's config is Python's json.dumps with its defaults: ", "
// and ": " separators, keys in insertion order, ensure_ascii=True. Those
// bytes are part of the record MLflow stores, so they are built here by hand
// rather than with encoding/json (which writes neither the spaces nor the
// \u escapes of non-ASCII text).

// member is one key of a JSON object, in the order Python's dict holds it.
type member struct {
	key   string
	value any // nil, string, int, bool, object or []any
}

// object is a JSON object whose keys keep their order.
type object []member

// appendJSON appends json.dumps(v) for the value shapes of this package.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendJSONString(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case bool:
		return strconv.AppendBool(b, v)
	case object:
		b = append(b, '{')
		for i, m := range v {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSONString(b, m.key)
			b = append(b, ": "...)
			b = appendJSON(b, m.value)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	}
	panic("dataset: no JSON form for this value") // unreachable: only this package builds values
}

// dumps is json.dumps(v).
func dumps(v any) string { return string(appendJSON(nil, v)) }

// shortEscapes are the two-character escapes of Python's json encoder.
var shortEscapes = [...]string{'"': `\"`, '\\': `\\`, '\n': `\n`, '\r': `\r`, '\t': `\t`, '\b': `\b`, '\f': `\f`}

// appendJSONString appends a JSON string as py_encode_basestring_ascii
// does: printable ASCII as is (but " and \), the short escapes, and every
// other code point as \uxxxx, as a UTF-16 surrogate pair above U+FFFF. The
// callers have checked that s is valid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		if int(r) < len(shortEscapes) && shortEscapes[r] != "" {
			b = append(b, shortEscapes[r]...)
			continue
		}
		if r >= ' ' && r <= '~' {
			b = append(b, byte(r))
			continue
		}
		if r > 0xffff {
			r -= 0x10000
			b = appendU4(b, 0xd800|(r>>10))
			r = 0xdc00 | (r & 0x3ff)
		}
		b = appendU4(b, r)
	}
	return append(b, '"')
}

func appendU4(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
