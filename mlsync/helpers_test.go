package mlsync_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
)

// tree is a local tree made by our store for the push tests: two
// experiments (one with tags), a parent with two children, odd values.
type tree struct {
	s      *filestore.Store
	root   string
	parent string
	kids   []string
	other  string // a run of the second experiment
	expA   string
	expB   string
}

func makeTree(t *testing.T, s *filestore.Store, root, prefix string) *tree {
	t.Helper()
	ctx := context.Background()
	tr := &tree{s: s, root: root}
	var err error
	tr.expA, err = s.CreateExperiment(ctx, prefix+"sync-a", "", []entities.ExperimentTag{{Key: "team", Value: "vision"}})
	require.NoError(t, err)
	tr.expB, err = s.CreateExperiment(ctx, prefix+"sync-b", "", nil)
	require.NoError(t, err)
	newRun := func(exp, name string, start int64, tags ...entities.RunTag) string {
		tags = append(tags, entities.RunTag{Key: entities.TagUser, Value: "alice"},
			entities.RunTag{Key: "mlflow.note.content", Value: "a description"})
		r, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp, UserID: "alice", StartTime: start, RunName: name, Tags: tags})
		require.NoError(t, err)
		return r.Info.RunID
	}
	tr.parent = newRun(tr.expA, "parent", 1_700_000_000_000)
	for i := range 2 {
		kid := newRun(tr.expA, fmt.Sprintf("fold-%d", i), 1_700_000_001_000+int64(i),
			entities.RunTag{Key: entities.TagParentRunID, Value: tr.parent})
		tr.kids = append(tr.kids, kid)
	}
	tr.other = newRun(tr.expB, "other", 1_700_000_002_000)
	schema := `{"mlflow_colspec": [{"type": "double", "name": "x"}]}`
	require.NoError(t, s.LogInputs(ctx, tr.parent, []entities.DatasetInput{{
		Dataset: entities.Dataset{Name: "train", Digest: "0123abcd", SourceType: "local", Source: `{"uri": "/data/train.csv"}`, Schema: &schema},
		Tags:    []entities.InputTag{{Key: "mlflow.data.context", Value: "training"}},
	}}, nil))
	for i, id := range tr.all() {
		var ms []entities.Metric
		for step := range int64(30) {
			ms = append(ms, entities.Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: 1_700_000_010_000 + step, Step: step})
		}
		ms = append(ms,
			entities.Metric{Key: "odd", Value: math.NaN(), Timestamp: 1_700_000_020_000, Step: 0},
			entities.Metric{Key: "odd", Value: 2.5, Timestamp: 1_700_000_020_001, Step: 1},
		)
		params := []entities.Param{{Key: "lr", Value: "0.01"}, {Key: "fold", Value: fmt.Sprint(i)}}
		require.NoError(t, s.LogBatch(ctx, id, ms, params, []entities.RunTag{{Key: "stage", Value: "train"}}))
		end := 1_700_000_100_000 + int64(i)
		_, err := s.UpdateRunInfo(ctx, id, entities.StatusFinished, &end, "")
		require.NoError(t, err)
	}
	return tr
}

func (tr *tree) all() []string { return append(append([]string{tr.parent}, tr.kids...), tr.other) }

// addOddValues logs what a SQL server cannot hold exactly to the parent.
func (tr *tree) addOddValues(t *testing.T) {
	t.Helper()
	require.NoError(t, tr.s.LogBatch(context.Background(), tr.parent, []entities.Metric{
		{Key: "odd", Value: math.Inf(1), Timestamp: 1_700_000_030_000, Step: 2},
		{Key: "odd", Value: math.Inf(-1), Timestamp: 1_700_000_030_001, Step: 3},
		{Key: "odd", Value: math.Copysign(0, -1), Timestamp: 1_700_000_030_002, Step: 4},
		{Key: "dup", Value: 7, Timestamp: 1_700_000_030_003, Step: 0},
		{Key: "dup", Value: 7, Timestamp: 1_700_000_030_003, Step: 0},
	}, nil, nil))
}

