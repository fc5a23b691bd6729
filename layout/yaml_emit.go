package layout

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/internal/pynum"
)

// This file is a port of the parts of libyaml's emitter (emitter.c, as
// bundled with PyYAML 6) that MLflow reaches through
//
//	yaml.dump(data, Dumper=CSafeDumper, default_flow_style=False,
//	          allow_unicode=True, sort_keys=True)
//
// in mlflow/utils/yaml_utils.py write_yaml. Every meta.yaml must come out
// byte-identical, so the state machine (indent, column, whitespace,
// indention) and the scalar analysis are kept close to the C code; names
// in comments refer to the libyaml functions they mirror.

// yamlBestWidth and yamlBestIndent are libyaml's defaults; PyYAML passes
// neither width nor indent, so these are part of the on-disk format.
const (
	yamlBestWidth  = 80
	yamlBestIndent = 2
	// yamlMaxSimpleKey is the byte (not rune) length above which libyaml's
	// yaml_emitter_check_simple_key writes a key in "? key" form.
	yamlMaxSimpleKey = 128
)

// Implicit resolvers of PyYAML's resolver.Resolver (YAML 1.1), keyed like
// PyYAML by the first character of the value: a regexp is only tried when
// the value starts with one of its characters. A string that resolves to a
// non-str tag cannot be written plain. Python's "$" also matches before a
// final "\n", but strings with line breaks are never plain, so "$" (Go:
// end of text only) is equivalent here.
var yamlResolvers = []struct {
	first string
	re    *regexp.Regexp
}{
	{"yYnNtTfFoO", regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)},
	{"-+0123456789.", regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
		`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
		`|[-+]?\.(?:inf|Inf|INF)` +
		`|\.(?:nan|NaN|NAN))$`)},
	{"-+0123456789", regexp.MustCompile(`^(?:[-+]?0b[0-1_]+` +
		`|[-+]?0[0-7_]+` +
		`|[-+]?(?:0|[1-9][0-9_]*)` +
		`|[-+]?0x[0-9a-fA-F_]+` +
		`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)},
	{"<", regexp.MustCompile(`^(?:<<)$`)},
	{"~nN", regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)},
	{"0123456789", regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]` +
		`|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?` +
		`(?:[Tt]|[ \t]+)[0-9][0-9]?` +
		`:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?` +
		`(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)},
	{"=", regexp.MustCompile(`^(?:=)$`)},
	{"!&*", regexp.MustCompile(`^(?:!|&|\*)$`)},
}

// resolvesAsStr reports whether PyYAML's resolver gives s the str tag,
// i.e. whether s may be written as a plain scalar (libyaml plain_implicit).
func resolvesAsStr(s string) bool {
	if s == "" {
		return false // '' resolves to null
	}
	for _, r := range yamlResolvers {
		if strings.IndexByte(r.first, s[0]) >= 0 && r.re.MatchString(s) {
			return false
		}
	}
	return true
}

// encodeYAML renders m as MLflow writes meta.yaml files (PyYAML CSafeDumper,
// block style, sorted keys, allow_unicode). The output ends with exactly one "\n".
//
// Values may be nil, string, bool, int, int64, float64, map[string]any,
// map[string]string, []any and []string; anything else panics, as it is a
// programming error. Python strings are always valid UTF-8, so invalid
// UTF-8 in keys or values is first replaced as by strings.ToValidUTF8(s,
// "\uFFFD"); callers should validate input before it gets here.
func encodeYAML(m map[string]any) []byte {
	e := &yamlEmitter{indent: -1, whitespace: true, indention: true}
	e.node(m, false)
	e.writeIndent() // yaml_emitter_emit_document_end
	return e.buf
}

// yamlEmitter holds libyaml's emitter state for one document.
type yamlEmitter struct {
	buf        []byte
	indent     int
	indents    []int
	column     int  // in runes, as libyaml counts
	whitespace bool // last output was whitespace (or line start)
	indention  bool // only indentation on the current line so far
}

func (e *yamlEmitter) put(b byte) { e.buf = append(e.buf, b); e.column++ }

func (e *yamlEmitter) putBreak() { e.buf = append(e.buf, '\n'); e.column = 0 }

