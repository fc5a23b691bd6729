package mlsync_test

import (
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
)

// The tests of this file push into another file store: every store.Store
// is a destination, and these run without Python. The interop tests push
// into real servers.

type fileSetup struct {
	tr     *tree
	dst    *counting
	dstFS  *filestore.Store
	opts   mlsync.Options
	target string
}

func newFileSetup(t *testing.T) *fileSetup {
	t.Helper()
	src, root := storetest.New(t, nil)
	dst, dstRoot := storetest.New(t, nil)
	tr := makeTree(t, src, root, "")
	return &fileSetup{tr: tr, dst: newCounting(dst), dstFS: dst, target: dstRoot,
		opts: mlsync.Options{Root: root, Target: dstRoot}}
}

func (f *fileSetup) push(t *testing.T) *mlsync.Report {
	t.Helper()
	rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, f.opts)
	require.NoError(t, err)
	require.True(t, rep.Complete(), "push: %+v", rep)
	return rep
}

func TestPush_FileStore_MirrorsThenSendsNothing(t *testing.T) {
	f := newFileSetup(t)
	rep := f.push(t)
	require.Equal(t, 4, rep.Count(mlsync.RunCreated))
	require.Equal(t, 2, rep.ExperimentsCreated)
	require.Equal(t, int64(4*32), rep.Points())
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)

	f.dst.reset()
	rep = f.push(t)
	require.Equal(t, 0, f.dst.total(), "writes of a second push: %v", f.dst.writes)
	require.Equal(t, 4, rep.Count(mlsync.RunUnchanged))
	require.Zero(t, rep.Requests)
}

func TestPush_FileStore_AppendedPointsOnly(t *testing.T) {
	f := newFileSetup(t)
	f.push(t)
	ctx := context.Background()
	require.NoError(t, f.tr.s.LogBatch(ctx, f.tr.kids[1], []entities.Metric{
		{Key: "loss", Value: 0.01, Timestamp: 1_700_000_040_000, Step: 30},
		{Key: "loss", Value: 0.005, Timestamp: 1_700_000_040_001, Step: 31},
		{Key: "acc", Value: 0.9, Timestamp: 1_700_000_040_002, Step: 31},
	}, nil, []entities.RunTag{{Key: "stage", Value: "eval"}}))
	f.dst.reset()
	rep := f.push(t)
	require.Equal(t, 3, f.dst.points())
	require.Equal(t, 1, f.dst.writes["LogBatch"], "one batch: %v", f.dst.writes)
	require.Equal(t, 1, rep.Count(mlsync.RunUpdated))
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)
}

// crashing fails the first CreateRun after the destination made the run,
// and every search after it: the push dies between CreateRun and the
// journal write, as a kill would leave it.
type crashing struct {
	*counting
	crashed bool
}

var errCrash = errors.New("crash")

func (c *crashing) CreateRun(ctx context.Context, o store.CreateRunOptions) (entities.Run, error) {
	r, err := c.counting.CreateRun(ctx, o)
	if err == nil && !c.crashed {
		c.crashed = true
		return entities.Run{}, errCrash
	}
	return r, err
}

func (c *crashing) SearchRuns(ctx context.Context, ids []string, filter string, v entities.ViewType, n int, order []string, tok string) ([]entities.Run, string, error) {
	if c.crashed {
		return nil, "", errCrash
	}
	return c.counting.SearchRuns(ctx, ids, filter, v, n, order, tok)
}

func TestPush_CrashAfterCreateRun_AdoptsByTag(t *testing.T) {
	f := newFileSetup(t)
	c := &crashing{counting: f.dst}
	o := f.opts
	o.Jobs = 1 // one run at a time: the crash comes at the very first CreateRun
	rep, err := mlsync.Push(context.Background(), f.tr.s, c, o)
	require.NoError(t, err)
	require.False(t, rep.Complete())
	require.Equal(t, 1, c.writes["CreateRun"], "the push stopped at its first run")

	f.dst.reset()
	rep = f.push(t)
	require.Equal(t, 1, rep.Count(mlsync.RunAdopted), "%+v", rep.Runs)
	require.Equal(t, 3, f.dst.writes["CreateRun"])
	requireMirrored(t, f.tr.s, f.dstFS, exact, false) // one remote run per local run
}

