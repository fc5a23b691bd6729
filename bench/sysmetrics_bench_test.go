//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/tracking"
)

// windowStore signals each system metrics window written (at a short
// interval the asynchronous writer merges several into one LogBatch).
type windowStore struct {
	store.Store
	windows chan struct{}
}

func (s *windowStore) LogBatch(ctx context.Context, runID string, m []entities.Metric, p []entities.Param, t []entities.RunTag) error {
	err := s.Store.LogBatch(ctx, runID, m, p, t)
	for _, x := range m {
		if x.Key == "system/cpu_utilization_percentage" {
			select {
			case s.windows <- struct{}{}:
			default: // past b.N
			}
		}
	}
	return err
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSystemMetrics_CPU: the CPU a run's system metrics monitor
// costs, one op per logged window: a sample of the machine (gopsutil's
// CPU times, memory, disk and network counters; NVML when there is a
// GPU), the run's status from the store after it, and the window's
// LogBatch through the asynchronous writer into a file store, measured as
// the process's CPU time (getrusage) over b.N windows. cpu-us/window is
// that per window; cpu-%-at-default is its share of one core at the
// default 10 s interval. The monitor runs at
// MLRUNS_BENCH_SYSMETRICS_INTERVAL (default 1ms, so b.N windows come
// quickly; each does the same work as at 10 s, plus a timer):
// MLRUNS_BENCH_SYSMETRICS_INTERVAL=10s -benchtime=3x measures it at the
// default interval itself, idle time included.
func BenchmarkSystemMetrics_CPU(b *testing.B) {
	interval := time.Millisecond
	if v := os.Getenv("MLRUNS_BENCH_SYSMETRICS_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("MLRUNS_BENCH_SYSMETRICS_INTERVAL: %v", err)
		}
		interval = d
	}
	for _, goRT := range []bool{false, true} {
		b.Run(fmt.Sprintf("goruntime=%v", goRT), func(b *testing.B) {
			ctx := context.Background()
			fs, err := filestore.Open(filepath.Join(b.TempDir(), "mlruns"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer fs.Close()
			ws := &windowStore{Store: fs, windows: make(chan struct{}, b.N+16)}
			c := tracking.NewClient(ws, nil)
			defer c.Close(ctx)
			run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{})
			if err != nil {
				b.Fatal(err)
			}
			opts := &tracking.SystemMetricsOptions{Interval: interval, GoRuntime: goRT,
				Lookup: func(string) (string, bool) { return "", false }}
			b.ResetTimer()
			cpu0, t0 := processCPU(b), time.Now()
			if err := c.StartSystemMetrics(ctx, run.Info.RunID, opts); err != nil {
				b.Fatal(err)
			}
			for range b.N {
				<-ws.windows
			}
			cpu, wall := processCPU(b)-cpu0, time.Since(t0)
			b.StopTimer()
			c.StopSystemMetrics(run.Info.RunID)
			perWindow := cpu / time.Duration(b.N)
			b.ReportMetric(float64(perWindow.Nanoseconds())/1e3, "cpu-us/window")
			b.ReportMetric(100*perWindow.Seconds()/(10*time.Second).Seconds(), "cpu-%-at-default")
			b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%-measured")
		})
	}
}
