package fuzz_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/search"
)

// FuzzSearchFilter: the filter parsers never panic, refuse only with
// ErrInvalidParameter, and what they accept renders (String) to a filter
// that parses back to the same clauses and matches the same runs.
func FuzzSearchFilter(f *testing.F) {
	for _, s := range []string{
		"metrics.loss > 1", "metrics.`a b` <= -1.5e3 AND params.p LIKE 'x%'", `tags."a.b" != "x"`,
		"attributes.run_id IN ('a', \"b\",)", "run_id NOT IN ('a' 'b')", "datasets.context ILIKE '%t_'",
		"created >= 5 and params.p IS NULL", "tags.t is not null", "metrics.a > 1 OR x", "(metrics.a > 1)",
		"params.p = 'it''s'", "metrics.a > 1; metrics.b > 2", "name = 'x' AND tags.k IS NOT NULL",
		"attribute.experiment_id IN ('1')", "creation_time > 5.5", "`metrics`.a = .5",
	} {
		f.Add(s)
	}
	run := entities.Run{Info: entities.RunInfo{RunID: "abc", RunName: "x", StartTime: 5, Status: entities.StatusFinished},
		Data: entities.RunData{
			Metrics: map[string]entities.Metric{"loss": {Value: 1}, "a b": {Value: math.NaN()}},
			Params:  map[string]string{"p": "x%"}, Tags: map[string]string{"t": "v", "a.b": "x"}},
		Inputs: entities.RunInputs{DatasetInputs: []entities.DatasetInput{{Dataset: entities.Dataset{Name: "n", Digest: "d"},
			Tags: []entities.InputTag{{Key: entities.TagDatasetContext, Value: "train"}}}}}}
	ct := int64(7)
	exp := entities.Experiment{ExperimentID: "1", Name: "x", CreationTime: &ct, Tags: map[string]string{"k": "v"}}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (*search.Filter, error){search.ParseRunFilter, search.ParseExperimentFilter} {
			flt, err := parse(s)
			if err != nil {
				if !errors.Is(err, errs.ErrInvalidParameter) {
					t.Fatalf("%q: error %v is not ErrInvalidParameter", s, err)
				}
				continue
			}
			again, err := parse(flt.String())
			if err != nil {
				t.Fatalf("%q renders as %q, which does not parse: %v", s, flt.String(), err)
			}
			if again.String() != flt.String() || len(again.Clauses) != len(flt.Clauses) {
				t.Fatalf("%q: %q re-renders as %q", s, flt.String(), again.String())
			}
			for i, c := range flt.Clauses {
				d := again.Clauses[i]
				if c.Entity != d.Entity || c.Key != d.Key || c.Op != d.Op || c.Str != d.Str ||
					math.Float64bits(c.Num) != math.Float64bits(d.Num) || len(c.List) != len(d.List) {
					t.Fatalf("%q: clause %d changed: %+v vs %+v", s, i, c, d)
				}
			}
			if flt.MatchRun(&run) != again.MatchRun(&run) || flt.MatchExperiment(&exp) != again.MatchExperiment(&exp) {
				t.Fatalf("%q: re-rendered filter matches differently", s)
			}
		}
		order, err := search.ParseRunOrderBy([]string{s})
		if err == nil && !strings.Contains(order[0].Key, "`") {
			back, err := search.ParseRunOrderBy([]string{order[0].String()})
			if err != nil || back[0] != order[0] {
				t.Fatalf("order %q renders as %q: %v %+v", s, order[0].String(), err, back)
			}
		} else if !errors.Is(err, errs.ErrInvalidParameter) {
			t.Fatalf("order %q: %v", s, err)
		}
	})
}

// FuzzSearchPageToken: tokens never panic the parser and ours round-trip.
func FuzzSearchPageToken(f *testing.F) {
	f.Add("eyJvZmZzZXQiOiAxMDAwfQ==", 5)
	f.Add("garbage", 1)
	f.Fuzz(func(t *testing.T, tok string, n int) {
		if _, err := search.ParsePageToken(tok); err != nil && !errors.Is(err, errs.ErrInvalidParameter) {
			t.Fatal(err)
		}
		if n > 0 {
			got, err := search.ParsePageToken(search.PageToken(n))
			if err != nil || got != n {
				t.Fatalf("%d: %d %v", n, got, err)
			}
		}
	})
}
