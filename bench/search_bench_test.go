package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
)

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func pyScript() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "search_python.py")
}

// buildSearchStore is makeSearchStore for benchmarks.
func buildSearchStore(b *testing.B, dir string, runs, metrics, params int) (*filestore.Store, string) {
	b.Helper()
	s, expID, err := makeSearchStore(dir, runs, metrics, params)
	if err != nil {
		b.Fatal(err)
	}
	return s, expID
}

// BenchmarkSearchRuns searches runs x 20 metrics x 20 params with a metric
// and a param filter and a metric order_by, first page of 1000 and of 100,
// and reports Python FileStore.search_runs's time for the same query on the
// same tree (py_ms) and the speed-up (x_python). MLRUNS_BENCH_RUNS sets the
// run count (default 1000; the measurement is 10000).
//
// Every file of the tree is read once before either side searches, so both
// search a tree in the page cache (a tree written a while ago is partly
// evicted on this VM, and whichever side ran first would pay disk reads the
// other then skips). store=fresh opens a new Store for every search:
// what a one-shot program or CLI call pays. store=reused searches with one
// long-lived Store, whose read cache serves files unchanged since its
// previous search (the first of its searches fills it).
func BenchmarkSearchRuns(b *testing.B) {
	runs := envInt(b, "MLRUNS_BENCH_RUNS", 1000)
	const metrics, params = 20, 20
	dir := filepath.Join(b.TempDir(), "mlruns")
	t0 := time.Now()
	s, expID := buildSearchStore(b, dir, runs, metrics, params)
	b.Logf("built %d runs in %v", runs, time.Since(t0))
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := readTree(dir); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	filter := searchFilter
	order := []string{searchOrder}
	// Python reads every run whole whatever the page size, so one
	// measurement serves both page sizes.
	pyIDs := map[int][]string{}
	var pySec float64
	python := func(b *testing.B, max int) ([]string, float64) {
		if ids, ok := pyIDs[max]; ok {
			return ids, pySec
		}
		interoptest.Python(b)
		q, _ := json.Marshal(map[string]any{"exp_ids": []string{expID}, "filter": filter, "order": order, "max": max, "repeat": 1})
		var py struct {
			Seconds float64  `json:"seconds"`
			IDs     []string `json:"ids"`
		}
		if err := json.Unmarshal(interoptest.Run(b, pyScript(), q, "search", dir), &py); err != nil {
			b.Fatal(err)
		}
		pyIDs[max] = py.IDs
		if pySec == 0 || py.Seconds < pySec {
			pySec = py.Seconds
		}
		return py.IDs, pySec
	}
	search := func(b *testing.B, st *filestore.Store, max int) []string {
		got, _, err := st.SearchRuns(ctx, []string{expID}, filter, entities.ViewActiveOnly, max, order, "")
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, len(got))
		for i, r := range got {
			ids[i] = r.Info.RunID
		}
		return ids
	}
	open := func(b *testing.B) *filestore.Store {
		st, err := filestore.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	reused := open(b)
	defer reused.Close()
	for _, max := range []int{1000, 100} {
		for _, mode := range []string{"fresh", "reused"} {
			b.Run(fmt.Sprintf("runs=%d/metrics=%d/params=%d/max=%d/store=%s", runs, metrics, params, max, mode), func(b *testing.B) {
				want, py := python(b, max)
				var ids []string
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if mode == "reused" {
						ids = search(b, reused, max)
						continue
					}
					st := open(b)
					ids = search(b, st, max)
					if err := st.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				goSec := b.Elapsed().Seconds() / float64(b.N)
				if fmt.Sprint(want) != fmt.Sprint(ids) {
					b.Fatalf("Python found %d runs, Go %d, or in another order", len(want), len(ids))
				}
				b.ReportMetric(py*1000, "py_ms")
				b.ReportMetric(py/goSec, "x_python")
			})
		}
	}
}

// BenchmarkMetricHistory reads back a points-long metric (default 1M,
// MLRUNS_BENCH_POINTS) with GetMetricHistory, GetMetricHistoryColumns and
// the streaming MetricHistoryIter, reporting lines/s and the speed-up over Python's
// FileStore.get_metric_history on the same file (x_python).
func BenchmarkMetricHistory(b *testing.B) {
	points := envInt(b, "MLRUNS_BENCH_POINTS", 1_000_000)
	dir := filepath.Join(b.TempDir(), "mlruns")
	s, err := filestore.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	run, err := s.CreateRun(ctx, filestore.CreateRunOptions{StartTime: 1})
	if err != nil {
		b.Fatal(err)
	}
	id := run.Info.RunID
	batch := make([]entities.Metric, 0, 1000)
	for i := 0; i < points; i++ {
		batch = append(batch, entities.Metric{Key: "loss", Value: 1 / float64(i+1), Timestamp: 1_700_000_000_000 + int64(i), Step: int64(i)})
		if len(batch) == cap(batch) || i == points-1 {
			if err := s.LogBatch(ctx, id, batch, nil, nil); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	var pySec float64
	pyOnce := func(b *testing.B) {
		if pySec != 0 {
			return
		}
		interoptest.Python(b)
		q, _ := json.Marshal(map[string]any{"run_id": id, "key": "loss", "repeat": 1})
		var py struct {
			Seconds float64 `json:"seconds"`
			Count   int     `json:"count"`
		}
		if err := json.Unmarshal(interoptest.Run(b, pyScript(), q, "history", s.Root()), &py); err != nil {
			b.Fatal(err)
		}
		if py.Count != points {
			b.Fatalf("Python read %d points, want %d", py.Count, points)
		}
		pySec = py.Seconds
	}
	report := func(b *testing.B) {
		b.StopTimer()
		sec := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(points)/sec, "lines/s")
		pyOnce(b)
		b.ReportMetric(pySec/sec, "x_python")
	}
	b.Run(fmt.Sprintf("read=slice/points=%d", points), func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			h, err := s.GetMetricHistory(ctx, id, "loss")
			if err != nil || len(h) != points {
				b.Fatalf("%d points, %v", len(h), err)
			}
		}
		report(b)
	})
	b.Run(fmt.Sprintf("read=columns/points=%d", points), func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, err := s.GetMetricHistoryColumns(ctx, id, "loss")
			if err != nil || c.Len() != points {
				b.Fatalf("%d points, %v", c.Len(), err)
			}
		}
		report(b)
	})
	b.Run(fmt.Sprintf("read=iter/points=%d", points), func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			n := 0
			for _, err := range s.MetricHistoryIter(ctx, id, "loss") {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != points {
				b.Fatalf("%d points", n)
			}
		}
		report(b)
	})
}
