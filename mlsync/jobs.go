package mlsync

import (
	"context"
	"io"
	"iter"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/store"
)

// DefaultJobs is how many runs a push sends at once when Options.Jobs is
// zero: MLflow's server runs 4 workers by default, and a LogBatch spends
// its time there (Python and the database), so 4 in flight can keep them
// busy; against a server of one worker they cost nothing measurable
// (BenchmarkPush_Server).
const DefaultJobs = 4

// How the runs phase runs concurrently: every worker holds pusher.mu
// while it works, so the journal, the report, the progress counters and
// the model state change under one lock as in a sequential push, and the
// journal is marshalled whole under it. A worker lets go of the
// lock only while it waits on the destination (unlockingStore) or for a
// run it depends on (pusher.cond), which is where a push spends its time.
// Reading the tree (local files, hashing) stays under the lock: it is
// cheap next to a server's answer, and keeps the batchers' state simple.

// pushRuns pushes p.order with up to o.Jobs runs at once. A run starts
// after its parent and the source runs of the models it uses (those
// before it in p.order: a cycle was cut there), so a child is created
// with its parent's remote id. The reports keep p.order's order. Called
// with p.mu held.
func (p *pusher) pushRuns() {
	n := len(p.order)
	pos := make(map[string]int, n)
	for i, r := range p.order {
		pos[r.Info.RunID] = i
	}
	deps := make([][]int, n)
	for i, r := range p.order {
		ids := append([]string{r.Data.Tags[entities.TagParentRunID]}, p.modelDeps(r)...)
		for _, id := range ids {
			if d, ok := pos[id]; ok && d < i {
				deps[i] = append(deps[i], d)
			}
		}
	}
	results := make([]RunReport, n)
	done := make([]bool, n)
	next := 0
	var wg sync.WaitGroup
	for range min(p.jobs(), n) {
		wg.Go(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			for next < n {
				i := next
				next++
				for _, d := range deps[i] {
					for !done[d] {
						p.cond.Wait()
					}
				}
				r := p.order[i]
				rr := p.pushRun(r)
				if rr.State == RunFailed {
					p.runFailed[r.Info.RunID] = true
				}
				results[i], done[i] = rr, true
				p.prog.RunsDone++
				p.progress()
				p.save(false)
				p.cond.Broadcast()
			}
		})
	}
	p.mu.Unlock()
	wg.Wait()
	p.mu.Lock()
	p.rep.Runs = append(p.rep.Runs, results...)
}

func (p *pusher) jobs() int {
	switch {
	case p.dry:
		return 1 // nothing to wait on: the tree alone
	case p.o.Jobs == 0:
		return DefaultJobs
	}
	return p.o.Jobs
}

// unlockingStore is the destination as the runs phase calls it: each call
// that waits on the server is made without mu, which the caller holds
// (see pushRuns). Calls it does not list are made with mu held: correct,
// only not overlapped.
type unlockingStore struct {
	store.Store
	mu *sync.Mutex
}

// unlocked runs f without u.mu.
func unlocked[T any](u *unlockingStore, f func() (T, error)) (T, error) {
	u.mu.Unlock()
	defer u.mu.Lock()
	return f()
}

func unlocked0(u *unlockingStore, f func() error) error {
	u.mu.Unlock()
	defer u.mu.Lock()
	return f()
}

func (u *unlockingStore) CreateRun(ctx context.Context, o store.CreateRunOptions) (entities.Run, error) {
	return unlocked(u, func() (entities.Run, error) { return u.Store.CreateRun(ctx, o) })
}

func (u *unlockingStore) GetRun(ctx context.Context, id string) (entities.Run, error) {
	return unlocked(u, func() (entities.Run, error) { return u.Store.GetRun(ctx, id) })
}

func (u *unlockingStore) GetRunInfo(ctx context.Context, id string) (entities.RunInfo, error) {
	return unlocked(u, func() (entities.RunInfo, error) { return u.Store.GetRunInfo(ctx, id) })
}

func (u *unlockingStore) UpdateRunInfo(ctx context.Context, id string, st entities.RunStatus, end *int64, name string) (entities.RunInfo, error) {
	return unlocked(u, func() (entities.RunInfo, error) { return u.Store.UpdateRunInfo(ctx, id, st, end, name) })
}

func (u *unlockingStore) RestoreRun(ctx context.Context, id string) error {
	return unlocked0(u, func() error { return u.Store.RestoreRun(ctx, id) })
}

func (u *unlockingStore) DeleteRun(ctx context.Context, id string) error {
	return unlocked0(u, func() error { return u.Store.DeleteRun(ctx, id) })
}

func (u *unlockingStore) DeleteTag(ctx context.Context, id, key string) error {
	return unlocked0(u, func() error { return u.Store.DeleteTag(ctx, id, key) })
}

