package reststore

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strconv"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/validate"
)

// historyPageSize is the page of GetMetricHistory
// (GET_METRIC_HISTORY_MAX_RESULTS, as Python's client pages it).
const historyPageSize = 25000

func invalid(field, msg string) error {
	return errs.New(errs.ErrInvalidParameter, field+": "+msg)
}

// Values are checked with validate's rules before they are sent; long
// param and tag values pass (truncate=true) and are sent whole: the
// server truncates or refuses them by its own MLFLOW_TRUNCATE_LONG_VALUES.

// LogMetric logs one metric point to an active run.
func (s *Store) LogMetric(ctx context.Context, runID string, m entities.Metric) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	if err := validate.Metric(m); err != nil {
		return err
	}
	req := logMetricReq{RunID: runID, RunUUID: runID, Key: m.Key, Value: restjson.Float(m.Value),
		Timestamp: m.Timestamp, Step: m.Step, ModelID: m.ModelID, DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest}
	return s.call(ctx, epLogMetric, epLogMetric.path, nil, req, nil)
}

// LogParam logs a param; the same value again is fine, another value is
// ErrInvalidParameter.
func (s *Store) LogParam(ctx context.Context, runID, key, value string) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	if _, err := validate.Param(entities.Param{Key: key, Value: value}, true); err != nil {
		return err
	}
	return s.call(ctx, epLogParam, epLogParam.path, nil, runKeyValueReq{RunID: runID, RunUUID: runID, Key: key, Value: value}, nil)
}

// SetTag sets a run tag (mlflow.runName renames the run).
func (s *Store) SetTag(ctx context.Context, runID, key, value string) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	if _, err := validate.RunTag(entities.RunTag{Key: key, Value: value}, true); err != nil {
		return err
	}
	return s.call(ctx, epSetTag, epSetTag.path, nil, runKeyValueReq{RunID: runID, RunUUID: runID, Key: key, Value: value}, nil)
}

// DeleteTag deletes a run tag; a missing tag is ErrNotFound.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	if err := deletedKey(key); err != nil {
		return err
	}
	return s.call(ctx, epDeleteTag, epDeleteTag.path, nil, deleteTagReq{RunID: runID, Key: key}, nil)
}

// deletedKey checks the key of a tag to delete as the server does: it must
// be present, and nothing more, since it only looks the tag up (a key that
// no tag could have, such as "..", is RESOURCE_DOES_NOT_EXIST from the
// server, not a bad name: the run's or experiment's state is checked
// first). Valid UTF-8 is ours, so that the JSON sent is the key.
func deletedKey(key string) error {
	if key == "" {
		return invalid("key", "Missing value for required parameter 'key'")
	}
	return validate.UTF8("key", key)
}

// LogBatch logs metrics, params and tags within MLflow's limits (1000
// metrics, 100 params, 100 tags, 1000 in all; validate.LogBatch). A body
// over the cap (Options.MaxBodyBytes) is split into several requests, params
// first, then metrics, then tags, the order the server writes them in. The
// server does not apply a batch atomically either.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	if _, _, err := validate.LogBatch(metrics, params, tags, true); err != nil {
		return err
	}
	return s.sendBatch(ctx, runID, metrics, params, tags)
}

func (s *Store) sendBatch(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	req := logBatchReq{RunID: runID, Metrics: batchMetrics(metrics), Params: paramKVs(params), Tags: tagKVs(tags)}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("mlruns: LogBatch: encoding the request: %w", err)
	}
	n := len(params) + len(metrics) + len(tags)
	if len(body) <= s.maxBody || n <= 1 {
		return s.send(ctx, epLogBatch, epLogBatch.path, nil, body, nil)
	}
	// Halve the sequence params, metrics, tags.
	half := n / 2
	cut := func(k int) ([]entities.Metric, []entities.Param, []entities.RunTag, []entities.Metric, []entities.Param, []entities.RunTag) {
		p1, p2 := params[:min(k, len(params))], params[min(k, len(params)):]
		k -= len(p1)
		m1, m2 := metrics[:min(k, len(metrics))], metrics[min(k, len(metrics)):]
		k -= len(m1)
		t1, t2 := tags[:min(k, len(tags))], tags[min(k, len(tags)):]
		return m1, p1, t1, m2, p2, t2
	}
	m1, p1, t1, m2, p2, t2 := cut(half)
	if err := s.sendBatch(ctx, runID, m1, p1, t1); err != nil {
		return err
	}
	return s.sendBatch(ctx, runID, m2, p2, t2)
}

// GetMetricHistory returns a metric's whole history, in the server's order
// (timestamp, step, value), fetched in pages of 25000 points.
func (s *Store) GetMetricHistory(ctx context.Context, runID, key string) ([]entities.Metric, error) {
	var all []entities.Metric
	for m, err := range s.MetricHistoryIter(ctx, runID, key) {
		if err != nil {
			return nil, err
		}
		all = append(all, m)
	}
	return all, nil
}

// GetMetricHistoryColumns is GetMetricHistory in columns, built from the
// same pages.
func (s *Store) GetMetricHistoryColumns(ctx context.Context, runID, key string) (entities.MetricColumns, error) {
	c := entities.MetricColumns{Key: key}
	for m, err := range s.MetricHistoryIter(ctx, runID, key) {
		if err != nil {
			return entities.MetricColumns{}, err
		}
		c.Append(m)
	}
	return c, nil
}

