package filestore_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/internal/storetest"
)

type modelSearch struct {
	ExperimentIDs []string         `json:"experiment_ids"`
	Filter        string           `json:"filter,omitempty"`
	Datasets      []map[string]any `json:"datasets,omitempty"`
	MaxResults    int              `json:"max_results,omitempty"`
	OrderBy       []map[string]any `json:"order_by,omitempty"`
	PageToken     string           `json:"page_token,omitempty"`
}

func modelSearches(tr modelTree) []modelSearch {
	e := []string{tr.ExperimentID}
	ds := []map[string]any{{"dataset_name": "ds"}}
	q := func(filter string) modelSearch { return modelSearch{ExperimentIDs: e, Filter: filter} }
	ord := func(o ...map[string]any) modelSearch { return modelSearch{ExperimentIDs: e, OrderBy: o} }
	return []modelSearch{
		{ExperimentIDs: e},
		{ExperimentIDs: []string{tr.ExperimentID, "0", "424242"}},
		q("name = 'alpha'"), q("status = 'READY'"), q("status != 'PENDING'"), q("status IN ('FAILED', 'PENDING')"),
		q("metrics.acc > 0.6"), q("metrics.acc <= 0.5"), q("metrics.loss = 0.125"),
		{ExperimentIDs: e, Filter: "metrics.acc > 0.6", Datasets: ds},
		{ExperimentIDs: e, Filter: "metrics.acc < 0.6", Datasets: ds},
		{ExperimentIDs: e, Datasets: []map[string]any{{"dataset_name": "ds", "dataset_digest": "dg"}}},
		{ExperimentIDs: e, Datasets: []map[string]any{{"dataset_name": "ds", "dataset_digest": "other"}}},
		q("params.lr = '0.1'"), q("params.x != '1'"), q("tags.stage LIKE 'd%'"), q("tags.`mlflow.model.isExternal` = 'true'"),
		q("tags.t/nested ILIKE 'V'"), q("model_type = 'agent'"), q("model_type != 'agent'"), q("source_run_id = '" + tr.RunID + "'"),
		q("creation_timestamp > 0"), q("last_updated_timestamp >= 1"), q("name IN ('alpha', 'gamma')"), q("name NOT IN ('alpha')"),
		q("name > 'b'"), q("name LIKE '%a'"), q("datasets.name = 'beta'"), q("model_id = '" + tr.Models["beta"] + "'"),
		q("attributes.name != 'x' AND metrics.acc > 0"),
		ord(map[string]any{"field_name": "name"}),
		ord(map[string]any{"field_name": "name", "ascending": false}),
		ord(map[string]any{"field_name": "metrics.acc", "ascending": false}),
		ord(map[string]any{"field_name": "metrics.acc"}),
		ord(map[string]any{"field_name": "metrics.acc", "dataset_name": "ds"}),
		ord(map[string]any{"field_name": "metrics.acc", "dataset_name": "ds", "dataset_digest": "dg", "ascending": false}),
		ord(map[string]any{"field_name": "status"}, map[string]any{"field_name": "name", "ascending": false}),
		ord(map[string]any{"field_name": "creation_time"}, map[string]any{"field_name": "model_id", "ascending": false}),
		ord(map[string]any{"field_name": " model_id "}),
		{ExperimentIDs: e, MaxResults: 1, OrderBy: []map[string]any{{"field_name": "name"}}},
		{ExperimentIDs: e, MaxResults: 2, OrderBy: []map[string]any{{"field_name": "name"}}, PageToken: "eyJvZmZzZXQiOiAxfQ=="},
		{ExperimentIDs: e, MaxResults: 2, PageToken: "eyJvZmZzZXQiOiAyfQ=="},
	}
}

func goModelJSON(m entities.LoggedModel) map[string]any {
	metrics := []any{}
	for _, x := range m.Metrics {
		opt := func(s string) any {
			if s == "" {
				return nil
			}
			return s
		}
		metrics = append(metrics, []any{x.Key, pynum.FormatFloat(x.Value), x.Timestamp, x.Step,
			opt(x.DatasetName), opt(x.DatasetDigest), x.RunID, x.ModelID})
	}
	return map[string]any{
		"model_id": m.ModelID, "experiment_id": m.ExperimentID, "name": m.Name,
		"artifact_location": m.ArtifactLocation, "creation_timestamp": m.CreationTimestamp,
		"last_updated_timestamp": m.LastUpdatedTimestamp, "model_type": m.ModelType,
		"source_run_id": m.SourceRunID, "status": m.Status.String(), "status_message": m.StatusMessage,
		"tags": m.Tags, "params": m.Params, "metrics": metrics,
	}
}