// counting wraps a destination and counts its write calls.
type counting struct {
	store.Store
	mu     sync.Mutex
	writes map[string]int
	// after runs after each write call with its name and how many of
	// its kind were made (a crash, in the helper process).
	after    func(what string, n int)
	answered map[string]int // writes answered, by kind and "any" (with after)
}

func newCounting(s store.Store) *counting { return &counting{Store: s, writes: map[string]int{}} }

func (c *counting) count(what string) {
	c.mu.Lock()
	c.writes[what]++
	c.mu.Unlock()
}

// done counts a write answered; with runs pushed at once, another of its
// kind may have been counted meanwhile, so done keeps its own count.
func (c *counting) done(what string) {
	if c.after != nil {
		c.mu.Lock()
		if c.answered == nil {
			c.answered = map[string]int{}
		}
		c.answered[what]++
		n := c.answered[what]
		c.answered["any"]++
		all := c.answered["any"]
		c.mu.Unlock()
		c.after(what, n)
		c.after("any", all)
	}
}

func (c *counting) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.writes {
		n += v
	}
	return n
}

func (c *counting) reset() {
	c.mu.Lock()
	clear(c.writes)
	c.mu.Unlock()
}

func (c *counting) CreateRun(ctx context.Context, o store.CreateRunOptions) (entities.Run, error) {
	c.count("CreateRun")
	r, err := c.Store.CreateRun(ctx, o)
	c.done("CreateRun")
	return r, err
}

func (c *counting) CreateExperiment(ctx context.Context, name, loc string, tags []entities.ExperimentTag) (string, error) {
	c.count("CreateExperiment")
	id, err := c.Store.CreateExperiment(ctx, name, loc, tags)
	c.done("CreateExperiment")
	return id, err
}

func (c *counting) LogBatch(ctx context.Context, runID string, ms []entities.Metric, ps []entities.Param, ts []entities.RunTag) error {
	c.count("LogBatch")
	c.mu.Lock()
	c.writes["points"] += len(ms)
	c.mu.Unlock()
	err := c.Store.LogBatch(ctx, runID, ms, ps, ts)
	c.done("LogBatch")
	return err
}

func (c *counting) UpdateRunInfo(ctx context.Context, runID string, st entities.RunStatus, end *int64, name string) (entities.RunInfo, error) {
	c.count("UpdateRunInfo")
	info, err := c.Store.UpdateRunInfo(ctx, runID, st, end, name)
	c.done("UpdateRunInfo")
	return info, err
}

func (c *counting) SetExperimentTag(ctx context.Context, id, k, v string) error {
	c.count("SetExperimentTag")
	err := c.Store.SetExperimentTag(ctx, id, k, v)
	c.done("SetExperimentTag")
	return err
}

func (c *counting) DeleteRun(ctx context.Context, id string) error {
	c.count("DeleteRun")
	err := c.Store.DeleteRun(ctx, id)
	c.done("DeleteRun")
	return err
}

func (c *counting) DeleteTag(ctx context.Context, id, k string) error {
	c.count("DeleteTag")
	return c.Store.DeleteTag(ctx, id, k)
}

func (c *counting) points() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes["points"]
}

// remoteRuns maps local run ids to the destination's runs by source tag.
func remoteRuns(t *testing.T, dst store.Store) map[string][]entities.Run {
	t.Helper()
	ctx := context.Background()
	exps, _, err := dst.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	out := map[string][]entities.Run{}
	for _, x := range exps {
		runs, _, err := dst.ListRuns(ctx, x.ExperimentID, entities.ViewAll)
		require.NoError(t, err)
		for _, r := range runs {
			if id := r.Data.Tags[mlsync.TagSourceRunID]; id != "" {
				out[id] = append(out[id], r)
			}
		}
	}
	return out
}

// valueMap maps a local value to what the destination stores.
type valueMap func(float64) float64

func exact(v float64) float64 { return v }

func sqlValue(v float64) float64 {
	switch {
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	case v == 0:
		return 0
	}
	return v
}

