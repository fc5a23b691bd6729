package filestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// searchDriver answers search queries with Python MLflow's FileStore. It
// memoises FileStore's per-run reads (the tree does not change while the
// queries run), so every query still goes through the real search_runs:
// SearchUtils.filter, sort and paginate, limits and page tokens.
const searchDriver = `
import sys, json
from mlflow.store.tracking.file_store import FileStore

req = json.load(sys.stdin)
fs = FileStore(req["root"])
_get, _list = FileStore._get_run_from_info, FileStore._list_run_infos
runs, lists = {}, {}
def get(self, info):
    if info.run_id not in runs:
        runs[info.run_id] = _get(self, info)
    return runs[info.run_id]
def lst(self, exp_id, view):
    if (exp_id, view) not in lists:
        lists[(exp_id, view)] = _list(self, exp_id, view)
    return lists[(exp_id, view)]
FileStore._get_run_from_info, FileStore._list_run_infos = get, lst

def one(q):
    pages, tokens, tok = [], [], q.get("token") or None
    for _ in range(200):
        try:
            if q["kind"] == "runs":
                res = fs.search_runs(q["exp_ids"], q["filter"], q["view"], q["max"], q["order"], tok)
                ids = [r.info.run_id for r in res]
            else:
                res = fs.search_experiments(q["view"], q["max"], q["filter"], q["order"], tok)
                ids = [e.experiment_id for e in res]
        except Exception as e:
            return {"pages": pages, "tokens": tokens, "error": type(e).__name__ + ": " + str(e)}
        t = res.token
        if isinstance(t, bytes):
            t = t.decode()
        pages.append(ids)
        tokens.append(t or "")
        if not t:
            break
        tok = t
    return {"pages": pages, "tokens": tokens}

json.dump({"results": [one(q) for q in req["queries"]]}, sys.stdout)
`

type searchQuery struct {
	Kind   string   `json:"kind"`
	ExpIDs []string `json:"exp_ids"`
	Filter string   `json:"filter"`
	View   int      `json:"view"`
	Max    int      `json:"max"`
	Order  []string `json:"order"`
	Token  string   `json:"token"`
}

type searchResult struct {
	Pages  [][]string `json:"pages"`
	Tokens []string   `json:"tokens"`
	Error  string     `json:"error"`
}

// searchWorld is what the random store holds, for generating queries that
// hit it.
type searchWorld struct {
	expIDs, runIDs, runNames, users        []string
	metricKeys, paramKeys, tagKeys         []string
	metricVals                             []float64
	paramVals, tagVals, dsNames, dsDigests []string
	startTimes                             []int64
	expNames, expTagKeys, expTagVals       []string
	expTimes                               []int64
}

var oddKeys = []string{"loss", "acc", "a b", "a.b", "x/y", "é", "with-dash", "1num", "select", "UPPER"}

