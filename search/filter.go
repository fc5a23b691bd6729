package search

import (
	"regexp"
	"strings"
)

// Entity is the kind of thing a clause or an order_by names.
type Entity int

const (
	EntityAttribute Entity = iota
	EntityMetric
	EntityParam
	EntityTag
	EntityDataset
)

// String returns MLflow's canonical entity name.
func (e Entity) String() string {
	switch e {
	case EntityMetric:
		return "metric"
	case EntityParam:
		return "parameter"
	case EntityTag:
		return "tag"
	case EntityDataset:
		return "dataset"
	}
	return "attribute"
}

// ValueKind says which field of a Clause holds its value.
type ValueKind int

const (
	ValueNone   ValueKind = iota // IS NULL, IS NOT NULL
	ValueNumber                  // Num (and Int when IsInt)
	ValueString                  // Str
	ValueList                    // List (IN, NOT IN)
)

// Clause is one comparison of a filter.
type Clause struct {
	Entity Entity
	// Key is the key as written, unquoted. Attribute aliases (created,
	// "run name") are kept; Attr gives the attribute they stand for.
	Key  string
	Op   string // upper-cased comparator: = != < <= > >= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL
	Kind ValueKind
	Str  string
	Num  float64
	Int  int64
	// IsInt marks an integer literal: numeric attributes compare it
	// exactly, as Python compares int with int.
	IsInt bool
	List  []string
	Pos   int // byte offset of the clause in the filter

	rawIdent, rawValue string
	re                 *regexp.Regexp // LIKE and ILIKE
}

// Attr returns the attribute a clause or order_by key names, with MLflow's
// aliases resolved: created and Created are start_time, "run name" (any of
// MLflow's three spellings) is run_name.
func Attr(key string) string {
	switch key {
	case "created", "Created":
		return "start_time"
	case "run name", "Run name", "Run Name":
		return "run_name"
	}
	return key
}

// Filter is a parsed run or experiment filter: clauses that must all hold.
type Filter struct {
	Clauses []Clause
}

// String renders the filter in a canonical form that parses back to the
// same clauses.
func (f *Filter) String() string {
	var b strings.Builder
	for i, c := range f.Clauses {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(c.rawIdent)
		b.WriteByte(' ')
		b.WriteString(c.Op)
		if c.Kind != ValueNone {
			b.WriteByte(' ')
			b.WriteString(c.rawValue)
		}
	}
	return b.String()
}

// Keys returns the distinct keys of the given entity that the filter
// names (for metrics, params and tags: the files a search must read).
func (f *Filter) Keys(e Entity) []string {
	if f == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range f.Clauses {
		k := c.Key
		if e == EntityAttribute {
			k = Attr(k)
		}
		if c.Entity == e && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
