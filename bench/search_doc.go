// Package bench holds end-to-end benchmarks of mlruns-go, run with
// `go test ./bench -bench .` only (nothing here is a timed unit test).
// Benchmarks that compare with Python MLflow run the pinned venv's
// FileStore on the same tree in the same process run and report the ratio
// with b.ReportMetric; without the venv they skip.
//
// The search benchmarks (search_bench_test.go) size their stores from
// MLRUNS_BENCH_RUNS and MLRUNS_BENCH_POINTS so that the default
// `go test ./bench -bench Search -benchtime=1x` stays quick; set
// MLRUNS_BENCH_RUNS=10000 for the 10,000-run measurement.
package bench
