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
// its model inputs and outputs, its artifacts, then UpdateRun with the
// status, end time and name. Local deletions are mirrored last: DeleteRun
// after every run's content, then DeleteExperiment; a run or experiment
// restored locally is restored remotely first.
//
// # Logged models
//
// The active logged models of the pushed experiments (with runs selected
// by id, those the runs made, use or logged metrics to) are created on the
// destination with CreateLoggedModel, their name, type, params and tags,
// the source run as its remote id (a model's source run is pushed before
// the runs that use the model), and TagSourceModelID and TagSource: the
// journal maps local to remote model ids, and a model the journal lacks is
// first looked up by TagSourceModelID (SearchLoggedModels), as runs are.
// A model is pushed right after its source run, or when a run first needs
// it; then its changed params (LogLoggedModelParams) and tags
// (SetLoggedModelTags, DeleteLoggedModelTag), its artifacts, and last
// FinalizeLoggedModel when its status is READY or FAILED. A model's
// metrics are the points of a run's history that the model's metric files
// hold as its latest values (what Python's FileStore reports): those
// points go in the run's LogBatch with the remote model id and their
// dataset, so the server records them for the run and the model. A run's
// model inputs go with LogInputs (the server keeps one row per model and
// run); its outputs with LogOutputs, which refuses a repeat, so only the
// outputs GetRun does not list are sent.
//
// # Artifacts
//
// A run's and a model's artifact files are listed through the tree's
// store.Artifacts and streamed to the destination's (Put: a PUT through a
// server's artifact proxy, or a write into its folder when a server run
// with --no-serve-artifacts shares this machine's filesystem). Per file
// the journal keeps its size, modification time and the SHA-256 of what
// was sent: a file whose size and time are unchanged is not read; one
// whose time alone moved is hashed and sent only when its content
// changed; the others are sent, hashed on the way (never held in memory).
// A destination that cannot take them (a --no-serve-artifacts server
// whose folders are not reachable from here) is reported per run
// (RunReport.Artifacts.Error) and the rest is pushed; Options.NoArtifacts
// leaves artifacts out. A run or model of a locally deleted experiment
// has its artifacts in .trash, away from its artifact URI (Python's
// FileStore lists none for it): they are not pushed.
//
// # Runs at once
//
// Options.Jobs runs are pushed at once (DefaultJobs, 4: a server spends a
// LogBatch in Python and its database, and a server of several workers,
// as MLflow's default 4, does several at once; BenchmarkPush_Server has
// the figures, from none to 1.5x on a 2-CPU machine). The
// experiments go first, one after another; a run starts only once its
// parent (its mlflow.parentRunId names the parent's remote id) and the
// source runs of the logged models it uses are wholly pushed; a model is
// pushed once, and a run that needs it while another pushes it waits;
// deletions are mirrored after every run. The journal stays one struct
// under one mutex: a worker holds it while it works and lets go only
// while it waits on the destination, so the journal is marshalled whole
// and written as before (at most once a second, and at the end), and a
// crash leaves what the package guarantees of a sequential push. The
// report lists the runs in the sequential order whatever the jobs did,
// and logged models by id. A failed run stops neither the others nor,
// but for its children, the push; a cancelled ctx fails the runs not
// done, and the journal is saved.
//
// # Following live runs
//
// Follow repeats the push every interval (DefaultFollowInterval, 10 s)
// while runs are being logged to, each round a Push that sends what is
// new: for a node whose network comes and goes. A round that cannot reach
// the destination is tried again the next round, and so is every run that
// failed. It returns by itself after a round in which every selected run
// was already finished (not RUNNING) and nothing failed; on Stop after
// the round under way; on a cancelled ctx at once, the journal saved.
//
// # Progress
//
// Options.Progress is called as a push goes (runs done of the total,
// points and artifact bytes sent), never two calls at once, and last with
// the report's totals; the command draws it on a terminal.
//
// # Verify
//
// Verify reads the destination back and compares each selected run with
// the tree: info, params, tags, every history as a set of points (mapped
// as the destination maps values, duplicates once on a SQL server), the
// number of dataset inputs and the artifacts' sizes, and returns the
// differences beyond the reported losses.
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
// -0.0 as 0.0, exact duplicate points (same key, timestamp, step and
// value) as one, and a logged model's param keeps its first value (a new
// one is refused); on a server over Python's FileStore, a model's metric
// point with a dataset reads back at step 0; everywhere: params over 6000
// and tags over 8000 characters are truncated, the dataset of a point
// that is no logged model's metric is dropped, a model link or a model's
// metric whose model or run cannot be pushed is dropped, an artifact
// removed locally stays on the destination, and a parent or source run
// that is not in the tree keeps its local id. NaN survives.
//
// # Pull
//
// Pull goes the other way: a server's runs (and the logged models of
// their experiments) into the tree, under their own ids
// (CreateRunOptions.RunID, CreateLoggedModelOptions.ModelID), so that a
// pulled run is the same run on both sides. Experiments are matched by the
// journal, then by name, and created when missing. Each pulled run and
// model is recorded in the journal of that server exactly as a push would
// have recorded it (param and tag digests, a watermark per history both
// sides hold alike, artifact entries, status): a push afterwards sends
// nothing of it, and a pull after a push does not bring back what the tree
// pushed (mapped in the journal, or tagged TagSource with this tree).
// Changes are merged by the journal: what changed on the server since the
// last sync is applied (tags, name, status, new points, new files, a
// deletion or restore, mirrored last), what changed only in the tree is
// kept for the next push; a param cannot change, so one that differs fails
// the run. A remote run whose listing (info, params, tags, latest values,
// inputs) is unchanged since the last pull is not read again; a changed
// one has each history compared as a multiset of points and the missing
// ones appended. Artifacts are downloaded when missing or of another size
// (a server's listing has no times or hashes). A server's metric history
// does not say which points are a model's metrics; the model's metrics do,
// and those points keep their model and dataset. Python's FileStore reads
// such a point with a dataset back at step 0 (LossDatasetStep), which the
// tree, written as Python writes it, does too.
//
// Not yet: a model's full metric history (only its latest values, as
// Python's FileStore reports them), comparing logged models in Verify, a
// dry run of Pull.
package mlsync