// buildSearchStore writes a seeded random store through the Go store.
// Metrics are never logged against a dataset: for 5-field lines we keep the
// stored step while FileStore 3.18 reads step 0, so latest values could
// differ on purpose (see the README's deliberate differences).
func buildSearchStore(t *testing.T, seed uint64, nRuns int) (*filestore.Store, *searchWorld) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	clock := time.UnixMilli(1_700_000_000_000)
	now := func() time.Time {
		if r.IntN(4) != 0 { // ties on purpose
			clock = clock.Add(time.Duration(r.IntN(3)) * time.Millisecond)
		}
		return clock
	}
	s, err := filestore.Open(t.TempDir(), &filestore.Options{Now: now})
	require.NoError(t, err)
	ctx := context.Background()
	w := &searchWorld{
		users:      []string{"alice", "bob", "", "Carol"},
		paramVals:  []string{"0.1", "0.01", "adam", "sgd", "Adam", "a_b", "50%", ""},
		tagVals:    []string{"prod", "dev", "Prod", "x y", "line\nbreak", "z"},
		dsNames:    []string{"mnist", "cifar", "MNIST-v2"},
		dsDigests:  []string{"d1", "abc123", "D1"},
		expTagKeys: []string{"team", "mlflow.note.content", "odd key"},
		expTagVals: []string{"vision", "nlp", "Vision", "a%b"},
	}
	w.metricKeys = append([]string(nil), oddKeys...)
	w.paramKeys = []string{"lr", "optimizer", "a b", "x.y", "batch"}
	w.tagKeys = []string{"env", "stage", "mlflow.runName", "t k"}
	w.metricVals = []float64{0, math.Copysign(0, -1), 1, 0.5, -1.5, 2, 100, math.NaN(), math.Inf(1), math.Inf(-1), 1e-7, 3}
	for i := 0; i < 6; i++ {
		name := fmt.Sprintf("exp-%d", i)
		if i%2 == 1 {
			name = fmt.Sprintf("Exp %d é", i)
		}
		var tags []entities.ExperimentTag
		for _, k := range w.expTagKeys {
			if r.IntN(2) == 0 {
				tags = append(tags, entities.ExperimentTag{Key: k, Value: w.expTagVals[r.IntN(len(w.expTagVals))]})
			}
		}
		id, err := s.CreateExperiment(ctx, name, "", tags)
		require.NoError(t, err)
		w.expIDs = append(w.expIDs, id)
		w.expNames = append(w.expNames, name)
	}
	for i := 0; i < nRuns; i++ {
		expID := w.expIDs[r.IntN(4)] // experiments 4 and 5 stay empty
		start := 1_700_000_000_000 + int64(r.IntN(nRuns/3+1))*1000
		w.startTimes = append(w.startTimes, start)
		o := filestore.CreateRunOptions{ExperimentID: expID, UserID: w.users[r.IntN(len(w.users))], StartTime: start}
		if r.IntN(3) == 0 {
			o.RunName = []string{"alpha", "beta", "Alpha run", "a_b%"}[r.IntN(4)]
		}
		run, err := s.CreateRun(ctx, o)
		require.NoError(t, err)
		id := run.Info.RunID
		w.runIDs = append(w.runIDs, id)
		w.runNames = append(w.runNames, run.Info.RunName)
		var ms []entities.Metric
		for _, k := range w.metricKeys {
			if r.IntN(2) == 0 {
				continue
			}
			for n := r.IntN(4) + 1; n > 0; n-- {
				ms = append(ms, entities.Metric{Key: k, Value: w.metricVals[r.IntN(len(w.metricVals))],
					Timestamp: int64(r.IntN(5)), Step: int64(r.IntN(3))})
			}
		}
		var ps []entities.Param
		for _, k := range w.paramKeys {
			if r.IntN(3) != 0 {
				ps = append(ps, entities.Param{Key: k, Value: w.paramVals[r.IntN(len(w.paramVals))]})
			}
		}
		var ts []entities.RunTag
		for _, k := range w.tagKeys {
			if r.IntN(3) == 0 && k != "mlflow.runName" {
				ts = append(ts, entities.RunTag{Key: k, Value: w.tagVals[r.IntN(len(w.tagVals))]})
			}
		}
		require.NoError(t, s.LogBatch(ctx, id, ms, ps, ts))
		if r.IntN(3) == 0 {
			var ins []entities.DatasetInput
			for n := r.IntN(2) + 1; n > 0; n-- {
				in := entities.DatasetInput{Dataset: entities.Dataset{Name: w.dsNames[r.IntN(3)], Digest: w.dsDigests[r.IntN(3)],
					SourceType: "local", Source: "{}"}}
				if r.IntN(2) == 0 {
					in.Tags = []entities.InputTag{{Key: entities.TagDatasetContext, Value: []string{"train", "eval", "Train"}[r.IntN(3)]}}
				}
				ins = append(ins, in)
			}
			require.NoError(t, s.LogInputs(ctx, id, ins, nil))
		}
		switch r.IntN(4) {
		case 0: // still running: no end time
		case 1:
			end := start + int64(r.IntN(5000))
			_, err = s.UpdateRunInfo(ctx, id, entities.StatusFailed, &end, "")
		default:
			end := start + int64(r.IntN(5000))
			_, err = s.UpdateRunInfo(ctx, id, entities.StatusFinished, &end, "")
		}
		require.NoError(t, err)
		if r.IntN(6) == 0 {
			require.NoError(t, s.DeleteRun(ctx, id))
		}
	}
	require.NoError(t, s.DeleteExperiment(ctx, w.expIDs[3]))
	require.NoError(t, s.DeleteExperiment(ctx, w.expIDs[5]))
	exps, _, err := s.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	for _, e := range exps {
		if e.CreationTime != nil {
			w.expTimes = append(w.expTimes, *e.CreationTime)
		}
	}
	return s, w
}

