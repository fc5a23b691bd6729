package mlflow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/tracking"
	"github.com/mlruns-go/mlruns/validate"
)

// Run is a started run. Its methods log to it whatever the active run is,
// so goroutines can share or own runs; they are safe for concurrent use.
type Run struct {
	client   *tracking.Client
	info     entities.RunInfo
	detached bool

	mu struct {
		sync.Mutex
		ended bool
	}
}

// ID returns the run id.
func (r *Run) ID() string { return r.info.RunID }

// Info returns the run's metadata as it was when the run was started or
// resumed.
func (r *Run) Info() entities.RunInfo { return r.info }

// Client returns the tracking client the run writes through.
func (r *Run) Client() *tracking.Client { return r.client }

// RunOption configures StartRun.
type RunOption func(*runOptions)

type runOptions struct {
	runName, parentRunID, description, resumeID, experimentID string
	nested, detached                                          bool
	tags                                                      map[string]string
	sysMetrics                                                *bool // LogSystemMetrics; nil: the environment
	sysOpts                                                   *tracking.SystemMetricsOptions
}

// RunName names the run (and sets its mlflow.runName tag).
func RunName(name string) RunOption { return func(o *runOptions) { o.runName = name } }

// Nested allows starting a run while another is active; it becomes a child
// of the innermost active run.
func Nested() RunOption { return func(o *runOptions) { o.nested = true } }

// ParentRunID makes the new run a child of the given run. With an active
// run, it must be that run.
func ParentRunID(id string) RunOption { return func(o *runOptions) { o.parentRunID = id } }

// Tags adds tags to the run (values converted with Str, as Python's
// start_run(tags=...) converts them); they override the system tags.
func Tags(tags map[string]any) RunOption {
	return func(o *runOptions) {
		if o.tags == nil {
			o.tags = map[string]string{}
		}
		for k, v := range tags {
			o.tags[k] = Str(v)
		}
	}
}

// Description sets the run's description (the mlflow.note.content tag).
func Description(text string) RunOption { return func(o *runOptions) { o.description = text } }

// ResumeRun resumes an existing run instead of creating one: its status
// goes back to RUNNING. Without it, MLFLOW_RUN_ID names the run to resume
// (and is then unset, as in Python).
func ResumeRun(runID string) RunOption { return func(o *runOptions) { o.resumeID = runID } }

// InExperiment starts the run in this experiment instead of the active one.
func InExperiment(id string) RunOption { return func(o *runOptions) { o.experimentID = id } }

// Detached starts a run that does not become the active run and has no
// parent unless ParentRunID is given: the way for goroutines to run their
// own runs side by side. Log to it with its methods and end it with End.
func Detached() RunOption { return func(o *runOptions) { o.detached = true } }

// StartRun starts a run (or resumes one) and makes it the active run,
// unless Detached. Starting a run while another is active needs Nested,
// ParentRunID or Detached. With LogSystemMetrics(true), SystemMetrics or
// MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=true the run logs system metrics
// until it ends (package sysmetrics).
func StartRun(ctx context.Context, opts ...RunOption) (*Run, error) {
	var o runOptions
	for _, f := range opts {
		f(&o)
	}
	state.Lock()
	defer state.Unlock()
	if len(state.stack) > 0 && !o.nested && !o.detached {
		return nil, errs.New(errs.ErrInvalidState, fmt.Sprintf(
			"Run with UUID %s is already active. To start a new run, first end the current run "+
				"with EndRun or Run.End. To start a nested run, pass Nested().", state.stack[0].info.RunID))
	}
	c, err := clientLocked()
	if err != nil {
		return nil, err
	}
	sysOpts, err := systemMetricsFor(o)
	if err != nil {
		return nil, err
	}
	resume := o.resumeID
	if resume == "" && !o.detached {
		if v := os.Getenv(EnvRunID); v != "" {
			resume = v
			os.Unsetenv(EnvRunID)
		}
	}
	var r *Run
	if resume != "" {
		r, err = resumeRunLocked(ctx, c, resume, o)
	} else {
		r, err = createRunLocked(ctx, c, o)
	}
	if err != nil {
		return nil, err
	}
	if sysOpts != nil {
		// as Python: a resumed run's steps go on after its last system/ step
		sysOpts.Resume = resume != ""
		if err := c.StartSystemMetrics(ctx, r.info.RunID, sysOpts); err != nil {
			return nil, err
		}
	}
	r.detached = o.detached
	if !o.detached {
		state.stack = append(state.stack, r)
	}
	return r, nil
}

