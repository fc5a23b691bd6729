package tracking

import (
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/validate"
)

// batch is one store LogBatch call's share of a client batch.
type batch struct {
	Metrics []entities.Metric
	Params  []entities.Param
	Tags    []entities.RunTag
}

// batches splits a batch within MLflow's per-request limits exactly as
// Python's TrackingServiceClient.log_batch does, so a split batch fails or
// succeeds chunk by chunk as Python's would: params and tags in chunks of
// 100, zipped pairwise; each pair takes as many metrics as fit in 1000
// entities (at most 1000 metrics); the metrics left go in chunks of 1000.
// An empty batch is no call at all, as in Python (not even the run is
// checked).
func batches(metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) []batch {
	if len(metrics)+len(params)+len(tags) == 0 {
		return nil
	}
	if fits(metrics, params, tags) {
		return []batch{{metrics, params, tags}}
	}
	var out []batch
	pc, tc := chunk(params, validate.MaxParamsTagsPerBatch), chunk(tags, validate.MaxParamsTagsPerBatch)
	for i := 0; i < max(len(pc), len(tc)); i++ {
		var b batch
		if i < len(pc) {
			b.Params = pc[i]
		}
		if i < len(tc) {
			b.Tags = tc[i]
		}
		n := min(validate.MaxEntitiesPerBatch-len(b.Params)-len(b.Tags), validate.MaxMetricsPerBatch, len(metrics))
		b.Metrics, metrics = metrics[:n:n], metrics[n:]
		out = append(out, b)
	}
	for _, mc := range chunk(metrics, validate.MaxMetricsPerBatch) {
		out = append(out, batch{Metrics: mc})
	}
	return out
}

// chunk is Python's chunk_list: consecutive slices of at most n.
func chunk[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > 0 {
		k := min(n, len(s))
		out = append(out, s[:k:k])
		s = s[k:]
	}
	return out
}

// fits reports whether a batch is within MLflow's per-request limits, so
// it goes to the store as one call.
func fits(metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) bool {
	return len(metrics) <= validate.MaxMetricsPerBatch && len(params) <= validate.MaxParamsTagsPerBatch &&
		len(tags) <= validate.MaxParamsTagsPerBatch &&
		len(metrics)+len(params)+len(tags) <= validate.MaxEntitiesPerBatch
}