func TestPush_Concurrent_CreatesEachRunOnce(t *testing.T) {
	f := newFileSetup(t)
	var wg sync.WaitGroup
	reps := make([]*mlsync.Report, 2)
	errs := make([]error, 2)
	for i := range reps {
		wg.Go(func() {
			src, err := filestore.Open(f.tr.root, nil) // another handle, as another process has
			if err != nil {
				errs[i] = err
				return
			}
			reps[i], errs[i] = mlsync.Push(context.Background(), src, f.dst, f.opts)
		})
	}
	wg.Wait()
	for i := range reps {
		require.NoError(t, errs[i])
		require.True(t, reps[i].Complete())
	}
	require.Equal(t, 4, f.dst.writes["CreateRun"])
	require.Equal(t, 4, reps[0].Count(mlsync.RunCreated)+reps[1].Count(mlsync.RunCreated))
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)
}

func TestPush_RewrittenMetricFile_Reconciled(t *testing.T) {
	f := newFileSetup(t)
	f.push(t)
	// Rewrite the parent's loss history: its first point changes value.
	p := filepath.Join(f.tr.root, f.tr.expA, f.tr.parent, "metrics", "loss")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	lines[0] = "1700000010000 0.75 0\n"
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "")), 0o666))

	f.dst.reset()
	rep := f.push(t)
	require.Equal(t, 1, f.dst.points(), "only the changed point is sent")
	var rr mlsync.RunReport
	for _, x := range rep.Runs {
		if x.RunID == f.tr.parent {
			rr = x
		}
	}
	require.Equal(t, []string{"loss"}, rr.Rewritten)
	require.Equal(t, int64(1), rr.Lossy[mlsync.LossStaleRemotePoint], "the old first point stays on the destination")
	require.Equal(t, int64(1), rep.Lossy[mlsync.LossStaleRemotePoint])

	f.dst.reset()
	f.push(t)
	require.Zero(t, f.dst.total(), "reconciled once")
}

func TestPush_DryRun_WritesNothing(t *testing.T) {
	f := newFileSetup(t)
	o := f.opts
	o.DryRun = true
	rep, err := mlsync.Push(context.Background(), f.tr.s, nil, o)
	require.NoError(t, err)
	require.Equal(t, 4, rep.Count(mlsync.RunNew))
	require.Equal(t, int64(4*32), rep.Points())
	require.Zero(t, f.dst.total())
	ents, err := os.ReadDir(f.tr.root)
	require.NoError(t, err)
	for _, e := range ents {
		require.False(t, strings.HasPrefix(e.Name(), ".mlruns-sync-"), "dry run wrote %s", e.Name())
	}
	require.Contains(t, rep.Summary(), "dry run")

	f.push(t)
	require.NoError(t, f.tr.s.LogMetric(context.Background(), f.tr.other, entities.Metric{Key: "loss", Value: 3, Timestamp: 1_700_000_050_000, Step: 40}))
	before, err := os.ReadFile(mlsync.JournalPath(f.tr.root, f.target))
	require.NoError(t, err)
	f.dst.reset()
	rep, err = mlsync.Push(context.Background(), f.tr.s, f.dst, o)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Count(mlsync.RunPending))
	require.Equal(t, int64(1), rep.Points())
	require.Zero(t, f.dst.total())
	after, err := os.ReadFile(mlsync.JournalPath(f.tr.root, f.target))
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestStatus_SyncedThenPending(t *testing.T) {
	f := newFileSetup(t)
	ctx := context.Background()
	rep, err := mlsync.Status(ctx, f.tr.s, f.opts)
	require.NoError(t, err)
	require.Equal(t, 4, rep.Count(mlsync.RunNew))
	f.push(t)
	rep, err = mlsync.Status(ctx, f.tr.s, f.opts)
	require.NoError(t, err)
	require.Equal(t, 4, rep.Count(mlsync.RunSynced))
	require.NoError(t, f.tr.s.LogParam(ctx, f.tr.kids[0], "extra", "1"))
	rep, err = mlsync.Status(ctx, f.tr.s, f.opts)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Count(mlsync.RunSynced))
	require.Equal(t, 1, rep.Count(mlsync.RunPending))
}

