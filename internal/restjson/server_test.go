package restjson_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/restjson"
)

// restTree is the tree the REST comparison runs on, and the ids in it.
type restTree struct {
	root                string
	store               *filestore.Store
	expA, expB, expGone string
	runIDs              []string // every run, in creation order
	parent, running     string
	historyKeys         []string // metric keys of parent worth a history check
}

func ptr[T any](v T) *T { return &v }

// buildRestTree writes, with the Go store, a tree that has what the REST
// shapes must carry: experiment tags, a deleted experiment, params, tags,
// metrics with NaN, ±Inf, -0.0, 0.1, 1.0, 1e-300 and huge steps, a nested
// run, a dataset input with schema and profile, a deleted run, a run still
// RUNNING (no end_time) and a FAILED one.
func buildRestTree(t *testing.T) *restTree {
	t.Helper()
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	tr := &restTree{root: root, store: s}

	tr.expA, err = s.CreateExperiment(ctx, "rest-a", "", []entities.ExperimentTag{
		{Key: "team", Value: "vision"},
		{Key: entities.TagNoteContent, Value: "multi\nline ünïcode ✓"},
	})
	require.NoError(t, err)
	tr.expB, err = s.CreateExperiment(ctx, "rest-b", "", nil)
	require.NoError(t, err)
	tr.expGone, err = s.CreateExperiment(ctx, "rest-gone", "", []entities.ExperimentTag{{Key: "team", Value: "audio"}})
	require.NoError(t, err)

	start := int64(1_700_000_000_000)
	newRun := func(exp, name string, tags ...entities.RunTag) string {
		start += 1000
		r, err := s.CreateRun(ctx, filestore.CreateRunOptions{
			ExperimentID: exp, UserID: "alice", StartTime: start, RunName: name, Tags: tags,
		})
		require.NoError(t, err)
		tr.runIDs = append(tr.runIDs, r.Info.RunID)
		return r.Info.RunID
	}
	end := func(id string, status entities.RunStatus) {
		e := start + 500
		_, err := s.UpdateRunInfo(ctx, id, status, &e, "")
		require.NoError(t, err)
	}

	// The parent: every kind of value.
	tr.parent = newRun(tr.expA, "parent-run",
		entities.RunTag{Key: entities.TagUser, Value: "alice"},
		entities.RunTag{Key: entities.TagSourceType, Value: "LOCAL"})
	require.NoError(t, s.LogBatch(ctx, tr.parent, nil, []entities.Param{
		{Key: "learning_rate", Value: "0.001"},
		{Key: "layers", Value: "[128, 64]"},
		{Key: "note", Value: "two\nlines, ünïcode ✓ and \"quotes\""},
		{Key: "empty", Value: ""},
	}, []entities.RunTag{{Key: "stage", Value: "experiment"}, {Key: "html", Value: "<b>&</b>"}}))
	ts := int64(1_700_000_100_000)
	special := []struct {
		key string
		v   float64
	}{
		{"special/nan", math.NaN()}, {"special/pinf", math.Inf(1)}, {"special/ninf", math.Inf(-1)},
		{"special/tenth", 0.1}, {"special/one", 1.0}, {"special/tiny", 1e-300},
		{"special/negzero", math.Copysign(0, -1)}, {"special/big", 1e22}, {"special/e16", 1e16},
		{"special/third", 1.0 / 3}, {"special/int", 42}, {"special/denormal", 5e-324},
		{"special/max", math.MaxFloat64}, {"special/sum", 0.1 + 0.2},
	}
	var ms []entities.Metric
	for i, sp := range special {
		ms = append(ms, entities.Metric{Key: sp.key, Value: sp.v, Timestamp: ts + int64(i), Step: int64(i)})
	}
	// Huge and negative steps, and a history whose latest value is decided
	// by step, then timestamp, then value (NaN never wins a tie).
	ms = append(ms,
		entities.Metric{Key: "steps/huge", Value: 1, Timestamp: ts, Step: 1<<53 + 1},
		entities.Metric{Key: "steps/huge", Value: 2, Timestamp: ts, Step: math.MaxInt64},
		entities.Metric{Key: "steps/huge", Value: 3, Timestamp: ts, Step: -7},
		entities.Metric{Key: "tie", Value: 0.5, Timestamp: ts, Step: 3},
		entities.Metric{Key: "tie", Value: math.NaN(), Timestamp: ts, Step: 3},
		entities.Metric{Key: "tie", Value: 0.25, Timestamp: ts - 1, Step: 3},
	)
	for i := 0; i < 40; i++ {
		ms = append(ms, entities.Metric{Key: "train/loss", Value: 2.3 * math.Exp(-float64(i)/6), Timestamp: ts + int64(i)*10, Step: int64(i)})
	}
	require.NoError(t, s.LogBatch(ctx, tr.parent, ms, nil, nil))
	require.NoError(t, s.LogInputs(ctx, tr.parent, []entities.DatasetInput{
		{
			Dataset: entities.Dataset{Name: "digits", Digest: "d41d8cd9", SourceType: "local",
				Source:  `{"uri": "data/digits.csv"}`,
				Schema:  ptr(`{"mlflow_colspec": [{"type": "double", "name": "x"}]}`),
				Profile: ptr(`{"num_rows": 1797, "num_elements": 115008}`)},
			Tags: []entities.InputTag{{Key: entities.TagDatasetContext, Value: "train"}, {Key: "split", Value: "0.8"}},
		},
		{Dataset: entities.Dataset{Name: "holdout", Digest: "abc123", SourceType: "http", Source: `{"url": "https://example.com/h.csv"}`}},
		{Dataset: entities.Dataset{Name: "blank", Digest: "0", SourceType: "code", Source: "{}",
			Schema: ptr(""), Profile: ptr("")}},
	}, nil))
	end(tr.parent, entities.StatusFinished)
	tr.historyKeys = []string{"train/loss", "steps/huge", "tie", "special/nan", "special/pinf", "special/ninf",
		"special/tenth", "special/one", "special/tiny", "special/negzero", "special/big", "special/e16",
		"special/denormal", "special/max", "special/sum"}

	child := newRun(tr.expA, "child-run", entities.RunTag{Key: entities.TagParentRunID, Value: tr.parent})
	require.NoError(t, s.LogBatch(ctx, child, []entities.Metric{{Key: "val/accuracy", Value: 0.9, Timestamp: ts, Step: 0}},
		[]entities.Param{{Key: "fold", Value: "0"}}, nil))
	end(child, entities.StatusFinished)

	tr.running = newRun(tr.expA, "still-running")
	require.NoError(t, s.LogMetric(ctx, tr.running, entities.Metric{Key: "progress", Value: 0.5, Timestamp: ts, Step: 1}))

	gone := newRun(tr.expA, "deleted-run")
	require.NoError(t, s.LogParam(ctx, gone, "x", "1"))
	end(gone, entities.StatusKilled)
	require.NoError(t, s.DeleteRun(ctx, gone))

	failed := newRun(tr.expA, "failed-run")
	end(failed, entities.StatusFailed)

	// A run with no params, tags or metrics beyond what CreateRun writes,
	// ended at time 0 (MLflow leaves a zero end_time out).
	bare := newRun(tr.expA, "bare")
	_, err = s.UpdateRunInfo(ctx, bare, entities.StatusFinished, ptr(int64(0)), "")
	require.NoError(t, err)

	// rest-b: runs to filter, order and page; 0.1*i gives 0.30000000000000004.
	for i := 0; i < 7; i++ {
		id := newRun(tr.expB, "b-"+strconv.Itoa(i), entities.RunTag{Key: "parity", Value: []string{"even", "odd"}[i%2]})
		require.NoError(t, s.LogBatch(ctx, id,
			[]entities.Metric{{Key: "acc", Value: 0.1 * float64(i), Timestamp: ts + int64(i), Step: int64(i)}},
			[]entities.Param{{Key: "p", Value: strconv.Itoa(i)}}, nil))
		if i != 4 {
			end(id, entities.StatusFinished)
		}
	}

	inGone := newRun(tr.expGone, "in-deleted-experiment")
	end(inGone, entities.StatusFinished)
	require.NoError(t, s.DeleteExperiment(ctx, tr.expGone))
	return tr
}