// queryGen makes random search queries over a world.
type queryGen struct {
	r *rand.Rand
	w *searchWorld
}

func (g *queryGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *queryGen) case_(s string) string {
	if g.r.IntN(3) == 0 {
		return strings.ToLower(s)
	}
	return s
}

// key renders a key after an entity prefix, quoting it when it needs to.
func (g *queryGen) key(k string) string {
	plain := true
	for _, c := range k {
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
		}
	}
	if plain && g.r.IntN(3) != 0 && k != "select" {
		return k
	}
	switch g.r.IntN(3) {
	case 0:
		return "`" + k + "`"
	case 1:
		return `"` + k + `"`
	}
	if plain {
		return "`" + k + "`"
	}
	return `"` + k + `"`
}

func (g *queryGen) str(v string) string {
	if g.r.IntN(4) == 0 {
		return `"` + v + `"`
	}
	return "'" + v + "'"
}

func (g *queryGen) pattern(v string) string {
	switch g.r.IntN(5) {
	case 0:
		return "%"
	case 1:
		if len(v) > 1 {
			return v[:1] + "%"
		}
	case 2:
		if len(v) > 1 {
			return "%" + v[len(v)-1:]
		}
	case 3:
		if len(v) > 1 {
			return "_" + v[1:]
		}
	}
	return strings.ToUpper(v)
}

func fnum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "1e308"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (g *queryGen) clause() string {
	r, w := g.r, g.w
	switch r.IntN(9) {
	case 0, 1:
		ent := g.pick([]string{"metrics", "metric", "`metrics`"})
		op := g.pick([]string{">", ">=", "=", "!=", "<", "<="})
		return fmt.Sprintf("%s.%s %s %s", ent, g.key(g.pick(w.metricKeys)), op, fnum(w.metricVals[r.IntN(len(w.metricVals))]))
	case 2, 3:
		ent := g.pick([]string{"params", "param", "parameter", "parameters"})
		keys, vals := w.paramKeys, w.paramVals
		if r.IntN(2) == 0 {
			ent = g.pick([]string{"tags", "tag"})
			keys, vals = w.tagKeys, w.tagVals
		}
		k, v := g.key(g.pick(keys)), g.pick(vals)
		if strings.Contains(v, "\n") {
			v = "x"
		}
		switch r.IntN(6) {
		case 0:
			return fmt.Sprintf("%s.%s %s", ent, k, g.case_(g.pick([]string{"IS NULL", "IS NOT NULL"})))
		case 1, 2:
			return fmt.Sprintf("%s.%s %s %s", ent, k, g.case_(g.pick([]string{"LIKE", "ILIKE"})), g.str(g.pattern(v)))
		}
		return fmt.Sprintf("%s.%s %s %s", ent, k, g.pick([]string{"=", "!="}), g.str(v))
	case 4:
		prefix := g.pick([]string{"", "attributes.", "attribute.", "attr.", "run."})
		key := g.pick([]string{"start_time", "created", "Created", "end_time"})
		op := g.pick([]string{">", ">=", "=", "!=", "<", "<="})
		v := strconv.FormatInt(w.startTimes[r.IntN(len(w.startTimes))]+int64(r.IntN(3)-1), 10)
		if r.IntN(4) == 0 {
			v += ".5"
		}
		return fmt.Sprintf("%s%s %s %s", prefix, key, op, v)
	case 5:
		prefix := g.pick([]string{"", "attributes.", "attribute."})
		switch r.IntN(5) {
		case 0:
			ids := []string{g.str(g.pick(w.runIDs)), g.str(g.pick(w.runIDs)), g.str(g.pick(w.runIDs))}[:r.IntN(3)+1]
			return fmt.Sprintf("%srun_id %s (%s)", prefix, g.case_(g.pick([]string{"IN", "NOT IN"})), strings.Join(ids, ", "))
		case 1:
			return fmt.Sprintf("%sstatus %s %s", prefix, g.pick([]string{"=", "!="}), g.str(g.pick([]string{"FINISHED", "RUNNING", "FAILED"})))
		case 2:
			return fmt.Sprintf("%suser_id %s %s", prefix, g.pick([]string{"=", "!=", "LIKE", "ILIKE"}), g.str(g.pattern(g.pick(w.users))))
		case 3:
			key := g.pick([]string{"run_name", "`run name`", `"Run Name"`, "`Run name`"})
			if key != "run_name" {
				prefix = "attributes."
			}
			return fmt.Sprintf("%s%s %s %s", prefix, key, g.pick([]string{"=", "!=", "LIKE", "ILIKE"}), g.str(g.pattern(g.pick(w.runNames))))
		}
		return fmt.Sprintf("%sartifact_uri LIKE '%%%s%%'", prefix, g.pick(w.runIDs)[:3])
	case 6, 7:
		ent := g.pick([]string{"dataset", "datasets"})
		key := g.pick([]string{"name", "digest", "context"})
		vals := map[string][]string{"name": w.dsNames, "digest": w.dsDigests, "context": {"train", "eval", "Train"}}[key]
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("%s.%s %s (%s, %s)", ent, key, g.pick([]string{"IN", "NOT IN"}), g.str(g.pick(vals)), g.str(g.pick(vals)))
		case 1:
			return fmt.Sprintf("%s.%s %s %s", ent, key, g.pick([]string{"LIKE", "ILIKE"}), g.str(g.pattern(g.pick(vals))))
		}
		return fmt.Sprintf("%s.%s %s %s", ent, key, g.pick([]string{"=", "!="}), g.str(g.pick(vals)))
	}
	return fmt.Sprintf("tags.`mlflow.runName` %s %s", g.pick([]string{"=", "LIKE"}), g.str(g.pattern(g.pick(w.runNames))))
}

