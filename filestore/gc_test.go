package filestore_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/testkit"
)

// gcClock is a store clock the test moves, so deletions get the ages the
// cases need.
type gcClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *gcClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *gcClock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *gcClock) add(d time.Duration) { c.set(c.now().Add(d)) }

// gcWorld is a store with runs and experiments of every kind gc cares
// about, by name.
type gcWorld struct {
	s     *filestore.Store
	root  string
	ext   string            // an artifact location outside the root
	runs  map[string]string // name -> run id
	exps  map[string]string // name -> experiment id
	arts  map[string]string // run name -> its local artifact folder
	clock *gcClock
}

// newGCWorld builds, at day 0 to day 10 of a fake clock:
//
//	A (active):      a-active, a-old (deleted day 0), a-young (deleted day 10)
//	B (deleted day 5, so 5 days old): b1 (active until then), b2 (deleted day 1)
//	C (deleted day 10): c1
//	D (active, artifacts outside the root): d-old (deleted day 0), d-active
//
// and leaves the clock at day 10 plus an hour. Every run has an artifact.
func newGCWorld(t *testing.T) *gcWorld {
	t.Helper()
	clock := &gcClock{t: time.UnixMilli(1_700_000_000_000)}
	day0 := clock.now()
	s, root := newStore(t, &filestore.Options{Now: clock.now})
	w := &gcWorld{s: s, root: root, ext: filepath.Join(t.TempDir(), "ext"), clock: clock,
		runs: map[string]string{}, exps: map[string]string{}, arts: map[string]string{}}
	mkExp := func(name, loc string) {
		id, err := s.CreateExperiment(ctx, name, loc, nil)
		require.NoError(t, err)
		w.exps[name] = id
	}
	mkRun := func(exp, name string) {
		r, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: w.exps[exp], RunName: name, StartTime: 1})
		require.NoError(t, err)
		require.NoError(t, s.LogMetric(ctx, r.Info.RunID, entities.Metric{Key: "m", Value: 1, Timestamp: 1}))
		art, err := filestore.LocalPath(r.Info.ArtifactURI)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(art, "model"), 0o777))
		require.NoError(t, os.WriteFile(filepath.Join(art, "model", "weights.bin"), []byte(name), 0o666))
		w.runs[name], w.arts[name] = r.Info.RunID, art
	}
	mkExp("A", "")
	mkExp("B", "")
	mkExp("C", "")
	mkExp("D", w.ext)
	for _, r := range [][2]string{{"A", "a-active"}, {"A", "a-old"}, {"A", "a-young"}, {"B", "b1"}, {"B", "b2"},
		{"C", "c1"}, {"D", "d-old"}, {"D", "d-active"}} {
		mkRun(r[0], r[1])
	}
	del := func(name string) { require.NoError(t, s.DeleteRun(ctx, w.runs[name])) }
	del("a-old")
	del("d-old")
	clock.set(day0.Add(24 * time.Hour))
	del("b2")
	clock.set(day0.Add(5 * 24 * time.Hour))
	require.NoError(t, s.DeleteExperiment(ctx, w.exps["B"]))
	clock.set(day0.Add(10 * 24 * time.Hour))
	del("a-young")
	require.NoError(t, s.DeleteExperiment(ctx, w.exps["C"]))
	clock.add(time.Hour)
	return w
}

