package search

import (
	"math"
	"sort"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// search_logged_models (SearchLoggedModelsUtils in MLflow 3.18) parses its
// filter with the run grammar, but with its own attribute set and checks,
// and evaluates clauses its own way:
//
//   - attributes: name, model_id, model_type, status, source_run_id
//     (strings), creation_timestamp, last_updated_timestamp (integers);
//     creation_time and last_updated_time are accepted as their aliases
//     (Python accepts the keys, then fails on them with an AttributeError);
//   - a string attribute takes every comparator Python's comparison table
//     has: = != < <= > >= LIKE ILIKE IN NOT IN (Python never checks them);
//   - metrics.<key> compares the first value of the key's latest-per-dataset
//     values (only those on the datasets argument, when it is given);
//   - params and tags take = != LIKE ILIKE (no IS NULL, no IN);
//   - datasets.name compares the model's name (Python's hasattr(model,
//     key) fallback); other dataset keys are refused;
//   - a missing value (model_type, source_run_id, a metric, param or tag
//     the model lacks) matches nothing, != included.
//
// Python checks comparators when it evaluates a clause against a model;
// these are checked at parse time, so a search over no models refuses a
// bad filter too.

var (
	modelStringAttrs  = map[string]bool{"name": true, "model_id": true, "model_type": true, "status": true, "source_run_id": true}
	modelNumericAttrs = map[string]string{"creation_timestamp": "creation_timestamp", "creation_time": "creation_timestamp",
		"last_updated_timestamp": "last_updated_timestamp", "last_updated_time": "last_updated_timestamp"}
	modelStringOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true,
		"LIKE": true, "ILIKE": true, "IN": true, "NOT IN": true}
	modelKeyValOps = map[string]bool{"!=": true, "=": true, "LIKE": true, "ILIKE": true}
)

const modelAttrList = "{'name', 'model_id', 'model_type', 'status', 'source_run_id', 'creation_timestamp', 'creation_time', 'last_updated_timestamp', 'last_updated_time'}"

// LoggedModelFilter is a parsed search_logged_models filter: clauses that
// must all hold. Attribute clauses have their Key resolved to the
// attribute (creation_time is creation_timestamp).
type LoggedModelFilter struct {
	Clauses []Clause
}

// ParseLoggedModelFilter parses a search_logged_models filter. An empty
// (or all-blank) filter has no clauses.
func ParseLoggedModelFilter(s string) (*LoggedModelFilter, error) {
	p := &parser{src: s, toks: lex(s)}
	clauses, err := p.clauses(p.modelClause)
	if err != nil {
		return nil, err
	}
	return &LoggedModelFilter{Clauses: clauses}, nil
}

// modelClause reads one comparison: identifier, comparator, value.
func (p *parser) modelClause() (Clause, error) {
	c, err := p.clauseIdent()
	if err != nil {
		return c, err
	}
	if c.Entity, c.Key, err = p.resolveModelKey(c.rawIdent, c.Pos); err != nil {
		return c, err
	}
	opTok := p.next()
	var ok bool
	if c.Op, ok = p.comparator(opTok); !ok {
		if opTok.kind == tkKeyword {
			return c, p.invalidClause(opTok)
		}
		return c, p.noComparator(&c, opTok)
	}
	if c.Op == "IS NULL" || c.Op == "IS NOT NULL" {
		if c.Entity != EntityTag && c.Entity != EntityParam {
			return c, errAt(p.src, opTok.pos, "IS NULL / IS NOT NULL is only supported for tags and params, not for '%s' '%s'", c.Entity, c.Key)
		}
		return c, errAt(p.src, opTok.pos, "Invalid comparator '%s' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'", c.Op)
	}
	if err := p.valueFollows(&c, opTok); err != nil {
		return c, err
	}
	if err := p.modelValue(&c); err != nil {
		return c, err
	}
	return c, checkModelClause(p.src, &c, opTok.pos)
}

