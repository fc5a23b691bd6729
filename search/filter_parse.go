package search

import (
	"strconv"
	"strings"
)

// dialect is what differs between run and experiment filters.
type dialect struct {
	experiments bool
}

var (
	runStringAttrs  = map[string]bool{"run_id": true, "run_name": true, "status": true, "user_id": true, "artifact_uri": true, "run name": true, "Run name": true, "Run Name": true}
	runNumericAttrs = map[string]bool{"start_time": true, "end_time": true, "created": true, "Created": true}
	datasetKeys     = map[string]bool{"name": true, "digest": true, "context": true}
	expStringAttrs  = map[string]bool{"name": true, "experiment_id": true}
	expNumericAttrs = map[string]bool{"creation_time": true, "last_update_time": true}

	metricOps = map[string]bool{">": true, ">=": true, "!=": true, "=": true, "<": true, "<=": true}
	keyValOps = map[string]bool{"!=": true, "=": true, "LIKE": true, "ILIKE": true, "IS NULL": true, "IS NOT NULL": true}
	stringOps = map[string]bool{"!=": true, "=": true, "LIKE": true, "ILIKE": true, "IN": true, "NOT IN": true}
)

const runAttrList = "{'artifact_uri', 'created', 'Created', 'end_time', 'run_id', 'run_name', 'run name', 'Run name', 'Run Name', 'start_time', 'status', 'user_id'}"
const expAttrList = "{'name', 'experiment_id', 'creation_time', 'last_update_time'}"

// ParseRunFilter parses a search_runs filter. An empty (or all-blank)
// filter matches every run.
func ParseRunFilter(s string) (*Filter, error) { return parseFilter(s, dialect{}) }

// ParseExperimentFilter parses a search_experiments filter.
func ParseExperimentFilter(s string) (*Filter, error) {
	return parseFilter(s, dialect{experiments: true})
}

