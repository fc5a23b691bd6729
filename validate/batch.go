package validate

import (
	"strconv"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
)

// Batch limits of log_batch.
const (
	MaxMetricsPerBatch    = 1000 // MAX_METRICS_PER_BATCH
	MaxParamsTagsPerBatch = 100  // MAX_PARAMS_TAGS_PER_BATCH, each of params and tags
	MaxEntitiesPerBatch   = 1000 // MAX_ENTITIES_PER_BATCH, all three together
)

// Batch checks a log_batch request with MLflow's default of truncating long
// param and tag values, so long values are never an error here; use LogBatch
// to get the values to write.
func Batch(metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) error {
	_, _, err := LogBatch(metrics, params, tags, true)
	return err
}

// LogBatch checks a log_batch request in FileStore.log_batch's order and
// returns params and tags as MLflow writes them (values truncated when
// truncate is set). The order decides which error wins:
//  1. every metric, then every param, then every tag, item by item
//     (_validate_batch_log_data), with paths like "metrics[3].timestamp";
//  2. the count limits (_validate_batch_log_limits): metrics, params, tags,
//     then the total;
//  3. duplicate param keys (_validate_param_keys_unique).
func LogBatch(metrics []entities.Metric, params []entities.Param, tags []entities.RunTag, truncate bool) ([]entities.Param, []entities.RunTag, error) {
	okKey := "" // the last key that passed; batches repeat keys
	for i, m := range metrics {
		if m.Timestamp >= 0 && m.Key != "" && (m.Key == okKey || metricKeyOK(m.Key)) && metricTextOK(m) {
			okKey = m.Key
			continue // valid: skip building the field path of an error
		}
		if err := metric("metrics["+strconv.Itoa(i)+"]", m); err != nil {
			return nil, nil, err
		}
	}
	outP := make([]entities.Param, len(params))
	for i, p := range params {
		v, err := param("params["+strconv.Itoa(i)+"]", p, truncate)
		if err != nil {
			return nil, nil, err
		}
		outP[i] = v
	}
	outT := make([]entities.RunTag, len(tags))
	for i, t := range tags {
		v, err := runTag("tags["+strconv.Itoa(i)+"]", t, truncate)
		if err != nil {
			return nil, nil, err
		}
		outT[i] = v
	}
	for _, l := range []struct {
		name     string
		limit, n int
	}{
		{"metrics", MaxMetricsPerBatch, len(metrics)},
		{"params", MaxParamsTagsPerBatch, len(params)},
		{"tags", MaxParamsTagsPerBatch, len(tags)},
		{"metrics, params, and tags", MaxEntitiesPerBatch, len(metrics) + len(params) + len(tags)},
	} {
		if l.n > l.limit {
			lim, n := strconv.Itoa(l.limit), strconv.Itoa(l.n)
			return nil, nil, plain(l.name, n, "at most "+lim+" "+l.name,
				"A batch logging request can contain at most "+lim+" "+l.name+". Got "+n+" "+
					l.name+". Please split up "+l.name+" across multiple requests and try again.")
		}
	}
	// Every repeat is listed, so three "a" give ['a', 'a'], as in MLflow.
	seen := make(map[string]bool, len(params))
	var dups []string
	for _, p := range params {
		if seen[p.Key] {
			dups = append(dups, pyRepr(p.Key))
		}
		seen[p.Key] = true
	}
	if len(dups) > 0 {
		list := "[" + strings.Join(dups, ", ") + "]"
		return nil, nil, &Error{Field: "params", Value: list, Rule: "duplicate param keys",
			Kind: errs.ErrInvalidParameter,
			msg: "Duplicate parameter keys have been submitted: " + list + ". Please ensure " +
				"the request contains only one param value per param key."}
	}
	return outP, outT, nil
}
