package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/tracking"
)

// The sync scenarios Y1-Y2 (issue 17's performance section): a generated
// tree pushed into a fresh `mlflow server` by mlsync.Push (Y1), then pushed
// again with nothing changed (Y2); against a Python replay of the same tree
// (FileStore read, MlflowClient.create_run + log_batch + log_artifacts;
// py_bench.py replay), sequential and with 4 threads over runs, and against
// the server floor: the tree's points as pre-serialised LogBatch bodies of
// 1,000 replayed at 1 and at 4 in flight (FY1, FY4). Every measured step
// gets a server of its own, so none is timed on a database another filled.

// syncFloorInFlight are the floor's replay concurrencies; the ratio uses
// the first, mlsync.Push's: it sends one request at a time.
var syncFloorInFlight = []int{1, 4}

// syncShape is the generated tree: runs x keys x steps points, and per run
// params, tags and files of fileSize bytes.
type syncShape struct {
	runs, keys, steps     int
	params, tags          int
	files, fileSize       int
	pyRuns                int // runs the Python replays re-log (the first of the tree)
	pyThreads             int // the threaded replay's pool
	metricsPer, paramsPer int // Python's log_batch chunks
}

func (y syncShape) points() int   { return y.runs * y.keys * y.steps }
func (y syncShape) pyPoints() int { return y.pyRuns * y.keys * y.steps }

// syncKey is the tree's i-th metric key.
func syncKey(i int) string { return fmt.Sprintf("m%02d", i) }

// syncPoint is the point of key k at step s: distinct values, timestamps
// that grow with the step.
func syncPoint(k, s int) (value float64, ts int64) {
	return float64(k) + float64(s)*1e-4, ts0 + int64(s)*10
}

// makeSyncTree writes the tree with our file store into a new folder and
// returns the folder and the local run ids (in start-time order, the order
// the replays take them in).
func (d *driver) makeSyncTree(y syncShape) (string, []string, error) {
	ctx := context.Background()
	root := d.dir("y1-tree")
	s, err := filestore.Open(root, nil)
	if err != nil {
		return "", nil, err
	}
	defer s.Close()
	exp, err := s.CreateExperiment(ctx, "bench-sync", "", nil)
	if err != nil {
		return "", nil, err
	}
	file := bytes.Repeat([]byte("0123456789abcdef"), (y.fileSize+15)/16)[:y.fileSize]
	var ids []string
	ms := make([]entities.Metric, 0, d.sz.batchSize)
	for r := range y.runs {
		run, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, StartTime: ts0 + int64(r), RunName: fmt.Sprintf("run-%02d", r), UserID: "bench"})
		if err != nil {
			return "", nil, err
		}
		id := run.Info.RunID
		ids = append(ids, id)
		var ps []entities.Param
		for i := range y.params {
			ps = append(ps, entities.Param{Key: fmt.Sprintf("param_%d", i), Value: strconv.Itoa(r*100 + i)})
		}
		var ts []entities.RunTag
		for i := range y.tags {
			ts = append(ts, entities.RunTag{Key: fmt.Sprintf("tag_%d", i), Value: fmt.Sprintf("value %d of run %d", i, r)})
		}
		if err := s.LogBatch(ctx, id, nil, ps, ts); err != nil {
			return "", nil, err
		}
		for k := range y.keys {
			for st := range y.steps {
				v, t := syncPoint(k, st)
				ms = append(ms, entities.Metric{Key: syncKey(k), Value: v, Timestamp: t, Step: int64(st)})
				if len(ms) == cap(ms) || st == y.steps-1 {
					if err := s.LogBatch(ctx, id, ms, nil, nil); err != nil {
						return "", nil, err
					}
					ms = ms[:0]
				}
			}
		}
		dir, err := s.ArtifactDir(ctx, id)
		if err != nil {
			return "", nil, err
		}
		for i := range y.files {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file_%d.txt", i)), file, 0o644); err != nil {
				return "", nil, err
			}
		}
		end := ts0 + int64(y.steps)*10
		if _, err := s.UpdateRunInfo(ctx, id, entities.StatusFinished, &end, ""); err != nil {
			return "", nil, err
		}
	}
	return root, ids, nil
}

