package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// restTree is the tree of TestREST_CLIMatchesServer and its ids.
type restTree struct {
	root                       string
	demoExp, extraExp, goneExp string
	runIDs                     []string // every run, active or deleted
	parent, specials           string
}

// newRESTTree is the demo's tree plus what the demo does not log:
// experiment tags, a deleted experiment with a run, NaN, ±Inf, -0.0, 0.1,
// 1.0, 1e-300 and huge steps, a RUNNING run and a deleted run.
func newRESTTree(t *testing.T) *restTree {
	t.Helper()
	ctx := context.Background()
	tr := &restTree{root: filepath.Join(t.TempDir(), "mlruns")}
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"--root", tr.root, "demo", "--epochs", "12", "--folds", "2", "--seed", "3"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	s, err := filestore.Open(tr.root, nil)
	require.NoError(t, err)
	demo, err := s.GetExperimentByName(ctx, demoExperiment)
	require.NoError(t, err)
	tr.demoExp = demo.ExperimentID
	runs, _, err := s.ListRuns(ctx, tr.demoExp, entities.ViewAll)
	require.NoError(t, err)
	for _, r := range runs {
		tr.runIDs = append(tr.runIDs, r.Info.RunID)
		if _, child := r.Data.Tags[entities.TagParentRunID]; !child {
			tr.parent = r.Info.RunID
		}
	}

	tr.extraExp, err = s.CreateExperiment(ctx, "rest-extra", "", []entities.ExperimentTag{
		{Key: "team", Value: "vision"}, {Key: "note", Value: "ünïcode ✓ <b>&</b>"},
	})
	require.NoError(t, err)
	tr.goneExp, err = s.CreateExperiment(ctx, "rest-gone", "", nil)
	require.NoError(t, err)
	start := int64(1_700_000_000_000)
	newRun := func(exp, name string) string {
		start += 1000
		r, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, UserID: "bob", StartTime: start, RunName: name})
		require.NoError(t, err)
		tr.runIDs = append(tr.runIDs, r.Info.RunID)
		return r.Info.RunID
	}
	end := func(id string) {
		e := start + 250
		_, err := s.UpdateRunInfo(ctx, id, entities.StatusFinished, &e, "")
		require.NoError(t, err)
	}
	tr.specials = newRun(tr.extraExp, "specials")
	values := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.1, 1.0, 1e-300, 1e22, 0.1 + 0.2, 42}
	var ms []entities.Metric
	for i, v := range values {
		ms = append(ms,
			entities.Metric{Key: "v", Value: v, Timestamp: start + int64(i), Step: int64(i)},
			entities.Metric{Key: "v" + strconv.Itoa(i), Value: v, Timestamp: start, Step: 0})
	}
	ms = append(ms,
		entities.Metric{Key: "steps", Value: 1, Timestamp: start, Step: 1<<53 + 1},
		entities.Metric{Key: "steps", Value: 2, Timestamp: start, Step: math.MaxInt64},
		entities.Metric{Key: "steps", Value: 3, Timestamp: start, Step: -1})
	require.NoError(t, s.LogBatch(ctx, tr.specials, ms,
		[]entities.Param{{Key: "lr", Value: "1e-3"}, {Key: "multi", Value: "a\nb"}},
		[]entities.RunTag{{Key: "team", Value: "vision"}}))
	end(tr.specials)
	running := newRun(tr.extraExp, "running")
	require.NoError(t, s.LogMetric(ctx, running, entities.Metric{Key: "v", Value: 0.5, Timestamp: start, Step: 1}))
	deleted := newRun(tr.extraExp, "deleted")
	end(deleted)
	require.NoError(t, s.DeleteRun(ctx, deleted))
	inGone := newRun(tr.goneExp, "in-gone")
	end(inGone)
	require.NoError(t, s.DeleteExperiment(ctx, tr.goneExp))
	return tr
}

// comparePages follows next_page_token through a search endpoint of the
// server and the CLI listing of the same query together (max > 0 sets the
// page size), requiring the same JSON page by page.
func comparePages(t *testing.T, srv *interoptest.Server, cli func(*testing.T, ...string) []byte, endpoint string, req map[string]any, args []string, max int) {
	t.Helper()
	if max > 0 {
		req["max_results"] = max
		args = append(args, "--max-results", strconv.Itoa(max))
	}
	token := ""
	for page := 0; ; page++ {
		pageArgs := args
		if token != "" {
			req["page_token"] = token
			pageArgs = append(args[:len(args):len(args)], "--page-token", token)
		}
		body := srv.Post(t, endpoint, req)
		interoptest.RequireSameJSON(t, strings.Join(args[:2], " ")+" page "+strconv.Itoa(page), body, cli(t, pageArgs...))
		token = nextPageToken(t, body)
		if token == "" {
			return
		}
		require.Less(t, page, 20, "paging ends")
	}
}

