package mlsync_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// comparable is a report without what differs between two destinations
// (the remote ids), for comparing pushes of one tree.
func comparable(rep *mlsync.Report) *mlsync.Report {
	c := *rep
	c.Target = ""
	c.Runs = slices.Clone(rep.Runs)
	for i := range c.Runs {
		c.Runs[i].RemoteRunID = ""
	}
	c.Models = slices.Clone(rep.Models)
	for i := range c.Models {
		c.Models[i].RemoteModelID = ""
	}
	return &c
}

// pushTo pushes tr into a new file store with o (Root and Target set).
func pushTo(t *testing.T, tr *tree, o mlsync.Options) (*mlsync.Report, *filestore.Store, *counting) {
	t.Helper()
	dst, dstRoot := storetest.New(t, nil)
	o.Root, o.Target = tr.root, dstRoot
	c := newCounting(dst)
	rep, err := mlsync.Push(context.Background(), tr.s, c, o)
	require.NoError(t, err)
	require.True(t, rep.Complete(), "%+v", rep)
	return rep, dst, c
}

// Any number of jobs pushes what one job pushes, with the same report
// (runs in the same order) and the same requests.
func TestPush_Jobs_SameAsOneJob(t *testing.T) {
	src, root := storetest.New(t, nil)
	tr := makeTree(t, src, root, "")
	tr.addModel(t)
	tr.addArtifacts(t)
	want, dst, c := pushTo(t, tr, mlsync.Options{Jobs: 1})
	requireMirrored(t, tr.s, dst, exact, false)
	for _, jobs := range []int{0, 2, 4, 16} {
		t.Run(fmt.Sprintf("jobs=%d", jobs), func(t *testing.T) {
			got, dst2, c2 := pushTo(t, tr, mlsync.Options{Jobs: jobs})
			require.Equal(t, comparable(want), comparable(got))
			require.Equal(t, c.total(), c2.total())
			requireMirrored(t, tr.s, dst2, exact, false)
		})
	}
}

// ordering records when each run's push starts (CreateRun) and ends
// (UpdateRunInfo, its last write), by local id, and the most LogBatch
// calls in flight at once; every LogBatch takes a little while, as a
// server's does, so runs overlap.
type ordering struct {
	store.Store
	mu       sync.Mutex
	events   []string
	local    map[string]string // remote -> local id
	inflight int
	most     int
}

func (o *ordering) CreateRun(ctx context.Context, opts store.CreateRunOptions) (entities.Run, error) {
	var id string
	for _, tag := range opts.Tags {
		if tag.Key == mlsync.TagSourceRunID {
			id = tag.Value
		}
	}
	o.mu.Lock()
	o.events = append(o.events, "start "+id)
	o.mu.Unlock()
	r, err := o.Store.CreateRun(ctx, opts)
	if err == nil {
		o.mu.Lock()
		o.local[r.Info.RunID] = id
		o.mu.Unlock()
	}
	return r, err
}

func (o *ordering) LogBatch(ctx context.Context, id string, ms []entities.Metric, ps []entities.Param, ts []entities.RunTag) error {
	o.mu.Lock()
	o.inflight++
	o.most = max(o.most, o.inflight)
	o.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	defer func() {
		o.mu.Lock()
		o.inflight--
		o.mu.Unlock()
	}()
	return o.Store.LogBatch(ctx, id, ms, ps, ts)
}

func (o *ordering) UpdateRunInfo(ctx context.Context, id string, st entities.RunStatus, end *int64, name string) (entities.RunInfo, error) {
	info, err := o.Store.UpdateRunInfo(ctx, id, st, end, name)
	o.mu.Lock()
	o.events = append(o.events, "end "+o.local[id])
	o.mu.Unlock()
	return info, err
}