// history is a metric history as comparable text, sorted (a server
// returns its own order); dedup drops exact duplicates as SQL does.
func history(t *testing.T, s store.Store, runID, key string, vm valueMap, dedup bool) []string {
	t.Helper()
	ms, err := s.GetMetricHistory(context.Background(), runID, key)
	require.NoError(t, err)
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d %d %v", m.Timestamp, m.Step, vm(m.Value)))
	}
	slices.Sort(out)
	if dedup {
		out = slices.Compact(out)
	}
	return out
}

// requireMirrored checks that every local run is on the destination once,
// with its info, params, tags (parent rewritten) and histories.
func requireMirrored(t *testing.T, src, dst store.Store, vm valueMap, dedup bool) map[string]string {
	t.Helper()
	ctx := context.Background()
	remote := remoteRuns(t, dst)
	exps, _, err := src.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	ids := map[string]string{}
	var locals []entities.Run
	for _, x := range exps {
		runs, _, err := src.ListRuns(ctx, x.ExperimentID, entities.ViewAll)
		require.NoError(t, err)
		for _, r := range runs {
			rs := remote[r.Info.RunID]
			require.Len(t, rs, 1, "run %s on the destination", r.Info.RunID)
			ids[r.Info.RunID] = rs[0].Info.RunID
			locals = append(locals, r)
		}
		rx, err := dst.GetExperimentByName(ctx, x.Name)
		require.NoError(t, err)
		for k, v := range x.Tags {
			require.Equal(t, v, rx.Tags[k], "experiment %s tag %s", x.Name, k)
		}
	}
	for _, r := range locals {
		rr, err := dst.GetRun(ctx, ids[r.Info.RunID])
		require.NoError(t, err)
		li, ri := r.Info, rr.Info
		require.Equal(t, li.RunName, ri.RunName)
		require.Equal(t, li.UserID, ri.UserID)
		require.Equal(t, li.Status, ri.Status)
		require.Equal(t, li.StartTime, ri.StartTime)
		require.Equal(t, li.EndTime, ri.EndTime)
		require.Equal(t, li.LifecycleStage, ri.LifecycleStage)
		require.Equal(t, r.Data.Params, rr.Data.Params)
		want := map[string]string{}
		for k, v := range r.Data.Tags {
			if k == entities.TagParentRunID {
				v = ids[v]
			}
			want[k] = v
		}
		got := map[string]string{}
		for k, v := range rr.Data.Tags {
			if !strings.HasPrefix(k, "mlruns.sync.") {
				got[k] = v
			}
		}
		require.Equal(t, want, got, "tags of %s", r.Info.RunID)
		require.Equal(t, slices.Sorted(maps.Keys(r.Data.Metrics)), slices.Sorted(maps.Keys(rr.Data.Metrics)))
		require.Equal(t, r.Inputs.DatasetInputs, rr.Inputs.DatasetInputs, "dataset inputs of %s", r.Info.RunID)
		for k := range r.Data.Metrics {
			require.Equal(t, history(t, src, r.Info.RunID, k, vm, dedup), history(t, dst, ids[r.Info.RunID], k, exact, false),
				"history %s of %s", k, r.Info.RunID)
		}
	}
	return ids
}

// ServerInfo passes the REST store's probe through the wrapper.
func (c *counting) ServerInfo(ctx context.Context) (reststore.ServerInfo, error) {
	if si, ok := c.Store.(interface {
		ServerInfo(context.Context) (reststore.ServerInfo, error)
	}); ok {
		return si.ServerInfo(ctx)
	}
	return reststore.ServerInfo{Known: true, StoreType: "FileStore"}, nil
}

func (c *counting) CreateLoggedModel(ctx context.Context, exp string, o store.CreateLoggedModelOptions) (entities.LoggedModel, error) {
	c.count("CreateLoggedModel")
	m, err := c.Store.CreateLoggedModel(ctx, exp, o)
	c.done("CreateLoggedModel")
	return m, err
}

