// Package validate holds the input rules of MLflow 3.18.0's file store: key
// names, values, ids, experiment names and batch limits, with the exact
// messages Python MLflow raises.
//
// It owns the rules and their messages only. It must not touch the
// filesystem, read the environment or build paths: settings MLflow reads from
// environment variables (MLFLOW_TRUNCATE_LONG_VALUES,
// MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH) are passed in by the caller, and
// joining keys to folders is package layout's job. The Windows key alphabet
// (no ':') applies where the program runs on Windows, as MLflow's
// is_windows() chooses it.
//
// Every failure is a *Error that unwraps to errs.ErrInvalidParameter, or to
// errs.ErrInvalidPath when a name would resolve to another file. Error()
// is "mlruns: " followed by the message Python MLflow's MlflowException
// carries for the same input, which the interop tests compare character for
// character.
//
// The functions mirror what FileStore calls, not validation.py's helpers one
// to one:
//
//	log_metric            Metric
//	log_param             Param
//	set_tag               TagName (FileStore checks no lengths here)
//	log_batch             LogBatch / Batch
//	set_experiment_tag    ExperimentTag
//	create/rename exp.    ExperimentName, ExperimentTag, ArtifactLocation
//	any run id / exp. id  RunID / ExperimentID
//	create_logged_model   LoggedModelName, Param
//	model / trace ids     PathComponent, NewTraceID
package validate
