package search

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies tokens the way sqlparse's lexer does, as far as
// MLflow's checks look at them.
type tokKind int

const (
	tkEOF      tokKind = iota
	tkWord             // a name (sqlparse Name): bare word
	tkBacktick         // `quoted name`
	tkDouble           // "double quoted" (sqlparse String.Symbol, grouped as an identifier)
	tkSingle           // 'single quoted' (String.Single)
	tkInt              // Number.Integer
	tkFloat            // Number.Float
	tkHex              // Number.Hexadecimal: a number MLflow does not accept
	tkKeyword          // AND OR NOT IS NULL IN, "NOT NULL"
	tkOrder            // ASC DESC
	tkOp               // comparison operator: a run of <>=~! or [NOT] LIKE/ILIKE/RLIKE
	tkLParen
	tkRParen
	tkComma
	tkDot
	tkOther // anything else: punctuation, operators, comments
)

type token struct {
	kind tokKind
	text string // raw source text
	pos  int    // byte offset
	ws   bool   // preceded by whitespace
}

// The regexps follow sqlparse 0.5's SQL_REGEX, which MLflow 3.18 tokenizes
// filters with; Go's leftmost-first alternation gives the same matches as
// Python's re for these patterns.
var (
	reBacktick = regexp.MustCompile("^`(``|[^`])*`")
	reIn       = regexp.MustCompile(`^(?i)in\b`)
	reHex      = regexp.MustCompile(`^(?i)-?0x[0-9a-f]+`)
	reFloatExp = regexp.MustCompile(`^(?i)-?\d+(\.\d+)?e-?\d+`)
	reFloat    = regexp.MustCompile(`^-?(\d+(\.\d*)|\.\d+)`)
	reInt      = regexp.MustCompile(`^-?\d+`)
	reSingle   = regexp.MustCompile(`^'(''|\\'|[^'])*'`)
	reDouble   = regexp.MustCompile(`^"(""|\\"|[^"])*"`)
	reDouble2  = regexp.MustCompile(`^(""|"(?s:.)*?[^\\]")`)
	reNotNull  = regexp.MustCompile(`^(?i)not\s+null\b`)
	reLike     = regexp.MustCompile(`^(?i)(not\s+)?(like|ilike|rlike)\b`)
	reOrder    = regexp.MustCompile(`^(?i)(asc|desc)\b`)
	reCompare  = regexp.MustCompile(`^[<>=~!]+`)
)

var keywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IS": true, "NULL": true, "IN": true}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

// sqlLetter is sqlparse's [A-ZÀ-Ü] under re.IGNORECASE.
func sqlLetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0xC0 && r <= 0xDC || r >= 0xE0 && r <= 0xFC
}

func runeAt(s string, i int) rune {
	if i >= len(s) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// lex splits s into tokens, dropping whitespace.
func lex(s string) []token {
	var out []token
	ws := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			ws = true
			i += size
			continue
		}
		rest := s[i:]
		t := token{pos: i, ws: ws}
		ws = false
		m := ""
		switch {
		case r == '-' && strings.HasPrefix(rest, "--"), r == '#' && strings.HasPrefix(rest, "# "):
			// a comment runs to the end of the line; MLflow rejects it
			// as an invalid clause.
			m, t.kind = rest, tkOther
			if j := strings.IndexAny(rest, "\r\n"); j >= 0 {
				m = rest[:j]
			}
		case r == '`':
			if m = reBacktick.FindString(rest); m != "" {
				t.kind = tkBacktick
			} else {
				m, t.kind = "`", tkOther
			}
		case (r == 'i' || r == 'I') && reIn.MatchString(rest):
			m, t.kind = rest[:2], tkKeyword
		case r == '-' || r == '.' || r >= '0' && r <= '9':
			m, t.kind = lexNumber(rest)
		case r == '\'':
			if m = reSingle.FindString(rest); m != "" {
				t.kind = tkSingle
			} else {
				m, t.kind = "'", tkOther
			}
		case r == '"':
			if m = reDouble.FindString(rest); m == "" {
				m = reDouble2.FindString(rest)
			}
			if m != "" {
				t.kind = tkDouble
			} else {
				m, t.kind = `"`, tkOther
			}
		case r == '(':
			m, t.kind = "(", tkLParen
		case r == ')':
			m, t.kind = ")", tkRParen
		case r == ',':
			m, t.kind = ",", tkComma
		case strings.ContainsRune("<>=~!", r):
			m, t.kind = reCompare.FindString(rest), tkOp
		case isWordRune(r):
			m, t.kind = lexWord(s, i)
		default:
			m, t.kind = s[i:i+size], tkOther
		}
		t.text = m
		out = append(out, t)
		i += len(m)
	}
	return append(out, token{kind: tkEOF, pos: len(s), ws: ws})
}

func lexNumber(rest string) (string, tokKind) {
	if m := reHex.FindString(rest); m != "" {
		return m, tkHex
	}
	if m := reFloatExp.FindString(rest); m != "" {
		return m, tkFloat
	}
	notLetter := func(m string) bool {
		r := runeAt(rest, len(m))
		return r != '_' && !sqlLetter(r)
	}
	if m := reFloat.FindString(rest); m != "" && notLetter(m) {
		return m, tkFloat
	}
	if m := reInt.FindString(rest); m != "" && notLetter(m) {
		return m, tkInt
	}
	if rest[0] == '.' {
		return ".", tkDot
	}
	if rest[0] == '-' {
		return "-", tkOther
	}
	end := wordEnd(rest, 0)
	return rest[:end], tkWord
}

func wordEnd(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) && r != '$' && r != '#' {
			break
		}
		i += size
	}
	return i
}

// lexWord reads a word at s[i]: a name when a period or a parenthesis
// follows (sqlparse's "Name." and function rules), else [NOT] NULL, a
// LIKE-family operator, ASC/DESC, a keyword, or a plain name.
func lexWord(s string, i int) (string, tokKind) {
	rest := s[i:]
	end := wordEnd(rest, 0)
	w := rest[:end]
	if sqlLetter(runeAt(rest, 0)) {
		j := end
		for j < len(rest) && unicode.IsSpace(runeAt(rest, j)) {
			j++
		}
		if j < len(rest) && rest[j] == '.' && !(j+1 < len(rest) && rest[j+1] >= '0' && rest[j+1] <= '9') {
			return w, tkWord
		}
		if end < len(rest) && rest[end] == '(' {
			return w, tkWord
		}
	}
	if m := reNotNull.FindString(rest); m != "" {
		return m, tkKeyword
	}
	if m := reLike.FindString(rest); m != "" {
		return m, tkOp
	}
	if m := reOrder.FindString(rest); m != "" {
		return m, tkOrder
	}
	if keywords[strings.ToUpper(w)] {
		return w, tkKeyword
	}
	return w, tkWord
}

func (t token) isKeyword(word string) bool {
	return t.kind == tkKeyword && strings.EqualFold(t.text, word)
}