func (c *counting) LogLoggedModelParams(ctx context.Context, id string, ps map[string]string) error {
	c.count("LogLoggedModelParams")
	err := c.Store.LogLoggedModelParams(ctx, id, ps)
	c.done("LogLoggedModelParams")
	return err
}

func (c *counting) SetLoggedModelTags(ctx context.Context, id string, ts map[string]string) error {
	c.count("SetLoggedModelTags")
	err := c.Store.SetLoggedModelTags(ctx, id, ts)
	c.done("SetLoggedModelTags")
	return err
}

func (c *counting) FinalizeLoggedModel(ctx context.Context, id string, st entities.LoggedModelStatus) (entities.LoggedModel, error) {
	c.count("FinalizeLoggedModel")
	m, err := c.Store.FinalizeLoggedModel(ctx, id, st)
	c.done("FinalizeLoggedModel")
	return m, err
}

func (c *counting) LogInputs(ctx context.Context, id string, ds []entities.DatasetInput, ms []entities.ModelInput) error {
	c.count("LogInputs")
	err := c.Store.LogInputs(ctx, id, ds, ms)
	c.done("LogInputs")
	return err
}

func (c *counting) LogOutputs(ctx context.Context, id string, ms []entities.ModelOutput) error {
	c.count("LogOutputs")
	err := c.Store.LogOutputs(ctx, id, ms)
	c.done("LogOutputs")
	return err
}

// addModel gives the tree a READY logged model made by the parent, with a
// param, a tag and a metric logged against it and a dataset; the parent
// outputs it at step 3, the first child uses it.
func (tr *tree) addModel(t *testing.T) string {
	t.Helper()
	return tr.addModelAt(t, 3)
}

// addModelAt is addModel with the model's metric at step.
func (tr *tree) addModelAt(t *testing.T, step int64) string {
	t.Helper()
	ctx := context.Background()
	m, err := tr.s.CreateLoggedModel(ctx, tr.expA, store.CreateLoggedModelOptions{Name: "model", SourceRunID: tr.parent,
		ModelType: "classifier", Params: map[string]string{"alpha": "0.5"}, Tags: map[string]string{"flavor": "go"}})
	require.NoError(t, err)
	require.NoError(t, tr.s.LogBatch(ctx, tr.parent, []entities.Metric{{Key: "acc", Value: 0.75, Timestamp: 1_700_000_095_000, Step: step,
		ModelID: m.ModelID, DatasetName: "train", DatasetDigest: "0123abcd"}}, nil, nil))
	require.NoError(t, tr.s.LogOutputs(ctx, tr.parent, []entities.ModelOutput{{ModelID: m.ModelID, Step: 3}}))
	require.NoError(t, tr.s.LogInputs(ctx, tr.kids[0], nil, []entities.ModelInput{{ModelID: m.ModelID}}))
	ma, err := tr.s.ModelArtifacts(ctx, m.ModelID)
	require.NoError(t, err)
	putArtifact(t, ma, "MLmodel", "artifact_path: model\nflavors: {}\n")
	_, err = tr.s.FinalizeLoggedModel(ctx, m.ModelID, entities.LoggedModelReady)
	require.NoError(t, err)
	return m.ModelID
}