func userTags(o runOptions) (map[string]string, error) {
	tags := map[string]string{}
	for k, v := range o.tags {
		tags[k] = v
	}
	if o.description != "" {
		if _, ok := tags[entities.TagNoteContent]; ok {
			return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
				"Description is already set via the tag %s in tags.Remove the key %s from the tags or omit the description.",
				entities.TagNoteContent, entities.TagNoteContent))
		}
		tags[entities.TagNoteContent] = o.description
	}
	return tags, nil
}

// Requires: state held.
func resumeRunLocked(ctx context.Context, c *tracking.Client, runID string, o runOptions) (*Run, error) {
	if err := validate.RunID(runID); err != nil {
		return nil, err
	}
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	if state.experimentID != "" && state.experimentID != run.Info.ExperimentID {
		return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"Cannot start run with ID %s because active experiment ID does not match environment run ID.", runID))
	}
	if run.Info.LifecycleStage == entities.StageDeleted {
		return nil, errs.New(errs.ErrInvalidState, fmt.Sprintf(
			"Cannot start run with ID %s because it is in the deleted state.", runID))
	}
	if _, err := c.Store().UpdateRunInfo(ctx, runID, entities.StatusRunning, run.Info.EndTime, o.runName); err != nil {
		return nil, err
	}
	tags, err := userTags(o)
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		var ts []entities.RunTag
		for k, v := range tags {
			ts = append(ts, entities.RunTag{Key: k, Value: v})
		}
		if err := c.LogBatch(ctx, runID, nil, nil, ts); err != nil {
			return nil, err
		}
	}
	info, err := c.GetRunInfo(ctx, runID)
	if err != nil {
		return nil, err
	}
	return &Run{client: c, info: info}, nil
}

// Requires: state held.
func createRunLocked(ctx context.Context, c *tracking.Client, o runOptions) (*Run, error) {
	parent := o.parentRunID
	if parent != "" {
		if err := validate.RunID(parent); err != nil {
			return nil, err
		}
		if n := len(state.stack); n > 0 && !o.detached && state.stack[n-1].info.RunID != parent {
			return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
				"Current run with UUID %s does not match the specified parent_run_id %s.",
				state.stack[n-1].info.RunID, parent))
		}
		p, err := c.GetRunInfo(ctx, parent)
		if err != nil {
			return nil, err
		}
		if p.LifecycleStage == entities.StageDeleted {
			return nil, errs.New(errs.ErrInvalidState, fmt.Sprintf(
				"Cannot start run under parent run with ID %s because it is in the deleted state.", parent))
		}
	} else if n := len(state.stack); n > 0 && !o.detached {
		parent = state.stack[n-1].info.RunID
	}
	expID := o.experimentID
	if expID == "" {
		var err error
		if expID, err = experimentIDLocked(ctx, c); err != nil {
			return nil, err
		}
	}
	tags, err := userTags(o)
	if err != nil {
		return nil, err
	}
	if parent != "" {
		tags[entities.TagParentRunID] = parent
	}
	if o.runName != "" {
		tags[entities.TagRunName] = o.runName
	}
	all := contextTags()
	for k, v := range tags {
		all[k] = v
	}
	run, err := c.CreateRun(ctx, expID, tracking.CreateRunOptions{Tags: all, RunName: o.runName})
	if err != nil {
		return nil, err
	}
	return &Run{client: c, info: run.Info}, nil
}

// StartChild starts a detached child run of r: safe to call from many
// goroutines at once, each logging to its own child.
func (r *Run) StartChild(ctx context.Context, opts ...RunOption) (*Run, error) {
	return StartRun(ctx, append(opts, ParentRunID(r.ID()), Detached())...)
}

