package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/sysmetrics"
	"github.com/mlruns-go/mlruns/validate"
)

// Options configure a Client. The zero value (or nil) gives the defaults.
type Options struct {
	// AsyncWindow is how long the asynchronous writer waits for more
	// queued calls to merge into one batch after the first. Zero: 20ms.
	AsyncWindow time.Duration
	// AsyncQueueSize bounds the calls waiting for the asynchronous writer;
	// a full queue blocks callers. Zero: 1024.
	AsyncQueueSize int
	// AsyncInFlight bounds the LogBatch calls the asynchronous writer has
	// in flight at once, on a store that allows more than one
	// (store.ConcurrentBatches: the REST backend); metric-only batches
	// then go concurrently and batches with params or tags stay in call
	// order per run, as in Python's async logging. Zero:
	// MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE, else 10 (Python's pool). The
	// file store writes one batch at a time whatever this says, so a
	// history keeps call order in its file.
	AsyncInFlight int
	// Logger receives asynchronous write failures as they happen, and the
	// messages of system metrics monitors without a Logger of their own.
	// Nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil is time.Now. For tests.
	Now func() time.Time
}

// Client is the explicit tracking client. It is safe for use by many
// goroutines.
type Client struct {
	store     store.Store
	now       func() time.Time
	async     *asyncWriter
	lastValid atomic.Pointer[validPoint]
	log       *slog.Logger
	mons      monitors
}

// NewClient returns a client over s. Call Close (or Flush) before the
// program exits if asynchronous logging is used.
func NewClient(s store.Store, opts *Options) *Client {
	if opts == nil {
		opts = &Options{}
	}
	c := &Client{store: s, now: opts.Now, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.async = newAsyncWriter(s, opts)
	return c
}

// Store returns the store the client writes to.
func (c *Client) Store() store.Store { return c.store }

func (c *Client) nowMillis() int64 { return c.now().UnixMilli() }

// ---- experiments ----

// CreateExperiment creates an experiment and returns its id. An empty
// artifactLocation puts it under the store's artifact root.
func (c *Client) CreateExperiment(ctx context.Context, name, artifactLocation string, tags map[string]string) (string, error) {
	var ts []entities.ExperimentTag
	for _, k := range sortedKeys(tags) {
		ts = append(ts, entities.ExperimentTag{Key: k, Value: tags[k]})
	}
	return c.store.CreateExperiment(ctx, name, artifactLocation, ts)
}

// GetExperiment returns an experiment by id, active or deleted.
func (c *Client) GetExperiment(ctx context.Context, id string) (entities.Experiment, error) {
	return c.store.GetExperiment(ctx, id)
}

// GetExperimentByName returns an experiment by name; a missing name is
// ErrNotFound (MLflow's client returns None).
func (c *Client) GetExperimentByName(ctx context.Context, name string) (entities.Experiment, error) {
	return c.store.GetExperimentByName(ctx, name)
}

// ListExperiments lists the experiments in view, with the broken ones
// reported apart. Filtering and ordering are the search package's job.
func (c *Client) ListExperiments(ctx context.Context, view entities.ViewType) ([]entities.Experiment, []*store.SkippedError, error) {
	return c.store.ListExperiments(ctx, view)
}

// RenameExperiment renames an active experiment.
func (c *Client) RenameExperiment(ctx context.Context, id, newName string) error {
	return c.store.RenameExperiment(ctx, id, newName)
}

// DeleteExperiment moves an experiment to the trash, with its runs.
func (c *Client) DeleteExperiment(ctx context.Context, id string) error {
	return c.store.DeleteExperiment(ctx, id)
}

// RestoreExperiment brings a deleted experiment back.
func (c *Client) RestoreExperiment(ctx context.Context, id string) error {
	return c.store.RestoreExperiment(ctx, id)
}

// SetExperimentTag sets an experiment tag.
func (c *Client) SetExperimentTag(ctx context.Context, id, key, value string) error {
	return c.store.SetExperimentTag(ctx, id, key, value)
}

// DeleteExperimentTag deletes an experiment tag.
func (c *Client) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return c.store.DeleteExperimentTag(ctx, id, key)
}

// ---- runs ----