// ours is the JSON our side prints: what the mlruns CLI's --json writes.
func ours(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	return b.Bytes()
}

// Every response shape restjson prints is what `mlflow server` 3.18 prints
// for the same entities, field for field and number token for number token.
func TestRESTJSON_MatchesServer(t *testing.T) {
	tr := buildRestTree(t)
	srv := interoptest.StartServer(t, tr.root)
	ctx := context.Background()
	s := tr.store

	t.Run("runs/get", func(t *testing.T) {
		for _, id := range tr.runIDs {
			body := srv.Get(t, "/api/2.0/mlflow/runs/get?run_id="+id)
			r, err := s.GetRun(ctx, id)
			require.NoError(t, err)
			interoptest.RequireSameJSON(t, "runs/get "+r.Info.RunName, body, ours(t, restjson.GetRunResponse{Run: restjson.FromRun(r)}))
		}
	})

	t.Run("runs/search", func(t *testing.T) {
		cases := []struct {
			name    string
			exps    []string
			filter  string
			view    entities.ViewType
			max     int
			orderBy []string
		}{
			{"all views paged", []string{tr.expA, tr.expB}, "", entities.ViewAll, 3, nil},
			{"metric filter desc", []string{tr.expB}, "metrics.acc > 0.15", entities.ViewActiveOnly, 2, []string{"metrics.acc DESC"}},
			{"params and tags", []string{tr.expB}, "params.p != '3' and tags.parity = 'even'", entities.ViewAll, 1000, []string{"params.p ASC"}},
			{"running", []string{tr.expA, tr.expB}, "attributes.status = 'RUNNING'", entities.ViewAll, 1000, nil},
			{"deleted only", []string{tr.expA}, "", entities.ViewDeletedOnly, 1000, nil},
			{"by name with deleted experiment", []string{tr.expA, tr.expB, tr.expGone}, "", entities.ViewAll, 4, []string{"attributes.run_name ASC"}},
			{"special values", []string{tr.expA}, "metrics.`special/one` = 1", entities.ViewAll, 1000, nil},
			{"start time and like", []string{tr.expA, tr.expB}, "attributes.run_name LIKE '%-run'", entities.ViewAll, 2, []string{"attributes.start_time ASC"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req := map[string]any{
					"experiment_ids": c.exps, "filter": c.filter, "max_results": c.max,
					"run_view_type": viewName(c.view), "order_by": orderOrEmpty(c.orderBy),
				}
				comparePages(t, srv, "/api/2.0/mlflow/runs/search", req, func(token string) (any, string) {
					runs, next, err := s.SearchRuns(ctx, c.exps, c.filter, c.view, c.max, c.orderBy, token)
					require.NoError(t, err)
					return restjson.SearchRunsResponse{Runs: restjson.FromRuns(runs), NextPageToken: next}, next
				})
			})
		}
	})

	t.Run("experiments/search", func(t *testing.T) {
		cases := []struct {
			name    string
			filter  string
			view    entities.ViewType
			max     int
			orderBy []string
		}{
			{"all paged", "", entities.ViewAll, 2, nil},
			{"active by name", "name LIKE 'rest-%'", entities.ViewActiveOnly, 1000, []string{"name DESC"}},
			{"deleted", "", entities.ViewDeletedOnly, 1000, nil},
			{"tag filter", "tags.team = 'vision'", entities.ViewAll, 1000, nil},
			{"by creation time", "", entities.ViewAll, 1, []string{"creation_time ASC"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req := map[string]any{
					"filter": c.filter, "max_results": c.max,
					"view_type": viewName(c.view), "order_by": orderOrEmpty(c.orderBy),
				}
				comparePages(t, srv, "/api/2.0/mlflow/experiments/search", req, func(token string) (any, string) {
					exps, next, err := s.SearchExperiments(ctx, c.view, c.max, c.filter, c.orderBy, token)
					require.NoError(t, err)
					return restjson.SearchExperimentsResponse{Experiments: restjson.FromExperiments(exps), NextPageToken: next}, next
				})
			})
		}
	})

	t.Run("experiments/get", func(t *testing.T) {
		for _, id := range []string{"0", tr.expA, tr.expB, tr.expGone} {
			body := srv.Get(t, "/api/2.0/mlflow/experiments/get?experiment_id="+id)
			e, err := s.GetExperiment(ctx, id)
			require.NoError(t, err)
			interoptest.RequireSameJSON(t, "experiments/get "+e.Name, body, ours(t, restjson.GetExperimentResponse{Experiment: restjson.FromExperiment(e)}))
		}
	})

	t.Run("metrics/get-history", func(t *testing.T) {
		histories := map[string][]string{tr.parent: tr.historyKeys, tr.running: {"progress"}}
		for runID, keys := range histories {
			for _, key := range keys {
				q := url.Values{"run_id": {runID}, "metric_key": {key}}
				body := srv.Get(t, "/api/2.0/mlflow/metrics/get-history?"+q.Encode())
				hist, err := s.GetMetricHistory(ctx, runID, key)
				require.NoError(t, err)
				interoptest.RequireSameJSON(t, "get-history "+key, body, ours(t, restjson.GetMetricHistoryResponse{Metrics: restjson.FromMetricHistory(runID, hist)}))
			}
		}
		// Paged: 40 points in pages of 15.
		token := ""
		for page := 0; ; page++ {
			q := url.Values{"run_id": {tr.parent}, "metric_key": {"train/loss"}, "max_results": {"15"}}
			if token != "" {
				q.Set("page_token", token)
			}
			body := srv.Get(t, "/api/2.0/mlflow/metrics/get-history?"+q.Encode())
			hist, next, err := s.GetMetricHistoryPage(ctx, tr.parent, "train/loss", 15, token)
			require.NoError(t, err)
			interoptest.RequireSameJSON(t, "get-history page "+strconv.Itoa(page), body,
				ours(t, restjson.GetMetricHistoryResponse{Metrics: restjson.FromMetricHistory(tr.parent, hist), NextPageToken: next}))
			if next == "" {
				require.Equal(t, 2, page, "three pages")
				break
			}
			token = next
		}
	})

	probsRes, err := s.Check(ctx, nil)
	probs := probsRes.Problems
	require.NoError(t, err)
	require.Empty(t, probs)
}

// viewName is the REST enum name of a view type.
// comparePages posts req to the server's path page by page, following its
// tokens, and requires each response to equal mine(token), which returns
// our response for that page and our next token.
func comparePages(t *testing.T, srv *interoptest.Server, path string, req map[string]any, mine func(token string) (any, string)) {
	t.Helper()
	token := ""
	for page := 0; ; page++ {
		if token != "" {
			req["page_token"] = token
		}
		body := srv.Post(t, path, req)
		resp, next := mine(token)
		interoptest.RequireSameJSON(t, path+" page "+strconv.Itoa(page), body, ours(t, resp))
		if next == "" {
			return
		}
		token = next
		require.Less(t, page, 20, "paging ends")
	}
}

func viewName(v entities.ViewType) string {
	switch v {
	case entities.ViewDeletedOnly:
		return "DELETED_ONLY"
	case entities.ViewAll:
		return "ALL"
	}
	return "ACTIVE_ONLY"
}

func orderOrEmpty(o []string) []string {
	if o == nil {
		return []string{}
	}
	return o
}
