package search_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/search"
)

func TestParseRunFilter_Valid(t *testing.T) {
	tests := []struct {
		name, filter string
		want         []search.Clause // only Entity, Key, Op, Kind, Str, Num, List compared
	}{
		{"empty", "", nil},
		{"blank", "  ", nil},
		{"metric", "metrics.loss > 1", []search.Clause{{Entity: search.EntityMetric, Key: "loss", Op: ">", Kind: search.ValueNumber, Num: 1}}},
		{"metric exponent", "metric.loss <= -1.5e3", []search.Clause{{Entity: search.EntityMetric, Key: "loss", Op: "<=", Kind: search.ValueNumber, Num: -1500}}},
		{"no spaces", "metrics.loss>.5", []search.Clause{{Entity: search.EntityMetric, Key: "loss", Op: ">", Kind: search.ValueNumber, Num: .5}}},
		{"dotted key split at first dot", "metrics.a.b = 2", []search.Clause{{Entity: search.EntityMetric, Key: "a.b", Op: "=", Kind: search.ValueNumber, Num: 2}}},
		{"backticked key", "params.`a b` = 'x'", []search.Clause{{Entity: search.EntityParam, Key: "a b", Op: "=", Kind: search.ValueString, Str: "x"}}},
		{"double quoted key and value", `tags."a.b" != "x"`, []search.Clause{{Entity: search.EntityTag, Key: "a.b", Op: "!=", Kind: search.ValueString, Str: "x"}}},
		{"single quoted key", "metrics.'a b' = 1", []search.Clause{{Entity: search.EntityMetric, Key: "a b", Op: "=", Kind: search.ValueNumber, Num: 1}}},
		{"backticked entity", "`metrics`.a = 1", []search.Clause{{Entity: search.EntityMetric, Key: "a", Op: "=", Kind: search.ValueNumber, Num: 1}}},
		{"like lower case", "params.p like 'x%'", []search.Clause{{Entity: search.EntityParam, Key: "p", Op: "LIKE", Kind: search.ValueString, Str: "x%"}}},
		{"is null", "params.p IS NULL", []search.Clause{{Entity: search.EntityParam, Key: "p", Op: "IS NULL"}}},
		{"is not null", "tags.t is not null", []search.Clause{{Entity: search.EntityTag, Key: "t", Op: "IS NOT NULL"}}},
		{"in", "attributes.run_id IN ('a', \"b\",)", []search.Clause{{Entity: search.EntityAttribute, Key: "run_id", Op: "IN", Kind: search.ValueList, List: []string{"a", "b"}}}},
		{"not in concatenates", "run_id NOT IN ('a' 'b')", []search.Clause{{Entity: search.EntityAttribute, Key: "run_id", Op: "NOT IN", Kind: search.ValueList, List: []string{"ab"}}}},
		{"dataset in", "datasets.digest IN ('d')", []search.Clause{{Entity: search.EntityDataset, Key: "digest", Op: "IN", Kind: search.ValueList, List: []string{"d"}}}},
		{"created alias", "created >= 5", []search.Clause{{Entity: search.EntityAttribute, Key: "created", Op: ">=", Kind: search.ValueNumber, Num: 5}}},
		{"run name alias", "attributes.`Run Name` = 'x'", []search.Clause{{Entity: search.EntityAttribute, Key: "Run Name", Op: "=", Kind: search.ValueString, Str: "x"}}},
		{"doubled quote kept raw", "params.p = 'it''s'", []search.Clause{{Entity: search.EntityParam, Key: "p", Op: "=", Kind: search.ValueString, Str: "it''s"}}},
		{"and optional and repeated", "metrics.a > 1 AND AND metrics.b < 2 metrics.c = 3 and", []search.Clause{
			{Entity: search.EntityMetric, Key: "a", Op: ">", Kind: search.ValueNumber, Num: 1},
			{Entity: search.EntityMetric, Key: "b", Op: "<", Kind: search.ValueNumber, Num: 2},
			{Entity: search.EntityMetric, Key: "c", Op: "=", Kind: search.ValueNumber, Num: 3}}},
		{"dotted tag key", "tags.mlflow.runName = 'x'", []search.Clause{{Entity: search.EntityTag, Key: "mlflow.runName", Op: "=", Kind: search.ValueString, Str: "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := search.ParseRunFilter(tt.filter)
			require.NoError(t, err)
			require.Len(t, f.Clauses, len(tt.want))
			for i, c := range f.Clauses {
				w := tt.want[i]
				require.Equal(t, w.Entity, c.Entity)
				require.Equal(t, w.Key, c.Key)
				require.Equal(t, w.Op, c.Op)
				require.Equal(t, w.Kind, c.Kind)
				require.Equal(t, w.Str, c.Str)
				require.Equal(t, math.Float64bits(w.Num), math.Float64bits(c.Num))
				require.Equal(t, w.List, c.List)
			}
			again, err := search.ParseRunFilter(f.String())
			require.NoError(t, err, f.String())
			require.Equal(t, f.String(), again.String())
		})
	}
}

func TestParseRunFilter_Invalid(t *testing.T) {
	tests := []struct {
		name, filter string
		pos          int
	}{
		{"or", "metrics.a > 1 OR metrics.b > 1", 14},
		{"parentheses", "(metrics.a > 1)", 0},
		{"not", "NOT metrics.a > 1", 0},
		{"unquoted string", "params.p = x", 11},
		{"quoted number for metric", "metrics.a = '1'", 12},
		{"like on metric", "metrics.a LIKE 1", 10},
		{"greater on param", "params.p > 'a'", 9},
		{"is null on metric", "metrics.a IS NULL", 10},
		{"in on param", "params.p IN ('a')", 12},
		{"empty in", "run_id IN ()", 10},
		{"number in list", "run_id IN ('a', 1)", 16},
		{"in on other attribute", "user_id IN ('a')", 11},
		{"bad entity", "foo.bar = 1", 0},
		{"bad attribute", "attributes.experiment_id = '1'", 0},
		{"bad dataset key", "datasets.foo = 'x'", 0},
		{"two statements", "metrics.a > 1; metrics.b > 1", 13},
		{"trailing semicolon", "metrics.a > 1;", 13},
		{"no comparator", "metrics.a", 0},
		{"diamond", "metrics.a <> 1", 10},
		{"not like", "params.p NOT LIKE 'a'", 9},
		{"numeric attribute string", "start_time > 'x'", 13},
		{"null on attribute", "end_time IS NULL", 9},
		{"plus sign", "metrics.a > +1", 12},
		{"infinity word", "metrics.a > inf", 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := search.ParseRunFilter(tt.filter)
			require.Error(t, err)
			require.ErrorIs(t, err, errs.ErrInvalidParameter)
			require.Equal(t, errs.CodeInvalidParameterValue, errs.Code(err))
			var se *search.Error
			require.True(t, errors.As(err, &se))
			require.Equal(t, tt.pos, se.Pos)
		})
	}
}

