package filestore

// An internal test: it shortens the cache's window (readCache.window) so
// that files written by the test become cacheable within it, and reads the
// cache's hit and fill counters to show that the cache was used.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/layout"
)

// testWindow is the cache window of these tests: far longer than a tick of
// the file timestamps' coarse clock, short enough to wait out.
const testWindow = 150 * time.Millisecond

type cacheFixture struct {
	s   *Store
	run entities.Run
	dir string
}

// newCacheFixture makes a store with one run named "abcd" (metrics m = 1
// and a/b = 2, params p = "aaa" and x/y = "nested", tag t = "xxx"), whose
// files are settled (older than the window) on return.
func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	bg := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "mlruns"), nil)
	require.NoError(t, err)
	s.readCache.window = testWindow
	t.Cleanup(func() {
		probsRes, err := s.Check(bg, nil)
		probs := probsRes.Problems
		require.NoError(t, err)
		require.Empty(t, probs, "consistency check")
	})
	run, err := s.CreateRun(bg, CreateRunOptions{ExperimentID: "0", RunName: "abcd", StartTime: 1})
	require.NoError(t, err)
	require.NoError(t, s.LogBatch(bg, run.Info.RunID,
		[]entities.Metric{{Key: "m", Value: 1, Timestamp: 1}, {Key: "a/b", Value: 2, Timestamp: 1}},
		[]entities.Param{{Key: "p", Value: "aaa"}, {Key: "x/y", Value: "nested"}},
		[]entities.RunTag{{Key: "t", Value: "xxx"}}))
	f := &cacheFixture{s: s, run: run, dir: filepath.Join(s.root, "0", run.Info.RunID)}
	settle()
	return f
}

// settle waits until everything written so far is older than the window.
func settle() { time.Sleep(testWindow + 50*time.Millisecond) }

// queries are the two ways a search reads a run: whole (the page) and by
// the keys of a filter and order (every run, before the page).
var cacheQueries = []struct {
	name, filter string
	order        []string
}{
	{"whole", "", nil},
	{"filtered", "metrics.`a/b` > -100 and params.p != 'zz'", []string{"metrics.m", "params.`x/y`", "tags.t"}},
}

// search returns the runs each query finds in view, by run id; the two
// queries must agree on everything the filtered one reads.
func (f *cacheFixture) search(t *testing.T, view entities.ViewType) map[string]entities.Run {
	t.Helper()
	var whole map[string]entities.Run
	for _, q := range cacheQueries {
		runs, _, err := f.s.SearchRuns(context.Background(), []string{"0"}, q.filter, view, 1000, q.order, "")
		require.NoError(t, err, q.name)
		byID := map[string]entities.Run{}
		for _, r := range runs {
			byID[r.Info.RunID] = r
		}
		if whole == nil {
			whole = byID
			continue
		}
		require.Equal(t, whole, byID, "filtered and whole searches disagree")
	}
	return whole
}

// only returns the fixture's run from a search, which must find it.
func (f *cacheFixture) only(t *testing.T) entities.Run {
	t.Helper()
	runs := f.search(t, entities.ViewAll)
	r, ok := runs[f.run.Info.RunID]
	require.True(t, ok, "run not found")
	return r
}

// warm searches until the run is served from the cache, and checks that it
// is.
func (f *cacheFixture) warm(t *testing.T) entities.Run {
	t.Helper()
	f.only(t)
	hits := f.s.readCache.hits.Load()
	r := f.only(t)
	requireHitsSince(t, f.s, hits, "the second search uses the cache")
	return r
}

// requireHitsSince checks that the cache served entries since it had
// before hits; the portable readers (sysfs.Fast false) never cache, and
// then it checks that none was served.
func requireHitsSince(t *testing.T, s *Store, before int64, msg string) {
	t.Helper()
	if !sysfs.Fast {
		require.Zero(t, s.readCache.hits.Load(), "the portable readers serve nothing from the cache")
		require.Zero(t, s.readCache.fills.Load(), "the portable readers cache nothing")
		return
	}
	require.Greater(t, s.readCache.hits.Load(), before, msg)
}

// rewriteInPlace rewrites the file p in place (same inode) with data and
// sets its mtime back to what it was: only its ctime tells the change.
func rewriteInPlace(t *testing.T, p string, data []byte) {
	t.Helper()
	st, err := os.Stat(p)
	require.NoError(t, err)
	fd, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	require.NoError(t, err)
	_, err = fd.Write(data)
	require.NoError(t, err)
	require.NoError(t, fd.Close())
	require.NoError(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
	st2, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, st.ModTime(), st2.ModTime())
	require.Equal(t, st.Size(), st2.Size())
	require.True(t, os.SameFile(st, st2))
}

