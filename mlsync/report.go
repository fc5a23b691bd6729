package mlsync

import (
	"fmt"
	"slices"
	"strings"
)

// LossKind names one way a value reaches the destination changed or not at
// all. The names are part of the --json output and of the journal.
type LossKind string

const (
	// LossInfinity: a ±Inf metric value, stored as ±MaxFloat64 by a SQL server.
	LossInfinity LossKind = "infinity"
	// LossNegativeZero: a -0.0 metric value, stored as 0.0 by a SQL server.
	LossNegativeZero LossKind = "negative_zero"
	// LossDuplicatePoint: a point equal to another of its history (key,
	// timestamp, step, value), stored once by a SQL server.
	LossDuplicatePoint LossKind = "duplicate_point"
	// LossMetricLink: a metric point's dataset fields, dropped: the point
	// is no logged model's metric, and a server keeps a dataset only on a
	// model's metrics.
	LossMetricLink LossKind = "metric_link"
	// LossDatasetStep: a logged model's metric point with a dataset and a
	// step, sent to a server over Python's FileStore, which writes it as a
	// 5-field line and reads it back at step 0.
	LossDatasetStep LossKind = "dataset_step"
	// LossModelLink: a run's model input or output naming a logged model
	// that could not be pushed (not in the pushed experiments, or failed).
	LossModelLink LossKind = "model_link"
	// LossModelSourceMissing: a logged model's source run is not on the
	// destination (not in the tree, or not pushed before the model), so
	// the model keeps the local id.
	LossModelSourceMissing LossKind = "model_source_missing"
	// LossModelParamChanged: a logged model's param given a new value
	// after it was pushed; a SQL server keeps the first value.
	LossModelParamChanged LossKind = "model_param_changed"
	// LossModelMetricDropped: a logged model's metric logged by a run that
	// is not pushed; a server records a model's metrics only through a
	// run's LogBatch.
	LossModelMetricDropped LossKind = "model_metric_dropped"
	// LossParamTruncated: a param value over 6000 characters, truncated.
	LossParamTruncated LossKind = "param_truncated"
	// LossTagTruncated: a tag value over 8000 characters, truncated.
	LossTagTruncated LossKind = "tag_truncated"
	// LossParentMissing: mlflow.parentRunId names a run that is not in the
	// tree, so it keeps the local id.
	LossParentMissing LossKind = "parent_missing"
	// LossStaleRemotePoint: a point on the destination that the local
	// history no longer has (the file was rewritten or repaired after it
	// was pushed); the REST API cannot delete points.
	LossStaleRemotePoint LossKind = "stale_remote_point"
	// LossStaleArtifact: an artifact file pushed before and since removed
	// from the tree; the destination keeps it (the REST API cannot delete
	// artifacts).
	LossStaleArtifact LossKind = "stale_artifact"
)

// RunState is where one run stands after a push or in a status.
type RunState string

const (
	RunCreated   RunState = "created"   // created on the destination by this push
	RunAdopted   RunState = "adopted"   // found on the destination by its source tag
	RunUpdated   RunState = "updated"   // known, and something was sent
	RunUnchanged RunState = "unchanged" // known, nothing to send
	RunFailed    RunState = "failed"    // not (completely) pushed; see Error
	RunNew       RunState = "new"       // status/dry run: not on the destination yet
	RunPending   RunState = "pending"   // status/dry run: known, something to send
	RunSynced    RunState = "synced"    // status: known, nothing to send
)

