package search

import (
	"math"
	"sort"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
)

// runOrderAttrs are the run attributes order_by accepts (RunInfo's
// orderable attributes plus the created aliases; not "run name").
var runOrderAttrs = map[string]bool{"artifact_uri": true, "end_time": true, "run_id": true, "run_name": true,
	"start_time": true, "status": true, "user_id": true, "created": true, "Created": true}

// OrderBy is one parsed order_by clause.
type OrderBy struct {
	Entity    Entity
	Key       string // attribute aliases resolved
	Ascending bool
}

// String renders the clause so that it parses back to itself.
func (o OrderBy) String() string {
	dir := "ASC"
	if !o.Ascending {
		dir = "DESC"
	}
	if o.Entity == EntityAttribute {
		return "attribute." + shellQuote(o.Key) + " " + dir
	}
	return o.Entity.String() + "." + shellQuote(o.Key) + " " + dir
}

// shellQuote quotes a key for String unless it is a plain name. A key
// with a backtick cannot be written: MLflow turns every backtick of an
// order_by clause into a double quote before unquoting it.
func shellQuote(k string) string {
	plain := k != ""
	for i, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			plain = false
		}
	}
	if plain {
		return k
	}
	// After shlex the key must still be wrapped in double quotes, because
	// the parser then strips one pair of quotes from it: so shell-quote
	// "<k>", not <k> (a key `""` would otherwise come back empty).
	return "\"" + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace("\""+k+"\"") + "\""
}

// ParseRunOrderBy parses search_runs order_by clauses
// ("metrics.loss DESC", "attributes.start_time", "`params`.`lr` asc").
func ParseRunOrderBy(clauses []string) ([]OrderBy, error) {
	out := make([]OrderBy, 0, len(clauses))
	for _, s := range clauses {
		o, err := parseOrderBy(s, dialect{})
		if err != nil {
			return nil, err
		}
		if o.Entity == EntityDataset {
			return nil, errAt(s, 0, "Invalid order_by entity type 'dataset'")
		}
		out = append(out, o)
	}
	return out, nil
}

// ParseExperimentOrderBy parses search_experiments order_by clauses.
func ParseExperimentOrderBy(clauses []string) ([]OrderBy, error) {
	out := make([]OrderBy, 0, len(clauses))
	for _, s := range clauses {
		o, err := parseOrderBy(s, dialect{experiments: true})
		if err != nil {
			return nil, err
		}
		if o.Entity != EntityAttribute {
			return nil, errAt(s, 0, "Invalid order_by entity: %s", o.Entity)
		}
		out = append(out, o)
	}
	return out, nil
}

// parseOrderBy follows SearchUtils._parse_order_by_string: the clause
// must lex as one identifier and an optional ASC/DESC; the identifier is
// then unquoted shell-style (backticks as double quotes) before being split
// into entity and key.
func parseOrderBy(s string, d dialect) (OrderBy, error) {
	p := &parser{src: s, toks: lex(s), d: d}
	start := p.peek()
	raw, ok := p.ident()
	if !ok || strings.HasSuffix(raw, ".") {
		return OrderBy{}, errAt(s, start.pos, "Invalid order_by clause '%s'. Could not be parsed.", s)
	}
	asc := true
	if t := p.peek(); t.kind == tkOrder {
		asc = strings.EqualFold(t.text, "asc")
		p.i++
	}
	if t := p.peek(); t.kind != tkEOF {
		if t.kind == tkWord || t.kind == tkKeyword {
			return OrderBy{}, errAt(s, t.pos, "Invalid ordering key in order_by clause '%s'.", s)
		}
		return OrderBy{}, errAt(s, t.pos, "Invalid order_by clause '%s'. Could not be parsed.", s)
	}
	words, ok := shlexSplit(strings.ReplaceAll(raw, "`", `"`))
	if !ok || len(words) != 1 {
		return OrderBy{}, errAt(s, start.pos, "Invalid order_by clause '%s'. Could not be parsed.", s)
	}
	e, key, err := p.resolve(strings.TrimSpace(words[0]), start.pos, true)
	if err != nil {
		return OrderBy{}, err
	}
	if e == EntityAttribute {
		key = Attr(key)
	}
	return OrderBy{Entity: e, Key: key, Ascending: asc}, nil
}