func TestReadCache_InPlaceSameSizeSameMtime(t *testing.T) {
	f := newCacheFixture(t)
	r := f.warm(t)
	require.Equal(t, "aaa", r.Data.Params["p"])
	require.Equal(t, "xxx", r.Data.Tags["t"])
	require.Equal(t, 1.0, r.Data.Metrics["m"].Value)
	require.Equal(t, "nested", r.Data.Params["x/y"])

	rewriteInPlace(t, filepath.Join(f.dir, layout.ParamsDir, "p"), []byte("bbb"))
	rewriteInPlace(t, filepath.Join(f.dir, layout.ParamsDir, "x", "y"), []byte("NESTED"))
	rewriteInPlace(t, filepath.Join(f.dir, layout.TagsDir, "t"), []byte("yyy"))
	m := filepath.Join(f.dir, layout.MetricsDir, "m")
	old, err := os.ReadFile(m)
	require.NoError(t, err)
	rewriteInPlace(t, m, bytes.Replace(old, []byte(" 1.0 "), []byte(" 7.0 "), 1))
	check := func() {
		r := f.only(t)
		require.Equal(t, "bbb", r.Data.Params["p"])
		require.Equal(t, "NESTED", r.Data.Params["x/y"])
		require.Equal(t, "yyy", r.Data.Tags["t"])
		require.Equal(t, 7.0, r.Data.Metrics["m"].Value)
	}
	check() // within the window
	settle()
	check() // by the signature (ctime)
	check()
}

func TestReadCache_ReplacedByRename(t *testing.T) {
	f := newCacheFixture(t)
	f.warm(t)
	// Our writers replace files by rename: a tag, and meta.yaml.
	require.NoError(t, f.s.SetTag(context.Background(), f.run.Info.RunID, "t", "yyy"))
	end := int64(5)
	_, err := f.s.UpdateRunInfo(context.Background(), f.run.Info.RunID, entities.StatusFinished, &end, "")
	require.NoError(t, err)
	// And by hand, the same size and mtime.
	p := filepath.Join(f.dir, layout.ParamsDir, "p")
	st, err := os.Stat(p)
	require.NoError(t, err)
	tmp := filepath.Join(t.TempDir(), "p")
	require.NoError(t, os.WriteFile(tmp, []byte("bbb"), 0o666))
	require.NoError(t, os.Chtimes(tmp, st.ModTime(), st.ModTime()))
	require.NoError(t, os.Rename(tmp, filepath.Join(f.dir, layout.ParamsDir, ".p.tmp")))
	require.NoError(t, os.Rename(filepath.Join(f.dir, layout.ParamsDir, ".p.tmp"), p))
	check := func() {
		r := f.only(t)
		require.Equal(t, "yyy", r.Data.Tags["t"])
		require.Equal(t, "bbb", r.Data.Params["p"])
		require.Equal(t, entities.StatusFinished, r.Info.Status)
		require.Equal(t, int64(5), *r.Info.EndTime)
	}
	check()
	settle()
	check()
	check()
}

func TestReadCache_MetricAppended(t *testing.T) {
	f := newCacheFixture(t)
	f.warm(t)
	require.NoError(t, f.s.LogMetric(context.Background(), f.run.Info.RunID, entities.Metric{Key: "m", Value: 2, Timestamp: 2, Step: 1}))
	require.Equal(t, 2.0, f.only(t).Data.Metrics["m"].Value)
	settle()
	require.Equal(t, 2.0, f.only(t).Data.Metrics["m"].Value)
	f.warm(t)
	// A Python-style append: its own write, no lock.
	fd, err := os.OpenFile(filepath.Join(f.dir, layout.MetricsDir, "a", "b"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = fd.WriteString("3 9.0 5\n")
	require.NoError(t, err)
	require.NoError(t, fd.Close())
	require.Equal(t, 9.0, f.only(t).Data.Metrics["a/b"].Value)
	settle()
	require.Equal(t, 9.0, f.only(t).Data.Metrics["a/b"].Value)
	require.Equal(t, 9.0, f.only(t).Data.Metrics["a/b"].Value)
}

func TestReadCache_KeysAddedAndRemoved(t *testing.T) {
	f := newCacheFixture(t)
	f.warm(t)
	id := f.run.Info.RunID
	require.NoError(t, f.s.LogParam(context.Background(), id, "q", "new"))                                           // top folder
	require.NoError(t, f.s.LogParam(context.Background(), id, "x/z", "new2"))                                        // nested folder
	require.NoError(t, f.s.LogMetric(context.Background(), id, entities.Metric{Key: "a/c", Value: 3, Timestamp: 1})) // nested
	require.NoError(t, os.Remove(filepath.Join(f.dir, layout.TagsDir, "t")))                                         // gone
	require.NoError(t, os.Remove(filepath.Join(f.dir, layout.MetricsDir, "m")))                                      // gone
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, layout.TagsDir, "u"), []byte("u!"), 0o666))                 // Python-style
	check := func() {
		r := f.only(t)
		require.Equal(t, map[string]string{"p": "aaa", "x/y": "nested", "q": "new", "x/z": "new2"}, r.Data.Params)
		require.Equal(t, "u!", r.Data.Tags["u"])
		require.NotContains(t, r.Data.Tags, "t")
		require.NotContains(t, r.Data.Metrics, "m")
		require.Equal(t, 3.0, r.Data.Metrics["a/c"].Value)
		require.Len(t, r.Data.Metrics, 2)
	}
	check()
	settle()
	check()
	check()
	// A nested key removed, its folder left: only the sub folder changes.
	require.NoError(t, os.Remove(filepath.Join(f.dir, layout.ParamsDir, "x", "z")))
	settle()
	require.NotContains(t, f.only(t).Data.Params, "x/z")
}