// resolveModelKey splits an identifier into entity and key as
// SearchUtils._get_identifier does with the logged-model attributes.
func (p *parser) resolveModelKey(raw string, pos int) (Entity, string, error) {
	e, key, err := p.entityKey(raw, pos) // the run dialect's entities
	if err != nil {
		return 0, "", err
	}
	switch e {
	case EntityAttribute:
		if alias, ok := modelNumericAttrs[key]; ok {
			return e, alias, nil
		}
		if !modelStringAttrs[key] {
			return 0, "", errAt(p.src, pos, "Invalid attribute key '%s' specified. Valid keys are '%s'", key, modelAttrList)
		}
	case EntityDataset:
		if !datasetKeys[key] {
			return 0, "", errAt(p.src, pos, "Invalid dataset key '%s' specified. Valid keys are '{'name', 'digest', 'context'}'", key)
		}
		if key != "name" {
			// the key passes the grammar; Python then finds no such
			// attribute on a LoggedModel
			return 0, "", errAt(p.src, pos, "Invalid logged model search key '%s'", key)
		}
	}
	return e, key, nil
}

func modelNumericKey(c *Clause) bool {
	return c.Entity == EntityMetric || c.Entity == EntityAttribute && (c.Key == "creation_timestamp" || c.Key == "last_updated_timestamp")
}

// modelValue reads the value token as SearchUtils._get_value does for
// SearchLoggedModelsUtils (every string attribute takes a list).
func (p *parser) modelValue(c *Clause) error {
	t := p.next()
	c.rawValue = t.text
	if modelNumericKey(c) {
		return p.numberValue(c, t)
	}
	if done, err := p.stringValue(c, t); done {
		return err
	}
	switch t.kind {
	case tkLParen:
		if c.Entity == EntityParam || c.Entity == EntityTag {
			return errAt(p.src, t.pos, "Expected a quoted string value for %s (e.g. 'my-value'). Got value (...)", c.Entity)
		}
		return p.list(c, t)
	case tkEOF:
		return errAt(p.src, t.pos, "Invalid comparison clause. Expected 3 tokens found 2")
	}
	switch c.Entity {
	case EntityParam, EntityTag:
		return errAt(p.src, t.pos, "Expected a quoted string value for %s (e.g. 'my-value'). Got value %s", c.Entity, t.text)
	case EntityDataset:
		return errAt(p.src, t.pos, "Expected a quoted string value for dataset attributes. Got value %s", t.text)
	}
	return errAt(p.src, t.pos, "Expected a quoted string value for attributes. Got value %s", t.text)
}

// checkModelClause applies the comparator rules of
// _does_logged_model_match_clause.
func checkModelClause(src string, c *Clause, pos int) error {
	var ok bool
	var set string
	switch {
	case modelNumericKey(c):
		ok, set = metricOps[c.Op], "{'>', '>=', '!=', '=', '<', '<='}"
	case c.Entity == EntityParam || c.Entity == EntityTag:
		ok, set = modelKeyValOps[c.Op], "{'!=', '=', 'LIKE', 'ILIKE'}"
	default: // string attributes and datasets.name
		ok, set = modelStringOps[c.Op], "{'=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}"
	}
	return checkOp(src, c, pos, ok, set)
}

// CheckLoggedModelDatasets refuses a datasets entry without a name, as
// search_logged_models does.
func CheckLoggedModelDatasets(datasets []entities.LoggedModelDatasetFilter) error {
	for _, d := range datasets {
		if d.DatasetName == "" {
			return errAt("", -1, "`dataset_name` in the `datasets` clause must be specified.")
		}
	}
	return nil
}

// DefaultLoggedModelsMaxResults is search_logged_models' page size when
// none is given (SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT).
const DefaultLoggedModelsMaxResults = 100

// CheckLoggedModelsMaxResults applies search_logged_models' limit: zero is
// the default; there is no upper bound (FileStore has none). A negative
// count is refused: Python slices with it, which drops models from the
// end of the list instead of failing.
func CheckLoggedModelsMaxResults(n int) (int, error) {
	return checkMaxResults(n, DefaultLoggedModelsMaxResults, 0,
		"Invalid value for request parameter max_results. It must be a positive integer, but got value %[1]d", "")
}

func onDataset(m *entities.Metric, d entities.LoggedModelDatasetFilter) bool {
	return m.DatasetName == d.DatasetName && (d.DatasetDigest == "" || d.DatasetDigest == m.DatasetDigest)
}

func onAnyDataset(m *entities.Metric, datasets []entities.LoggedModelDatasetFilter) bool {
	for _, d := range datasets {
		if onDataset(m, d) {
			return true
		}
	}
	return false
}