type parser struct {
	src  string
	toks []token
	i    int
	d    dialect
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func parseFilter(s string, d dialect) (*Filter, error) {
	p := &parser{src: s, toks: lex(s), d: d}
	clauses, err := p.clauses(p.clause)
	if err != nil {
		return nil, err
	}
	return &Filter{Clauses: clauses}, nil
}

// clauses reads the AND-ed clauses of a filter with read, the run,
// experiment or logged-model clause reader.
func (p *parser) clauses(read func() (Clause, error)) ([]Clause, error) {
	var out []Clause
	for t := p.peek(); t.kind != tkEOF; t = p.peek() {
		if t.isKeyword("AND") {
			p.i++
			continue
		}
		c, err := read()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *parser) invalidClause(t token) error {
	if t.kind == tkOther && t.text == ";" && strings.TrimSpace(p.src[t.pos+1:]) != "" {
		return errAt(p.src, t.pos, "Search filter contained multiple expression %q. Provide AND-ed expression list.", p.src)
	}
	if t.kind == tkLParen {
		return errAt(p.src, t.pos, "Invalid clause(s) in filter string: parenthesized expressions are not supported")
	}
	return errAt(p.src, t.pos, "Invalid clause(s) in filter string: '%s'", t.text)
}

// ident reads an identifier: a name, `name` or "name", then any number
// of .part (a name, a keyword, or a quoted part), with no space between.
func (p *parser) ident() (string, bool) {
	t := p.peek()
	switch t.kind {
	case tkWord, tkBacktick, tkDouble:
	default:
		return "", false
	}
	p.i++
	var b strings.Builder
	b.WriteString(t.text)
	for p.peek().kind == tkDot {
		dot := p.peek()
		nt := p.toks[p.i+1]
		if dot.ws || nt.ws {
			break
		}
		switch nt.kind {
		case tkWord, tkKeyword, tkOrder, tkBacktick, tkDouble, tkSingle:
		default:
			return b.String() + ".", true
		}
		p.i += 2
		b.WriteByte('.')
		b.WriteString(nt.text)
	}
	return b.String(), true
}

// clauseIdent reads the identifier a clause starts with.
func (p *parser) clauseIdent() (Clause, error) {
	start := p.peek()
	raw, ok := p.ident()
	if !ok {
		return Clause{}, p.invalidClause(start)
	}
	if strings.HasSuffix(raw, ".") {
		return Clause{}, errAt(p.src, start.pos, "Invalid comparison clause. Expected 'Identifier' found '%s'", raw)
	}
	return Clause{Pos: start.pos, rawIdent: raw}, nil
}

// comparator reads the comparator t starts (an IS reads the NULL or NOT
// NULL after it); ok is false when there is none.
func (p *parser) comparator(t token) (op string, ok bool) {
	switch {
	case t.kind == tkOp:
		return strings.ToUpper(strings.Join(strings.Fields(t.text), " ")), true
	case t.isKeyword("IN"):
		return "IN", true
	case t.isKeyword("NOT") && p.peek().isKeyword("IN"):
		p.i++
		return "NOT IN", true
	case t.isKeyword("IS"):
		switch nt := p.next(); {
		case nt.isKeyword("NULL"):
			return "IS NULL", true
		case nt.isKeyword("NOT NULL"):
			return "IS NOT NULL", true
		}
	}
	return "", false
}

// noComparator is the error for a clause whose identifier raw is followed
// by opTok, which starts no comparator.
func (p *parser) noComparator(c *Clause, opTok token) error {
	if opTok.kind == tkEOF {
		return errAt(p.src, c.Pos, "Invalid clause(s) in filter string: '%s'", c.rawIdent)
	}
	return errAt(p.src, opTok.pos, "Invalid comparison clause. Expected comparison found '%s'", opTok.text)
}

func (p *parser) clause() (Clause, error) {
	c, err := p.clauseIdent()
	if err != nil {
		return c, err
	}
	if c.Entity, c.Key, err = p.resolve(c.rawIdent, c.Pos, false); err != nil {
		return c, err
	}
	opTok := p.next()
	var ok bool
	if c.Op, ok = p.comparator(opTok); !ok {
		if opTok.isKeyword("IS") {
			return c, p.invalidClause(opTok)
		}
		return c, p.noComparator(&c, opTok)
	}
	if c.Op == "IS NULL" || c.Op == "IS NOT NULL" {
		if c.Entity != EntityTag && (p.d.experiments || c.Entity != EntityParam) {
			if p.d.experiments {
				return c, errAt(p.src, opTok.pos, "IS NULL / IS NOT NULL is only supported for tags, not for attribute '%s'", c.Key)
			}
			return c, errAt(p.src, opTok.pos, "IS NULL / IS NOT NULL is only supported for tags and params, not for '%s' '%s'", c.Entity, c.Key)
		}
		return c, nil
	}
	if err := p.valueFollows(&c, opTok); err != nil {
		return c, err
	}
	if err := p.value(&c); err != nil {
		return c, err
	}
	return c, p.check(&c, opTok.pos)
}

// valueFollows checks that a value follows the comparator opTok: a
// parenthesized list after IN and NOT IN, anything after the others.
func (p *parser) valueFollows(c *Clause, opTok token) error {
	if (c.Op == "IN" || c.Op == "NOT IN") && p.peek().kind != tkLParen {
		return p.invalidClause(opTok)
	}
	if p.peek().kind == tkEOF {
		// "metrics.x >": sqlparse makes no comparison of two tokens, and
		// MLflow lists them (quoted for runs, bare for experiments)
		if p.d.experiments {
			return errAt(p.src, opTok.pos, "Invalid clause(s) in filter string: %s, %s", c.rawIdent, opTok.text)
		}
		return errAt(p.src, opTok.pos, "Invalid clause(s) in filter string: '%s', '%s'", c.rawIdent, opTok.text)
	}
	return nil
}

// resolve splits an identifier at its first period into entity and key,
// as SearchUtils._get_identifier (and its experiments variant) does.
func (p *parser) resolve(raw string, pos int, orderBy bool) (Entity, string, error) {
	e, key, err := p.entityKey(raw, pos)
	if err != nil {
		return 0, "", err
	}
	if e == EntityAttribute {
		valid := false
		switch {
		case p.d.experiments:
			valid = expStringAttrs[key] || expNumericAttrs[key]
		case orderBy:
			valid = runOrderAttrs[key]
		default:
			valid = runStringAttrs[key] || runNumericAttrs[key]
		}
		if !valid {
			list := runAttrList
			if p.d.experiments {
				list = expAttrList
			}
			return 0, "", errAt(p.src, pos, "Invalid attribute key '%s' specified. Valid keys are '%s'", key, list)
		}
	}
	if e == EntityDataset && !datasetKeys[key] {
		return 0, "", errAt(p.src, pos, "Invalid dataset key '%s' specified. Valid keys are '{'name', 'digest', 'context'}'", key)
	}
	return e, key, nil
}

// entityKey splits an identifier at its first period into an entity of
// the dialect (no period: an attribute) and the key, unquoted.
func (p *parser) entityKey(raw string, pos int) (Entity, string, error) {
	entity, key, dotted := strings.Cut(raw, ".")
	if !dotted {
		entity, key = "attribute", raw
	}
	var e Entity
	if p.d.experiments {
		switch entity {
		case "attribute", "attributes":
			e = EntityAttribute
		case "tag", "tags":
			e = EntityTag
		default:
			return 0, "", errAt(p.src, pos, "Invalid entity type '%s'. Valid entity types are ('attribute', 'attributes', 'tag', 'tags')", entity)
		}
	} else {
		switch trimBackticks(entity) {
		case "metric", "metrics":
			e = EntityMetric
		case "parameter", "parameters", "param", "params":
			e = EntityParam
		case "tag", "tags":
			e = EntityTag
		case "attribute", "attributes", "attr", "run":
			e = EntityAttribute
		case "dataset", "datasets":
			e = EntityDataset
		default:
			return 0, "", errAt(p.src, pos, "Invalid entity type '%s'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']", trimBackticks(entity))
		}
	}
	return e, trimBackticks(stripQuotes(key)), nil
}

func isQuoted(s string, q byte) bool { return len(s) >= 2 && s[0] == q && s[len(s)-1] == q }

func trimBackticks(s string) string {
	if isQuoted(s, '`') {
		return s[1 : len(s)-1]
	}
	return s
}

func stripQuotes(s string) string {
	if isQuoted(s, '\'') || isQuoted(s, '"') {
		return s[1 : len(s)-1]
	}
	return s
}

func (p *parser) numericKey(c *Clause) bool {
	if c.Entity == EntityMetric {
		return true
	}
	if c.Entity != EntityAttribute {
		return false
	}
	if p.d.experiments {
		return expNumericAttrs[c.Key]
	}
	return runNumericAttrs[c.Key]
}

// value reads the value token as SearchUtils._get_value does.
func (p *parser) value(c *Clause) error {
	t := p.next()
	c.rawValue = t.text
	what := c.Entity.String()
	if p.numericKey(c) {
		return p.numberValue(c, t)
	}
	if done, err := p.stringValue(c, t); done {
		return err
	}
	switch t.kind {
	case tkLParen:
		if c.Entity == EntityAttribute {
			list := "['run_id']"
			if p.d.experiments {
				list = "['experiment_id']"
			}
			if (p.d.experiments && c.Key != "experiment_id") || (!p.d.experiments && c.Key != "run_id") {
				return errAt(p.src, t.pos, "Only %s attributes support comparison with a list of quoted string values.", list)
			}
		} else if c.Entity != EntityDataset {
			return errAt(p.src, t.pos, "Expected a quoted string value for %s (e.g. 'my-value'). Got value (...)", what)
		}
		return p.list(c, t)
	}
	if t.kind == tkEOF {
		return errAt(p.src, t.pos, "Invalid comparison clause. Expected 3 tokens found 2")
	}
	return errAt(p.src, t.pos, "Expected a quoted string value for %s. Got value %s", what, t.text)
}

// numberValue reads t as the value of a numeric key (a metric or a
// numeric attribute); an integer literal compares exactly with an
// attribute.
func (p *parser) numberValue(c *Clause, t token) error {
	if t.kind != tkInt && t.kind != tkFloat {
		if c.Entity == EntityMetric {
			return errAt(p.src, t.pos, "Expected numeric value type for metric. Found %s", t.text)
		}
		return errAt(p.src, t.pos, "Expected numeric value type for numeric attribute: %s. Found %s", c.Key, t.text)
	}
	v, err := strconv.ParseFloat(t.text, 64)
	if err != nil && !isRangeErr(err) {
		return errAt(p.src, t.pos, "Expected numeric value type for %s. Found %s", c.Entity, t.text)
	}
	c.Kind, c.Num = ValueNumber, v
	if t.kind == tkInt && c.Entity == EntityAttribute {
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			c.Int, c.IsInt = n, true
		}
	}
	return nil
}

// stringValue reads t as the value of a string key when it is a quoted
// string, and refuses a bare word; done is false for any other token,
// which the dialect reads.
func (p *parser) stringValue(c *Clause, t token) (done bool, err error) {
	switch t.kind {
	case tkSingle, tkDouble:
		c.Kind, c.Str = ValueString, t.text[1:len(t.text)-1]
		return true, nil
	case tkWord, tkBacktick:
		return true, errAt(p.src, t.pos, "Parameter value is either not quoted or unidentified quote types used for string value %s. Use either single or double quotes.", t.text)
	}
	return false, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// list reads a parenthesized list of quoted strings, which MLflow reads
// with ast.literal_eval: adjacent literals concatenate, a trailing comma is
// fine, anything but strings is refused.
func (p *parser) list(c *Clause, open token) error {
	depth := 1
	var items []string
	cur, have, needComma := "", false, false
	for depth > 0 {
		t := p.next()
		switch t.kind {
		case tkEOF:
			return errAt(p.src, open.pos, "Invalid clause(s) in filter string: unbalanced parenthesis")
		case tkRParen:
			depth--
		case tkSingle, tkDouble:
			if needComma && !have {
				return errAt(p.src, t.pos, "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")
			}
			s, ok := pyStringLiteral(t.text)
			if !ok {
				return errAt(p.src, t.pos, "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")
			}
			cur += s
			have = true
		case tkComma:
			if !have {
				return errAt(p.src, t.pos, "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")
			}
			items = append(items, cur)
			cur, have, needComma = "", false, false
		case tkInt, tkFloat:
			return errAt(p.src, t.pos, "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: %s", p.src[open.pos:])
		default:
			return errAt(p.src, t.pos, "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")
		}
	}
	if have {
		items = append(items, cur)
	}
	if len(items) == 0 {
		return errAt(p.src, open.pos, "While parsing a list in the query, expected a non-empty list of string values, but got empty list")
	}
	last := p.toks[p.i-1]
	c.rawValue = p.src[open.pos : last.pos+len(last.text)]
	c.Kind, c.List = ValueList, items
	return nil
}

// pyStringLiteral decodes a Python string literal with the common escapes.
func pyStringLiteral(lit string) (string, bool) {
	q := lit[0]
	body := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		ch := body[i]
		if ch == q {
			return "", false // '' inside: two literals, which the lexer never splits
		}
		if ch != '\\' || i+1 == len(body) {
			b.WriteByte(ch)
			continue
		}
		i++
		switch body[i] {
		case '\\', '\'', '"':
			b.WriteByte(body[i])
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\n':
		default:
			b.WriteByte('\\')
			b.WriteByte(body[i])
		}
	}
	return b.String(), true
}

// check applies the comparator rules MLflow applies when it evaluates a
// clause (is_metric, is_param, ...), at parse time.
func (p *parser) check(c *Clause, pos int) error {
	var ok bool
	var set string
	switch {
	case p.numericKey(c):
		ok, set = metricOps[c.Op], "{'>', '>=', '!=', '=', '<', '<='}"
	case c.Entity == EntityParam || c.Entity == EntityTag:
		ok, set = keyValOps[c.Op], "{'!=', '=', 'LIKE', 'ILIKE', 'IS NULL', 'IS NOT NULL'}"
	default: // string attributes and datasets
		ok, set = stringOps[c.Op], "{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}"
	}
	return checkOp(p.src, c, pos, ok, set)
}

// checkOp refuses a comparator the key does not take (ok false; set lists
// those it takes) or the value does not fit, and compiles a LIKE or ILIKE
// pattern.
func checkOp(src string, c *Clause, pos int, ok bool, set string) error {
	if !ok {
		return errAt(src, pos, "Invalid comparator '%s' not one of '%s'", c.Op, set)
	}
	if c.Kind == ValueList && c.Op != "IN" && c.Op != "NOT IN" {
		return errAt(src, pos, "A list of values needs IN or NOT IN, not '%s'", c.Op)
	}
	if c.Kind == ValueString && (c.Op == "IN" || c.Op == "NOT IN") {
		return errAt(src, pos, "IN and NOT IN need a parenthesized list of quoted strings")
	}
	if c.Op == "LIKE" || c.Op == "ILIKE" {
		c.re = likeRegexp(c.Str, c.Op == "ILIKE")
	}
	return nil
}