// Under concurrency a run is created only after its parent is wholly
// pushed (so its mlflow.parentRunId names the parent's remote id), over
// three generations, while unrelated runs overlap.
func TestPush_Jobs_ParentsBeforeChildren(t *testing.T) {
	ctx := context.Background()
	src, root := storetest.New(t, nil)
	exp, err := src.CreateExperiment(ctx, "nested", "", nil)
	require.NoError(t, err)
	parentOf := map[string]string{}
	newRun := func(parent string, start int64) string {
		var tags []entities.RunTag
		if parent != "" {
			tags = append(tags, entities.RunTag{Key: entities.TagParentRunID, Value: parent})
		}
		r, err := src.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp, StartTime: start, Tags: tags})
		require.NoError(t, err)
		id := r.Info.RunID
		parentOf[id] = parent
		var ms []entities.Metric
		for step := range int64(1500) { // two batches
			ms = append(ms, entities.Metric{Key: "loss", Value: float64(step), Timestamp: start + step, Step: step})
		}
		for chunk := range slices.Chunk(ms, 1000) {
			require.NoError(t, src.LogBatch(ctx, id, chunk, nil, nil))
		}
		_, err = src.UpdateRunInfo(ctx, id, entities.StatusFinished, &start, "")
		require.NoError(t, err)
		return id
	}
	// Children start before their parents, so start-time order alone
	// would put them first.
	for i := range int64(3) {
		p := newRun("", 1_700_000_100_000+i)
		for j := range int64(3) {
			kid := newRun(p, 1_700_000_000_000+10*i+j)
			newRun(kid, 1_699_000_000_000+10*i+j)
		}
	}
	dst, dstRoot := storetest.New(t, nil)
	rec := &ordering{Store: dst, local: map[string]string{}}
	rep, err := mlsync.Push(ctx, src, rec, mlsync.Options{Root: root, Target: dstRoot, Jobs: 4})
	require.NoError(t, err)
	require.True(t, rep.Complete(), "%+v", rep)
	require.Equal(t, 21, rep.Count(mlsync.RunCreated))
	require.Greater(t, rec.most, 1, "runs were pushed at once")
	at := map[string]int{}
	for i, ev := range rec.events {
		at[ev] = i
	}
	for id, parent := range parentOf {
		if parent != "" {
			require.Greater(t, at["start "+id], at["end "+parent], "run %s created before its parent %s was pushed", id, parent)
		}
	}
	requireMirrored(t, src, dst, exact, false)
}

func TestPush_Jobs_Invalid(t *testing.T) {
	for _, jobs := range []int{-1, -100} {
		t.Run(fmt.Sprint(jobs), func(t *testing.T) {
			f := newFileSetup(t)
			o := f.opts
			o.Jobs = jobs
			_, err := mlsync.Push(context.Background(), f.tr.s, f.dst, o)
			require.ErrorIs(t, err, errs.ErrInvalidParameter)
			var ve *validate.Error
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "Jobs", ve.Field)
			require.Zero(t, f.dst.total())
		})
	}
}

// cancelling cancels the push's context after its n-th LogBatch.
type cancelling struct {
	*counting
	cancel func()
	n, at  int
}

func (c *cancelling) LogBatch(ctx context.Context, runID string, ms []entities.Metric, ps []entities.Param, ts []entities.RunTag) error {
	err := c.counting.LogBatch(ctx, runID, ms, ps, ts)
	c.mu.Lock()
	c.n++
	if c.n == c.at {
		c.cancel()
	}
	c.mu.Unlock()
	return err
}

// A cancelled push stops its runs, saves the journal and says so; the
// next push finishes the job without sending a point twice (the file
// store keeps duplicates).
func TestPush_Jobs_Cancelled(t *testing.T) {
	f := newFileSetup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep, err := mlsync.Push(ctx, f.tr.s, &cancelling{counting: f.dst, cancel: cancel, at: 2}, f.opts)
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, rep)
	require.Len(t, rep.Runs, 4)
	require.Positive(t, rep.Count(mlsync.RunFailed))
	f.push(t)
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)
}

// Progress rises step by step and ends on the report's totals.
func TestPush_Progress(t *testing.T) {
	for _, jobs := range []int{1, 4} {
		t.Run(fmt.Sprintf("jobs=%d", jobs), func(t *testing.T) {
			f := newFileSetup(t)
			f.tr.addModel(t)
			f.tr.addArtifacts(t)
			var seen []mlsync.Progress
			o := f.opts
			o.Jobs = jobs
			o.Progress = func(p mlsync.Progress) { seen = append(seen, p) }
			rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, o)
			require.NoError(t, err)
			require.True(t, rep.Complete())
			require.Greater(t, len(seen), 4)
			for i := 1; i < len(seen); i++ {
				a, b := seen[i-1], seen[i]
				require.Equal(t, a.Runs, b.Runs)
				require.True(t, b.RunsDone >= a.RunsDone && b.Points >= a.Points && b.ArtifactFiles >= a.ArtifactFiles &&
					b.ArtifactBytes >= a.ArtifactBytes, "%+v then %+v", a, b)
			}
			files, bytes := rep.ArtifactFiles()
			require.Equal(t, mlsync.Progress{Runs: 4, RunsDone: 4, Points: rep.Points(), ArtifactFiles: files, ArtifactBytes: bytes}, seen[len(seen)-1])
			require.Positive(t, files)
		})
	}
}