// yaml_emitter_increase_indent
func (e *yamlEmitter) pushIndent(flow, indentless bool) {
	e.indents = append(e.indents, e.indent)
	if e.indent < 0 {
		if flow {
			e.indent = yamlBestIndent
		} else {
			e.indent = 0
		}
	} else if !indentless {
		e.indent += yamlBestIndent
	}
}

func (e *yamlEmitter) popIndent() {
	e.indent = e.indents[len(e.indents)-1]
	e.indents = e.indents[:len(e.indents)-1]
}

// yaml_emitter_write_indent
func (e *yamlEmitter) writeIndent() {
	indent := max(e.indent, 0)
	if !e.indention || e.column > indent || (e.column == indent && !e.whitespace) {
		e.putBreak()
	}
	for e.column < indent {
		e.put(' ')
	}
	e.whitespace, e.indention = true, true
}

// yaml_emitter_write_indicator
func (e *yamlEmitter) writeIndicator(ind string, needWhitespace, isWhitespace, isIndention bool) {
	if needWhitespace && !e.whitespace {
		e.put(' ')
	}
	e.buf = append(e.buf, ind...)
	e.column += len(ind)
	e.whitespace = isWhitespace
	e.indention = e.indention && isIndention
}

// node emits one value; mapping tells whether it is a mapping value
// (libyaml's mapping_context, which makes block sequences indentless).
func (e *yamlEmitter) node(v any, mapping bool) {
	switch v := v.(type) {
	case nil:
		e.scalar("null", true, false)
	case string:
		v = strings.ToValidUTF8(v, "\uFFFD")
		e.scalar(v, resolvesAsStr(v), false)
	case bool:
		e.scalar(strconv.FormatBool(v), true, false)
	case int:
		e.scalar(strconv.Itoa(v), true, false)
	case int64:
		e.scalar(strconv.FormatInt(v, 10), true, false)
	case float64:
		e.scalar(pyYAMLFloat(v), true, false)
	case map[string]any:
		vals := make(map[string]any, len(v))
		for k, x := range v {
			vals[strings.ToValidUTF8(k, "\uFFFD")] = x
		}
		e.mapping(vals)
	case map[string]string:
		vals := make(map[string]any, len(v))
		for k, x := range v {
			vals[strings.ToValidUTF8(k, "\uFFFD")] = x
		}
		e.mapping(vals)
	case []any:
		e.sequence(len(v), func(i int) any { return v[i] }, mapping)
	case []string:
		e.sequence(len(v), func(i int) any { return v[i] }, mapping)
	default:
		panic(fmt.Sprintf("layout: encodeYAML: unsupported value type %T", v))
	}
}