// CreateRunOptions are the arguments of CreateRun besides the experiment.
type CreateRunOptions struct {
	StartTime int64             // ms since epoch; zero means now
	Tags      map[string]string // written in key order
	RunName   string            // empty: the mlflow.runName tag, else a random name
	// SystemMetrics, when not nil, starts logging system metrics to the
	// new run (StartSystemMetrics); SetTerminated stops it. Python's
	// MlflowClient has no such option; its fluent start_run does.
	SystemMetrics *SystemMetricsOptions
}

// CreateRun creates a RUNNING run. As MlflowClient.create_run, the run's
// user_id is the mlflow.user tag, or "unknown" without one.
func (c *Client) CreateRun(ctx context.Context, experimentID string, o CreateRunOptions) (entities.Run, error) {
	user := "unknown"
	if u, ok := o.Tags[entities.TagUser]; ok {
		user = u
	}
	var tags []entities.RunTag
	for _, k := range sortedKeys(o.Tags) {
		tags = append(tags, entities.RunTag{Key: k, Value: o.Tags[k]})
	}
	start := o.StartTime
	if start == 0 {
		start = c.nowMillis()
	}
	if o.SystemMetrics != nil {
		// a setting Python refuses fails the call before a run exists
		if err := sysmetrics.Check(o.SystemMetrics); err != nil {
			return entities.Run{}, err
		}
	}
	run, err := c.store.CreateRun(ctx, store.CreateRunOptions{
		ExperimentID: experimentID, UserID: user, StartTime: start, Tags: tags, RunName: o.RunName,
	})
	if err != nil || o.SystemMetrics == nil {
		return run, err
	}
	return run, c.StartSystemMetrics(ctx, run.Info.RunID, o.SystemMetrics)
}

// GetRun returns a run with its latest metrics, params, tags and inputs.
func (c *Client) GetRun(ctx context.Context, runID string) (entities.Run, error) {
	return c.store.GetRun(ctx, runID)
}

// GetParentRun returns the parent of a run (its mlflow.parentRunId tag);
// ok is false when it has none, as MlflowClient.get_parent_run's None.
func (c *Client) GetParentRun(ctx context.Context, runID string) (parent entities.Run, ok bool, err error) {
	run, err := c.store.GetRun(ctx, runID)
	if err != nil {
		return entities.Run{}, false, err
	}
	id, ok := run.Data.Tags[entities.TagParentRunID]
	if !ok {
		return entities.Run{}, false, nil
	}
	p, err := c.store.GetRun(ctx, id)
	if err != nil {
		return entities.Run{}, false, err
	}
	return p, true, nil
}

// GetRunInfo returns a run's metadata only.
func (c *Client) GetRunInfo(ctx context.Context, runID string) (entities.RunInfo, error) {
	return c.store.GetRunInfo(ctx, runID)
}

// ListRuns lists the runs of an experiment in view.
func (c *Client) ListRuns(ctx context.Context, experimentID string, view entities.ViewType) ([]entities.Run, []*store.SkippedError, error) {
	return c.store.ListRuns(ctx, experimentID, view)
}

// UpdateRunOptions are the changes UpdateRun makes; zero fields change
// nothing, as None does in MlflowClient.update_run.
type UpdateRunOptions struct {
	Status entities.RunStatus // zero keeps the status
	Name   string             // empty keeps the name
}

// UpdateRun sets a run's status and name, as MlflowClient.update_run. The
// end time is kept.
func (c *Client) UpdateRun(ctx context.Context, runID string, o UpdateRunOptions) error {
	info, err := c.store.GetRunInfo(ctx, runID)
	if err != nil {
		return err
	}
	status := o.Status
	if status == 0 {
		status = info.Status
	} else if !status.Valid() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("Invalid run status: %d", int(status)))
	}
	_, err = c.store.UpdateRunInfo(ctx, runID, status, info.EndTime, o.Name)
	return err
}

// SetTerminated ends a run now with status, as MlflowClient.set_terminated:
// its system metrics monitor, if any, is stopped (its window under way
// queued), everything queued for it by the asynchronous writer is written,
// then the status and the end time are recorded. Any valid status is
// accepted, RUNNING too (Python records it with an end time). Errors of
// queued writes for the run not reported before are returned, joined with
// the update's.
func (c *Client) SetTerminated(ctx context.Context, runID string, status entities.RunStatus) error {
	return c.SetTerminatedAt(ctx, runID, status, c.nowMillis())
}