func run(id string, start int64) entities.Run {
	return entities.Run{Info: entities.RunInfo{RunID: id, StartTime: start, Status: entities.StatusFinished},
		Data: entities.RunData{Metrics: map[string]entities.Metric{}, Params: map[string]string{}, Tags: map[string]string{}}}
}

func TestFilter_MatchRun(t *testing.T) {
	r := run("abc", 10)
	r.Info.RunName = "Brave Owl"
	r.Data.Metrics["loss"] = entities.Metric{Value: 0.5}
	r.Data.Metrics["nan"] = entities.Metric{Value: math.NaN()}
	r.Data.Params["p"] = "Adam_1"
	r.Data.Tags["t"] = "line\n"
	r.Inputs.DatasetInputs = []entities.DatasetInput{{Dataset: entities.Dataset{Name: "mnist", Digest: "d1"},
		Tags: []entities.InputTag{{Key: entities.TagDatasetContext, Value: "train"}}}}
	tests := []struct {
		filter string
		want   bool
	}{
		{"metrics.loss < 1", true},
		{"metrics.loss = 0.5", true},
		{"metrics.missing != 1", false},
		{"metrics.nan != 1", true},
		{"metrics.nan = 1", false},
		{"metrics.nan > 1", false},
		{"params.p LIKE 'Adam%'", true},
		{"params.p LIKE 'adam%'", false},
		{"params.p ILIKE 'adam%'", true},
		{"params.p LIKE 'Adam_'", false},
		{"params.p LIKE 'Adam__'", true},
		{"params.p LIKE '%1'", true},
		{"params.p LIKE 'A.am%'", false},
		{"params.missing IS NULL", true},
		{"params.p IS NULL", false},
		{"params.missing != 'x'", false},
		{"tags.t = 'line\n'", true},
		{"tags.t LIKE 'line'", true},   // Python's $ matches before a final newline
		{"tags.t LIKE 'line_'", false}, // _ never matches a newline
		{"run_name = 'Brave Owl'", true},
		{"attributes.`run name` ILIKE 'brave%'", true},
		{"status = 'FINISHED'", true},
		{"run_id IN ('x', 'abc')", true},
		{"run_id NOT IN ('abc')", false},
		{"created = 10", true},
		{"start_time > 9.5", true},
		{"end_time > 0", false},
		{"datasets.name = 'mnist'", true},
		{"datasets.context IN ('eval', 'train')", true},
		{"datasets.digest != 'd1'", false},
		{"metrics.loss < 1 AND params.p = 'x'", false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := search.ParseRunFilter(tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, f.MatchRun(&r))
		})
	}
}

