package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/mlflow"
	"github.com/mlruns-go/mlruns/tracking"
)

// The hot paths of the driver's S1-S3 and the floors as go test benchmarks,
// for benchstat. One op is one call; points/s counts metric points.

func benchRun(b *testing.B) (*filestore.Store, string) {
	b.Helper()
	s, err := filestore.Open(filepath.Join(b.TempDir(), "mlruns"), nil)
	if err != nil {
		b.Fatal(err)
	}
	run, err := s.CreateRun(b.Context(), filestore.CreateRunOptions{StartTime: ts0})
	if err != nil {
		b.Fatal(err)
	}
	return s, run.Info.RunID
}

func reportPoints(b *testing.B, points int) {
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
}

// benchOps times op(0) .. op(b.N-1), each logging points metric points,
// and reports allocations and points/s.
func benchOps(b *testing.B, points int, op func(i int) error) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	reportPoints(b, b.N*points)
}

// benchQueued is benchOps over one queued point per op, with the flush of
// the queue inside the last op (so it is timed).
func benchQueued(b *testing.B, queue func(i int) error, flush func() error) {
	b.Helper()
	benchOps(b, 1, func(i int) error {
		if err := queue(i); err != nil {
			return err
		}
		if i == b.N-1 {
			return flush()
		}
		return nil
	})
}

// BenchmarkLogMetric is S1: one synchronous point per call, through the
// store, the explicit client and the fluent API.
func BenchmarkLogMetric(b *testing.B) {
	b.Run("api=store", func(b *testing.B) {
		s, id := benchRun(b)
		benchOps(b, 1, func(i int) error {
			return s.LogMetric(context.Background(), id, entities.Metric{Key: "loss", Value: 0.5, Timestamp: ts0, Step: int64(i)})
		})
	})
	b.Run("api=client", func(b *testing.B) {
		s, id := benchRun(b)
		c := tracking.NewClient(s, nil)
		defer c.Close(context.Background())
		ctx := b.Context()
		benchOps(b, 1, func(i int) error {
			return c.LogMetric(ctx, id, "loss", 0.5, tracking.WithTimestamp(ts0), tracking.WithStep(int64(i)))
		})
	})
	b.Run("api=fluent", func(b *testing.B) {
		ctx := fluentRun(b)
		benchOps(b, 1, func(i int) error {
			return mlflow.LogMetric(ctx, "loss", 0.5, mlflow.Step(int64(i)))
		})
	})
}

// BenchmarkLogBatch is S2: one LogBatch call of n metrics per op.
func BenchmarkLogBatch(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("metrics=%d", n), func(b *testing.B) {
			s, id := benchRun(b)
			ms := make([]entities.Metric, n)
			ctx := b.Context()
			benchOps(b, n, func(k int) error {
				for i := range ms {
					ms[i] = entities.Metric{Key: "loss", Value: 0.5, Timestamp: ts0, Step: int64(k*n + i)}
				}
				return s.LogBatch(ctx, id, ms, nil, nil)
			})
		})
	}
}

// BenchmarkAsync is S3: one queued point per op, the final Flush inside the
// timed part (so -benchtime=1x measures a flush of one point).
func BenchmarkAsync(b *testing.B) {
	b.Run("api=client", func(b *testing.B) {
		s, id := benchRun(b)
		c := tracking.NewClient(s, nil)
		ctx := b.Context()
		defer c.Close(context.Background())
		benchQueued(b, func(i int) error {
			m := []entities.Metric{{Key: "loss", Value: 0.5, Timestamp: ts0, Step: int64(i)}}
			return c.LogBatchAsync(ctx, id, m, nil, nil).Err()
		}, func() error { return c.Flush(ctx) })
	})
	b.Run("api=fluent", func(b *testing.B) {
		ctx := fluentRun(b)
		benchQueued(b, func(i int) error {
			return mlflow.LogMetricAsync(ctx, "loss", 0.5, mlflow.Step(int64(i))).Err()
		}, func() error { return mlflow.Flush(ctx) })
	})
}

// BenchmarkFloor is the driver's F1-F3: the plain loops, points per op as
// in the driver (one for F1 and F2, one 64 KiB buffer's worth for F3).
func BenchmarkFloor(b *testing.B) {
	for _, tc := range []struct {
		name string
		fn   func(dir string, n int) (result, error)
	}{
		{"open_flock_append_close", floorOpenAppend},
		{"held_fd_flock_write", floorHeld},
		{"batched_64KiB", func(dir string, n int) (result, error) { return floorBatched(dir, n, 64<<10) }},
	} {
		b.Run("loop="+tc.name, func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			b.ResetTimer()
			if _, err := tc.fn(dir, b.N); err != nil {
				b.Fatal(err)
			}
			reportPoints(b, b.N)
		})
	}
}

// fluentRun points the fluent API at a fresh store and starts a run that
// ends with the benchmark.
func fluentRun(b *testing.B) context.Context {
	ctx := b.Context()
	mlflow.SetTrackingURI(filepath.Join(b.TempDir(), "mlruns"))
	run, err := mlflow.StartRun(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { run.End(nil) })
	return ctx
}
