package mlflow

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/tracking"
)

// LogOption configures a logging call.
type LogOption func(*logOptions)

type logOptions struct {
	step         int64
	timestamp    int64
	runID        string
	run          *Run
	modelID      string
	dataset      *entities.Dataset
	synchronous  *bool
	hasTimestamp bool
}

// Step sets the step of logged metrics: any int64, in any order, with
// gaps. Default 0.
func Step(step int64) LogOption { return func(o *logOptions) { o.step = step } }

// Timestamp sets the time of logged metrics in ms since the epoch, apart
// from the step. Default: now.
func Timestamp(ms int64) LogOption {
	return func(o *logOptions) { o.timestamp, o.hasTimestamp = ms, true }
}

// ForRun logs to the run with this id instead of the active run; no run is
// started.
func ForRun(runID string) LogOption { return func(o *logOptions) { o.runID = runID } }

// ModelID also logs metrics to this logged model.
func ModelID(id string) LogOption { return func(o *logOptions) { o.modelID = id } }

// Dataset logs metrics against this dataset (its name and digest).
func Dataset(d entities.Dataset) LogOption { return func(o *logOptions) { o.dataset = &d } }

// Synchronous(false) queues the write for the background writer and
// returns at once; Synchronous(true) writes before returning. Default:
// synchronous unless MLFLOW_ENABLE_ASYNC_LOGGING is true.
func Synchronous(sync bool) LogOption { return func(o *logOptions) { o.synchronous = &sync } }