func TestReadCache_DeletedByInPlaceMetaRewrite(t *testing.T) {
	f := newCacheFixture(t)
	f.warm(t)
	require.Contains(t, f.search(t, entities.ViewActiveOnly), f.run.Info.RunID)
	// Python's delete_run rewrites meta.yaml in place. Keep the size (the
	// name loses the letter that "deleted" gains) and the mtime.
	p := filepath.Join(f.dir, layout.MetaFile)
	old, err := os.ReadFile(p)
	require.NoError(t, err)
	meta := bytes.Replace(old, []byte("lifecycle_stage: active"), []byte("lifecycle_stage: deleted"), 1)
	meta = bytes.Replace(meta, []byte("run_name: abcd"), []byte("run_name: abc"), 1)
	require.Len(t, meta, len(old))
	rewriteInPlace(t, p, meta)
	check := func() {
		require.NotContains(t, f.search(t, entities.ViewActiveOnly), f.run.Info.RunID)
		got := f.search(t, entities.ViewDeletedOnly)
		require.Contains(t, got, f.run.Info.RunID)
		require.Equal(t, "abc", got[f.run.Info.RunID].Info.RunName)
	}
	check()
	settle()
	check()
	check()
}

func TestReadCache_RecentNotCached(t *testing.T) {
	f := newCacheFixture(t)
	f.s.readCache.window = time.Hour // everything is recent
	f.only(t)
	f.only(t)
	require.Zero(t, f.s.readCache.hits.Load())
	require.Zero(t, f.s.readCache.fills.Load())
	rewriteInPlace(t, filepath.Join(f.dir, layout.ParamsDir, "p"), []byte("bbb"))
	require.Equal(t, "bbb", f.only(t).Data.Params["p"])
}

// TestReadCache_MonotonicUnderWriters: while writers log, a search never
// reports a value older than one logged before the search began.
func TestReadCache_MonotonicUnderWriters(t *testing.T) {
	f := newCacheFixture(t)
	f.s.readCache.window = 20 * time.Millisecond
	id := f.run.Info.RunID
	var logged atomic.Int64 // the latest step logged of m (and value of tag t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for step := int64(1); ; step++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := f.s.LogMetric(context.Background(), id, entities.Metric{Key: "m", Value: float64(step), Timestamp: 1, Step: step}); err != nil {
				t.Error(err)
				return
			}
			if err := f.s.SetTag(context.Background(), id, "t", fmt.Sprint(step)); err != nil {
				t.Error(err)
				return
			}
			logged.Store(step)
			time.Sleep(time.Duration(step%7) * 5 * time.Millisecond) // some settle, some do not
		}
	}()
	defer wg.Wait()
	defer close(stop)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		before := logged.Load()
		q := cacheQueries[i%len(cacheQueries)]
		runs, _, err := f.s.SearchRuns(context.Background(), []string{"0"}, q.filter, entities.ViewAll, 1000, q.order, "")
		require.NoError(t, err)
		require.Len(t, runs, 1)
		r := runs[0]
		require.GreaterOrEqual(t, r.Data.Metrics["m"].Step, before)
		var tag int64
		if before > 0 {
			_, err := fmt.Sscan(r.Data.Tags["t"], &tag)
			require.NoError(t, err)
		}
		require.GreaterOrEqual(t, tag, before)
	}
	requireHitsSince(t, f.s, 0, "searches of a settled run use the cache")
}

func TestReadCache_FirstSearchUncached(t *testing.T) {
	f := newCacheFixture(t)
	q := cacheQueries[1]
	for i := range 3 {
		runs, _, err := f.s.SearchRuns(context.Background(), []string{"0"}, q.filter, entities.ViewAll, 1000, q.order, "")
		require.NoError(t, err)
		require.Len(t, runs, 1)
		switch {
		case i == 0:
			require.Zero(t, f.s.readCache.fills.Load(), "the first search fills nothing")
		case i == 1 && sysfs.Fast:
			require.Positive(t, f.s.readCache.fills.Load())
			require.Zero(t, f.s.readCache.hits.Load())
		case i == 2:
			requireHitsSince(t, f.s, 0, "the third search uses the cache")
		}
	}
}

func TestReadCache_Bounded(t *testing.T) {
	c := newReadCache()
	for i := range readCacheEntries + readCacheEntries/2 {
		c.put(&cached{key: fmt.Sprint("k", i), kind: kindString})
	}
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		n += len(sh.mu.m)
		k := 0
		for e := sh.mu.head.next; e != &sh.mu.head; e = e.next {
			k++
		}
		require.Equal(t, len(sh.mu.m), k, "list and map agree")
	}
	require.LessOrEqual(t, n, readCacheEntries)
	require.Greater(t, n, readCacheEntries*9/10)
}