// present returns the names of the runs and experiments whose folders are
// still in the tree.
func (w *gcWorld) present(t *testing.T) []string {
	t.Helper()
	var out []string
	for name, id := range w.exps {
		if exists(filepath.Join(w.root, id)) || exists(filepath.Join(w.root, ".trash", id)) {
			out = append(out, name)
		}
	}
	for name, id := range w.runs {
		if _, err := w.s.GetRunInfo(ctx, id); err == nil {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func gcIDs(w *gcWorld, res filestore.GCResult) []string {
	names := map[string]string{}
	for n, id := range w.runs {
		names[id] = n
	}
	for n, id := range w.exps {
		names[id] = n
	}
	var out []string
	for _, it := range res.Items {
		out = append(out, names[it.ID])
	}
	sort.Strings(out)
	return out
}

func TestGC_Options(t *testing.T) {
	all := []string{"A", "B", "C", "D", "a-active", "a-old", "a-young", "b1", "b2", "c1", "d-active", "d-old"}
	without := func(gone ...string) []string {
		var out []string
		for _, n := range all {
			if !strings.Contains(","+strings.Join(gone, ",")+",", ","+n+",") {
				out = append(out, n)
			}
		}
		return out
	}
	day := 24 * time.Hour
	cases := []struct {
		name    string
		opts    func(w *gcWorld) filestore.GCOptions
		removed []string // names removed; nil with wantErr
		wantErr error
	}{
		{"everything deleted", func(w *gcWorld) filestore.GCOptions { return filestore.GCOptions{} },
			[]string{"B", "C", "a-old", "a-young", "b1", "b2", "c1", "d-old"}, nil},
		{"older than 2 days", func(w *gcWorld) filestore.GCOptions { return filestore.GCOptions{OlderThan: 2 * day} },
			[]string{"B", "a-old", "b1", "b2", "d-old"}, nil},
		{"older than 20 days", func(w *gcWorld) filestore.GCOptions { return filestore.GCOptions{OlderThan: 20 * day} },
			[]string{}, nil},
		{"run ids: also every deleted experiment", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{RunIDs: []string{w.runs["a-young"]}}
		}, []string{"B", "C", "a-young", "b1", "b2", "c1"}, nil},
		{"experiment ids: also every deleted run", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{ExperimentIDs: []string{w.exps["C"]}}
		}, []string{"C", "a-old", "a-young", "b1", "b2", "c1", "d-old"}, nil},
		{"run and experiment ids", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{RunIDs: []string{w.runs["a-old"]}, ExperimentIDs: []string{w.exps["B"], w.exps["B"]}}
		}, []string{"B", "a-old", "b1", "b2"}, nil},
		{"active run refused", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{RunIDs: []string{w.runs["a-old"], w.runs["a-active"]}}
		}, nil, errs.ErrInvalidState},
		{"unknown run", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{RunIDs: []string{"0123456789abcdef0123456789abcdef"}}
		}, nil, errs.ErrNotFound},
		{"invalid run id", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{RunIDs: []string{"../x"}}
		}, nil, errs.ErrInvalidParameter},
		{"young run refused with an age", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{RunIDs: []string{w.runs["a-young"]}, OlderThan: day}
		}, nil, errs.ErrInvalidParameter},
		{"active experiment refused", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{ExperimentIDs: []string{w.exps["A"]}}
		}, nil, errs.ErrInvalidState},
		{"Default experiment refused", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{ExperimentIDs: []string{"0"}}
		}, nil, errs.ErrInvalidState},
		{"unknown experiment", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{ExperimentIDs: []string{"42"}}
		}, nil, errs.ErrNotFound},
		{"young experiment refused with an age", func(w *gcWorld) filestore.GCOptions {
			return filestore.GCOptions{ExperimentIDs: []string{w.exps["C"]}, OlderThan: day}
		}, nil, errs.ErrInvalidParameter},
		{"negative age", func(w *gcWorld) filestore.GCOptions { return filestore.GCOptions{OlderThan: -time.Second} },
			nil, errs.ErrInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newGCWorld(t)
			var progress []int
			o := c.opts(w)
			o.Progress = func(done, total int, it filestore.GCItem) {
				require.Equal(t, len(c.removed), total)
				progress = append(progress, done)
			}
			res, err := w.s.GC(ctx, o)
			if c.wantErr != nil {
				require.ErrorIs(t, err, c.wantErr)
				require.Empty(t, res.Items)
				require.Equal(t, all, w.present(t), "a refused gc removes nothing")
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.removed, append([]string{}, gcIDs(w, res)...))
			require.Equal(t, without(c.removed...), w.present(t))
			require.Len(t, progress, len(c.removed))
			for name, art := range w.arts {
				if strings.Contains(","+strings.Join(c.removed, ",")+",", ","+name+",") {
					require.NoDirExists(t, art, name)
				} else if !strings.HasPrefix(name, "b") && name != "c1" { // moved to .trash with B and C
					require.DirExists(t, art, name)
				}
			}
			// runs first, then experiments, as mlflow gc
			for i := 1; i < len(res.Items); i++ {
				require.LessOrEqual(t, res.Items[i-1].Kind, res.Items[i].Kind)
			}
		})
	}
}