// push is one mlsync.Push of root into s, timed with both sides' CPU; its
// points are those of the tree (Y2 counts what it checked). A first push
// must send every point of the tree, a later one nothing at all.
func syncPush(s *benchServer, root string, treePoints int, first bool) (result, error) {
	ctx := context.Background()
	src, err := filestore.Open(root, nil)
	if err != nil {
		return result{}, err
	}
	defer src.Close()
	dst, err := tracking.OpenStore(s.URL, nil)
	if err != nil {
		return result{}, err
	}
	defer dst.Close()
	var rep *mlsync.Report
	r, err := s.timedGo(treePoints, func() error {
		var err error
		rep, err = mlsync.Push(ctx, src, dst, mlsync.Options{Root: root, Target: s.URL})
		return err
	})
	if err != nil {
		return r, err
	}
	if !rep.Complete() {
		return r, fmt.Errorf("push incomplete: %d failed runs, failures %v", rep.Count(mlsync.RunFailed), rep.Failures)
	}
	switch {
	case first && rep.Points() != int64(treePoints):
		return r, fmt.Errorf("first push sent %d points, the tree has %d", rep.Points(), treePoints)
	case !first && (rep.Requests != 0 || rep.Points() != 0):
		return r, fmt.Errorf("push of an unchanged tree sent %d requests, %d points", rep.Requests, rep.Points())
	}
	return r, nil
}

// syncFloorBodies are the points of the tree's runs as LogBatch bodies of
// size metrics each, in our wire shape, for the runs ids (one per tree
// run): each run's keys one after the other, cut every size points, as
// mlsync's batcher packs them.
func syncFloorBodies(ids []string, y syncShape, size int) [][]byte {
	var bodies [][]byte
	for _, id := range ids {
		var buf []byte
		in := 0
		for k := range y.keys {
			key := syncKey(k)
			for st := range y.steps {
				if in == 0 {
					buf = append([]byte(`{"run_id":"`), id...)
					buf = append(buf, `","metrics":[`...)
				} else {
					buf = append(buf, ',')
				}
				v, t := syncPoint(k, st)
				buf = append(buf, `{"key":"`...)
				buf = append(buf, key...)
				buf = append(buf, `","value":`...)
				buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
				buf = append(buf, `,"timestamp":`...)
				buf = strconv.AppendInt(buf, t, 10)
				buf = append(buf, `,"step":`...)
				buf = strconv.AppendInt(buf, int64(st), 10)
				buf = append(buf, '}')
				if in++; in == size {
					bodies = append(bodies, append(buf, "]}"...))
					in = 0
				}
			}
		}
		if in > 0 {
			bodies = append(bodies, append(buf, "]}"...))
		}
	}
	return bodies
}

func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// inFreshServer runs f against a server of its own, stopped after it.
func (d *driver) inFreshServer(name string, f func(s *benchServer) error) error {
	s, err := d.startServer(name)
	if err != nil {
		return err
	}
	defer s.Stop()
	return f(s)
}