func parseOptions(opts []LogOption) logOptions {
	var o logOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

func (o logOptions) async() bool {
	if o.synchronous != nil {
		return !*o.synchronous
	}
	v := strings.ToLower(strings.TrimSpace(os.Getenv(EnvEnableAsyncLogging)))
	return v == "true" || v == "1"
}

// target resolves the run a call logs to: the run given, else the active
// run, started if there is none.
func target(ctx context.Context, opts []LogOption) (*tracking.Client, string, logOptions, error) {
	o := parseOptions(opts)
	switch {
	case o.run != nil:
		return o.run.client, o.run.info.RunID, o, nil
	case o.runID != "":
		c, err := Client()
		return c, o.runID, o, err
	}
	r, err := activeOrStart(ctx)
	if err != nil {
		return nil, "", o, err
	}
	return r.client, r.info.RunID, o, nil
}

// done wraps a synchronous result as an Operation.
func done(err error) (*Operation, error) {
	return tracking.CompletedOperation(err), err
}

func metricsOf(o logOptions, keys []string, values map[string]float64) []entities.Metric {
	ts := o.timestamp
	if !o.hasTimestamp {
		ts = time.Now().UnixMilli()
	}
	out := make([]entities.Metric, 0, len(keys))
	for _, k := range keys {
		m := entities.Metric{Key: k, Value: values[k], Timestamp: ts, Step: o.step, ModelID: o.modelID}
		if o.dataset != nil {
			m.DatasetName, m.DatasetDigest = o.dataset.Name, o.dataset.Digest
		}
		out = append(out, m)
	}
	return out
}

// LogMetric logs a metric value to the active run (started if none).
// Synchronous calls return a completed Operation and the error; with
// Synchronous(false) the error is only about queueing (an invalid key, say)
// and the write's result comes from the Operation, Flush or the run's End.
func LogMetric(ctx context.Context, key string, value float64, opts ...LogOption) (*Operation, error) {
	c, runID, o, err := target(ctx, opts)
	if err != nil {
		return done(err)
	}
	ms := metricsOf(o, []string{key}, map[string]float64{key: value})
	if o.async() {
		return c.LogBatchAsync(ctx, runID, ms, nil, nil)
	}
	return done(c.LogMetric(ctx, runID, ms[0]))
}

// LogMetrics logs several metrics at one step and time, in one batch.
func LogMetrics(ctx context.Context, metrics map[string]float64, opts ...LogOption) (*Operation, error) {
	c, runID, o, err := target(ctx, opts)
	if err != nil {
		return done(err)
	}
	keys := make([]string, 0, len(metrics))
	for k := range metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return logBatch(ctx, c, runID, o, metricsOf(o, keys, metrics), nil, nil)
}

func logBatch(ctx context.Context, c *tracking.Client, runID string, o logOptions, ms []entities.Metric, ps []entities.Param, ts []entities.RunTag) (*Operation, error) {
	if o.async() {
		return c.LogBatchAsync(ctx, runID, ms, ps, ts)
	}
	return done(c.LogBatch(ctx, runID, ms, ps, ts))
}

// Str converts a value to text as Python's str() does for the types a
// param or tag usually holds: floats in Python's repr (1.0, 1e-05), bools
// as True/False, nil as None; other types use fmt.Sprint.
func Str(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return pynum.FormatFloat(x)
	case float32:
		return pynum.FormatFloat(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// LogParam logs a param (value converted with Str). Params are immutable:
// another value for a logged key is an error.
func LogParam(ctx context.Context, key string, value any, opts ...LogOption) (*Operation, error) {
	c, runID, o, err := target(ctx, opts)
	if err != nil {
		return done(err)
	}
	if o.async() {
		return c.LogBatchAsync(ctx, runID, nil, []entities.Param{{Key: key, Value: Str(value)}}, nil)
	}
	return done(c.LogParam(ctx, runID, key, Str(value)))
}

// LogParams logs several params in one batch.
func LogParams(ctx context.Context, params map[string]any, opts ...LogOption) (*Operation, error) {
	c, runID, o, err := target(ctx, opts)
	if err != nil {
		return done(err)
	}
	var ps []entities.Param
	for _, k := range sortedAny(params) {
		ps = append(ps, entities.Param{Key: k, Value: Str(params[k])})
	}
	return logBatch(ctx, c, runID, o, nil, ps, nil)
}

// SetTag sets a tag on the active run (value converted with Str).
func SetTag(ctx context.Context, key string, value any, opts ...LogOption) (*Operation, error) {
	c, runID, o, err := target(ctx, opts)
	if err != nil {
		return done(err)
	}
	if o.async() {
		return c.LogBatchAsync(ctx, runID, nil, nil, []entities.RunTag{{Key: key, Value: Str(value)}})
	}
	return done(c.SetTag(ctx, runID, key, Str(value)))
}

// SetTags sets several tags in one batch.
func SetTags(ctx context.Context, tags map[string]any, opts ...LogOption) (*Operation, error) {
	c, runID, o, err := target(ctx, opts)
	if err != nil {
		return done(err)
	}
	var ts []entities.RunTag
	for _, k := range sortedAny(tags) {
		ts = append(ts, entities.RunTag{Key: k, Value: Str(tags[k])})
	}
	return logBatch(ctx, c, runID, o, nil, nil, ts)
}

// DeleteTag deletes a tag of the active run; a missing tag is ErrNotFound.
func DeleteTag(ctx context.Context, key string, opts ...LogOption) error {
	c, runID, _, err := target(ctx, opts)
	if err != nil {
		return err
	}
	return c.DeleteTag(ctx, runID, key)
}

// LogInput records a dataset the active run used, with the context (e.g.
// "training", stored as the mlflow.data.context input tag; empty for none)
// and more input tags.
func LogInput(ctx context.Context, ds entities.Dataset, dsContext string, tags map[string]string, opts ...LogOption) error {
	c, runID, _, err := target(ctx, opts)
	if err != nil {
		return err
	}
	var its []entities.InputTag
	if dsContext != "" {
		its = append(its, entities.InputTag{Key: entities.TagDatasetContext, Value: dsContext})
	}
	for _, k := range sortedAny(anyMap(tags)) {
		its = append(its, entities.InputTag{Key: k, Value: tags[k]})
	}
	return c.LogInputs(ctx, runID, []entities.DatasetInput{{Dataset: ds, Tags: its}}, nil)
}

// LogArtifact copies a local file into the active run's artifacts, under
// artifactPath ("" for the top).
func LogArtifact(ctx context.Context, localPath, artifactPath string, opts ...LogOption) error {
	c, runID, _, err := target(ctx, opts)
	if err != nil {
		return err
	}
	return c.LogArtifact(ctx, runID, localPath, artifactPath)
}

// LogArtifacts copies the content of a local folder into the active run's
// artifacts, under artifactPath.
func LogArtifacts(ctx context.Context, dir, artifactPath string, opts ...LogOption) error {
	c, runID, _, err := target(ctx, opts)
	if err != nil {
		return err
	}
	return c.LogArtifacts(ctx, runID, dir, artifactPath)
}

func sortedAny(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ---- the same calls on a run handle ----

func (r *Run) opts(opts []LogOption) []LogOption {
	return append(opts, func(o *logOptions) { o.run = r })
}

// LogMetric logs a metric to r; see the package function.
func (r *Run) LogMetric(ctx context.Context, key string, value float64, opts ...LogOption) (*Operation, error) {
	return LogMetric(ctx, key, value, r.opts(opts)...)
}

// LogMetrics logs metrics to r.
func (r *Run) LogMetrics(ctx context.Context, metrics map[string]float64, opts ...LogOption) (*Operation, error) {
	return LogMetrics(ctx, metrics, r.opts(opts)...)
}

// LogParam logs a param to r.
func (r *Run) LogParam(ctx context.Context, key string, value any, opts ...LogOption) (*Operation, error) {
	return LogParam(ctx, key, value, r.opts(opts)...)
}

// LogParams logs params to r.
func (r *Run) LogParams(ctx context.Context, params map[string]any, opts ...LogOption) (*Operation, error) {
	return LogParams(ctx, params, r.opts(opts)...)
}

// SetTag sets a tag on r.
func (r *Run) SetTag(ctx context.Context, key string, value any, opts ...LogOption) (*Operation, error) {
	return SetTag(ctx, key, value, r.opts(opts)...)
}

// SetTags sets tags on r.
func (r *Run) SetTags(ctx context.Context, tags map[string]any, opts ...LogOption) (*Operation, error) {
	return SetTags(ctx, tags, r.opts(opts)...)
}

// DeleteTag deletes a tag of r.
func (r *Run) DeleteTag(ctx context.Context, key string) error {
	return DeleteTag(ctx, key, r.opts(nil)...)
}

// LogInput records a dataset r used.
func (r *Run) LogInput(ctx context.Context, ds entities.Dataset, dsContext string, tags map[string]string) error {
	return LogInput(ctx, ds, dsContext, tags, r.opts(nil)...)
}

// LogArtifact copies a local file into r's artifacts.
func (r *Run) LogArtifact(ctx context.Context, localPath, artifactPath string) error {
	return LogArtifact(ctx, localPath, artifactPath, r.opts(nil)...)
}

// LogArtifacts copies a local folder's content into r's artifacts.
func (r *Run) LogArtifacts(ctx context.Context, dir, artifactPath string) error {
	return LogArtifacts(ctx, dir, artifactPath, r.opts(nil)...)
}