// mapping mirrors yaml_emitter_emit_block_mapping_key/_value. Keys sort by
// code point (Python's sorted), which is byte order for valid UTF-8.
func (e *yamlEmitter) mapping(m map[string]any) {
	if len(m) == 0 { // yaml_emitter_check_empty_mapping: flow style
		e.writeIndicator("{}", true, false, false)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.pushIndent(false, false)
	for _, k := range keys {
		e.writeIndent()
		a := analyzeYAMLScalar(k)
		if !a.multiline && len(k) <= yamlMaxSimpleKey { // yaml_emitter_check_simple_key
			e.scalarAnalyzed(k, a, resolvesAsStr(k), true)
			e.writeIndicator(":", false, false, false)
		} else {
			e.writeIndicator("?", true, false, true)
			e.scalarAnalyzed(k, a, resolvesAsStr(k), false)
			e.writeIndent()
			e.writeIndicator(":", true, false, true)
		}
		e.node(m[k], true)
	}
	e.popIndent()
}

// sequence mirrors yaml_emitter_emit_block_sequence_item.
func (e *yamlEmitter) sequence(n int, item func(int) any, mapping bool) {
	if n == 0 {
		e.writeIndicator("[]", true, false, false)
		return
	}
	e.pushIndent(false, mapping && !e.indention)
	for i := range n {
		e.writeIndent()
		e.writeIndicator("-", true, false, true)
		e.node(item(i), false)
	}
	e.popIndent()
}

// yamlScalarInfo is the result of yaml_emitter_analyze_scalar.
type yamlScalarInfo struct {
	multiline, blockPlain, singleQuoted bool
}

// yamlIsBreak is libyaml's IS_BREAK.
func yamlIsBreak(r rune) bool {
	return r == '\r' || r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029
}

// yamlIsBlankz is libyaml's IS_BLANKZ; -1 stands for the NUL after the end.
func yamlIsBlankz(r rune) bool { return r == ' ' || r == '\t' || r == 0 || r == -1 || yamlIsBreak(r) }

// yamlIsPrintable is libyaml's IS_PRINTABLE. Unlike pure-Python PyYAML it
// excludes U+0085 and everything beyond the BMP, which is why emoji end up
// as \U escapes in MLflow's files.
func yamlIsPrintable(r rune) bool {
	switch {
	case r == '\n' || (r >= 0x20 && r <= 0x7E):
		return true
	case r >= 0xA0 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return r != 0xFEFF
	}
	return false
}

// analyzeYAMLScalar mirrors yaml_emitter_analyze_scalar (block context only:
// flow_plain_allowed and block_allowed are never consulted by us).
func analyzeYAMLScalar(s string) yamlScalarInfo {
	if s == "" {
		return yamlScalarInfo{blockPlain: true, singleQuoted: true}
	}
	rs := []rune(s)
	at := func(i int) rune {
		if i < len(rs) {
			return rs[i]
		}
		return -1
	}
	var indicators, lineBreaks, special, spaceEdge, breakSpace, spaceBreak bool
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		indicators = true
	}
	precededByWS := true
	var prevSpace, prevBreak bool
	for i, r := range rs {
		followedByWS := yamlIsBlankz(at(i + 1))
		if i == 0 {
			switch {
			case strings.ContainsRune("#,[]{}&*!|>'\"%@`", r):
				indicators = true
			case (r == '?' || r == ':' || r == '-') && followedByWS:
				indicators = true
			}
		} else if (r == ':' && followedByWS) || (r == '#' && precededByWS) {
			indicators = true
		}
		if !yamlIsPrintable(r) {
			special = true
		}
		switch {
		case r == ' ':
			if i == 0 || i == len(rs)-1 {
				spaceEdge = true
			}
			breakSpace = breakSpace || prevBreak
			prevSpace, prevBreak = true, false
		case yamlIsBreak(r):
			lineBreaks = true
			if i == 0 || i == len(rs)-1 {
				spaceEdge = true
			}
			spaceBreak = spaceBreak || prevSpace
			prevSpace, prevBreak = false, true
		default:
			prevSpace, prevBreak = false, false
		}
		precededByWS = yamlIsBlankz(r)
	}
	return yamlScalarInfo{
		multiline:    lineBreaks,
		blockPlain:   !(spaceEdge || breakSpace || spaceBreak || special || lineBreaks || indicators),
		singleQuoted: !(breakSpace || spaceBreak || special),
	}
}

func (e *yamlEmitter) scalar(s string, plainImplicit, simpleKey bool) {
	e.scalarAnalyzed(s, analyzeYAMLScalar(s), plainImplicit, simpleKey)
}

// scalarAnalyzed mirrors yaml_emitter_select_scalar_style followed by
// yaml_emitter_emit_scalar. Simple keys never fold (allow_breaks is off);
// libyaml's "multiline simple key -> double quotes" rule cannot fire,
// since multiline keys are always written in "? key" form.
func (e *yamlEmitter) scalarAnalyzed(s string, a yamlScalarInfo, plainImplicit, simpleKey bool) {
	e.pushIndent(true, false)
	switch {
	case a.blockPlain && plainImplicit && !(s == "" && simpleKey):
		e.writePlain(s, !simpleKey)
	case a.singleQuoted:
		e.writeSingleQuoted(s, !simpleKey)
	default:
		e.writeDoubleQuoted(s, !simpleKey)
	}
	e.popIndent()
}

// writeRune is libyaml's WRITE: one character, one column.
func (e *yamlEmitter) writeRune(r rune) {
	e.buf = utf8.AppendRune(e.buf, r)
	e.column++
}