func TestSortRuns_NoneLastNaNBeforeNone(t *testing.T) {
	runs := []entities.Run{run("a", 1), run("b", 2), run("c", 3), run("d", 4), run("e", 4)}
	runs[0].Data.Metrics["m"] = entities.Metric{Value: math.NaN()}
	runs[1].Data.Metrics["m"] = entities.Metric{Value: 2}
	runs[2].Data.Metrics["m"] = entities.Metric{Value: -1}
	// d and e have no m: None, tied, kept in the default order (start DESC, id)
	ids := func() []string {
		var out []string
		for _, r := range runs {
			out = append(out, r.Info.RunID)
		}
		return out
	}
	for _, tt := range []struct {
		order string
		want  []string
	}{
		{"metrics.m", []string{"c", "b", "a", "d", "e"}},
		{"metrics.m DESC", []string{"b", "c", "a", "d", "e"}},
		{"attributes.start_time", []string{"a", "b", "c", "d", "e"}},
		{"run_id DESC", []string{"e", "d", "c", "b", "a"}},
	} {
		order, err := search.ParseRunOrderBy([]string{tt.order})
		require.NoError(t, err)
		search.SortRuns(runs, order)
		require.Equal(t, tt.want, ids(), tt.order)
	}
}

func TestParseRunOrderBy(t *testing.T) {
	tests := []struct {
		in   string
		want search.OrderBy
		ok   bool
	}{
		{"metrics.loss", search.OrderBy{Entity: search.EntityMetric, Key: "loss", Ascending: true}, true},
		{"metrics.`a b` desc", search.OrderBy{Entity: search.EntityMetric, Key: "a b"}, true},
		{`params."x.y" ASC`, search.OrderBy{Entity: search.EntityParam, Key: "x.y", Ascending: true}, true},
		{"created DESC", search.OrderBy{Entity: search.EntityAttribute, Key: "start_time"}, true},
		{"attribute.run_name", search.OrderBy{Entity: search.EntityAttribute, Key: "run_name", Ascending: true}, true},
		{"foo.bar", search.OrderBy{}, false},
		{"metrics.a sideways", search.OrderBy{}, false},
		{"metrics.a ASC DESC", search.OrderBy{}, false},
		{"metrics.a, metrics.b", search.OrderBy{}, false},
		{"attributes.`run name`", search.OrderBy{}, false},
		{"datasets.name", search.OrderBy{}, false},
		{"", search.OrderBy{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := search.ParseRunOrderBy([]string{tt.in})
			if !tt.ok {
				require.ErrorIs(t, err, errs.ErrInvalidParameter)
				return
			}
			require.NoError(t, err)
			require.Equal(t, []search.OrderBy{tt.want}, got)
			again, err := search.ParseRunOrderBy([]string{got[0].String()})
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

func TestPageToken(t *testing.T) {
	// The bytes MLflow writes: base64 of json.dumps({"offset": N}).
	require.Equal(t, "eyJvZmZzZXQiOiAxMDAwfQ==", search.PageToken(1000))
	require.Equal(t, "eyJvZmZzZXQiOiAxfQ==", search.PageToken(1))
	for _, tt := range []struct {
		tok  string
		want int
		ok   bool
	}{
		{"", 0, true},
		{"eyJvZmZzZXQiOiAxMDAwfQ==", 1000, true},
		{"eyJvZmZzZXQiOiAiMiJ9", 2, true},  // {"offset": "2"}
		{"eyJvZmZzZXQiOiAwfQ==", 0, false}, // offset 0 is falsy to MLflow
		{"garbage!", 0, false},
		{"bm90IGpzb24=", 0, false}, // "not json"
		{"e30=", 0, false},         // {}
	} {
		got, err := search.ParsePageToken(tt.tok)
		if !tt.ok {
			require.ErrorIs(t, err, errs.ErrInvalidParameter, tt.tok)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
	lo, hi, next, err := search.Page(10, search.PageToken(4), 3)
	require.NoError(t, err)
	require.Equal(t, []any{4, 7, search.PageToken(7)}, []any{lo, hi, next})
	lo, hi, next, err = search.Page(10, search.PageToken(8), 3)
	require.NoError(t, err)
	require.Equal(t, []any{8, 10, ""}, []any{lo, hi, next})
}

func TestMaxResults(t *testing.T) {
	n, err := search.CheckRunsMaxResults(0)
	require.NoError(t, err)
	require.Equal(t, search.DefaultMaxResults, n)
	_, err = search.CheckRunsMaxResults(50001)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	_, err = search.CheckExperimentsMaxResults(-1)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	n, err = search.CheckExperimentsMaxResults(50000)
	require.NoError(t, err)
	require.Equal(t, 50000, n)
}

func i64(v int64) *int64 { return &v }

func TestExperiments_FilterAndSort(t *testing.T) {
	exps := []entities.Experiment{
		{ExperimentID: "10", Name: "b", CreationTime: i64(5), Tags: map[string]string{"team": "nlp"}},
		{ExperimentID: "9", Name: "a", CreationTime: i64(5)},
		{ExperimentID: "2", Name: "Abc", CreationTime: nil},
		{ExperimentID: "3", Name: "c", CreationTime: i64(7), Tags: map[string]string{"team": "Vision"}},
	}
	ids := func(es []entities.Experiment) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ExperimentID)
		}
		return out
	}
	search.SortExperiments(exps, nil)
	// creation_time DESC, None last, then experiment_id ASC as strings
	require.Equal(t, []string{"3", "10", "9", "2"}, ids(exps))
	order, err := search.ParseExperimentOrderBy([]string{"name"})
	require.NoError(t, err)
	search.SortExperiments(exps, order)
	require.Equal(t, []string{"2", "9", "10", "3"}, ids(exps))
	_, err = search.ParseExperimentOrderBy([]string{"tags.team"})
	require.ErrorIs(t, err, errs.ErrInvalidParameter)

	for _, tt := range []struct {
		filter string
		want   []string
	}{
		{"name ILIKE 'a%'", []string{"2", "9"}},
		{"tags.team IS NULL", []string{"2", "9"}},
		{"tag.team ILIKE 'v%'", []string{"3"}},
		{"creation_time > 5", []string{"3"}},
		{"attribute.experiment_id IN ('9', '3')", []string{"9", "3"}},
	} {
		f, err := search.ParseExperimentFilter(tt.filter)
		require.NoError(t, err, tt.filter)
		var got []string
		for i := range exps {
			if f.MatchExperiment(&exps[i]) {
				got = append(got, exps[i].ExperimentID)
			}
		}
		require.ElementsMatch(t, tt.want, got, tt.filter)
	}
	for _, bad := range []string{"metrics.a > 1", "attr.name = 'x'", "name IS NULL", "name > 'a'", "creation_time = 'x'", "`attribute`.name = 'x'"} {
		f, err := search.ParseExperimentFilter(bad)
		require.ErrorIs(t, err, errs.ErrInvalidParameter, bad)
		require.Nil(t, f)
	}
}