func (u *unlockingStore) LogBatch(ctx context.Context, id string, ms []entities.Metric, ps []entities.Param, ts []entities.RunTag) error {
	return unlocked0(u, func() error { return u.Store.LogBatch(ctx, id, ms, ps, ts) })
}

func (u *unlockingStore) LogInputs(ctx context.Context, id string, ds []entities.DatasetInput, ms []entities.ModelInput) error {
	return unlocked0(u, func() error { return u.Store.LogInputs(ctx, id, ds, ms) })
}

func (u *unlockingStore) LogOutputs(ctx context.Context, id string, ms []entities.ModelOutput) error {
	return unlocked0(u, func() error { return u.Store.LogOutputs(ctx, id, ms) })
}

func (u *unlockingStore) SearchRuns(ctx context.Context, exps []string, filter string, v entities.ViewType, n int, order []string, tok string) ([]entities.Run, string, error) {
	var next string
	runs, err := unlocked(u, func() (rs []entities.Run, err error) {
		rs, next, err = u.Store.SearchRuns(ctx, exps, filter, v, n, order, tok)
		return rs, err
	})
	return runs, next, err
}

func (u *unlockingStore) CreateLoggedModel(ctx context.Context, exp string, o store.CreateLoggedModelOptions) (entities.LoggedModel, error) {
	return unlocked(u, func() (entities.LoggedModel, error) { return u.Store.CreateLoggedModel(ctx, exp, o) })
}

func (u *unlockingStore) FinalizeLoggedModel(ctx context.Context, id string, st entities.LoggedModelStatus) (entities.LoggedModel, error) {
	return unlocked(u, func() (entities.LoggedModel, error) { return u.Store.FinalizeLoggedModel(ctx, id, st) })
}

func (u *unlockingStore) SetLoggedModelTags(ctx context.Context, id string, tags map[string]string) error {
	return unlocked0(u, func() error { return u.Store.SetLoggedModelTags(ctx, id, tags) })
}

func (u *unlockingStore) DeleteLoggedModelTag(ctx context.Context, id, key string) error {
	return unlocked0(u, func() error { return u.Store.DeleteLoggedModelTag(ctx, id, key) })
}

func (u *unlockingStore) LogLoggedModelParams(ctx context.Context, id string, ps map[string]string) error {
	return unlocked0(u, func() error { return u.Store.LogLoggedModelParams(ctx, id, ps) })
}

func (u *unlockingStore) SearchLoggedModels(ctx context.Context, exps []string, filter string, ds []entities.LoggedModelDatasetFilter,
	n int, order []entities.LoggedModelOrderBy, tok string) ([]entities.LoggedModel, string, error) {
	var next string
	ms, err := unlocked(u, func() (ms []entities.LoggedModel, err error) {
		ms, next, err = u.Store.SearchLoggedModels(ctx, exps, filter, ds, n, order, tok)
		return ms, err
	})
	return ms, next, err
}

// MetricHistoryIter reads the destination's pages without mu and yields
// each point with it.
func (u *unlockingStore) MetricHistoryIter(ctx context.Context, id, key string) iter.Seq2[entities.Metric, error] {
	inner := u.Store.MetricHistoryIter(ctx, id, key)
	return func(yield func(entities.Metric, error) bool) {
		u.mu.Unlock()
		defer u.mu.Lock()
		for m, err := range inner {
			u.mu.Lock()
			ok := yield(m, err)
			u.mu.Unlock()
			if !ok {
				return
			}
		}
	}
}

func (u *unlockingStore) RunArtifacts(ctx context.Context, id string) (store.Artifacts, error) {
	a, err := unlocked(u, func() (store.Artifacts, error) { return u.Store.RunArtifacts(ctx, id) })
	if err != nil {
		return nil, err
	}
	return &unlockingArtifacts{Artifacts: a, mu: u.mu}, nil
}

func (u *unlockingStore) ModelArtifacts(ctx context.Context, id string) (store.Artifacts, error) {
	a, err := unlocked(u, func() (store.Artifacts, error) { return u.Store.ModelArtifacts(ctx, id) })
	if err != nil {
		return nil, err
	}
	return &unlockingArtifacts{Artifacts: a, mu: u.mu}, nil
}

// unlockingArtifacts uploads without mu (the body is a file of the tree
// read through a private hashing reader).
type unlockingArtifacts struct {
	store.Artifacts
	mu *sync.Mutex
}

func (a *unlockingArtifacts) Put(ctx context.Context, path string, r io.Reader) error {
	a.mu.Unlock()
	defer a.mu.Lock()
	return a.Artifacts.Put(ctx, path, r)
}

func (a *unlockingArtifacts) List(ctx context.Context, path string) ([]store.ArtifactInfo, error) {
	a.mu.Unlock()
	defer a.mu.Lock()
	return a.Artifacts.List(ctx, path)
}