// Match reports whether a model passes the filter and the datasets, as
// SearchLoggedModelsUtils.filter_logged_models: with datasets and no
// metric clause, the model must have a metric on one of them. The model
// needs its metrics, params and tags (GetLoggedModel's shape). A nil
// filter has no clauses.
func (f *LoggedModelFilter) Match(m *entities.LoggedModel, datasets []entities.LoggedModelDatasetFilter) bool {
	var clauses []Clause
	if f != nil {
		clauses = f.Clauses
	}
	if len(datasets) > 0 && !hasMetricClause(clauses) {
		any := false
		for i := range m.Metrics {
			if onAnyDataset(&m.Metrics[i], datasets) {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	for i := range clauses {
		if !clauses[i].matchModel(m, datasets) {
			return false
		}
	}
	return true
}

func hasMetricClause(clauses []Clause) bool {
	for _, c := range clauses {
		if c.Entity == EntityMetric {
			return true
		}
	}
	return false
}

func (c *Clause) matchModel(m *entities.LoggedModel, datasets []entities.LoggedModelDatasetFilter) bool {
	switch c.Entity {
	case EntityMetric:
		for i := range m.Metrics {
			mt := &m.Metrics[i]
			if mt.Key == c.Key && (len(datasets) == 0 || onAnyDataset(mt, datasets)) {
				return compare(c.Op, mt.Value, c.Num) // the first match only
			}
		}
		return false
	case EntityParam, EntityTag:
		src := m.Params
		if c.Entity == EntityTag {
			src = m.Tags
		}
		v, ok := src[c.Key]
		return ok && c.compareString(v)
	case EntityDataset: // datasets.name: the model's name
		return c.compareModelString(m.Name)
	}
	switch c.Key {
	case "creation_timestamp":
		return c.compareNumber(m.CreationTimestamp)
	case "last_updated_timestamp":
		return c.compareNumber(m.LastUpdatedTimestamp)
	}
	v, ok := modelStringAttr(m, c.Key)
	return ok && c.compareModelString(v)
}

// compareModelString is compareString plus the orderings Python applies
// to strings (code point order, which is UTF-8 byte order).
func (c *Clause) compareModelString(lhs string) bool {
	switch c.Op {
	case "<":
		return lhs < c.Str
	case "<=":
		return lhs <= c.Str
	case ">":
		return lhs > c.Str
	case ">=":
		return lhs >= c.Str
	}
	return c.compareString(lhs)
}

// modelStringAttr returns a string attribute of a model; ok is false for
// a missing (None) one.
func modelStringAttr(m *entities.LoggedModel, key string) (string, bool) {
	switch key {
	case "name":
		return m.Name, true
	case "model_id":
		return m.ModelID, true
	case "status":
		return m.Status.String(), true
	case "model_type":
		if m.ModelType != nil {
			return *m.ModelType, true
		}
	case "source_run_id":
		if m.SourceRunID != nil {
			return *m.SourceRunID, true
		}
	}
	return "", false
}

// LoggedModelOrder is one parsed search_logged_models order_by entry:
// an attribute (Entity EntityAttribute, Key resolved from its alias) or a
// metric (EntityMetric) with the dataset its values must be on.
type LoggedModelOrder struct {
	Entity        Entity
	Key           string
	Ascending     bool
	DatasetName   string
	DatasetDigest string
}

var modelOrderAttrs = map[string]string{"name": "name", "model_id": "model_id", "model_type": "model_type",
	"status": "status", "source_run_id": "source_run_id",
	"creation_timestamp": "creation_timestamp", "creation_time": "creation_timestamp",
	"last_updated_timestamp": "last_updated_timestamp", "last_updated_time": "last_updated_timestamp"}

// ParseLoggedModelOrderBy checks order_by entries as
// parse_order_by_for_logged_models does: a field with a period must be
// metrics.<key>; any other field, trimmed, must be a logged-model
// attribute; a dataset digest needs a dataset name. creation_time is
// creation_timestamp, and last_updated_time last_updated_timestamp (which
// Python accepts and then fails on).
func ParseLoggedModelOrderBy(order []entities.LoggedModelOrderBy) ([]LoggedModelOrder, error) {
	out := make([]LoggedModelOrder, 0, len(order))
	for _, o := range order {
		if o.FieldName == "" {
			return nil, errAt("", -1, "`field_name` in the `order_by` clause must be specified.")
		}
		lo := LoggedModelOrder{Ascending: !o.Descending, DatasetName: o.DatasetName, DatasetDigest: o.DatasetDigest}
		if entity, key, dotted := strings.Cut(o.FieldName, "."); dotted {
			if entity != "metrics" {
				return nil, errAt(o.FieldName, -1, "Invalid order by field name: %s, only `metrics.<name>` is allowed.", entity)
			}
			lo.Entity, lo.Key = EntityMetric, key
		} else {
			attr, ok := modelOrderAttrs[strings.TrimFunc(o.FieldName, pynum.IsSpace)]
			if !ok {
				return nil, errAt(o.FieldName, -1, "Invalid order by field name: %s.", strings.TrimFunc(o.FieldName, pynum.IsSpace))
			}
			lo.Entity, lo.Key = EntityAttribute, attr
		}
		if o.DatasetDigest != "" && o.DatasetName == "" {
			return nil, errAt("", -1, "`dataset_digest` can only be specified if `dataset_name` is also specified.")
		}
		out = append(out, lo)
	}
	return out, nil
}

// modelSortKey is one model's value for one order_by entry.
func modelSortKey(m *entities.LoggedModel, o LoggedModelOrder) sortKey {
	if o.Entity == EntityMetric {
		// the value with the latest timestamp (the first of equals) among
		// the key's values on the dataset
		var best *entities.Metric
		for i := range m.Metrics {
			mt := &m.Metrics[i]
			if mt.Key != o.Key || o.DatasetName != "" && mt.DatasetName != o.DatasetName ||
				o.DatasetDigest != "" && mt.DatasetDigest != o.DatasetDigest {
				continue
			}
			if best == nil || mt.Timestamp > best.Timestamp {
				best = mt
			}
		}
		switch {
		case best == nil:
			return sortKey{rank: 2}
		case math.IsNaN(best.Value):
			return sortKey{rank: 1}
		}
		return sortKey{num: best.Value}
	}
	switch o.Key {
	case "creation_timestamp":
		return sortKey{i: m.CreationTimestamp, kind: 1}
	case "last_updated_timestamp":
		return sortKey{i: m.LastUpdatedTimestamp, kind: 1}
	}
	if v, ok := modelStringAttr(m, o.Key); ok {
		return sortKey{str: v, kind: 2}
	}
	return sortKey{rank: 2}
}

// SortLoggedModels orders models as SearchLoggedModelsUtils.sort: the
// entries in turn, then creation_timestamp DESC and model_id ASC as tie
// breaks unless the entries name them. A missing value (a metric the model
// lacks, a None model_type or source_run_id) sorts last in either
// direction, as Python's metric comparator puts None; a NaN metric sorts
// after the numbers and before the missing. (Python's tuple comparison
// finds no order between NaN and a number, and raises on None against a
// string attribute.) The models need their metrics.
func SortLoggedModels(models []entities.LoggedModel, order []LoggedModelOrder) {
	hasCreated, hasID := false, false
	for _, o := range order {
		hasCreated = hasCreated || o.Entity == EntityAttribute && o.Key == "creation_timestamp"
		hasID = hasID || o.Entity == EntityAttribute && o.Key == "model_id"
	}
	order = append([]LoggedModelOrder(nil), order...)
	if !hasCreated {
		order = append(order, LoggedModelOrder{Entity: EntityAttribute, Key: "creation_timestamp"})
	}
	if !hasID {
		order = append(order, LoggedModelOrder{Entity: EntityAttribute, Key: "model_id", Ascending: true})
	}
	keys := make([][]sortKey, len(models))
	for i := range models {
		keys[i] = make([]sortKey, len(order))
		for j, o := range order {
			keys[i][j] = modelSortKey(&models[i], o)
		}
	}
	idx := make([]int, len(models))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := keys[idx[a]], keys[idx[b]]
		for j, o := range order {
			if keyLess(ka[j], kb[j], o.Ascending) {
				return true
			}
			if keyLess(kb[j], ka[j], o.Ascending) {
				return false
			}
		}
		return false
	})
	sorted := make([]entities.LoggedModel, len(models))
	for i, j := range idx {
		sorted[i] = models[j]
	}
	copy(models, sorted)
}
