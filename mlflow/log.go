package mlflow

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/mlenv"
	"github.com/mlruns-go/mlruns/internal/pystr"
	"github.com/mlruns-go/mlruns/tracking"
	"github.com/mlruns-go/mlruns/validate"
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
	hasTimestamp bool
}

// Step sets the step of logged metrics: any int64, in any order, with
// gaps. Default 0.
func Step(step int64) LogOption { return func(o *logOptions) { o.step = step } }

// Timestamp sets the time of logged metrics in ms since the epoch, apart
// from the step. Default: now. Timestamp(0) is the epoch, as timestamp=0
// is in Python.
func Timestamp(ms int64) LogOption {
	return func(o *logOptions) { o.timestamp, o.hasTimestamp = ms, true }
}

// ForRun logs to the run with this id instead of the active run; no run is
// started.
func ForRun(runID string) LogOption { return func(o *logOptions) { o.runID = runID } }

// ModelID logs metrics against this logged model too, and records the
// model as an input of the run unless the run already has it as an input
// or output, as Python's log_metric(model_id=...) does.
func ModelID(id string) LogOption { return func(o *logOptions) { o.modelID = id } }

// Dataset logs metrics against this dataset (its name and digest), and
// records it as an input of the run unless the run has it already, as
// Python's log_metric(dataset=...) does. Package dataset builds one.
func Dataset(d entities.Dataset) LogOption { return func(o *logOptions) { o.dataset = &d } }

func parseOptions(opts []LogOption) logOptions {
	var o logOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// asyncDefault is MLFLOW_ENABLE_ASYNC_LOGGING, parsed as Python's
// _BooleanEnvironmentVariable parses it (true/false/1/0, any case; other
// values are an error, not a silent false).
func asyncDefault() (bool, error) {
	return mlenv.Bool(EnvEnableAsyncLogging, false)
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

func metricsOf(o logOptions, keys []string, values map[string]float64) []entities.Metric {
	ts := o.now()
	out := make([]entities.Metric, 0, len(keys))
	for _, k := range keys {
		out = append(out, o.metric(k, values[k], ts))
	}
	return out
}

// now is the calls' metric time: the Timestamp option, else now.
func (o logOptions) now() int64 {
	if o.hasTimestamp {
		return o.timestamp
	}
	return time.Now().UnixMilli()
}

func (o logOptions) metric(key string, value float64, ts int64) entities.Metric {
	m := entities.Metric{Key: key, Value: value, Timestamp: ts, Step: o.step, ModelID: o.modelID}
	if o.dataset != nil {
		m.DatasetName, m.DatasetDigest = o.dataset.Name, o.dataset.Digest
	}
	return m
}

// call is one fluent logging call resolved: where it goes and what it
// writes.
type call struct {
	c       *tracking.Client
	runID   string
	o       logOptions
	metrics []entities.Metric
	params  []entities.Param
	tags    []entities.RunTag
}

// prepare resolves the run and, for metrics with a dataset or a model,
// records them as run inputs first (Python's
// _log_inputs_for_metrics_if_necessary).
func prepare(ctx context.Context, opts []LogOption, build func(o logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag)) (call, error) {
	c, runID, o, err := target(ctx, opts)
	if err != nil {
		return call{}, err
	}
	k := call{c: c, runID: runID, o: o}
	k.metrics, k.params, k.tags = build(o)
	if len(k.metrics) > 0 && (o.dataset != nil || o.modelID != "") {
		if err := logMetricInputs(ctx, c, runID, o); err != nil {
			return call{}, err
		}
	}
	return k, nil
}

// logMetricInputs records the dataset and the model of metrics as inputs of
// the run, those it does not have yet.
func logMetricInputs(ctx context.Context, c *tracking.Client, runID string, o logOptions) error {
	if o.dataset != nil {
		// The metric line's rules first: a reference it cannot hold must
		// not leave an input behind.
		probe := entities.Metric{Key: "k", DatasetName: o.dataset.Name, DatasetDigest: o.dataset.Digest}
		if err := validate.Metric(probe); err != nil {
			return err
		}
	}
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	var datasets []entities.DatasetInput
	var models []entities.ModelInput
	if o.modelID != "" && !hasModel(run, o.modelID) {
		models = append(models, entities.ModelInput{ModelID: o.modelID})
	}
	if o.dataset != nil && !hasDataset(run, *o.dataset) {
		datasets = append(datasets, entities.DatasetInput{Dataset: *o.dataset})
	}
	if len(datasets) == 0 && len(models) == 0 {
		return nil
	}
	return c.LogInputs(ctx, runID, datasets, models)
}

func hasModel(run entities.Run, id string) bool {
	for _, m := range run.Inputs.ModelInputs {
		if m.ModelID == id {
			return true
		}
	}
	for _, m := range run.Outputs.ModelOutputs {
		if m.ModelID == id {
			return true
		}
	}
	return false
}

func hasDataset(run entities.Run, d entities.Dataset) bool {
	for _, in := range run.Inputs.DatasetInputs {
		if in.Dataset.Name == d.Name && in.Dataset.Digest == d.Digest {
			return true
		}
	}
	return false
}

// sync writes the call now, or queues it when MLFLOW_ENABLE_ASYNC_LOGGING
// is true (then only a queueing error, such as an invalid key, is
// returned; the write's own result comes from Flush or the run's end).
func (k call) sync(ctx context.Context) error {
	async, err := asyncDefault()
	if err != nil {
		return err
	}
	if async {
		op := k.async(ctx)
		select {
		case <-op.Done():
			return op.Wait()
		default:
			return nil
		}
	}
	if len(k.metrics) == 1 && len(k.params) == 0 && len(k.tags) == 0 {
		m := k.metrics[0]
		return k.c.Store().LogMetric(ctx, k.runID, m) // validated there; one point needs no batch
	}
	return k.c.LogBatch(ctx, k.runID, k.metrics, k.params, k.tags)
}

func (k call) async(ctx context.Context) *Operation {
	return k.c.LogBatchAsync(ctx, k.runID, k.metrics, k.params, k.tags)
}

// failed is an Operation already done with err.
func failed(err error) *Operation { return tracking.CompletedOperation(err) }

func oneMetric(key string, value float64) func(logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag) {
	return func(o logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag) {
		return []entities.Metric{o.metric(key, value, o.now())}, nil, nil
	}
}

func manyMetrics(metrics map[string]float64) func(logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag) {
	return func(o logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag) {
		return metricsOf(o, slices.Sorted(maps.Keys(metrics)), metrics), nil, nil
	}
}

func paramsOf(params map[string]any) func(logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag) {
	return func(logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag) {
		return nil, sortedPairs(params, func(k, v string) entities.Param { return entities.Param{Key: k, Value: v} }), nil
	}
}

func tagsOf(tags map[string]any) func(logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag) {
	return func(logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag) {
		return nil, nil, sortedPairs(tags, func(k, v string) entities.RunTag { return entities.RunTag{Key: k, Value: v} })
	}
}

// sortedPairs turns a map of values into key/text pairs in key order (a
// Go map has none; Python's dicts keep insertion order), each value
// converted with Str.
func sortedPairs[T any](m map[string]any, pair func(k, v string) T) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, pair(k, Str(m[k])))
	}
	return out
}