func TestGC_DryRun(t *testing.T) {
	w := newGCWorld(t)
	res, err := w.s.GC(ctx, filestore.GCOptions{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, []string{"B", "C", "a-old", "a-young", "b1", "b2", "c1", "d-old"}, gcIDs(w, res))
	require.Len(t, w.present(t), 12)
	require.DirExists(t, w.arts["d-old"])
}

// The artifacts of a run of an experiment with its own artifact location
// go with the run; the run folder's parent there is left, as Python does.
func TestGC_ArtifactsOutsideRoot(t *testing.T) {
	w := newGCWorld(t)
	res, err := w.s.GC(ctx, filestore.GCOptions{RunIDs: []string{w.runs["d-old"]}})
	require.NoError(t, err)
	var it filestore.GCItem
	for _, x := range res.Items {
		if x.ID == w.runs["d-old"] {
			it = x
		}
	}
	require.Equal(t, filepath.Clean(w.arts["d-old"]), filepath.Clean(it.Artifacts))
	require.Empty(t, it.ArtifactsKept)
	require.NoDirExists(t, w.arts["d-old"])
	require.DirExists(t, filepath.Dir(w.arts["d-old"]))
	require.DirExists(t, w.arts["d-active"])
}

func TestGC_DeletedRunsAndExperiments(t *testing.T) {
	w := newGCWorld(t)
	runs, err := w.s.DeletedRuns(ctx, 0)
	require.NoError(t, err)
	require.Len(t, runs, 6) // a-old a-young b1 b2 c1 d-old
	runs, err = w.s.DeletedRuns(ctx, 2*24*time.Hour)
	require.NoError(t, err)
	require.Len(t, runs, 4) // a-old b1 b2 d-old
	exps, err := w.s.DeletedExperiments(ctx, 0)
	require.NoError(t, err)
	require.Len(t, exps, 2)
	exps, err = w.s.DeletedExperiments(ctx, 2*24*time.Hour)
	require.NoError(t, err)
	require.Len(t, exps, 1)
	require.Equal(t, w.exps["B"], exps[0].ExperimentID)
}

// rewriteArtifactURI points a run's recorded artifact_uri elsewhere, as a
// hand-edited or hostile meta.yaml would.
func rewriteArtifactURI(t *testing.T, dir, uri string) {
	t.Helper()
	p := filepath.Join(dir, "meta.yaml")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "artifact_uri: ") {
			l = "artifact_uri: " + uri
		}
		lines = append(lines, l)
	}
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o666))
}

