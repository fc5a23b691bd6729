// Package mlflow is the fluent tracking API, the Go twin of Python's
// `import mlflow`: set a tracking URI and an experiment, start a run, log
// to it, end it.
//
//	run, err := mlflow.StartRun(ctx, mlflow.RunName("baseline"))
//	if err != nil { ... }
//	defer run.End(&err) // FINISHED, or FAILED on error or panic
//	err = mlflow.LogParam(ctx, "learning_rate", 0.01)
//	err = mlflow.LogMetric(ctx, "loss", 0.25, mlflow.Step(1))
//
// # Process-wide state
//
// This package holds process-wide state, as Python's module does: the
// tracking URI, the active experiment, the stack of active runs and the
// last ended run, and one tracking.Client per tracking URI. All of it is
// guarded by a mutex, so every function is safe to call from many
// goroutines. Unlike Python, whose active run is per thread, the active run
// stack is shared by the whole process: goroutines have no identity to hang
// it on. Goroutines that each track their own run start it with Detached
// (or Run.StartChild, for a child of a shared parent) and log through the
// returned *Run's methods; a detached run never becomes the active run.
//
// # Tracking URI
//
// GetTrackingURI returns, in order, what SetTrackingURI set, the
// MLFLOW_TRACKING_URI environment variable, or the file: URI of the
// absolute path of ./mlruns. Python MLflow 3.7+ defaults to
// sqlite:///mlflow.db unless ./mlruns already holds an experiment; this is a
// file-store library, so ./mlruns is always the default. A path or file:
// URI is opened as Python opens it, FileStore(uri, uri); an http(s) URI is
// an MLflow tracking server (package reststore, configured from the same
// MLFLOW_TRACKING_* variables as Python's client); Databricks and database
// URIs fail with errs.ErrNotSupported (see tracking.OpenStore).
//
// # Runs
//
// StartRun pushes a run on the active stack (Nested for a child of the
// current run), starting it with MLflow's system tags: mlflow.user,
// mlflow.source.name (os.Args[0]; under `go run`, the main package's
// path), mlflow.source.type LOCAL, and
// mlflow.source.git.commit, .branch and .repoURL when the working directory
// is inside a git work tree (read from .git, no git binary). Any logging
// call with no active run starts one, as Python does. End a run with a
// deferred Run.End(&err), with WithRun, or with EndRun. Ending a run ends
// the active runs nested inside it first, with the same status.
//
// # Values
//
// Params and tags take any Go value and store Python's str() of its
// Python twin (Str): []int{64, 32} is "[64, 32]", true is "True".
//
// # Asynchronous logging
//
// LogMetricAsync, LogMetricsAsync, LogParam(s)Async and SetTag(s)Async
// return at once with an Operation (never nil; Err reports a refused call
// without waiting); MLFLOW_ENABLE_ASYNC_LOGGING=true makes the plain calls
// queue too (they then return only a refusal's error); a
// background writer per tracking URI merges points from many calls into few
// batch writes (see package tracking). Ending a run writes everything queued
// for it first; Flush writes everything queued. Points still queued when the
// program exits without ending its runs or calling Flush are lost: Go has
// no at-exit hook to write them, unlike Python's atexit.
//
// # System metrics
//
// A run started with LogSystemMetrics(true) or SystemMetrics(opts), or
// without either while MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING is true
// (EnableSystemMetricsLogging), logs the machine's CPU, memory, disk,
// network and GPU figures under system/ until it ends, as Python's
// start_run(log_system_metrics=True): see package sysmetrics. Ending the
// run writes the window under way, so a short run has one step too.
package mlflow
