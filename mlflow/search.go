package mlflow

import (
	"context"
	"iter"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/tracking"
)

// Python's fluent search sizes (mlflow/tracking/fluent.py).
const (
	searchRunsMax     = 100000 // SEARCH_MAX_RESULTS_PANDAS
	searchRunsPerPage = 10000  // NUM_RUNS_PER_PAGE_PANDAS
)

// SearchRunsOptions are the arguments of SearchRuns; the zero value is
// Python's mlflow.search_runs() defaults: the active experiment's active
// runs, newest first, at most 100000.
type SearchRunsOptions struct {
	// ExperimentIDs or ExperimentNames (not both) name the experiments;
	// names that do not exist are skipped. With neither, AllExperiments
	// searches every active experiment, else the active experiment.
	ExperimentIDs   []string
	ExperimentNames []string
	AllExperiments  bool

	Filter     string            // MLflow's filter language
	View       entities.ViewType // zero: ACTIVE_ONLY
	MaxResults int               // zero: 100000
	OrderBy    []string          // e.g. "metrics.loss ASC"
}

// SearchRuns returns the runs that match, every page of them up to
// MaxResults, as Python's mlflow.search_runs(output_format="list").
func SearchRuns(ctx context.Context, o SearchRunsOptions) ([]entities.Run, error) {
	if len(o.ExperimentIDs) > 0 && len(o.ExperimentNames) > 0 {
		return nil, errs.New(errs.ErrInvalidParameter, "Only experiment_ids or experiment_names can be used, but not both")
	}
	c, err := Client()
	if err != nil {
		return nil, err
	}
	ids, err := searchExperimentIDs(ctx, c, o)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	limit := o.MaxResults
	if limit <= 0 {
		limit = searchRunsMax
	}
	var runs []entities.Run
	token := ""
	for len(runs) < limit {
		page, next, err := c.SearchRuns(ctx, ids, tracking.SearchRunsOptions{
			Filter: o.Filter, View: o.View, MaxResults: min(searchRunsPerPage, limit-len(runs)),
			OrderBy: o.OrderBy, PageToken: token,
		})
		if err != nil {
			return nil, err
		}
		runs = append(runs, page...)
		if next == "" {
			break
		}
		token = next
	}
	return runs, nil
}

func searchExperimentIDs(ctx context.Context, c *tracking.Client, o SearchRunsOptions) ([]string, error) {
	switch {
	case len(o.ExperimentIDs) > 0:
		return o.ExperimentIDs, nil
	case len(o.ExperimentNames) > 0:
		var ids []string
		for _, n := range o.ExperimentNames {
			exp, err := c.GetExperimentByName(ctx, n)
			if isNotFound(err) {
				continue // Python logs a warning and skips it
			}
			if err != nil {
				return nil, err
			}
			ids = append(ids, exp.ExperimentID)
		}
		return ids, nil
	case o.AllExperiments:
		var ids []string
		for exp, err := range c.AllExperiments(ctx, tracking.SearchExperimentsOptions{}) {
			if err != nil {
				return nil, err
			}
			ids = append(ids, exp.ExperimentID)
		}
		return ids, nil
	}
	id, err := activeExperimentID(ctx, c)
	if err != nil {
		return nil, err
	}
	return []string{id}, nil
}

// SearchExperimentsOptions are the arguments of SearchExperiments; the
// zero value is Python's mlflow.search_experiments() defaults.
type SearchExperimentsOptions struct {
	Filter     string            // e.g. "name LIKE 'train%'"
	View       entities.ViewType // zero: ACTIVE_ONLY
	MaxResults int               // zero: all
	OrderBy    []string          // default creation_time DESC, experiment_id ASC
}

// SearchExperiments returns the experiments that match, every page of them
// up to MaxResults, as Python's mlflow.search_experiments.
func SearchExperiments(ctx context.Context, o SearchExperimentsOptions) ([]entities.Experiment, error) {
	c, err := Client()
	if err != nil {
		return nil, err
	}
	return collect(c.AllExperiments(ctx, tracking.SearchExperimentsOptions{
		Filter: o.Filter, View: o.View, OrderBy: o.OrderBy,
	}), o.MaxResults)
}

// collect gathers a search's results, at most max of them (zero: all).
func collect[T any](seq iter.Seq2[T, error], max int) ([]T, error) {
	var out []T
	for x, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		if max > 0 && len(out) == max {
			break
		}
	}
	return out, nil
}