// yaml_emitter_write_plain_scalar (never sees line breaks: they rule out
// plain style).
func (e *yamlEmitter) writePlain(s string, allowBreaks bool) {
	if !e.whitespace {
		e.put(' ')
	}
	rs := []rune(s)
	spaces := false
	for i, r := range rs {
		if r == ' ' {
			if allowBreaks && !spaces && e.column > yamlBestWidth && (i+1 >= len(rs) || rs[i+1] != ' ') {
				e.writeIndent()
			} else {
				e.writeRune(r)
			}
			spaces = true
			continue
		}
		e.writeRune(r)
		e.indention, spaces = false, false
	}
	e.whitespace, e.indention = false, false
}

// yaml_emitter_write_single_quoted_scalar: a line break is written as an
// extra blank line so that folding on read restores it.
func (e *yamlEmitter) writeSingleQuoted(s string, allowBreaks bool) {
	e.writeIndicator("'", true, false, false)
	rs := []rune(s)
	spaces, breaks := false, false
	for i, r := range rs {
		switch {
		case r == ' ':
			if allowBreaks && !spaces && e.column > yamlBestWidth && i != 0 && i != len(rs)-1 && rs[i+1] != ' ' {
				e.writeIndent()
			} else {
				e.writeRune(r)
			}
			spaces = true
		case yamlIsBreak(r):
			if !breaks && r == '\n' {
				e.putBreak()
			}
			if r == '\n' {
				e.putBreak()
			} else {
				e.buf = utf8.AppendRune(e.buf, r)
				e.column = 0
			}
			e.indention, breaks = true, true
		default:
			if breaks {
				e.writeIndent()
			}
			if r == '\'' {
				e.put('\'')
			}
			e.writeRune(r)
			e.indention, spaces, breaks = false, false, false
		}
	}
	if breaks {
		e.writeIndent()
	}
	e.writeIndicator("'", false, false, false)
	e.whitespace, e.indention = false, false
}

// yamlEscapes are libyaml's short escapes.
var yamlEscapes = map[rune]byte{
	0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0A: 'n', 0x0B: 'v', 0x0C: 'f',
	0x0D: 'r', 0x1B: 'e', '"': '"', '\\': '\\', 0x85: 'N', 0xA0: '_',
	0x2028: 'L', 0x2029: 'P',
}

// yaml_emitter_write_double_quoted_scalar: folds only at spaces, escaping
// a following space with "\" so it survives the fold.
func (e *yamlEmitter) writeDoubleQuoted(s string, allowBreaks bool) {
	e.writeIndicator(`"`, true, false, false)
	rs := []rune(s)
	spaces := false
	for i, r := range rs {
		switch {
		case !yamlIsPrintable(r) || yamlIsBreak(r) || r == '"' || r == '\\':
			e.put('\\')
			if c, ok := yamlEscapes[r]; ok {
				e.put(c)
			} else {
				var esc string
				switch {
				case r <= 0xFF:
					esc = fmt.Sprintf("x%02X", r)
				case r <= 0xFFFF:
					esc = fmt.Sprintf("u%04X", r)
				default:
					esc = fmt.Sprintf("U%08X", r)
				}
				e.buf = append(e.buf, esc...)
				e.column += len(esc)
			}
			spaces = false
		case r == ' ':
			if allowBreaks && !spaces && e.column > yamlBestWidth && i != 0 && i != len(rs)-1 {
				e.writeIndent()
				if rs[i+1] == ' ' {
					e.put('\\')
				}
			} else {
				e.writeRune(r)
			}
			spaces = true
		default:
			e.writeRune(r)
			spaces = false
		}
	}
	e.writeIndicator(`"`, false, false, false)
	e.whitespace, e.indention = false, false
}

// pyYAMLFloat is SafeRepresenter.represent_float: Python's repr, lower
// case, with ".0" inserted before an exponent that has no dot.
func pyYAMLFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	s := pynum.FormatFloat(f)
	if i := strings.IndexByte(s, 'e'); i >= 0 && !strings.Contains(s[:i], ".") {
		s = s[:i] + ".0" + s[i:]
	}
	return s
}