func TestStore_PermanentlyDeleteRun(t *testing.T) {
	type setup struct {
		s    *filestore.Store
		root string
		run  entities.Run
		dir  string
		out  string // a folder outside the root with a file in it
	}
	mk := func(t *testing.T) setup {
		s, root := newStore(t, nil)
		r := newRun(t, s, "0")
		out := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(out, "precious"), []byte("keep"), 0o666))
		require.NoError(t, os.MkdirAll(filepath.Join(root, "0", r.Info.RunID, "artifacts", "a"), 0o777))
		require.NoError(t, os.WriteFile(filepath.Join(root, "0", r.Info.RunID, "artifacts", "a", "f"), []byte("x"), 0o666))
		return setup{s: s, root: root, run: r, dir: filepath.Join(root, "0", r.Info.RunID), out: out}
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T, x setup)
		wantErr error
		gone    bool // the run folder is removed
	}{
		{"deleted run", func(t *testing.T, x setup) { require.NoError(t, x.s.DeleteRun(ctx, x.run.Info.RunID)) }, nil, true},
		{"active run refused", func(t *testing.T, x setup) {}, errs.ErrInvalidState, false},
		{"artifact uri outside the root is left alone", func(t *testing.T, x setup) {
			require.NoError(t, x.s.DeleteRun(ctx, x.run.Info.RunID))
			rewriteArtifactURI(t, x.dir, filestore.FileURI(x.out))
		}, nil, true},
		{"artifact uri shaped like the run's, outside the root, left alone", func(t *testing.T, x setup) {
			require.NoError(t, x.s.DeleteRun(ctx, x.run.Info.RunID))
			fake := filepath.Join(x.out, x.run.Info.RunID, "artifacts")
			require.NoError(t, os.MkdirAll(fake, 0o777))
			require.NoError(t, os.WriteFile(filepath.Join(fake, "precious"), []byte("keep"), 0o666))
			rewriteArtifactURI(t, x.dir, filestore.FileURI(fake))
		}, nil, true},
		{"artifact folder a symlink out of the root", func(t *testing.T, x setup) {
			require.NoError(t, x.s.DeleteRun(ctx, x.run.Info.RunID))
			require.NoError(t, os.RemoveAll(filepath.Join(x.dir, "artifacts")))
			testkit.Symlink(t, x.out, filepath.Join(x.dir, "artifacts"))
		}, nil, true},
		{"run folder a symlink out of the root", func(t *testing.T, x setup) {
			require.NoError(t, x.s.DeleteRun(ctx, x.run.Info.RunID))
			moved := filepath.Join(x.out, "run")
			require.NoError(t, os.Rename(x.dir, moved))
			testkit.Symlink(t, moved, x.dir)
			t.Cleanup(func() { os.Remove(x.dir) })
		}, errs.ErrInvalidPath, false},
		{"experiment folder a symlink out of the root", func(t *testing.T, x setup) {
			require.NoError(t, x.s.DeleteRun(ctx, x.run.Info.RunID))
			exp := filepath.Join(x.root, "0")
			require.NoError(t, os.Rename(exp, filepath.Join(x.out, "0")))
			testkit.Symlink(t, filepath.Join(x.out, "0"), exp)
			t.Cleanup(func() {
				os.Remove(exp)
				os.Rename(filepath.Join(x.out, "0"), exp)
			})
		}, errs.ErrInvalidPath, false},
		{"unknown run", func(t *testing.T, x setup) {
			require.NoError(t, os.RemoveAll(x.dir))
		}, errs.ErrNotFound, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := mk(t)
			c.prepare(t, x)
			before := listAll(t, x.out)
			err := x.s.PermanentlyDeleteRun(ctx, x.run.Info.RunID)
			if c.wantErr != nil {
				require.ErrorIs(t, err, c.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, before, listAll(t, x.out), "nothing outside the root touched")
			require.Equal(t, "keep", readFile(t, filepath.Join(x.out, "precious")))
			if c.gone {
				_, err := os.Lstat(x.dir)
				require.ErrorIs(t, err, os.ErrNotExist)
			} else {
				require.True(t, exists(x.dir))
			}
			ents, err := os.ReadDir(x.root)
			require.NoError(t, err)
			for _, e := range ents {
				require.False(t, strings.HasPrefix(e.Name(), ".mlruns-gc-"), "no leftover %s", e.Name())
			}
		})
	}
}