// invalidClause is a clause MLflow rejects. It goes first so that Python,
// which checks comparators only while evaluating a run, meets it.
func (g *queryGen) invalidClause() string {
	return g.pick([]string{
		"metrics.loss > 1 OR metrics.acc < 2",
		"(metrics.loss > 1)",
		"params.lr = 0.1",
		"params.lr = adam",
		"metrics.loss = '1'",
		"metrics.loss LIKE '1'",
		"params.lr > '0.1'",
		"tags.env < 'a'",
		"metrics.loss IS NULL",
		"params.lr IN ('a')",
		"attributes.run_id IN ()",
		"attributes.user_id IN ('a')",
		"foo.bar = 'x'",
		"attributes.experiment_id = '0'",
		"datasets.foo = 'x'",
		"NOT metrics.loss > 1",
		"metrics.loss > 1;",
		"metrics.loss",
		"start_time > 'abc'",
		"status IS NULL",
		"metrics.loss <> 1",
		"params.lr NOT LIKE 'a'",
		"metrics.a-b > 1",
		"metrics.loss > 1; metrics.acc > 1",
		"run_id IN ('a', 1)",
		"end_time = abc",
	})
}

func (g *queryGen) order() []string {
	r, w := g.r, g.w
	var out []string
	for n := r.IntN(3); n > 0; n-- {
		var s string
		switch r.IntN(5) {
		case 0, 1:
			s = g.pick([]string{"metrics.", "metric."}) + g.key(g.pick(w.metricKeys))
		case 2:
			s = "params." + g.key(g.pick(w.paramKeys))
		case 3:
			s = "tags." + g.key(g.pick(w.tagKeys))
		default:
			s = g.pick([]string{"", "attributes.", "attribute."}) + g.pick([]string{"start_time", "end_time", "run_name", "status", "user_id", "run_id", "artifact_uri", "created"})
		}
		if r.IntN(3) != 0 {
			s += " " + g.case_(g.pick([]string{"ASC", "DESC"}))
		}
		out = append(out, s)
	}
	if r.IntN(40) == 0 {
		out = append(out, g.pick([]string{"foo.bar", "metrics.loss sideways", "metrics.loss ASC DESC", "attributes.foo", "datasets.name", "metrics.loss, params.lr", ""}))
	}
	return out
}