// SetTerminatedAt is SetTerminated with the end time given (ms since the
// epoch). Zero is now, as in Python's set_terminated (`end_time or now`),
// whatever the backend: a server would store 0, the file store keep the
// old end time.
func (c *Client) SetTerminatedAt(ctx context.Context, runID string, status entities.RunStatus, endTime int64) error {
	if !status.Valid() {
		return errs.New(errs.ErrInvalidParameter, fmt.Sprintf("Invalid run status: %d", int(status)))
	}
	if endTime == 0 {
		endTime = c.nowMillis()
	}
	c.StopSystemMetrics(runID)
	flushErr := c.FlushRun(ctx, runID)
	_, err := c.store.UpdateRunInfo(ctx, runID, status, &endTime, "")
	return errors.Join(flushErr, err)
}

// DeleteRun marks a run deleted.
func (c *Client) DeleteRun(ctx context.Context, runID string) error {
	return c.store.DeleteRun(ctx, runID)
}

// RestoreRun makes a deleted run active again.
func (c *Client) RestoreRun(ctx context.Context, runID string) error {
	return c.store.RestoreRun(ctx, runID)
}

// ---- logging ----

// LogMetric logs one metric value, as MlflowClient.log_metric: at the
// current time and step 0 unless options say otherwise.
func (c *Client) LogMetric(ctx context.Context, runID, key string, value float64, opts ...MetricOption) error {
	return c.store.LogMetric(ctx, runID, c.metric(key, value, opts))
}

// LogMetricAsync queues one metric value for the background writer; see
// LogBatchAsync.
func (c *Client) LogMetricAsync(ctx context.Context, runID, key string, value float64, opts ...MetricOption) *Operation {
	return c.LogBatchAsync(ctx, runID, []entities.Metric{c.metric(key, value, opts)}, nil, nil)
}

func (c *Client) metric(key string, value float64, opts []MetricOption) entities.Metric {
	m := entities.Metric{Key: key, Value: value}
	stamped := false
	for _, o := range opts {
		var ts bool
		m, ts = o(m)
		stamped = stamped || ts
	}
	if !stamped {
		m.Timestamp = c.nowMillis()
	}
	return m
}

// MetricOption sets a field of a metric logged with LogMetric. It takes
// and returns the metric by value (a pointer through a function value
// would move every metric to the heap), and reports whether it set the
// timestamp.
type MetricOption func(m entities.Metric) (_ entities.Metric, setsTimestamp bool)

// WithStep sets the step (default 0): any int64, in any order, with gaps.
func WithStep(step int64) MetricOption {
	return func(m entities.Metric) (entities.Metric, bool) { m.Step = step; return m, false }
}

// WithTimestamp sets the time in ms since the epoch (default: now). Zero
// is the epoch, as in Python.
func WithTimestamp(ms int64) MetricOption {
	return func(m entities.Metric) (entities.Metric, bool) { m.Timestamp = ms; return m, true }
}

// WithModelID logs the value against a logged model too.
func WithModelID(id string) MetricOption {
	return func(m entities.Metric) (entities.Metric, bool) { m.ModelID = id; return m, false }
}

// WithDataset logs the value against a dataset (its name and digest).
func WithDataset(name, digest string) MetricOption {
	return func(m entities.Metric) (entities.Metric, bool) {
		m.DatasetName, m.DatasetDigest = name, digest
		return m, false
	}
}

// LogParam logs a param. Logging another value for a logged key is
// ErrInvalidParameter; the same value again is allowed.
func (c *Client) LogParam(ctx context.Context, runID, key, value string) error {
	return c.store.LogParam(ctx, runID, key, value)
}

// SetTag sets a run tag.
func (c *Client) SetTag(ctx context.Context, runID, key, value string) error {
	return c.store.SetTag(ctx, runID, key, value)
}

// DeleteTag deletes a run tag; a missing tag is ErrNotFound.
func (c *Client) DeleteTag(ctx context.Context, runID, key string) error {
	return c.store.DeleteTag(ctx, runID, key)
}

// LogBatch logs metrics, params and tags, as MlflowClient.log_batch:
// metrics keep their Timestamp as given (zero is the epoch, as Python's
// Metric entity), and a batch over MLflow's limits is written in several
// store calls, split as Python splits it. The first failing
// call's error is returned; the calls before it stay written, as in Python.
func (c *Client) LogBatch(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	for _, b := range batches(metrics, params, tags) {
		if err := c.store.LogBatch(ctx, runID, b.Metrics, b.Params, b.Tags); err != nil {
			return err
		}
	}
	return nil
}

