// Package mlsync pushes the runs of a local tracking tree (the file store)
// into another store (an MLflow tracking server through package reststore),
// incrementally, without ever creating a run twice, and says what the
// destination could not hold exactly. Both sides are store.Store; the
// package never reads the tree's files itself. Its own state is two regular
// files at the tree's root, next to the experiments:
//
//	<root>/.mlruns-sync-<hash12>.json   the journal of one destination
//	<root>/.mlruns-sync-<hash12>.lock   held while a push runs
//
// where hash12 names the destination (the first 12 hex digits of the
// SHA-256 of its normalised URI). They are files, not a folder: Python
// MLflow's FileStore takes every folder at the root for an experiment and
// its experiment listing fails on one it cannot parse; it, `mlflow
// migrate-filestore` and our filestore (listings, Check, gc) ignore files.
//
// # Identity
//
// Experiments are matched by name (created with their tags when missing;
// tags copied, deleted tags deleted). The server chooses run ids, so every
// pushed run is created with two tags set inside CreateRun, in the same
// transaction as the run: TagSourceRunID (the local run id) and TagSource
// (this tree: host and absolute root). The journal maps local to remote
// ids. A run the journal does not know is first looked up on the server by
// its TagSourceRunID (in its remote experiment, deleted runs included), so a
// push that died between CreateRun and the journal write, or a lost journal,
// adopts the run instead of creating another. A CreateRun whose outcome is
// unknown (the response was lost) is resolved the same way.
//
// The journal is rewritten whole by atomic replace (temporary file, fsync,
// rename, fsync of the folder) after an experiment is created, at most once
// a second as runs are created and finish, and at the end; a run created
// since the last write is found again by its tag after a crash. A mapped
// remote run that no longer exists (removed by gc on the server) is
// forgotten and the run pushed anew. A second push of the same tree
// to the same destination waits for the lock file (flock), so two pushes at
// once never create a run twice: the second reads what the first wrote.
//
// # What a run carries
//
// CreateRun sends the run's experiment, user, name and start time; params
// and tags follow through LogBatch (within its 100/100/1000 limits;
// mlflow.parentRunId rewritten to the remote parent, parents pushed first),
// then metrics, then its dataset inputs (LogInputs, when they changed),
// then UpdateRun with the status, end time and name. Local
// deletions are mirrored last: DeleteRun after every run's content, then
// DeleteExperiment; a run or experiment restored locally is restored
// remotely first.
//
// # Metrics, incrementally
//
// Per metric key the journal holds a watermark: N, the number of points of
// the local history (file order) that are on the destination, and FP, a
// fingerprint (SHA-256) of those N points (timestamp, step, value bits and
// dataset/model fields). A push streams the history; when the first N
// points still hash to FP, only the points after them are sent. When they
// do not (the file was rewritten, truncated by `mlruns fsck --repair`,
// replaced by a copy) or the file is shorter than N, the key is reconciled
// instead: the destination's history is read, the local points it lacks are
// sent, and the points it holds that the local file no longer has are
// counted (StaleRemotePoints; points cannot be deleted over REST) and
// reported as a loss. A run adopted from the server, or one whose push
// may have been cut after a batch landed on a server that stores every
// point it is sent (a FileStore-backed server; the journal marks such a run
// before writing to it), is reconciled the same way. A SQL-backed server
// drops an exact duplicate point, so there re-sending from an old watermark
// after a crash is harmless.
//
// # Loss
//
// What the destination cannot hold exactly is sent anyway, counted per kind
// (LossKind) per run and reported; the journal keeps the totals, which
// `status` shows. On a SQL-backed server: ±Inf is stored as ±MaxFloat64,
// -0.0 as 0.0 and exact duplicate points (same key, timestamp, step and
// value) as one; everywhere: params over 6000 and tags over 8000 characters
// are truncated, a metric's dataset and model fields and a run's model
// inputs and outputs are dropped (logged models are not pushed yet), and a
// parent run that is not in the tree keeps its local id. NaN survives.
//
// Not yet: artifacts, logged models, pulling, following live runs,
// parallel runs, reading the server back to verify.
package mlsync