func (g *queryGen) runQuery() searchQuery {
	r := g.r
	q := searchQuery{Kind: "runs", View: []int{1, 1, 2, 3}[r.IntN(4)], Max: []int{17, 60, 1000, 0}[r.IntN(4)]}
	q.ExpIDs = []string{g.w.expIDs[0], g.w.expIDs[1], g.w.expIDs[2], g.w.expIDs[3], g.w.expIDs[4], "123456"}[:r.IntN(6)+1]
	var cs []string
	if r.IntN(7) == 0 {
		cs = append(cs, g.invalidClause())
		q.View, q.ExpIDs = 3, g.w.expIDs[:3]
	}
	for n := r.IntN(4); n > 0; n-- {
		cs = append(cs, g.clause())
	}
	and := g.pick([]string{" AND ", " and ", " AND ", "  AnD\n"})
	q.Filter = strings.Join(cs, and)
	q.Order = g.order()
	if r.IntN(30) == 0 {
		q.Token = g.pick([]string{"garbage!", "eyJvZmZzZXQiOiAwfQ==", "eyJvZmZzZXQiOiAxfQ==", "bm90IGpzb24=", "eyJvZmZzZXQiOiAiMiJ9"})
	}
	if r.IntN(60) == 0 {
		q.Max = 50001
	}
	return q
}

func (g *queryGen) expQuery() searchQuery {
	r, w := g.r, g.w
	q := searchQuery{Kind: "experiments", View: []int{1, 2, 3}[r.IntN(3)], Max: []int{2, 3, 1000}[r.IntN(3)]}
	var cs []string
	for n := r.IntN(3); n > 0; n-- {
		switch r.IntN(6) {
		case 0:
			cs = append(cs, fmt.Sprintf("%sname %s %s", g.pick([]string{"", "attribute.", "attributes."}),
				g.pick([]string{"=", "!=", "LIKE", "ILIKE"}), g.str(g.pattern(g.pick(w.expNames)))))
		case 1:
			cs = append(cs, fmt.Sprintf("%s %s %d", g.pick([]string{"creation_time", "last_update_time"}),
				g.pick([]string{">", ">=", "=", "!=", "<", "<="}), w.expTimes[r.IntN(len(w.expTimes))]))
		case 2, 3:
			k := g.key(g.pick(w.expTagKeys))
			if r.IntN(3) == 0 {
				cs = append(cs, fmt.Sprintf("%s.%s %s", g.pick([]string{"tag", "tags"}), k, g.pick([]string{"IS NULL", "IS NOT NULL"})))
			} else {
				cs = append(cs, fmt.Sprintf("%s.%s %s %s", g.pick([]string{"tag", "tags"}), k,
					g.pick([]string{"=", "!=", "LIKE", "ILIKE"}), g.str(g.pattern(g.pick(w.expTagVals)))))
			}
		case 4:
			cs = append(cs, fmt.Sprintf("experiment_id %s (%s, %s)", g.pick([]string{"IN", "NOT IN"}), g.str(g.pick(w.expIDs)), g.str(g.pick(w.expIDs))))
		default:
			// refused: first, over a non-empty view, as Python checks
			// comparators only while evaluating an experiment
			cs = append([]string{g.pick([]string{"metrics.a > 1", "name > 'a'", "name IS NULL", "attr.name = 'x'",
				"creation_time = 'x'", "tags.t > 'a'", "name = 'a' OR name = 'b'", "creation_time LIKE 1"})}, cs...)
			q.View = 3
		}
	}
	q.Filter = strings.Join(cs, " AND ")
	for n := r.IntN(3); n > 0; n-- {
		s := g.pick([]string{"name", "experiment_id", "creation_time", "last_update_time", "attribute.name"})
		if r.IntN(2) == 0 {
			s += " " + g.pick([]string{"ASC", "DESC", "desc"})
		}
		if r.IntN(25) == 0 {
			s = g.pick([]string{"tags.team", "foo", "name sideways"})
		}
		q.Order = append(q.Order, s)
	}
	return q
}