func goErrorJSON(t *testing.T, err error) map[string]any {
	t.Helper()
	require.NotEmpty(t, errs.Code(err), "not an errs sentinel: %v", err)
	return map[string]any{"error": errs.Code(err)}
}

func goModelRead(t *testing.T, s *filestore.Store, ids []string, searches []modelSearch) any {
	t.Helper()
	ctx := context.Background()
	var gets, results []any
	for _, id := range ids {
		m, err := s.GetLoggedModel(ctx, id)
		if err != nil {
			gets = append(gets, goErrorJSON(t, err))
			continue
		}
		gets = append(gets, goModelJSON(m))
	}
	for _, q := range searches {
		var datasets []entities.LoggedModelDatasetFilter
		for _, d := range q.Datasets {
			f := entities.LoggedModelDatasetFilter{DatasetName: d["dataset_name"].(string)}
			if v, ok := d["dataset_digest"].(string); ok {
				f.DatasetDigest = v
			}
			datasets = append(datasets, f)
		}
		var order []entities.LoggedModelOrderBy
		for _, o := range q.OrderBy {
			ob := entities.LoggedModelOrderBy{FieldName: o["field_name"].(string)}
			if v, ok := o["ascending"].(bool); ok {
				ob.Descending = !v
			}
			ob.DatasetName, _ = o["dataset_name"].(string)
			ob.DatasetDigest, _ = o["dataset_digest"].(string)
			order = append(order, ob)
		}
		models, next, err := s.SearchLoggedModels(ctx, q.ExperimentIDs, q.Filter, datasets, q.MaxResults, order, q.PageToken)
		if err != nil {
			results = append(results, goErrorJSON(t, err))
			continue
		}
		got := []any{}
		for _, m := range models {
			got = append(got, m.ModelID)
		}
		var tok any
		if next != "" {
			tok = next
		}
		results = append(results, map[string]any{"ids": got, "token": tok})
	}
	return roundTripJSON(t, map[string]any{"get": gets, "searches": results})
}

func roundTripJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func pyModelRead(t *testing.T, root string, ids []string, searches []modelSearch) any {
	t.Helper()
	spec, err := json.Marshal(map[string]any{"get": ids, "searches": searches})
	require.NoError(t, err)
	out := interoptest.Run(t, filepath.Join("testdata", "models_client.py"), spec, "read", filestore.FileURI(root))
	var got any
	require.NoError(t, json.Unmarshal(out, &got))
	return got
}

func (tr modelTree) ids() []string {
	ids := []string{tr.Models["alpha"], tr.Models["beta"], tr.Models["gamma"], tr.Models["delta"], "m-00000000000000000000000000000000"}
	return ids
}

func TestStore_LoggedModels_PythonReadsGo(t *testing.T) {
	interoptest.Python(t)
	s, root := storetest.New(t, nil)
	tr := writeModelTree(t, s)
	want := goModelRead(t, s, tr.ids(), modelSearches(tr))
	got := pyModelRead(t, root, tr.ids(), modelSearches(tr))
	require.Equal(t, want, got)
	requireModelReadsNotTrivial(t, got)
}

func TestStore_LoggedModels_GoReadsPython(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	out := interoptest.Run(t, filepath.Join("testdata", "models_client.py"), nil, "write", filestore.FileURI(root))
	var tr modelTree
	require.NoError(t, json.Unmarshal(out, &tr))
	want := pyModelRead(t, root, tr.ids(), modelSearches(tr))
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	got := goModelRead(t, s, tr.ids(), modelSearches(tr))
	require.Equal(t, want, got)
	requireModelReadsNotTrivial(t, got)
	storetest.Clean(t, s)
}

func requireModelReadsNotTrivial(t *testing.T, v any) {
	t.Helper()
	r := v.(map[string]any)
	gets := r["get"].([]any)
	require.Len(t, gets, 5)
	for i, g := range gets {
		_, isErr := g.(map[string]any)["error"]
		require.Equal(t, i >= 3, isErr, "get %d: %v", i, g)
	}
	nonEmpty := 0
	for _, sr := range r["searches"].([]any) {
		if ids, ok := sr.(map[string]any)["ids"].([]any); ok && len(ids) > 0 {
			nonEmpty++
		}
	}
	require.Greater(t, nonEmpty, 30)
}