// GC refuses a tree where a deleted run escapes the root, before removing
// anything else.
func TestGC_SymlinkedRunRefused(t *testing.T) {
	s, root := newStore(t, nil)
	a, b := newRun(t, s, "0"), newRun(t, s, "0")
	require.NoError(t, s.DeleteRun(ctx, a.Info.RunID))
	require.NoError(t, s.DeleteRun(ctx, b.Info.RunID))
	out := t.TempDir()
	dir := filepath.Join(root, "0", b.Info.RunID)
	require.NoError(t, os.Rename(dir, filepath.Join(out, "run")))
	testkit.Symlink(t, filepath.Join(out, "run"), dir)
	before := listAll(t, out)
	_, err := s.GC(ctx, filestore.GCOptions{})
	require.ErrorIs(t, err, errs.ErrInvalidPath)
	require.Equal(t, before, listAll(t, out))
	require.DirExists(t, filepath.Join(root, "0", a.Info.RunID), "nothing removed")
	require.NoError(t, os.Remove(dir))
}

func TestStore_PermanentlyDeleteExperiment(t *testing.T) {
	s, root := newStore(t, nil)
	id, err := s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
	r := newRun(t, s, id)
	require.ErrorIs(t, s.PermanentlyDeleteExperiment(ctx, id), errs.ErrInvalidState)
	require.ErrorIs(t, s.PermanentlyDeleteExperiment(ctx, "0"), errs.ErrInvalidState)
	require.ErrorIs(t, s.PermanentlyDeleteExperiment(ctx, "42"), errs.ErrNotFound)
	require.NoError(t, s.DeleteExperiment(ctx, id))
	require.DirExists(t, filepath.Join(root, ".trash", id))
	require.NoError(t, s.PermanentlyDeleteExperiment(ctx, id))
	require.NoDirExists(t, filepath.Join(root, ".trash", id))
	_, err = s.GetRun(ctx, r.Info.RunID)
	require.ErrorIs(t, err, errs.ErrNotFound)
	_, err = s.GetExperiment(ctx, id)
	require.ErrorIs(t, err, errs.ErrNotFound)
	// the name is free again
	_, err = s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
}

// Logging to a live run of the same experiment while gc removes its
// deleted neighbours loses nothing.
func TestGC_ConcurrentLogging(t *testing.T) {
	s, _ := newStore(t, nil)
	live := newRun(t, s, "0")
	var doomed []string
	for i := 0; i < 20; i++ {
		r := newRun(t, s, "0")
		require.NoError(t, s.LogMetric(ctx, r.Info.RunID, entities.Metric{Key: "m", Value: 1}))
		require.NoError(t, s.DeleteRun(ctx, r.Info.RunID))
		doomed = append(doomed, r.Info.RunID)
	}
	const points = 300
	var wg sync.WaitGroup
	wg.Add(1)
	errc := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := 0; i < points; i++ {
			if err := s.LogMetric(ctx, live.Info.RunID, entities.Metric{Key: "loss", Value: float64(i), Timestamp: int64(i), Step: int64(i)}); err != nil {
				errc <- err
				return
			}
		}
	}()
	res, err := s.GC(ctx, filestore.GCOptions{})
	wg.Wait()
	close(errc)
	require.NoError(t, <-errc)
	require.NoError(t, err)
	require.Len(t, res.Items, len(doomed))
	hist, err := s.GetMetricHistory(ctx, live.Info.RunID, "loss")
	require.NoError(t, err)
	require.Len(t, hist, points)
	for i, m := range hist {
		require.Equal(t, int64(i), m.Step)
	}
	for _, id := range doomed {
		_, err := s.GetRunInfo(ctx, id)
		require.ErrorIs(t, err, errs.ErrNotFound)
	}
}

