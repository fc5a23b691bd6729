// Package filestore is the MLflow file store: it reads and writes an mlruns
// tree exactly as Python MLflow 3.18's FileStore does, and reads every form
// older MLflow versions wrote. It is the only package of the module that does
// file I/O on the tracking tree (system calls go through internal/sysfs);
// paths and bytes come from the layout package, rules from validate.
//
// # Concurrency
//
// A Store is safe for use by many goroutines, and many processes may open the
// same root. Go writers coordinate through flock(2): metric appends hold an
// exclusive lock on the metric file for one write(2) of the whole line batch
// on an O_APPEND descriptor, and readers of metric files take a shared lock
// for each read, since a read(2) can see half of a write(2) still copying into
// the page cache; read-modify-write of a run (meta rewrites,
// the param immutability check) holds a lock on the run folder; experiment
// creation holds a lock on the root, so two processes creating the same name
// get one experiment. Python MLflow takes no locks, so nothing here relies on
// them for correctness beside Python writers: every rewritten file (meta.yaml,
// params, tags) is written to a temporary file next to its folder and renamed
// into place, so a reader sees the old or the new bytes, never a mix.
//
// # Broken runs
//
// One broken run must not hide the rest of an experiment. Listing (ListRuns,
// ListRunInfos) skips a run whose meta.yaml is empty, malformed, names
// another experiment or run, or whose metric files cannot be parsed, and
// reports it in the returned []*SkippedError; the call itself succeeds. Python
// MLflow skips some of these and aborts the whole listing on others (an empty
// run meta.yaml, an unknown status); we skip them all and say so. Getting
// such a run by id returns its typed error.
package filestore
