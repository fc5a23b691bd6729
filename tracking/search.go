package tracking

import (
	"context"
	"iter"

	"github.com/mlruns-go/mlruns/entities"
)

// SearchRunsOptions are the arguments of SearchRuns besides the
// experiments; the zero value is MlflowClient.search_runs's defaults.
type SearchRunsOptions struct {
	Filter     string            // MLflow's filter language; "" matches every run
	View       entities.ViewType // zero: ACTIVE_ONLY
	MaxResults int               // runs per page; zero: 1000
	OrderBy    []string          // e.g. "metrics.loss ASC"; default start_time DESC
	PageToken  string            // "" for the first page
}

// SearchRuns returns one page of the runs of the experiments that match,
// and the token of the next page ("" on the last), as
// MlflowClient.search_runs.
func (c *Client) SearchRuns(ctx context.Context, experimentIDs []string, o SearchRunsOptions) ([]entities.Run, string, error) {
	return c.store.SearchRuns(ctx, experimentIDs, o.Filter, view(o.View), o.MaxResults, o.OrderBy, o.PageToken)
}

// AllRuns yields every run SearchRuns would return, page after page
// (MaxResults runs per page; PageToken is where it starts). It stops at
// the first error, which it yields.
func (c *Client) AllRuns(ctx context.Context, experimentIDs []string, o SearchRunsOptions) iter.Seq2[entities.Run, error] {
	return pages(func(token string) ([]entities.Run, string, error) {
		o.PageToken = token
		return c.SearchRuns(ctx, experimentIDs, o)
	}, o.PageToken)
}

// SearchExperimentsOptions are the arguments of SearchExperiments; the
// zero value is MlflowClient.search_experiments's defaults.
type SearchExperimentsOptions struct {
	Filter     string            // e.g. "name LIKE 'train%'"; "" matches all
	View       entities.ViewType // zero: ACTIVE_ONLY
	MaxResults int               // experiments per page; zero: 1000
	OrderBy    []string          // default creation_time DESC, experiment_id ASC
	PageToken  string            // "" for the first page
}

// SearchExperiments returns one page of the experiments that match, and
// the token of the next page ("" on the last), as
// MlflowClient.search_experiments.
func (c *Client) SearchExperiments(ctx context.Context, o SearchExperimentsOptions) ([]entities.Experiment, string, error) {
	return c.store.SearchExperiments(ctx, view(o.View), o.MaxResults, o.Filter, o.OrderBy, o.PageToken)
}

// AllExperiments yields every experiment SearchExperiments would return,
// page after page. It stops at the first error, which it yields.
func (c *Client) AllExperiments(ctx context.Context, o SearchExperimentsOptions) iter.Seq2[entities.Experiment, error] {
	return pages(func(token string) ([]entities.Experiment, string, error) {
		o.PageToken = token
		return c.SearchExperiments(ctx, o)
	}, o.PageToken)
}

// MetricHistory yields every value logged for a metric, in file order,
// without holding the history in memory.
func (c *Client) MetricHistory(ctx context.Context, runID, key string) iter.Seq2[entities.Metric, error] {
	return c.store.MetricHistoryIter(ctx, runID, key)
}

func view(v entities.ViewType) entities.ViewType {
	if v == 0 {
		return entities.ViewActiveOnly
	}
	return v
}

// pages turns a page-at-a-time search into one sequence.
func pages[T any](page func(token string) ([]T, string, error), token string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, next, err := page(token)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
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
