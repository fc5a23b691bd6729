package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
)

// BenchmarkLogMetric_Durable measures the cost of Options.Durable (an fsync
// of the metric file per append) against the default (page cache, as
// Python MLflow): compare durable=false and durable=true with benchstat.
func BenchmarkLogMetric_Durable(b *testing.B) {
	for _, durable := range []bool{false, true} {
		b.Run(fmt.Sprintf("durable=%v", durable), func(b *testing.B) {
			s, err := filestore.Open(filepath.Join(b.TempDir(), "mlruns"), &filestore.Options{Durable: durable})
			if err != nil {
				b.Fatal(err)
			}
			run, err := s.CreateRun(b.Context(), filestore.CreateRunOptions{ExperimentID: "0"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := s.LogMetric(context.Background(), run.Info.RunID, entities.Metric{Key: "loss", Value: 0.5, Timestamp: 1_700_000_000_000, Step: int64(i)})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
