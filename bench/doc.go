// Command bench is the end-to-end benchmark driver of mlruns-go: it measures
// our store, Python MLflow 3.18's FileStore (through MlflowClient on a file:
// URI, py_bench.py) and the raw syscall floor (plain Go loops) in one
// invocation, interleaved so that a noisy shared machine hits all three alike,
// and prints a table of per-point rates and ratios.
//
//	go run ./bench                  # default sizes, a few minutes on 2 cores
//	go run ./bench -quick -json F   # under a minute; JSON rows to F
//	go run ./bench -scale 2         # twice the sizes (S6 over 10,000 runs)
//
// Scenarios: S1 sync log_metric, one point per call; S2 log_batch of 1,000
// metrics; S3 async logging of N points then Flush; S4 4 processes x 4
// goroutines (Python: threads) logging one metric key of one run; S5 reading
// an N-point metric history into a slice (S5c into columns, S5i streamed); S6 search_runs over R runs x 20 metrics x 20
// params with a metric and param filter and a metric order_by; S7 cold start
// of a whole process that starts a run, logs one metric and ends it; S8 peak
// RSS of a process logging M points asynchronously (Go only). The floor rows
// F1-F3 are the plain loops the scenarios compare with: open+flock+append+
// close per point (S1, S4), a held descriptor with flock+write per point, and
// 64 KiB batched writes (S2, S3); S5's floor reads the file and counts lines.
// Child processes (S4, S8) are this binary re-executed with the hidden -child
// flag.
//
// The server scenarios (server.go; -server runs only them, -no-server skips
// them) run against a fresh `mlflow server` of the venv on 127.0.0.1 (SQLite
// backend, 4 workers, warmed up) per scenario: R1 synchronous LogMetric, one
// request per point, against MlflowClient.log_metric; R2 asynchronous logging
// of N points then Flush against mlflow.log_metric(synchronous=False) (and,
// R2b, against a sequential MlflowClient.log_batch loop); R3 sequential
// LogBatch of 1,000 against MlflowClient.log_batch. The server floor is the
// same requests pre-serialised and replayed by a bare net/http keep-alive
// client (FR1, FR4, FR10: LogBatch bodies at 1, 4 and 10 in flight), since
// the server, not the client, is the ceiling. Each row also reports the CPU
// per point of the client (getrusage of this process; Python's
// process_time) and of the server's process group (/proc, Linux only).
//
// The sync scenarios (sync.go; run by -server, and alone by -sync, not by
// default: the full tree takes half an hour against this VM's server)
// push a tree generated with our file store (20 runs x 20 keys x 5,000
// steps at -scale 1, with params, tags and 3 files of 4 KiB a run) into a
// fresh mlflow server with mlsync.Push (Y1), then push it again with
// nothing changed (Y2), against a Python replay of the tree (FileStore
// read, MlflowClient.create_run, log_batch and log_artifacts; Y1 with 4
// threads over runs, Y1s sequential) and against the tree's points as
// pre-serialised LogBatch bodies of 1,000 replayed at 1 and 4 in flight
// (FY1, FY4; the ratio uses FY1, as mlsync.Push sends one request at a
// time). Each measured step gets a server of its own.
//
// The package also holds the go test benchmarks of the hot paths
// (bench_test.go) and the search and history benchmarks
// (search_bench_test.go), run with `go test ./bench -run '^$' -bench .`;
// nothing here is a timed unit test. Benchmarks that compare with Python
// MLflow run the pinned venv's FileStore on the same tree and report the
// ratio with b.ReportMetric; without the venv they skip. The search
// benchmarks size their stores from MLRUNS_BENCH_RUNS and
// MLRUNS_BENCH_POINTS so that `-benchtime=1x` stays quick; set
// MLRUNS_BENCH_RUNS=10000 for the 10,000-run measurement.
package main