// Deleted logged models (written by Python 3.18) go too; an active one named
// by id is refused.
func TestGC_LoggedModels(t *testing.T) {
	root := copyFixture(t, "fixtures/mlflow-3.18.0")
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	const exp = "630736108623933847"
	deletedModel := filepath.Join(root, exp, "models", "m-01b0d0e92841405e90db7c8a170d8a2c")
	activeModel := "m-1e2a90c2cb9f4eef8dce564e27a2e1a6"

	// The fixture's artifact locations name the tree it was generated in,
	// which may exist on this machine: those are another store's folders.
	plan, err := s.GC(ctx, filestore.GCOptions{DryRun: true})
	require.NoError(t, err)
	for _, it := range plan.Items {
		require.Empty(t, it.Artifacts, "%s %s", it.Kind, it.ID)
	}

	_, err = s.GC(ctx, filestore.GCOptions{LoggedModelIDs: []string{activeModel}})
	require.ErrorIs(t, err, errs.ErrInvalidState)
	_, err = s.GC(ctx, filestore.GCOptions{LoggedModelIDs: []string{"m-00000000000000000000000000000000"}})
	require.ErrorIs(t, err, errs.ErrNotFound)
	require.DirExists(t, deletedModel)

	res, err := s.GC(ctx, filestore.GCOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, res.Count(filestore.GCLoggedModel))
	require.NoDirExists(t, deletedModel)
	require.DirExists(t, filepath.Join(root, exp, "models", activeModel))
	require.Positive(t, res.Count(filestore.GCRun))
	require.Equal(t, 1, res.Count(filestore.GCExperiment))
	exps, err := s.DeletedExperiments(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, exps)
	runs, err := s.DeletedRuns(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, runs)
	mustCheck(t, s)
}

// A crash in the middle of a removal leaves a .mlruns-gc-*.trash folder:
// no reader lists it, Check reports it and Repair removes it.
func TestCheck_GCLeftover(t *testing.T) {
	s, root := newStore(t, nil)
	left := filepath.Join(root, ".mlruns-gc-0123456789abcdef.trash")
	require.NoError(t, os.MkdirAll(filepath.Join(left, "metrics"), 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(left, "meta.yaml"), []byte("run_id: x\n"), 0o666))
	exps, skipped, err := s.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	require.Empty(t, skipped)
	require.Len(t, exps, 1)
	probsRes, err := s.Check(ctx, nil)
	probs := probsRes.Problems
	require.NoError(t, err)
	require.Len(t, probs, 1)
	require.Equal(t, filestore.ProblemGCLeftover, probs[0].Kind)
	require.True(t, probs[0].Kind.Repairable())
	fixed, after, err := s.Repair(ctx, nil)
	remaining := after.Problems
	require.NoError(t, err)
	require.Len(t, fixed, 1)
	require.Empty(t, remaining)
	require.NoDirExists(t, left)
}

func TestCheck_CountsAndProgress(t *testing.T) {
	s, _ := newStore(t, nil)
	id, err := s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
	newRun(t, s, id)
	newRun(t, s, id)
	newRun(t, s, "0")
	var calls [][2]int
	res, err := s.Check(ctx, &filestore.CheckOptions{Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }})
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	require.Equal(t, 2, res.Experiments)
	require.Equal(t, 3, res.Runs)
	require.NotEmpty(t, calls)
	last := calls[len(calls)-1]
	require.Equal(t, last[1], last[0], "the last call says done")
}

// Two gc processes at once: each item is removed once, and what the other
// removed first is passed over, not an error.
func TestGC_TwoAtOnce(t *testing.T) {
	s, root := newStore(t, nil)
	id, err := s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
	for i := 0; i < 30; i++ {
		r := newRun(t, s, "0")
		require.NoError(t, s.DeleteRun(ctx, r.Info.RunID))
	}
	newRun(t, s, id)
	require.NoError(t, s.DeleteExperiment(ctx, id))
	other, err := filestore.Open(root, nil)
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([]filestore.GCResult, 2)
	errsOut := make([]error, 2)
	for i, st := range []*filestore.Store{s, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errsOut[i] = st.GC(ctx, filestore.GCOptions{})
		}()
	}
	wg.Wait()
	require.NoError(t, errsOut[0])
	require.NoError(t, errsOut[1])
	seen := map[string]int{}
	for _, r := range results {
		for _, it := range r.Items {
			seen[it.ID]++
		}
	}
	require.Len(t, seen, 32) // 31 runs and the experiment
	for id, n := range seen {
		require.Equal(t, 1, n, "%s reported removed by both", id)
	}
	runs, err := s.DeletedRuns(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, runs)
}
