// Package tracking is the explicit tracking client of mlruns, the Go twin of
// Python MLflow's MlflowClient: experiments, runs, params, tags, metrics,
// metric history, dataset inputs, model outputs, logged models, search and
// artifacts, over any store.Store (the file store today). Every method that
// can block takes a context.Context first and honours it. Batches over
// MLflow's per-request limits are split as Python's client splits them.
//
// A Client holds no hidden state beyond its store and its asynchronous
// writer, and is safe for use by many goroutines. Open resolves a tracking
// URI as Python MLflow does: a plain path, a relative path or a file: URI is
// opened as FileStore(uri, uri); an http(s) URI is an MLflow tracking server
// (package reststore); databricks and database URIs fail with an error that
// unwraps to errs.ErrNotSupported.
//
// # Asynchronous logging
//
// LogBatchAsync and LogMetricAsync (and the fluent layer's ...Async calls)
// validate their input at once, then queue the write and return an
// *Operation, never nil: an invalid key gives an Operation already done
// with the error, which Operation.Err reports without waiting. One background writer per
// Client merges queued points from many calls into few LogBatch calls: it
// waits up to Options.AsyncWindow for more work after the first item and
// never puts more than MLflow's batch limits (1000 metrics, 100 params, 100
// tags) in one call. The queue holds at most Options.AsyncQueueSize calls; a
// full queue blocks the caller until the writer catches up or the context
// ends (back-pressure, bounded memory). Against a tracking server
// (store.ConcurrentBatches) up to Options.AsyncInFlight LogBatch requests
// are in flight at once (MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE, else 10, as
// Python's pool): metric-only batches concurrently, batches with params or
// tags one at a time per run, in call order. The file store writes one
// batch at a time, so a history's file keeps call order.
//
// A failed write is reported by the Operation's Wait, and again by the next
// Flush, FlushRun, SetTerminated or Close. Flush and Close return only when
// everything queued before them is on disk (in the page cache, or synced
// when the store is durable). Points still queued when the program exits
// without Flush, SetTerminated or Close are lost: nothing writes them on
// exit, as there is no at-exit hook in Go.
//
// # System metrics
//
// CreateRunOptions.SystemMetrics or StartSystemMetrics starts a monitor of
// package sysmetrics for a run: it logs one LogBatchAsync per window and
// reads the run's status and steps from the store; SetTerminated stops it
// and writes its last window before the end time, and Close stops them all.
//
// # Artifacts
//
// LogArtifact and LogArtifacts copy local files into a run's artifact folder,
// found from the run's artifact_uri (a plain path or a file: URI; other
// schemes are ErrNotSupported). Artifact paths are relative slash paths
// without "..", like MLflow's validate_path_is_safe; all writes go through
// an os.Root opened on the artifact folder, so a symlink inside it that
// points elsewhere cannot make a write land outside it. Files are created
// with mode 0666 and folders 0777, less the umask.
package tracking