func logNow(ctx context.Context, opts []LogOption, build func(logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag)) error {
	k, err := prepare(ctx, opts, build)
	if err != nil {
		return err
	}
	return k.sync(ctx)
}

func logAsync(ctx context.Context, opts []LogOption, build func(logOptions) ([]entities.Metric, []entities.Param, []entities.RunTag)) *Operation {
	k, err := prepare(ctx, opts, build)
	if err != nil {
		return failed(err)
	}
	return k.async(ctx)
}

// LogMetric logs a metric value to the active run (started if none), at
// the current time and step 0 unless options say otherwise.
func LogMetric(ctx context.Context, key string, value float64, opts ...LogOption) error {
	return logNow(ctx, opts, oneMetric(key, value))
}

// LogMetrics logs several metrics at one step and time. Over MLflow's
// per-request limits (1000 metrics) they are written in several batches,
// as Python splits them.
func LogMetrics(ctx context.Context, metrics map[string]float64, opts ...LogOption) error {
	return logNow(ctx, opts, manyMetrics(metrics))
}

// Str converts a value to the text MLflow stores for a param or tag value:
// Python's str() of the value's Python twin ([]int{64, 32} is "[64, 32]",
// map[string]int{"a": 1} is "{'a': 1}", true is "True", nil is "None", 0.1
// is "0.1"); see internal/pystr for every form.
func Str(v any) string { return pystr.Str(v) }

// LogParam logs a param (value converted with Str). Params are immutable:
// another value for a logged key is an error.
func LogParam(ctx context.Context, key string, value any, opts ...LogOption) error {
	return logNow(ctx, opts, paramsOf(map[string]any{key: value}))
}

// LogParams logs several params, in batches of at most 100 as Python does.
func LogParams(ctx context.Context, params map[string]any, opts ...LogOption) error {
	return logNow(ctx, opts, paramsOf(params))
}

// SetTag sets a tag on the active run (value converted with Str).
func SetTag(ctx context.Context, key string, value any, opts ...LogOption) error {
	return logNow(ctx, opts, tagsOf(map[string]any{key: value}))
}