// The mlruns command's --json output is what `mlflow server` 3.18 answers
// for the same query on the same tree: runs show (GetRun), runs list
// (SearchRuns, page by page), experiments list (SearchExperiments, page by
// page) and metrics history (GetMetricHistory).
func TestREST_CLIMatchesServer(t *testing.T) {
	interoptest.Python(t)
	tr := newRESTTree(t)
	srv := interoptest.StartServer(t, tr.root)
	ctx := context.Background()
	cli := func(t *testing.T, args ...string) []byte {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"--root", tr.root}, args...), &out, &errOut)
		require.Equal(t, 0, code, "mlruns %q: %s", args, errOut.String())
		return out.Bytes()
	}

	t.Run("runs show", func(t *testing.T) {
		for _, id := range tr.runIDs {
			interoptest.RequireSameJSON(t, "runs show "+id,
				srv.Get(t, "/api/2.0/mlflow/runs/get?run_id="+id),
				cli(t, "runs", "show", id, "--json"))
		}
	})

	t.Run("runs list", func(t *testing.T) {
		cases := []struct {
			name    string
			exps    []string
			filter  string
			view    string // the CLI's --view; the server's run_view_type below
			max     int
			orderBy []string
		}{
			{"every run paged", []string{tr.demoExp, tr.extraExp, tr.goneExp}, "", "all", 3, nil},
			{"metric filter and order", []string{tr.demoExp}, "metrics.`val/accuracy` > 0", "active", 2, []string{"metrics.`val/accuracy` DESC"}},
			{"params and tags", []string{tr.demoExp, tr.extraExp}, "params.lr = '1e-3' and tags.team = 'vision'", "all", 0, nil},
			{"running", []string{tr.demoExp, tr.extraExp}, "attributes.status = 'RUNNING'", "active", 0, nil},
			{"deleted", []string{tr.extraExp, tr.goneExp}, "", "deleted", 0, nil},
			{"by name", []string{tr.demoExp, tr.extraExp}, "", "active", 0, []string{"attributes.run_name ASC"}},
			{"nothing", []string{tr.demoExp}, "params.model = 'none'", "active", 0, nil},
		}
		views := map[string]string{"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req := map[string]any{"experiment_ids": c.exps, "filter": c.filter, "run_view_type": views[c.view], "order_by": nonNil(c.orderBy)}
				args := []string{"runs", "list", "--view", c.view, "--filter", c.filter, "--json"}
				for _, id := range c.exps {
					args = append(args, "--experiment-id", id)
				}
				for _, o := range c.orderBy {
					args = append(args, "--order-by", o)
				}
				comparePages(t, srv, cli, "/api/2.0/mlflow/runs/search", req, args, c.max)
			})
		}
	})

	t.Run("experiments list", func(t *testing.T) {
		cases := []struct {
			name    string
			filter  string
			view    string
			max     int
			orderBy []string
		}{
			{"all paged", "", "all", 2, nil},
			{"active by name", "name LIKE 'rest-%'", "active", 0, []string{"name DESC"}},
			{"deleted", "", "deleted", 0, nil},
			{"tag", "tags.team = 'vision'", "all", 0, nil},
			{"nothing", "name = 'none'", "all", 0, nil},
		}
		views := map[string]string{"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// The server refuses a missing max_results here (it reads as
				// 0); the CLI's default is MLflow's documented 1000.
				req := map[string]any{"filter": c.filter, "view_type": views[c.view], "order_by": nonNil(c.orderBy), "max_results": 1000}
				args := []string{"experiments", "list", "--view", c.view, "--filter", c.filter, "--json"}
				for _, o := range c.orderBy {
					args = append(args, "--order-by", o)
				}
				comparePages(t, srv, cli, "/api/2.0/mlflow/experiments/search", req, args, c.max)
			})
		}
	})

	t.Run("metrics history", func(t *testing.T) {
		histories := [][2]string{
			{tr.parent, "train/loss"}, {tr.parent, "val/accuracy"}, {tr.parent, "cv/accuracy_mean"},
			{tr.specials, "v"}, {tr.specials, "steps"},
		}
		for i := range 10 {
			histories = append(histories, [2]string{tr.specials, "v" + strconv.Itoa(i)})
		}
		for _, h := range histories {
			q := url.Values{"run_id": {h[0]}, "metric_key": {h[1]}}
			interoptest.RequireSameJSON(t, "metrics history "+h[1],
				srv.Get(t, "/api/2.0/mlflow/metrics/get-history?"+q.Encode()),
				cli(t, "metrics", "history", h[0], h[1], "--json"))
		}
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nextPageToken is the next_page_token of a search response.
func nextPageToken(t *testing.T, body []byte) string {
	t.Helper()
	var resp struct {
		NextPageToken string `json:"next_page_token"`
	}
	require.NoError(t, json.Unmarshal(body, &resp))
	return resp.NextPageToken
}