func (d *driver) y1() (row, error) {
	y := d.sz.sync
	t0 := time.Now()
	root, _, err := d.makeSyncTree(y)
	if err != nil {
		return row{}, fmt.Errorf("making the tree: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: Y1: tree of %d runs x %d keys x %d steps (%d points) made in %v\n",
		y.runs, y.keys, y.steps, y.points(), time.Since(t0).Round(time.Millisecond))
	n := y.points()
	var ours, again, pySeq, pyPool best
	perK := make([]best, len(syncFloorInFlight))
	journal := ""
	steps := []func() error{
		func() error {
			return d.inFreshServer("y1", func(s *benchServer) error {
				// A new server may reuse an old one's port, and the journal
				// is per target URL: without it the push is a first one.
				journal = mlsync.JournalPath(root, s.URL)
				if err := os.Remove(journal); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				r, err := syncPush(s, root, n, true)
				if err != nil {
					return fmt.Errorf("first push: %w", err)
				}
				ours.add(r)
				r, err = syncPush(s, root, n, false)
				if err != nil {
					return fmt.Errorf("second push: %w", err)
				}
				again.add(r)
				return os.Remove(journal)
			})
		},
	}
	pyStep := func(b *best, threads int) func() error {
		return func() error {
			return d.inFreshServer(fmt.Sprintf("y1-py%d", threads), func(s *benchServer) error {
				s0, sok := s.cpu()
				r, err := d.py("replay", root, s.URL, strconv.Itoa(y.pyRuns), strconv.Itoa(threads),
					strconv.Itoa(y.metricsPer), strconv.Itoa(y.paramsPer))
				if err != nil {
					return err
				}
				if r.Points != y.pyPoints() {
					return fmt.Errorf("python replay logged %d points, want %d", r.Points, y.pyPoints())
				}
				if s1, _ := s.cpu(); sok {
					r.ServerCPU = seconds(s1 - s0)
				}
				b.add(r)
				return nil
			})
		}
	}
	steps = append(steps, pyStep(&pySeq, 1), pyStep(&pyPool, y.pyThreads))
	// The floor of the ratio replays the whole tree; the others, a check
	// that more requests in flight would not be much faster, replay as many
	// runs as Python does, to keep the scenario within the hour at full size.
	floorRuns := func(k int) int { return cond(k == syncFloorInFlight[0], y.runs, y.pyRuns) }
	floorBodies := make([]int, len(syncFloorInFlight))
	for i, k := range syncFloorInFlight {
		steps = append(steps, func() error {
			return d.inFreshServer(fmt.Sprintf("y1-floor%d", k), func(s *benchServer) error {
				ids := make([]string, floorRuns(k))
				for r := range ids {
					id, err := s.newRun()
					if err != nil {
						return err
					}
					ids[r] = id
				}
				bodies := syncFloorBodies(ids, y, d.sz.batchSize)
				floorBodies[i] = len(bodies)
				r, err := s.replay("/api/2.0/mlflow/runs/log-batch", bodies, 0, k)
				r.Points = len(ids) * y.keys * y.steps
				if err != nil {
					return err
				}
				perK[i].add(r)
				return nil
			})
		})
	}
	if err := d.rounds(steps...); err != nil {
		return row{}, err
	}
	floor := perK[0]
	shape := fmt.Sprintf("%d runs x %d keys x %d steps (%d points), %d params, %d tags and %d files of %d B per run",
		y.runs, y.keys, y.steps, n, y.params, y.tags, y.files, y.fileSize)
	pyNote := fmt.Sprintf("Python: py_bench.py replay of the tree's first %d runs (%d points): FileStore read, MlflowClient.create_run, log_batch of %d metrics / %d params and tags, log_artifacts, set_terminated",
		y.pyRuns, y.pyPoints(), y.metricsPer, y.paramsPer)
	floorNote := fmt.Sprintf("floor: the tree's points as %d LogBatch bodies of %d metrics into fresh runs, 1 in flight as mlsync.Push sends (row FY%d)",
		floorBodies[0], d.sz.batchSize, syncFloorInFlight[0])
	for i, k := range syncFloorInFlight {
		runs := floorRuns(k)
		d.extra = append(d.extra, mkServerRow(fmt.Sprintf("FY%d server floor: the tree's points as LogBatch, %d in flight", k, k), best{}, best{}, perK[i],
			fmt.Sprintf("the points of %d runs (%d) in %d pre-serialised LogBatch bodies of %d metrics (our wire shape), %d in flight; metrics only (no run creation, params, tags or artifacts)",
				runs, runs*y.keys*y.steps, floorBodies[i], d.sz.batchSize, k)))
	}
	y2 := mkServerRow("Y2 second push, nothing changed", again, best{}, best{},
		"the same mlsync.Push of the same tree right after Y1's, into the same server: no request sent; rate: tree points checked per second")
	if again.r != nil {
		y2.Seconds = ptr(again.res.Seconds)
		y2.Note = fmt.Sprintf("%.3f s wall (target < 1 s); %s", again.res.Seconds, y2.Note)
	}
	d.extra = append([]row{mkServerRow("Y1s same, vs Python replay sequential", ours, pySeq, floor, "ours as Y1; Python sequential over runs; "+pyNote)}, d.extra...)
	d.extra = append(d.extra, y2)
	r := mkServerRow("Y1 sync push of a tree into a fresh server", ours, pyPool, floor,
		fmt.Sprintf("ours mlsync.Push of a tree of %s, sequential requests; Python %d threads over runs (concurrent.futures); %s; %s", shape, y.pyThreads, pyNote, floorNote))
	if ours.r != nil {
		r.Seconds = ptr(ours.res.Seconds)
	}
	return r, nil
}