// goSearch pages through a query with the Go store.
func goSearch(ctx context.Context, s *filestore.Store, q searchQuery) searchResult {
	var res searchResult
	tok := q.Token
	for range 200 {
		var ids []string
		var next string
		var err error
		if q.Kind == "runs" {
			var runs []entities.Run
			runs, next, err = s.SearchRuns(ctx, q.ExpIDs, q.Filter, entities.ViewType(q.View), q.Max, q.Order, tok)
			for _, r := range runs {
				ids = append(ids, r.Info.RunID)
			}
		} else {
			var exps []entities.Experiment
			exps, next, err = s.SearchExperiments(ctx, entities.ViewType(q.View), q.Max, q.Filter, q.Order, tok)
			for _, e := range exps {
				ids = append(ids, e.ExperimentID)
			}
		}
		if err != nil {
			res.Error = err.Error()
			if !errors.Is(err, errs.ErrInvalidParameter) {
				res.Error = "NOT INVALID_PARAMETER: " + res.Error
			}
			return res
		}
		if ids == nil {
			ids = []string{}
		}
		res.Pages = append(res.Pages, ids)
		res.Tokens = append(res.Tokens, next)
		if next == "" {
			break
		}
		tok = next
	}
	return res
}

// TestStore_Search_Differential checks SearchRuns and SearchExperiments
// against Python MLflow 3.18's FileStore on a seeded random store: the same
// ids, page by page, the same page tokens, and the same queries refused.
func TestStore_Search_Differential(t *testing.T) {
	interoptest.Python(t)
	const runQueries, expQueries = 520, 120
	t0 := time.Now()
	s, w := buildSearchStore(t, 20261122, 200)
	t.Logf("build %v", time.Since(t0))
	g := &queryGen{r: rand.New(rand.NewPCG(20261122, 11)), w: w}
	var qs []searchQuery
	for range runQueries {
		q := g.runQuery()
		// Python treats max_results 0 as an empty page; ours is the default.
		if q.Max == 0 {
			q.Max = 1000
		}
		qs = append(qs, q)
	}
	for range expQueries {
		qs = append(qs, g.expQuery())
	}
	in, err := json.Marshal(map[string]any{"root": s.Root(), "queries": qs})
	require.NoError(t, err)
	t0 = time.Now()
	out := interoptest.RunCode(t, searchDriver, in)
	t.Logf("python %v", time.Since(t0))
	t0 = time.Now()
	defer func() { t.Logf("go %v", time.Since(t0)) }()
	var resp struct {
		Results []searchResult `json:"results"`
	}
	require.NoError(t, json.Unmarshal(out, &resp))
	require.Len(t, resp.Results, len(qs))
	ctx := context.Background()
	// The Go side runs the queries four at a time: each search already
	// reads runs in parallel, but CI's race detector makes single queries
	// slow and the store is read-only here.
	gots := make([]searchResult, len(qs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				gots[i] = goSearch(ctx, s, qs[i])
			}
		}()
	}
	for i := range qs {
		next <- i
	}
	close(next)
	wg.Wait()
	var accepted, refused, pages, nonEmpty int
	for i, q := range qs {
		want, got := resp.Results[i], gots[i]
		desc := fmt.Sprintf("query %d: %+v\npython: %+v\ngo: %+v", i, q, want, got)
		if want.Error != "" {
			require.NotEmpty(t, got.Error, desc)
			require.NotContains(t, got.Error, "NOT INVALID_PARAMETER", desc)
			refused++
			continue
		}
		require.Empty(t, got.Error, desc)
		require.Equal(t, want.Pages, got.Pages, desc)
		require.Equal(t, want.Tokens, got.Tokens, desc)
		accepted++
		pages += len(got.Pages)
		if len(got.Pages[0]) > 0 {
			nonEmpty++
		}
	}
	t.Logf("%d queries: %d accepted (%d with results, %d pages), %d refused by both", len(qs), accepted, nonEmpty, pages, refused)
	require.Greater(t, nonEmpty, len(qs)/4, "too few queries match anything: the generator drifted")
	require.Greater(t, refused, 40)
}