// End ends the run, meant to be deferred: `defer run.End(&err)`. It records
// FAILED when the function panics (the panic goes on after the status is
// written) or when *errp is not nil, else FINISHED. Queued asynchronous
// writes of the run are written first; if that or the status update fails
// and *errp is nil, *errp gets the error. errp may be nil. Ending an ended
// run does nothing.
func (r *Run) End(errp *error) {
	p := recover()
	status := entities.StatusFinished
	if p != nil || (errp != nil && *errp != nil) {
		status = entities.StatusFailed
	}
	err := r.EndWithStatus(context.Background(), status)
	if p != nil {
		panic(p)
	}
	if errp != nil && *errp == nil {
		*errp = err
	}
}

// EndWithStatus ends the run with status, as Python's end_run(status):
// any valid status, RUNNING too (recorded with an end time, as Python
// does). Active runs nested inside r (above it on the active stack) are
// ended first, innermost first, with the same status, so no child is left
// RUNNING and active after its parent ended; detached children are the
// caller's to end. Queued asynchronous writes of each run are written
// before its status; their errors and the updates' are returned. An
// invalid status is an error and changes nothing. Ending an ended run
// does nothing.
func (r *Run) EndWithStatus(ctx context.Context, status entities.RunStatus) error {
	if !status.Valid() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("Invalid run status: %d", int(status)))
	}
	runs := []*Run{r}
	if !r.detached {
		state.Lock()
		for i, s := range state.stack {
			if s == r {
				runs = slices.Clone(state.stack[i:])
				slices.Reverse(runs) // innermost first, r last
				state.stack = state.stack[:i:i]
				break
			}
		}
		state.last = r
		state.Unlock()
	}
	var errList []error
	for _, x := range runs {
		if err := x.terminate(ctx, status); err != nil {
			errList = append(errList, err)
		}
	}
	return errors.Join(errList...)
}

// terminate records the end of r once.
func (r *Run) terminate(ctx context.Context, status entities.RunStatus) error {
	r.mu.Lock()
	if r.mu.ended {
		r.mu.Unlock()
		return nil
	}
	r.mu.ended = true
	r.mu.Unlock()
	return r.client.SetTerminated(ctx, r.info.RunID, status)
}

// EndRun ends the innermost active run FINISHED, as Python's end_run();
// it does nothing without an active run.
func EndRun(ctx context.Context) error {
	return EndRunWithStatus(ctx, entities.StatusFinished)
}

// EndRunWithStatus ends the innermost active run with status (see
// Run.EndWithStatus); it does nothing without an active run.
func EndRunWithStatus(ctx context.Context, status entities.RunStatus) error {
	r := ActiveRun()
	if r == nil {
		return nil
	}
	return r.EndWithStatus(ctx, status)
}

// WithRun starts a run, calls fn with it and ends it: FINISHED when fn
// returns nil, FAILED when it returns an error or panics (the panic goes
// on). The result is fn's error, else the error of ending the run.
func WithRun(ctx context.Context, fn func(r *Run) error, opts ...RunOption) (err error) {
	r, err := StartRun(ctx, opts...)
	if err != nil {
		return err
	}
	panicking := true
	defer func() {
		if panicking {
			r.EndWithStatus(context.Background(), entities.StatusFailed)
		}
	}()
	err = fn(r)
	panicking = false
	status := entities.StatusFinished
	if err != nil {
		status = entities.StatusFailed
	}
	if endErr := r.EndWithStatus(ctx, status); err == nil {
		err = endErr
	}
	return err
}

// activeOrStart is Python's _get_or_start_run.
func activeOrStart(ctx context.Context) (*Run, error) {
	if r := ActiveRun(); r != nil {
		return r, nil
	}
	return StartRun(ctx)
}

func isNotFound(err error) bool      { return errors.Is(err, errs.ErrNotFound) }
func isAlreadyExists(err error) bool { return errors.Is(err, errs.ErrAlreadyExists) }
func joinErrs(list []error) error    { return errors.Join(list...) }