// GetMetricHistory returns every value logged for a metric, in file order.
func (c *Client) GetMetricHistory(ctx context.Context, runID, key string) ([]entities.Metric, error) {
	return c.store.GetMetricHistory(ctx, runID, key)
}

// GetMetricHistoryColumns is GetMetricHistory in columns of timestamps,
// values and steps (entities.MetricColumns): what plots and analysis
// want, in a fifth of the memory of a []Metric and faster to read.
func (c *Client) GetMetricHistoryColumns(ctx context.Context, runID, key string) (entities.MetricColumns, error) {
	return c.store.GetMetricHistoryColumns(ctx, runID, key)
}

// LogInputs records datasets (with their input tags) and models a run used.
func (c *Client) LogInputs(ctx context.Context, runID string, datasets []entities.DatasetInput, models []entities.ModelInput) error {
	return c.store.LogInputs(ctx, runID, datasets, models)
}

// LogOutputs records logged models a run produced.
func (c *Client) LogOutputs(ctx context.Context, runID string, models []entities.ModelOutput) error {
	return c.store.LogOutputs(ctx, runID, models)
}

// LogBatchAsync validates a batch at once, then queues it for the
// background writer (split as LogBatch splits it) and returns its
// Operation, which is never nil: an invalid key or value, or ctx ending
// while the queue is full, gives an Operation already done with that error
// and nothing queued.
func (c *Client) LogBatchAsync(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) *Operation {
	if len(metrics)+len(params)+len(tags) == 0 {
		return CompletedOperation(nil) // as Python: no call at all
	}
	if !c.seenValid(runID, metrics, params, tags) {
		if err := validate.RunID(runID); err != nil {
			return CompletedOperation(err)
		}
		// Truncation is the store's call; here only the rules that fail,
		// per batch as the store will see it.
		if fits(metrics, params, tags) {
			if _, _, err := validate.LogBatch(metrics, params, tags, true); err != nil {
				return CompletedOperation(err)
			}
		} else {
			for _, b := range batches(metrics, params, tags) {
				if _, _, err := validate.LogBatch(b.Metrics, b.Params, b.Tags, true); err != nil {
					return CompletedOperation(err)
				}
			}
		}
		if len(metrics) == 1 && len(params) == 0 && len(tags) == 0 {
			c.lastValid.Store(&validPoint{runID: runID, key: metrics[0].Key})
		}
	}
	if fits(metrics, params, tags) { // the common case, without a batch list
		return c.async.enqueue(ctx, runID, metrics, params, tags)
	}
	bs := batches(metrics, params, tags)
	ops := make([]*Operation, 0, len(bs))
	for _, b := range bs {
		op := c.async.enqueue(ctx, runID, b.Metrics, b.Params, b.Tags)
		ops = append(ops, op)
		if op.done() && op.err != nil {
			break
		}
	}
	return joinOperations(ops)
}

// validPoint is the run id and metric key of the last single point that
// passed validation: a loop logging one metric point by point checks its
// strings once, not per point.
type validPoint struct{ runID, key string }

// seenValid reports whether the call is one point of the last validated
// run and key, with a valid timestamp (the only rule left to check).
func (c *Client) seenValid(runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) bool {
	if len(metrics) != 1 || len(params) != 0 || len(tags) != 0 || metrics[0].Timestamp < 0 {
		return false
	}
	v := c.lastValid.Load()
	return v != nil && v.runID == runID && v.key == metrics[0].Key
}

// Flush waits until everything queued for asynchronous writing before the
// call is written, and returns the errors of failed asynchronous writes
// not reported by an earlier Flush, FlushRun or SetTerminated.
func (c *Client) Flush(ctx context.Context) error {
	return c.async.flush(ctx, "")
}

// FlushRun is Flush for the writes queued for one run.
func (c *Client) FlushRun(ctx context.Context, runID string) error {
	return c.async.flush(ctx, runID)
}

// Close stops the system metrics monitors (their windows under way
// queued), flushes the asynchronous writer and stops it. Later
// asynchronous calls start a new writer.
func (c *Client) Close(ctx context.Context) error {
	c.stopAllSystemMetrics()
	return c.async.close(ctx)
}
