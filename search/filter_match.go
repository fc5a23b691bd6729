package search

import (
	"regexp"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
)

// likeRegexp translates a LIKE pattern as MLflow's
// _convert_like_pattern_to_regex does, for use with re.match: anchored at
// the start always; at the end (Python's $, which also matches before a
// final newline) unless the pattern ends with %; % is .* and _ is . (never
// matching a newline).
func likeRegexp(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`\A`)
	if fold {
		b.WriteString(`(?i)`)
	}
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	if !strings.HasSuffix(pattern, "%") {
		b.WriteString(`(?:\n)?\z`)
	}
	return regexp.MustCompile(b.String())
}

// compareString applies a string comparator.
func (c *Clause) compareString(lhs string) bool {
	switch c.Op {
	case "=":
		return lhs == c.Str
	case "!=":
		return lhs != c.Str
	case "LIKE", "ILIKE":
		return c.re.MatchString(lhs)
	case "IN", "NOT IN":
		in := false
		for _, v := range c.List {
			if v == lhs {
				in = true
				break
			}
		}
		return in == (c.Op == "IN")
	}
	return false
}

// compare applies a numeric comparator. Go's float comparisons are IEEE
// 754, as Python's are: every ordering against NaN is false and != is true,
// so one body serves metrics (float64) and integer-valued fields (int64,
// compared without a lossy float conversion).
func compare[T int64 | float64](op string, a, b T) bool {
	switch op {
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "=":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	}
	return false
}

func (c *Clause) compareNumber(lhs int64) bool {
	if c.IsInt {
		return compare(c.Op, lhs, c.Int)
	}
	return compare(c.Op, float64(lhs), c.Num)
}

// MatchRun reports whether a run satisfies every clause. The run needs the
// data the filter names (Keys): the latest value of each named metric, the
// named params and tags, its dataset inputs when a dataset clause is
// present, and Info.RunName resolved from the mlflow.runName tag when meta
// lacks it.
func (f *Filter) MatchRun(r *entities.Run) bool {
	if f == nil {
		return true
	}
	for i := range f.Clauses {
		if !f.Clauses[i].matchRun(r) {
			return false
		}
	}
	return true
}

func (c *Clause) matchRun(r *entities.Run) bool {
	switch c.Entity {
	case EntityMetric:
		m, ok := r.Data.Metrics[c.Key]
		return ok && compare(c.Op, m.Value, c.Num)
	case EntityParam, EntityTag:
		src := r.Data.Params
		if c.Entity == EntityTag {
			src = r.Data.Tags
		}
		v, ok := src[c.Key]
		switch c.Op {
		case "IS NULL":
			return !ok
		case "IS NOT NULL":
			return ok
		}
		return ok && c.compareString(v)
	case EntityDataset:
		for _, in := range r.Inputs.DatasetInputs {
			if c.Key == "context" {
				for _, t := range in.Tags {
					if t.Key == entities.TagDatasetContext && c.compareString(t.Value) {
						return true
					}
				}
				continue
			}
			v := in.Dataset.Name
			if c.Key == "digest" {
				v = in.Dataset.Digest
			}
			if c.compareString(v) {
				return true
			}
		}
		return false
	}
	switch Attr(c.Key) {
	case "start_time":
		return c.compareNumber(r.Info.StartTime)
	case "end_time":
		return r.Info.EndTime != nil && c.compareNumber(*r.Info.EndTime)
	case "run_id":
		return c.compareString(r.Info.RunID)
	case "run_name":
		return c.compareString(r.Info.RunName)
	case "status":
		return c.compareString(r.Info.Status.String())
	case "user_id":
		return c.compareString(r.Info.UserID)
	case "artifact_uri":
		return c.compareString(r.Info.ArtifactURI)
	}
	return false
}

// MatchExperiment reports whether an experiment satisfies every clause.
func (f *Filter) MatchExperiment(e *entities.Experiment) bool {
	if f == nil {
		return true
	}
	for i := range f.Clauses {
		c := &f.Clauses[i]
		var ok bool
		switch {
		case c.Entity == EntityTag:
			v, has := e.Tags[c.Key]
			switch c.Op {
			case "IS NULL":
				ok = !has
			case "IS NOT NULL":
				ok = has
			default:
				ok = has && c.compareString(v)
			}
		case c.Key == "name":
			ok = c.compareString(e.Name)
		case c.Key == "experiment_id":
			ok = c.compareString(e.ExperimentID)
		default:
			t := e.CreationTime
			if c.Key == "last_update_time" {
				t = e.LastUpdateTime
			}
			// MLflow compares float(value); a missing time (pre-1.29
			// meta) would raise in Python and matches nothing here.
			ok = t != nil && compare(c.Op, float64(*t), c.Num)
		}
		if !ok {
			return false
		}
	}
	return true
}