func TestPush_Deletions_MirroredLast(t *testing.T) {
	f := newFileSetup(t)
	ctx := context.Background()
	require.NoError(t, f.tr.s.DeleteRun(ctx, f.tr.kids[0]))
	require.NoError(t, f.tr.s.DeleteExperiment(ctx, f.tr.expB))
	rep := f.push(t)
	require.Equal(t, 1, rep.ExperimentsDeleted)
	remote := remoteRuns(t, f.dstFS)
	require.Equal(t, entities.StageDeleted, remote[f.tr.kids[0]][0].Info.LifecycleStage)
	rx, err := f.dstFS.GetExperimentByName(ctx, "sync-b")
	require.NoError(t, err)
	require.Equal(t, entities.StageDeleted, rx.LifecycleStage)

	require.NoError(t, f.tr.s.RestoreRun(ctx, f.tr.kids[0]))
	f.push(t)
	remote = remoteRuns(t, f.dstFS)
	require.Equal(t, entities.StageActive, remote[f.tr.kids[0]][0].Info.LifecycleStage)
	f.dst.reset()
	f.push(t)
	require.Zero(t, f.dst.total())
}

func TestPush_SelectedRun_TakesItsParent(t *testing.T) {
	f := newFileSetup(t)
	o := f.opts
	o.Select = mlsync.Selection{RunIDs: []string{f.tr.kids[1]}}
	rep, err := mlsync.Push(context.Background(), f.tr.s, f.dst, o)
	require.NoError(t, err)
	require.Len(t, rep.Runs, 2)
	require.Equal(t, f.tr.parent, rep.Runs[0].RunID, "the parent first")
	remote := remoteRuns(t, f.dstFS)
	require.Equal(t, remote[f.tr.parent][0].Info.RunID, remote[f.tr.kids[1]][0].Data.Tags[entities.TagParentRunID])
}

func TestPush_CorruptJournal_Refused(t *testing.T) {
	f := newFileSetup(t)
	require.NoError(t, os.WriteFile(mlsync.JournalPath(f.tr.root, f.target), []byte("{not json"), 0o666))
	_, err := mlsync.Push(context.Background(), f.tr.s, f.dst, f.opts)
	require.ErrorIs(t, err, errs.ErrCorrupt)
	var cj *mlsync.CorruptJournalError
	require.ErrorAs(t, err, &cj)
	require.Zero(t, f.dst.total())
}

// cutting fails the at-th LogBatch after the destination stored it: its
// response lost, or the push killed before the journal moved on.
type cutting struct {
	*counting
	n, at int
}

func (c *cutting) LogBatch(ctx context.Context, runID string, ms []entities.Metric, ps []entities.Param, ts []entities.RunTag) error {
	err := c.counting.LogBatch(ctx, runID, ms, ps, ts)
	c.mu.Lock() // runs are pushed concurrently
	c.n++
	n := c.n
	c.mu.Unlock()
	if err == nil && n == c.at {
		return errCrash
	}
	return err
}

// A destination that keeps every point it is sent (a file store, as a
// FileStore-backed server) gets no point twice from a push cut after a
// batch landed: the run is marked for comparison before the batch goes.
func TestPush_CutAfterBatch_NoDuplicatePoints(t *testing.T) {
	f := newFileSetup(t)
	rep, err := mlsync.Push(context.Background(), f.tr.s, &cutting{counting: f.dst, at: 2}, f.opts)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Count(mlsync.RunFailed))
	f.push(t)
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)

	require.NoError(t, f.tr.s.LogMetric(context.Background(), f.tr.parent, entities.Metric{Key: "loss", Value: 0.5, Timestamp: 1_700_000_090_000, Step: 50}))
	rep, err = mlsync.Push(context.Background(), f.tr.s, &cutting{counting: f.dst, at: 1}, f.opts)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Count(mlsync.RunFailed))
	f.dst.reset()
	f.push(t)
	require.Zero(t, f.dst.points(), "the point that landed is not sent again")
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)
}

