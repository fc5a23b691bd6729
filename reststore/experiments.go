package reststore

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

var _ store.Store = (*Store)(nil)

// searchPageSize is the page of the listings (SEARCH_MAX_RESULTS_DEFAULT).
const searchPageSize = 1000

// viewName is the REST name of a view; the zero view is ACTIVE_ONLY.
func viewName(v entities.ViewType) string {
	switch v {
	case entities.ViewDeletedOnly, entities.ViewAll:
		return v.String()
	}
	return entities.ViewActiveOnly.String()
}

// CreateExperiment creates an experiment and returns its id. An empty
// artifactLocation lets the server choose. CreateExperiment is not safe to
// repeat: when its outcome is unknown (no answer after the request went
// out, or a 5xx), the experiment is looked up by name and its id returned
// if it is active and carries the tags sent; otherwise the
// *UnknownOutcomeError is returned.
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []entities.ExperimentTag) (string, error) {
	if err := validate.ExperimentName(name); err != nil {
		return "", err
	}
	if artifactLocation != "" {
		if err := validate.ArtifactLocation(artifactLocation, validate.DefaultMaxArtifactLocationLength); err != nil {
			return "", err
		}
		if err := validate.UTF8("artifact_location", artifactLocation); err != nil {
			return "", err
		}
	}
	req := createExperimentReq{Name: name, ArtifactLocation: artifactLocation}
	for _, t := range tags {
		if err := validate.ExperimentTag(t.Key, t.Value); err != nil {
			return "", err
		}
		req.Tags = append(req.Tags, kv{Key: t.Key, Value: t.Value})
	}
	var resp idResp
	err := s.call(ctx, epCreateExperiment, epCreateExperiment.path, nil, req, &resp)
	var unknown *UnknownOutcomeError
	if errors.As(err, &unknown) && ctx.Err() == nil {
		exp, gerr := s.GetExperimentByName(ctx, name)
		if gerr == nil && exp.LifecycleStage == entities.StageActive && hasTags(exp.Tags, tags) {
			return exp.ExperimentID, nil
		}
		return "", err
	}
	if err != nil {
		return "", err
	}
	return resp.ExperimentID, nil
}

func hasTags(have map[string]string, want []entities.ExperimentTag) bool {
	for _, t := range want {
		if v, ok := have[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	return true
}

func (s *Store) getExperiment(ctx context.Context, ep endpoint, q url.Values) (entities.Experiment, error) {
	var resp restjson.GetExperimentResponse
	if err := s.call(ctx, ep, ep.path, q, nil, &resp); err != nil {
		return entities.Experiment{}, err
	}
	return decoded(ep, resp.Experiment.ToExperiment)
}

// decoded runs a response converter, turning its error into an *Error.
func decoded[T any](ep endpoint, conv func() (T, error)) (T, error) {
	v, err := conv()
	if err != nil {
		return v, &Error{RPC: ep.rpc, Status: 200, Code: errs.CodeInternalError, kind: errs.ErrInternal,
			Message: fmt.Sprintf("the server's answer: %v", err)}
	}
	return v, nil
}

// decodeEach converts the items of an answer.
func decodeEach[S, T any](ep endpoint, items []S, conv func(S) (T, error)) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, it := range items {
		x, err := decoded(ep, func() (T, error) { return conv(it) })
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// allPages follows page tokens to the end.
func allPages[T any](fetch func(token string) ([]T, string, error)) ([]T, error) {
	var all []T
	token := ""
	for {
		page, next, err := fetch(token)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// GetExperiment returns an active or deleted experiment.
func (s *Store) GetExperiment(ctx context.Context, id string) (entities.Experiment, error) {
	if err := validate.ExperimentID(id); err != nil {
		return entities.Experiment{}, err
	}
	return s.getExperiment(ctx, epGetExperiment, url.Values{"experiment_id": {id}})
}

// GetExperimentByName returns the experiment with the name (the server
// prefers an active one), or ErrNotFound.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (entities.Experiment, error) {
	return s.getExperiment(ctx, epGetExperimentByName, url.Values{"experiment_name": {name}})
}

// ListExperiments lists every experiment of the view, in the server's
// default order (creation_time DESC, experiment_id ASC). A server store
// skips nothing.
func (s *Store) ListExperiments(ctx context.Context, view entities.ViewType) ([]entities.Experiment, []*store.SkippedError, error) {
	all, err := allPages(func(token string) ([]entities.Experiment, string, error) {
		return s.SearchExperiments(ctx, view, searchPageSize, "", nil, token)
	})
	return all, nil, err
}

// SearchExperiments returns one page of the experiments that pass filter
// (MLflow's filter syntax, evaluated by the server) in orderBy order, and
// the next page's token ("" on the last page). maxResults 0 is 1000.
func (s *Store) SearchExperiments(ctx context.Context, view entities.ViewType, maxResults int, filter string, orderBy []string, pageToken string) ([]entities.Experiment, string, error) {
	if maxResults == 0 {
		maxResults = searchPageSize
	}
	req := searchExperimentsReq{MaxResults: int64(maxResults), PageToken: pageToken, Filter: filter, OrderBy: orderBy, ViewType: viewName(view)}
	var resp restjson.SearchExperimentsResponse
	if err := s.call(ctx, epSearchExperiments, epSearchExperiments.path, nil, req, &resp); err != nil {
		return nil, "", err
	}
	out, err := decodeEach(epSearchExperiments, resp.Experiments, restjson.Experiment.ToExperiment)
	return out, resp.NextPageToken, err
}

// RenameExperiment renames an active experiment.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := validate.ExperimentID(id); err != nil {
		return err
	}
	if err := validate.ExperimentName(newName); err != nil {
		return err
	}
	return s.call(ctx, epUpdateExperiment, epUpdateExperiment.path, nil, updateExperimentReq{id, newName}, nil)
}

// DeleteExperiment marks an experiment deleted (a SQL-backed server also
// marks all its runs deleted).
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	return s.checked(ctx, epDeleteExperiment, validate.ExperimentID(id), experimentIDReq{id})
}

// RestoreExperiment restores a deleted experiment (a SQL-backed server
// restores all its runs).
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	return s.checked(ctx, epRestoreExperiment, validate.ExperimentID(id), experimentIDReq{id})
}

// checked sends body to ep unless the check of its id failed.
func (s *Store) checked(ctx context.Context, ep endpoint, check error, body any) error {
	if check != nil {
		return check
	}
	return s.call(ctx, ep, ep.path, nil, body, nil)
}

// SetExperimentTag sets a tag of an active experiment.
func (s *Store) SetExperimentTag(ctx context.Context, id, key, value string) error {
	if err := validate.ExperimentID(id); err != nil {
		return err
	}
	if err := validate.ExperimentTag(key, value); err != nil {
		return err
	}
	return s.call(ctx, epSetExperimentTag, epSetExperimentTag.path, nil, experimentTagReq{id, key, &value}, nil)
}

// DeleteExperimentTag deletes a tag of an active experiment; a missing tag
// is ErrNotFound.
func (s *Store) DeleteExperimentTag(ctx context.Context, id, key string) error {
	if err := validate.ExperimentID(id); err != nil {
		return err
	}
	if err := deletedKey(key); err != nil {
		return err
	}
	return s.call(ctx, epDeleteExperimentTag, epDeleteExperimentTag.path, nil, experimentTagReq{ExperimentID: id, Key: key}, nil)
}