// SetTags sets several tags, in batches of at most 100 as Python does.
func SetTags(ctx context.Context, tags map[string]any, opts ...LogOption) error {
	return logNow(ctx, opts, tagsOf(tags))
}

// LogMetricAsync is LogMetric(..., synchronous=False): it queues the value
// for the background writer and returns at once. The Operation is never
// nil; an invalid key or value gives one already done with the error.
func LogMetricAsync(ctx context.Context, key string, value float64, opts ...LogOption) *Operation {
	return logAsync(ctx, opts, oneMetric(key, value))
}

// LogMetricsAsync queues several metrics; see LogMetricAsync.
func LogMetricsAsync(ctx context.Context, metrics map[string]float64, opts ...LogOption) *Operation {
	return logAsync(ctx, opts, manyMetrics(metrics))
}

// LogParamAsync queues a param; see LogMetricAsync.
func LogParamAsync(ctx context.Context, key string, value any, opts ...LogOption) *Operation {
	return logAsync(ctx, opts, paramsOf(map[string]any{key: value}))
}

// LogParamsAsync queues several params; see LogMetricAsync.
func LogParamsAsync(ctx context.Context, params map[string]any, opts ...LogOption) *Operation {
	return logAsync(ctx, opts, paramsOf(params))
}

// SetTagAsync queues a tag; see LogMetricAsync.
func SetTagAsync(ctx context.Context, key string, value any, opts ...LogOption) *Operation {
	return logAsync(ctx, opts, tagsOf(map[string]any{key: value}))
}

// SetTagsAsync queues several tags; see LogMetricAsync.
func SetTagsAsync(ctx context.Context, tags map[string]any, opts ...LogOption) *Operation {
	return logAsync(ctx, opts, tagsOf(tags))
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
	for _, k := range slices.Sorted(maps.Keys(tags)) {
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

// ---- the same calls on a run handle ----

func (r *Run) opts(opts []LogOption) []LogOption {
	return append(opts, func(o *logOptions) { o.run = r })
}

// LogMetric logs a metric to r; see the package function.
func (r *Run) LogMetric(ctx context.Context, key string, value float64, opts ...LogOption) error {
	return LogMetric(ctx, key, value, r.opts(opts)...)
}

// LogMetrics logs metrics to r.
func (r *Run) LogMetrics(ctx context.Context, metrics map[string]float64, opts ...LogOption) error {
	return LogMetrics(ctx, metrics, r.opts(opts)...)
}

// LogParam logs a param to r.
func (r *Run) LogParam(ctx context.Context, key string, value any, opts ...LogOption) error {
	return LogParam(ctx, key, value, r.opts(opts)...)
}

// LogParams logs params to r.
func (r *Run) LogParams(ctx context.Context, params map[string]any, opts ...LogOption) error {
	return LogParams(ctx, params, r.opts(opts)...)
}

// SetTag sets a tag on r.
func (r *Run) SetTag(ctx context.Context, key string, value any, opts ...LogOption) error {
	return SetTag(ctx, key, value, r.opts(opts)...)
}

// SetTags sets tags on r.
func (r *Run) SetTags(ctx context.Context, tags map[string]any, opts ...LogOption) error {
	return SetTags(ctx, tags, r.opts(opts)...)
}

// LogMetricAsync queues a metric for r; see the package function.
func (r *Run) LogMetricAsync(ctx context.Context, key string, value float64, opts ...LogOption) *Operation {
	return LogMetricAsync(ctx, key, value, r.opts(opts)...)
}

// LogMetricsAsync queues metrics for r.
func (r *Run) LogMetricsAsync(ctx context.Context, metrics map[string]float64, opts ...LogOption) *Operation {
	return LogMetricsAsync(ctx, metrics, r.opts(opts)...)
}

// LogParamsAsync queues params for r.
func (r *Run) LogParamsAsync(ctx context.Context, params map[string]any, opts ...LogOption) *Operation {
	return LogParamsAsync(ctx, params, r.opts(opts)...)
}

// SetTagsAsync queues tags for r.
func (r *Run) SetTagsAsync(ctx context.Context, tags map[string]any, opts ...LogOption) *Operation {
	return SetTagsAsync(ctx, tags, r.opts(opts)...)
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

// LogText writes text to an artifact file of the active run (or ForRun's),
// as Python's mlflow.log_text.
func LogText(ctx context.Context, text, artifactFile string, opts ...LogOption) error {
	c, runID, _, err := target(ctx, opts)
	if err != nil {
		return err
	}
	return c.LogText(ctx, runID, text, artifactFile)
}
