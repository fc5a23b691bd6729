package mlsync_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/tracking"
)

// BenchmarkPush_Server pushes a tree of 20 runs x 20 keys x 1000 points
// into a fresh experiment of a real SQLite-backed server, with one job and
// with DefaultJobs, against a server of one uvicorn worker (the tests')
// and of four (MLflow's default). Not in the test script (it needs the
// venv and minutes):
//
//	MLRUNS_VENV=... go test ./mlsync -run '^$' -bench Push_Server -benchtime 1x
//
// On a 2-CPU machine shared with other work, two runs, jobs=1 then
// jobs=4: workers=1 140 s and 156 s, then 117 s and 119 s; workers=4
// 168 s and 111 s, then 90 s and 86 s. The Python server is the
// bottleneck (2,400-4,700 points a second) with two CPUs at most.
func BenchmarkPush_Server(b *testing.B) {
	const runs, keys, points = 20, 20, 1000
	for _, workers := range []int{1, 4} {
		srv := interoptest.StartServerWith(b, interoptest.ServerOptions{Backend: interoptest.SQLite, Workers: workers})
		for _, jobs := range []int{1, mlsync.DefaultJobs} {
			b.Run(fmt.Sprintf("workers=%d/jobs=%d", workers, jobs), func(b *testing.B) {
				ctx := context.Background()
				dst, err := tracking.OpenStore(srv.URL, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer dst.Close()
				for i := range b.N {
					b.StopTimer()
					src, root := storetest.New(b, nil)
					exp, err := src.CreateExperiment(ctx, fmt.Sprintf("bench-w%d-j%d-%d", workers, jobs, i), "", nil)
					if err != nil {
						b.Fatal(err)
					}
					for r := range runs {
						run, err := src.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp, StartTime: 1_700_000_000_000 + int64(r)})
						if err != nil {
							b.Fatal(err)
						}
						for k := range keys {
							ms := make([]entities.Metric, points)
							for s := range ms {
								ms[s] = entities.Metric{Key: fmt.Sprintf("key%02d", k), Value: float64(s) / 7, Timestamp: 1_700_000_000_000 + int64(s), Step: int64(s)}
							}
							if err := src.LogBatch(ctx, run.Info.RunID, ms, nil, nil); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.StartTimer()
					rep, err := mlsync.Push(ctx, src, dst, mlsync.Options{Root: root, Target: srv.URL, Jobs: jobs})
					if err != nil || !rep.Complete() || rep.Points() != runs*keys*points {
						b.Fatalf("push: %v %s", err, rep.Summary())
					}
				}
				b.ReportMetric(float64(runs*keys*points*b.N)/b.Elapsed().Seconds(), "points/s")
			})
		}
	}
}
