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

// CreateRun creates a RUNNING run. start_time is always sent (the server
// stores 0 when it is missing): zero means now, as in the file store.
// CreateRun is not safe to repeat and the server cannot take a client-chosen
// id, so when the outcome is unknown the *UnknownOutcomeError is returned:
// the run may exist on the server.
func (s *Store) CreateRun(ctx context.Context, o store.CreateRunOptions) (entities.Run, error) {
	if o.RunID != "" {
		return entities.Run{}, errs.New(errs.ErrNotSupported, "run_id: an MLflow tracking server chooses run ids; CreateRun cannot be given one")
	}
	expID := o.ExperimentID
	if expID == "" {
		expID = "0"
	}
	if err := validate.ExperimentID(expID); err != nil {
		return entities.Run{}, err
	}
	for _, t := range o.Tags {
		if err := validate.TagName(t.Key); err != nil {
			return entities.Run{}, err
		}
		if err := validate.UTF8("tags."+t.Key, t.Value); err != nil {
			return entities.Run{}, err
		}
	}
	if err := validate.UTF8("run_name", o.RunName); err != nil {
		return entities.Run{}, err
	}
	if err := validate.UTF8("user_id", o.UserID); err != nil {
		return entities.Run{}, err
	}
	start := o.StartTime
	if start == 0 {
		start = s.now().UnixMilli()
	}
	req := createRunReq{ExperimentID: expID, UserID: o.UserID, StartTime: start, Tags: tagKVs(o.Tags), RunName: o.RunName}
	var resp restjson.GetRunResponse
	if err := s.call(ctx, epCreateRun, epCreateRun.path, nil, req, &resp); err != nil {
		var unknown *UnknownOutcomeError
		if errors.As(err, &unknown) {
			return entities.Run{}, fmt.Errorf("mlruns: CreateRun in experiment %s: a run may or may not have been created on the server (search the experiment before creating another): %w", expID, err)
		}
		return entities.Run{}, err
	}
	return decoded(epCreateRun, resp.Run.ToRun)
}

// GetRun returns an active or deleted run with its latest metrics (one per
// key, by (step, timestamp, value)), params, tags, inputs and outputs.
func (s *Store) GetRun(ctx context.Context, runID string) (entities.Run, error) {
	if err := validate.RunID(runID); err != nil {
		return entities.Run{}, err
	}
	var resp restjson.GetRunResponse
	if err := s.call(ctx, epGetRun, epGetRun.path, url.Values{"run_id": {runID}, "run_uuid": {runID}}, nil, &resp); err != nil {
		return entities.Run{}, err
	}
	return decoded(epGetRun, resp.Run.ToRun)
}

// GetRunInfo returns a run's info (the REST API has no cheaper call than
// GetRun).
func (s *Store) GetRunInfo(ctx context.Context, runID string) (entities.RunInfo, error) {
	r, err := s.GetRun(ctx, runID)
	return r.Info, err
}

// ListRuns lists all runs of an experiment in the view, with their data, in
// the server's default order (start_time DESC, run_id ASC).
func (s *Store) ListRuns(ctx context.Context, experimentID string, view entities.ViewType) ([]entities.Run, []*store.SkippedError, error) {
	all, err := allPages(func(token string) ([]entities.Run, string, error) {
		return s.SearchRuns(ctx, []string{experimentID}, "", view, searchPageSize, nil, token)
	})
	return all, nil, err
}

// SearchRuns returns one page of the runs of the experiments that pass
// filter (evaluated by the server), in orderBy order, and the next page's
// token ("" on the last page). maxResults 0 is 1000.
func (s *Store) SearchRuns(ctx context.Context, experimentIDs []string, filter string, view entities.ViewType, maxResults int, orderBy []string, pageToken string) ([]entities.Run, string, error) {
	if maxResults == 0 {
		maxResults = searchPageSize
	}
	ids := experimentIDs
	if ids == nil {
		ids = []string{}
	}
	req := searchRunsReq{ExperimentIDs: ids, Filter: filter, RunViewType: viewName(view), MaxResults: int64(maxResults), OrderBy: orderBy, PageToken: pageToken}
	var resp restjson.SearchRunsResponse
	if err := s.call(ctx, epSearchRuns, epSearchRuns.path, nil, req, &resp); err != nil {
		return nil, "", err
	}
	out, err := decodeEach(epSearchRuns, resp.Runs, restjson.Run.ToRun)
	return out, resp.NextPageToken, err
}

// UpdateRunInfo sets an active run's status and, when non-nil, its end
// time; a non-empty runName renames it. An end time of 0 is sent, as
// Python's RestStore sends it: the server stores it (a run then reads back
// with no end time), where a file store keeps the old one.
func (s *Store) UpdateRunInfo(ctx context.Context, runID string, status entities.RunStatus, endTime *int64, runName string) (entities.RunInfo, error) {
	if err := validate.RunID(runID); err != nil {
		return entities.RunInfo{}, err
	}
	if !status.Valid() {
		return entities.RunInfo{}, invalid("status", fmt.Sprintf("Invalid run status %s: must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED", status))
	}
	if err := validate.UTF8("run_name", runName); err != nil {
		return entities.RunInfo{}, err
	}
	req := updateRunReq{RunID: runID, RunUUID: runID, Status: status.String(), RunName: runName}
	req.EndTime = endTime
	var resp restjson.UpdateRunResponse
	if err := s.call(ctx, epUpdateRun, epUpdateRun.path, nil, req, &resp); err != nil {
		return entities.RunInfo{}, err
	}
	return decoded(epUpdateRun, resp.RunInfo.ToRunInfo)
}

// DeleteRun marks a run deleted (repeating it is harmless).
func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	return s.checked(ctx, epDeleteRun, validate.RunID(runID), runIDReq{runID})
}

// RestoreRun restores a deleted run (repeating it is harmless).
func (s *Store) RestoreRun(ctx context.Context, runID string) error {
	return s.checked(ctx, epRestoreRun, validate.RunID(runID), runIDReq{runID})
}