// requireModelMirrored checks the destination's copy of a local model:
// found by its source tag, its source run, params, tags, status and
// metrics with remote ids, and the runs' links to it.
func requireModelMirrored(t *testing.T, src, dst store.Store, localID string, ids map[string]string) string {
	t.Helper()
	ctx := context.Background()
	lm, err := src.GetLoggedModel(ctx, localID)
	require.NoError(t, err)
	rx, err := dst.GetExperiment(ctx, remoteRunExp(t, dst, ids[*lm.SourceRunID]))
	require.NoError(t, err)
	ms, _, err := dst.SearchLoggedModels(ctx, []string{rx.ExperimentID}, "", nil, 100, nil, "")
	require.NoError(t, err)
	var found []entities.LoggedModel
	for _, m := range ms {
		if m.Tags[mlsync.TagSourceModelID] == localID {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "remote models of %s", localID)
	rm, err := dst.GetLoggedModel(ctx, found[0].ModelID)
	require.NoError(t, err)
	require.Equal(t, lm.Name, rm.Name)
	require.Equal(t, ids[*lm.SourceRunID], *rm.SourceRunID)
	require.Equal(t, lm.ModelType, rm.ModelType)
	require.Equal(t, lm.Status, rm.Status)
	require.Equal(t, lm.Params, rm.Params)
	tags := map[string]string{}
	for k, v := range rm.Tags {
		if !strings.HasPrefix(k, "mlruns.sync.") {
			tags[k] = v
		}
	}
	require.Equal(t, lm.Tags, tags)
	require.Len(t, rm.Metrics, len(lm.Metrics))
	for i, m := range lm.Metrics {
		got := rm.Metrics[i]
		require.Equal(t, []any{m.Key, m.Value, m.Timestamp, m.Step, m.DatasetName, m.DatasetDigest, ids[m.RunID]},
			[]any{got.Key, got.Value, got.Timestamp, got.Step, got.DatasetName, got.DatasetDigest, got.RunID})
	}
	la, err := src.ModelArtifacts(ctx, localID)
	require.NoError(t, err)
	ra, err := dst.ModelArtifacts(ctx, rm.ModelID)
	require.NoError(t, err)
	require.Equal(t, artifactFiles(t, la), artifactFiles(t, ra), "artifacts of model %s", localID)
	return rm.ModelID
}

func remoteRunExp(t *testing.T, dst store.Store, runID string) string {
	t.Helper()
	info, err := dst.GetRunInfo(context.Background(), runID)
	require.NoError(t, err)
	return info.ExperimentID
}

func (c *counting) RunArtifacts(ctx context.Context, id string) (store.Artifacts, error) {
	a, err := c.Store.RunArtifacts(ctx, id)
	if err != nil {
		return nil, err
	}
	return &countingArtifacts{Artifacts: a, c: c}, nil
}

func (c *counting) ModelArtifacts(ctx context.Context, id string) (store.Artifacts, error) {
	a, err := c.Store.ModelArtifacts(ctx, id)
	if err != nil {
		return nil, err
	}
	return &countingArtifacts{Artifacts: a, c: c}, nil
}

// countingArtifacts counts a destination's artifact uploads as "Put".
type countingArtifacts struct {
	store.Artifacts
	c *counting
}

func (a *countingArtifacts) Put(ctx context.Context, p string, r io.Reader) error {
	a.c.count("Put")
	err := a.Artifacts.Put(ctx, p, r)
	a.c.done("Put")
	return err
}

// putArtifact writes a file into a repository.
func putArtifact(t *testing.T, a store.Artifacts, p, content string) {
	t.Helper()
	require.NoError(t, a.Put(context.Background(), p, strings.NewReader(content)))
}

// artifactFiles reads every file of a repository: path -> content.
func artifactFiles(t *testing.T, a store.Artifacts) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var walk func(dir string)
	walk = func(dir string) {
		es, err := a.List(ctx, dir)
		require.NoError(t, err)
		for _, e := range es {
			if e.IsDir {
				walk(e.Path)
				continue
			}
			r, err := a.Open(ctx, e.Path)
			require.NoError(t, err)
			b, err := io.ReadAll(r)
			r.Close()
			require.NoError(t, err)
			require.Equal(t, int64(len(b)), e.FileSize, e.Path)
			out[e.Path] = string(b)
		}
	}
	walk("")
	return out
}

// addArtifacts gives the parent run three files (one of 1 MiB, in
// folders) and returns the repository.
func (tr *tree) addArtifacts(t *testing.T) store.Artifacts {
	t.Helper()
	a, err := tr.s.RunArtifacts(context.Background(), tr.parent)
	require.NoError(t, err)
	putArtifact(t, a, "notes.txt", "first notes\n")
	putArtifact(t, a, "model/weights.bin", strings.Repeat("w0123456789abcdef", 1<<16))
	putArtifact(t, a, "plots/loss/curve.svg", "<svg/>")
	return a
}