// GetMetricHistoryPage returns one page of a metric's history and the next
// page's token ("" on the last). maxResults <= 0 asks for the whole rest
// in one answer.
func (s *Store) GetMetricHistoryPage(ctx context.Context, runID, key string, maxResults int, pageToken string) ([]entities.Metric, string, error) {
	if err := validate.RunID(runID); err != nil {
		return nil, "", err
	}
	q := url.Values{"run_id": {runID}, "run_uuid": {runID}, "metric_key": {key}}
	if maxResults > 0 {
		q.Set("max_results", strconv.Itoa(maxResults))
	}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var resp restjson.GetMetricHistoryResponse
	if err := s.call(ctx, epGetMetricHistory, epGetMetricHistory.path, q, nil, &resp); err != nil {
		return nil, "", err
	}
	out := make([]entities.Metric, len(resp.Metrics))
	for i, m := range resp.Metrics {
		out[i] = m.ToMetric()
		out[i].RunID = "" // a run's history is its own, as the file store returns it
	}
	return out, resp.NextPageToken, nil
}

// MetricHistoryIter streams a metric's history a page (25000 points) at a
// time. An error is yielded once, last.
func (s *Store) MetricHistoryIter(ctx context.Context, runID, key string) iter.Seq2[entities.Metric, error] {
	return func(yield func(entities.Metric, error) bool) {
		token := ""
		for {
			page, next, err := s.GetMetricHistoryPage(ctx, runID, key, historyPageSize, token)
			if err != nil {
				yield(entities.Metric{}, err)
				return
			}
			for _, m := range page {
				if !yield(m, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			token = next
		}
	}
}

// LogInputs records datasets and models as inputs of an active run.
func (s *Store) LogInputs(ctx context.Context, runID string, datasets []entities.DatasetInput, models []entities.ModelInput) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	req := logInputsReq{RunID: runID}
	for i, d := range datasets {
		if err := checkDataset(i, d); err != nil {
			return err
		}
		in := restjson.DatasetInput{Dataset: restjson.Dataset{Name: d.Dataset.Name, Digest: d.Dataset.Digest,
			SourceType: d.Dataset.SourceType, Source: d.Dataset.Source, Schema: d.Dataset.Schema, Profile: d.Dataset.Profile}}
		for _, t := range d.Tags {
			in.Tags = append(in.Tags, kv{Key: t.Key, Value: t.Value})
		}
		req.Datasets = append(req.Datasets, in)
	}
	for i, m := range models {
		if err := checkModelID(fmt.Sprintf("models[%d].model_id", i), m.ModelID); err != nil {
			return err
		}
		req.Models = append(req.Models, restjson.ModelInput{ModelID: m.ModelID})
	}
	return s.call(ctx, epLogInputs, epLogInputs.path, nil, req, nil)
}

// checkDataset refuses what protobuf needs (name, digest, source_type and
// source are required fields) and text Python cannot hold.
func checkDataset(i int, d entities.DatasetInput) error {
	p := fmt.Sprintf("datasets[%d]", i)
	ds := d.Dataset
	for _, f := range []struct{ name, v string }{{"name", ds.Name}, {"digest", ds.Digest}, {"source_type", ds.SourceType}, {"source", ds.Source}} {
		if f.v == "" {
			return invalid(p+".dataset."+f.name, "Missing value for required parameter '"+p+".dataset."+f.name+"'")
		}
		if err := validate.UTF8(p+".dataset."+f.name, f.v); err != nil {
			return err
		}
	}
	for _, opt := range []struct {
		name string
		v    *string
	}{{"schema", ds.Schema}, {"profile", ds.Profile}} {
		if opt.v != nil {
			if err := validate.UTF8(p+".dataset."+opt.name, *opt.v); err != nil {
				return err
			}
		}
	}
	for j, t := range d.Tags {
		if err := validate.UTF8(fmt.Sprintf("%s.tags[%d].key", p, j), t.Key); err != nil {
			return err
		}
		if err := validate.UTF8(fmt.Sprintf("%s.tags[%d].value", p, j), t.Value); err != nil {
			return err
		}
	}
	return nil
}

// checkModelID refuses an id that cannot name one model (it goes into URL
// paths).
func checkModelID(field, id string) error {
	if err := validate.PathComponent(field, id); err != nil {
		return err
	}
	return validate.UTF8(field, id)
}

// LogOutputs records models as outputs of an active run. The server refuses
// the same output twice.
func (s *Store) LogOutputs(ctx context.Context, runID string, models []entities.ModelOutput) error {
	if err := validate.RunID(runID); err != nil {
		return err
	}
	req := logOutputsReq{RunID: runID, Models: []restjson.ModelOutput{}}
	for i, m := range models {
		if err := checkModelID(fmt.Sprintf("models[%d].model_id", i), m.ModelID); err != nil {
			return err
		}
		req.Models = append(req.Models, restjson.ModelOutput{ModelID: m.ModelID, Step: m.Step})
	}
	return s.call(ctx, epLogOutputs, epLogOutputs.path, nil, req, nil)
}