func TestPush_RemoteRunRemoved_PushedAnew(t *testing.T) {
	f := newFileSetup(t)
	f.push(t)
	ctx := context.Background()
	gone := remoteRuns(t, f.dstFS)[f.tr.kids[0]][0].Info.RunID
	require.NoError(t, f.dstFS.DeleteRun(ctx, gone))
	require.NoError(t, f.dstFS.PermanentlyDeleteRun(ctx, gone))
	require.NoError(t, f.tr.s.LogMetric(ctx, f.tr.kids[0], entities.Metric{Key: "loss", Value: 0.1, Timestamp: 1_700_000_099_000, Step: 60}))
	rep := f.push(t)
	require.Equal(t, 1, rep.Count(mlsync.RunCreated), "%+v", rep.Runs)
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)
}

func TestPush_ExperimentRenamedAndRestored_Mirrored(t *testing.T) {
	f := newFileSetup(t)
	ctx := context.Background()
	require.NoError(t, f.tr.s.DeleteRun(ctx, f.tr.kids[1]))
	require.NoError(t, f.tr.s.DeleteExperiment(ctx, f.tr.expA))
	f.push(t)
	rx, err := f.dstFS.GetExperimentByName(ctx, "sync-a")
	require.NoError(t, err)
	require.Equal(t, entities.StageDeleted, rx.LifecycleStage)

	require.NoError(t, f.tr.s.RestoreExperiment(ctx, f.tr.expA))
	require.NoError(t, f.tr.s.RenameExperiment(ctx, f.tr.expA, "sync-a2"))
	require.NoError(t, f.tr.s.SetExperimentTag(ctx, f.tr.expA, "team", "audio"))
	rep := f.push(t)
	require.Equal(t, 1, rep.ExperimentsRestored)
	rx, err = f.dstFS.GetExperiment(ctx, rx.ExperimentID)
	require.NoError(t, err)
	require.Equal(t, entities.StageActive, rx.LifecycleStage)
	require.Equal(t, "sync-a2", rx.Name)
	require.Equal(t, "audio", rx.Tags["team"])
	requireMirrored(t, f.tr.s, f.dstFS, exact, false) // kids[1] still deleted on both sides
}

// readsCounting is a source that counts the histories read.
type readsCounting struct {
	*filestore.Store
	mu    sync.Mutex
	reads map[string]int // run/key
}

func (r *readsCounting) MetricHistoryIter(ctx context.Context, runID, key string) iter.Seq2[entities.Metric, error] {
	r.mu.Lock()
	r.reads[runID+"/"+key]++
	r.mu.Unlock()
	return r.Store.MetricHistoryIter(ctx, runID, key)
}

// A history whose file has the stamp of the last push is not read again;
// one appended to is, and only its new points go.
func TestPush_FileStore_UnchangedFilesNotRead(t *testing.T) {
	f := newFileSetup(t)
	f.push(t)
	src := &readsCounting{Store: f.tr.s, reads: map[string]int{}}
	rep, err := mlsync.Push(context.Background(), src, f.dst, f.opts)
	require.NoError(t, err)
	require.Equal(t, 4, rep.Count(mlsync.RunUnchanged))
	require.Empty(t, src.reads, "the first unchanged push reads nothing: the first push stamped every history")

	require.NoError(t, f.tr.s.LogMetric(context.Background(), f.tr.kids[1],
		entities.Metric{Key: "loss", Value: 0.01, Timestamp: 1_700_000_040_000, Step: 30}))
	f.dst.reset()
	rep, err = mlsync.Push(context.Background(), src, f.dst, f.opts)
	require.NoError(t, err)
	require.Equal(t, 1, f.dst.points())
	require.Equal(t, map[string]int{f.tr.kids[1] + "/loss": 1}, src.reads)
	require.Equal(t, 1, rep.Count(mlsync.RunUpdated))
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)
}