// RunReport is one run's part of a push.
type RunReport struct {
	RunID        string             `json:"run_id"`
	ExperimentID string             `json:"experiment_id"`
	RemoteRunID  string             `json:"remote_run_id,omitempty"`
	State        RunState           `json:"state"`
	Params       int                `json:"params,omitempty"`
	Tags         int                `json:"tags,omitempty"`
	TagsDeleted  int                `json:"tags_deleted,omitempty"`
	Points       int64              `json:"points,omitempty"`
	Datasets     int                `json:"datasets,omitempty"` // dataset inputs sent
	Artifacts    ArtifactsReport    `json:"artifacts,omitzero"`
	ModelLinks   int                `json:"model_links,omitempty"`       // model inputs and outputs sent
	Rewritten    []string           `json:"rewritten_metrics,omitempty"` // keys reconciled: the sent prefix had changed
	Lossy        map[LossKind]int64 `json:"lossy,omitempty"`
	Deleted      bool               `json:"deleted,omitempty"`  // DeleteRun sent
	Restored     bool               `json:"restored,omitempty"` // RestoreRun sent
	Error        string             `json:"error,omitempty"`
}

// Failure is an experiment or a broken local entity that was not pushed.
type Failure struct {
	What  string `json:"what"` // "experiment <id>", or the path of a broken entity
	Error string `json:"error"`
}

// Report is what a push did (or, dry, would do), or a status.
type Report struct {
	Target              string             `json:"target"`
	DryRun              bool               `json:"dry_run,omitempty"`
	Pull                bool               `json:"pull,omitempty"` // a pull: the destination is the tree
	ExperimentsCreated  int                `json:"experiments_created"`
	ExperimentsMatched  int                `json:"experiments_matched"`
	ExperimentsDeleted  int                `json:"experiments_deleted,omitempty"`
	ExperimentsRestored int                `json:"experiments_restored,omitempty"`
	Runs                []RunReport        `json:"runs"`
	Models              []ModelReport      `json:"models,omitempty"`
	Lossy               map[LossKind]int64 `json:"lossy,omitempty"` // this push (status: the journal's totals)
	Failures            []Failure          `json:"failures,omitempty"`
	// Requests counts the writes sent to the destination (of a pull: the
	// tree's writes).
	Requests int `json:"requests"`
	// Differences is what Verify found, when the caller asked for it.
	Differences []Difference `json:"differences,omitempty"`
	// Live is how many of the runs were RUNNING (and not deleted) when
	// the push listed them: Follow goes on while there are any.
	Live int `json:"live_runs,omitempty"`
}

// Count is the number of runs in state s.
func (r *Report) Count(s RunState) int {
	n := 0
	for _, x := range r.Runs {
		if x.State == s {
			n++
		}
	}
	return n
}

// Points is the number of metric points sent (or to send).
func (r *Report) Points() int64 {
	var n int64
	for _, x := range r.Runs {
		n += x.Points
	}
	return n
}

// Complete reports that nothing failed: every selected run is on the
// destination as it is in the tree.
func (r *Report) Complete() bool {
	return len(r.Failures) == 0 && r.Count(RunFailed) == 0 && r.ArtifactErrors() == 0
}

// ArtifactErrors is how many runs and models have artifacts the
// destination did not take.
func (r *Report) ArtifactErrors() int {
	n := 0
	for _, x := range r.Runs {
		n += b2i(x.Artifacts.Error != "")
	}
	for _, x := range r.Models {
		n += b2i(x.Artifacts.Error != "")
	}
	return n
}

// firstArtifactError is the first run's or model's artifact error.
func (r *Report) firstArtifactError() string {
	for _, x := range r.Runs {
		if x.Artifacts.Error != "" {
			return x.Artifacts.Error
		}
	}
	for _, x := range r.Models {
		if x.Artifacts.Error != "" {
			return x.Artifacts.Error
		}
	}
	return ""
}

// ArtifactFiles is the number of artifact files sent (or to send) and
// their bytes, runs' and models'.
func (r *Report) ArtifactFiles() (files int, bytes int64) {
	for _, x := range r.Runs {
		files, bytes = files+x.Artifacts.Files, bytes+x.Artifacts.Bytes
	}
	for _, x := range r.Models {
		files, bytes = files+x.Artifacts.Files, bytes+x.Artifacts.Bytes
	}
	return files, bytes
}

// LossyCount is the number of values that reached the destination changed.
func (r *Report) LossyCount() int64 {
	var n int64
	for _, v := range r.Lossy {
		n += v
	}
	return n
}