// shlexSplit is Python's shlex.split in POSIX mode without comments.
func shlexSplit(s string) ([]string, bool) {
	var out []string
	var cur strings.Builder
	in := false
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote == '\'':
			if ch == '\'' {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case quote == '"':
			if ch == '"' {
				quote = 0
			} else if ch == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
				i++
				cur.WriteByte(s[i])
			} else {
				cur.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote, in = ch, true
		case ch == '\\':
			if i+1 == len(s) {
				return nil, false
			}
			i++
			cur.WriteByte(s[i])
			in = true
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if quote != 0 {
		return nil, false
	}
	if in {
		out = append(out, cur.String())
	}
	return out, true
}

// sortKey is a value as SearchUtils._get_value_for_sort sees it: a number
// or a string, or NaN, or None.
type sortKey struct {
	rank int // 0 a value, 1 NaN, 2 None
	num  float64
	i    int64
	str  string
	kind int // 0 float, 1 int, 2 string
}

func keyLess(a, b sortKey, asc bool) bool {
	// MLflow's keys put values first, then NaN, then None, in both
	// directions; only the values themselves are reversed for DESC.
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	if a.rank != 0 {
		return false
	}
	var lt, gt bool
	switch a.kind {
	case 1:
		lt, gt = a.i < b.i, a.i > b.i
	case 2:
		lt, gt = a.str < b.str, a.str > b.str
	default:
		lt, gt = a.num < b.num, a.num > b.num
	}
	if asc {
		return lt
	}
	return gt
}

func runSortKey(r *entities.Run, o OrderBy) sortKey {
	switch o.Entity {
	case EntityMetric:
		m, ok := r.Data.Metrics[o.Key]
		if !ok {
			return sortKey{rank: 2}
		}
		if math.IsNaN(m.Value) {
			return sortKey{rank: 1}
		}
		return sortKey{num: m.Value}
	case EntityParam, EntityTag:
		src := r.Data.Params
		if o.Entity == EntityTag {
			src = r.Data.Tags
		}
		v, ok := src[o.Key]
		if !ok {
			return sortKey{rank: 2}
		}
		return sortKey{str: v, kind: 2}
	}
	switch o.Key {
	case "start_time":
		return sortKey{i: r.Info.StartTime, kind: 1}
	case "end_time":
		if r.Info.EndTime == nil {
			return sortKey{rank: 2}
		}
		return sortKey{i: *r.Info.EndTime, kind: 1}
	case "run_id":
		return sortKey{str: r.Info.RunID, kind: 2}
	case "run_name":
		return sortKey{str: r.Info.RunName, kind: 2}
	case "status":
		return sortKey{str: r.Info.Status.String(), kind: 2}
	case "user_id":
		return sortKey{str: r.Info.UserID, kind: 2}
	case "artifact_uri":
		return sortKey{str: r.Info.ArtifactURI, kind: 2}
	}
	return sortKey{rank: 2}
}

// SortRuns orders runs as SearchUtils.sort: start_time DESC then run_id,
// then each clause as a stable sort from the last clause to the first.
// The runs need the metrics, params and tags the clauses name.
func SortRuns(runs []entities.Run, order []OrderBy) {
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := &runs[i].Info, &runs[j].Info
		if a.StartTime != b.StartTime {
			return a.StartTime > b.StartTime
		}
		return a.RunID < b.RunID
	})
	if len(order) == 0 {
		return
	}
	keys := make([]sortKey, len(runs))
	idx := make([]int, len(runs))
	for k := len(order) - 1; k >= 0; k-- {
		o := order[k]
		for i := range runs {
			keys[i] = runSortKey(&runs[i], o)
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return keyLess(keys[idx[i]], keys[idx[j]], o.Ascending) })
		permute(runs, idx)
	}
}

func permute(runs []entities.Run, idx []int) {
	tmp := make([]entities.Run, len(runs))
	for i, j := range idx {
		tmp[i] = runs[j]
	}
	copy(runs, tmp)
}

// Keys returns the distinct keys of the entity that the order_by clauses
// name.
func OrderKeys(order []OrderBy, e Entity) []string {
	var out []string
	seen := map[string]bool{}
	for _, o := range order {
		if o.Entity == e && !seen[o.Key] {
			seen[o.Key] = true
			out = append(out, o.Key)
		}
	}
	return out
}

// DefaultExperimentOrder is search_experiments' order when none is given.
var DefaultExperimentOrder = []OrderBy{{EntityAttribute, "creation_time", false}, {EntityAttribute, "experiment_id", true}}

func expSortKey(e *entities.Experiment, key string) sortKey {
	switch key {
	case "name":
		return sortKey{str: e.Name, kind: 2}
	case "experiment_id":
		return sortKey{str: e.ExperimentID, kind: 2}
	case "creation_time", "last_update_time":
		t := e.CreationTime
		if key == "last_update_time" {
			t = e.LastUpdateTime
		}
		if t == nil {
			return sortKey{rank: 2}
		}
		return sortKey{i: *t, kind: 1}
	}
	return sortKey{rank: 2}
}

// SortExperiments orders experiments as SearchExperimentsUtils.sort: one
// composite key, None last in either direction, experiment ids compared as
// strings, and experiment_id DESC appended as a tie-break when the clauses
// lack it. An empty order is DefaultExperimentOrder.
func SortExperiments(exps []entities.Experiment, order []OrderBy) {
	if len(order) == 0 {
		order = DefaultExperimentOrder
	}
	hasID := false
	for _, o := range order {
		hasID = hasID || o.Key == "experiment_id"
	}
	if !hasID {
		order = append(append([]OrderBy(nil), order...), OrderBy{EntityAttribute, "experiment_id", false})
	}
	sort.SliceStable(exps, func(i, j int) bool {
		for _, o := range order {
			a, b := expSortKey(&exps[i], o.Key), expSortKey(&exps[j], o.Key)
			if keyLess(a, b, o.Ascending) {
				return true
			}
			if keyLess(b, a, o.Ascending) {
				return false
			}
		}
		return false
	})
}