func (r *Report) addLoss(k LossKind, n int64) {
	if n == 0 {
		return
	}
	if r.Lossy == nil {
		r.Lossy = map[LossKind]int64{}
	}
	r.Lossy[k] += n
}

// Summary is the one line the command prints.
func (r *Report) Summary() string {
	var b strings.Builder
	sum := func(f func(RunReport) int) int {
		n := 0
		for _, x := range r.Runs {
			n += f(x)
		}
		return n
	}
	params := sum(func(x RunReport) int { return x.Params })
	tags := sum(func(x RunReport) int { return x.Tags })
	if r.DryRun {
		fmt.Fprintf(&b, "dry run, nothing sent to %s: would push %d run(s) (%d new, %d changed, %d unchanged), %d param(s), %d tag(s), %d point(s)",
			r.Target, len(r.Runs), r.Count(RunNew), r.Count(RunPending), r.Count(RunSynced), params, tags, r.Points())
	} else if r.Pull {
		fmt.Fprintf(&b, "pulled from %s: %d experiment(s) (%d created), %d run(s) (%d created, %d updated, %d unchanged, %d failed), %d param(s), %d tag(s), %d point(s)",
			r.Target, r.ExperimentsCreated+r.ExperimentsMatched, r.ExperimentsCreated, len(r.Runs),
			r.Count(RunCreated), r.Count(RunUpdated), r.Count(RunUnchanged), r.Count(RunFailed),
			params, tags, r.Points())
	} else {
		fmt.Fprintf(&b, "pushed to %s: %d experiment(s) (%d created), %d run(s) (%d created, %d adopted, %d updated, %d unchanged, %d failed), %d param(s), %d tag(s), %d point(s)",
			r.Target, r.ExperimentsCreated+r.ExperimentsMatched, r.ExperimentsCreated, len(r.Runs),
			r.Count(RunCreated), r.Count(RunAdopted), r.Count(RunUpdated), r.Count(RunUnchanged), r.Count(RunFailed),
			params, tags, r.Points())
	}
	if files, bytes := r.ArtifactFiles(); files > 0 {
		fmt.Fprintf(&b, ", %d artifact file(s) (%d bytes)", files, bytes)
	}
	if len(r.Models) > 0 {
		created := 0
		for _, m := range r.Models {
			created += b2i(m.State == RunCreated || m.State == RunNew)
		}
		fmt.Fprintf(&b, ", %d logged model(s) (%d new)", len(r.Models), created)
	}
	if del := sum(func(x RunReport) int { return b2i(x.Deleted) }) + r.ExperimentsDeleted; del > 0 {
		if r.DryRun {
			fmt.Fprintf(&b, ", would mirror %d deletion(s)", del)
		} else {
			fmt.Fprintf(&b, ", %d deletion(s) mirrored", del)
		}
	}
	b.WriteString("; ")
	b.WriteString(lossLine(r.Lossy))
	verb := "pushed"
	if r.Pull {
		verb = "pulled"
	}
	if n := len(r.Failures); n > 0 {
		fmt.Fprintf(&b, "; %d experiment(s) or entries not %s", n, verb)
	}
	if n := r.ArtifactErrors(); n > 0 {
		fmt.Fprintf(&b, "; the artifacts of %d run(s) or model(s) not %s (%s; --no-artifacts leaves them out)", n, verb, r.firstArtifactError())
	}
	return b.String()
}

// lossLine is "lossless" or "lossy: 3 (2 infinity, 1 negative_zero)".
func lossLine(m map[LossKind]int64) string {
	var n int64
	kinds := make([]string, 0, len(m))
	for k, v := range m {
		if v > 0 {
			n += v
			kinds = append(kinds, string(k))
		}
	}
	if n == 0 {
		return "lossless"
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", m[LossKind(k)], k)
	}
	return fmt.Sprintf("lossy: %d (%s)", n, strings.Join(parts, ", "))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
