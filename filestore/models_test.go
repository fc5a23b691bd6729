package filestore_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/layout"
)

// modelTree is what writeModelTree made: the experiment, the run and the
// model ids by name.
type modelTree struct {
	ExperimentID string            `json:"experiment_id"`
	RunID        string            `json:"run_id"`
	Models       map[string]string `json:"models"`
}

// writeModelTree runs, through the Go store, the operation sequence that
// testdata/models_client.py's write runs through MlflowClient.
func writeModelTree(t *testing.T, s *filestore.Store) modelTree {
	t.Helper()
	ctx := context.Background()
	must := func(err error) { t.Helper(); require.NoError(t, err) }
	exp, err := s.CreateExperiment(ctx, "models", "", nil)
	must(err)
	run, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp})
	must(err)
	runID := run.Info.RunID
	create := func(o filestore.CreateLoggedModelOptions) string {
		t.Helper()
		m, err := s.CreateLoggedModel(ctx, exp, o)
		require.NoError(t, err)
		require.Equal(t, entities.LoggedModelPending, m.Status)
		require.True(t, layout.IsModelID(m.ModelID), m.ModelID)
		return m.ModelID
	}
	a := create(filestore.CreateLoggedModelOptions{Name: "alpha", SourceRunID: runID, ModelType: "agent",
		Tags: map[string]string{"team": "x", "t/nested": "v"}, Params: map[string]string{"lr": "0.1", "p q": "multi\nline"}})
	b := create(filestore.CreateLoggedModelOptions{Name: "beta"})
	c := create(filestore.CreateLoggedModelOptions{Name: "gamma", Tags: map[string]string{entities.TagModelIsExternal: "true"}})
	d := create(filestore.CreateLoggedModelOptions{Name: "delta"})
	must(s.LogMetric(ctx, runID, entities.Metric{Key: "acc", Value: 0.5, Timestamp: 1000, Step: 1, ModelID: a, DatasetName: "ds", DatasetDigest: "dg"}))
	must(s.LogMetric(ctx, runID, entities.Metric{Key: "acc", Value: 0.7, Timestamp: 2000, Step: 2, ModelID: a}))
	must(s.LogMetric(ctx, runID, entities.Metric{Key: "acc", Value: 0.9, Timestamp: 1500, Step: 1, ModelID: b, DatasetName: "ds", DatasetDigest: "dg"}))
	must(s.LogBatch(ctx, runID, []entities.Metric{
		{Key: "loss", Value: 0.25, Timestamp: 3000, Step: 0, ModelID: b},
		{Key: "loss", Value: 0.125, Timestamp: 3001, Step: 1, ModelID: b},
	}, nil, nil))
	_, err = s.FinalizeLoggedModel(ctx, a, entities.LoggedModelReady)
	must(err)
	_, err = s.FinalizeLoggedModel(ctx, c, entities.LoggedModelFailed)
	must(err)
	must(s.SetLoggedModelTags(ctx, b, map[string]string{"stage": "dev"}))
	must(s.DeleteLoggedModelTag(ctx, a, "team"))
	must(s.LogLoggedModelParams(ctx, b, map[string]string{"x": "1"}))
	must(s.LogLoggedModelParams(ctx, b, map[string]string{"x": "2"}))
	must(s.DeleteLoggedModel(ctx, d))
	return modelTree{ExperimentID: exp, RunID: runID, Models: map[string]string{"alpha": a, "beta": b, "gamma": c, "delta": d}}
}

// modelSearch is one search_logged_models call of the read spec.
// modelSearches are the searches both readers answer over a model tree.
// goModelJSON is the shape models_client.py prints for a model.
// goModelRead answers the read spec through the Go store, as
// models_client.py's read does through Python.
// TestStore_LoggedModels_PythonReadsGo: MlflowClient's get_logged_model
// and search_logged_models read the models the Go store wrote (created,
// finalized, tagged, with params and metrics logged with a model id, one
// deleted) as the Go store reads them, for every search of modelSearches.
// TestStore_LoggedModels_GoReadsPython: the Go store reads the models
// MlflowClient wrote as Python reads them.
// requireModelReadsNotTrivial checks that the reads found something: three
// models, the deleted and the unknown one not found, searches that
// return models.
// modelFiles reads every file under the experiment's models/ folder with
// the ids, timestamps and root replaced by names, so two trees written by
// the same operations compare byte for byte.
func modelFiles(t *testing.T, root string, tr modelTree) map[string]string {
	t.Helper()
	repl := []string{filestore.FileURI(root), "ROOT", tr.RunID, "RUN", "'" + tr.ExperimentID + "'", "'EXP'", "/" + tr.ExperimentID + "/", "/EXP/"}
	for name, id := range tr.Models {
		repl = append(repl, id, "MODEL-"+name)
	}
	r := strings.NewReplacer(repl...)
	stamp := regexp.MustCompile(`(?m)^(creation_timestamp|last_updated_timestamp): \d+$`)
	out := map[string]string{}
	base := filepath.Join(root, tr.ExperimentID, layout.ModelsDir)
	require.NoError(t, filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		rel = r.Replace(filepath.ToSlash(rel))
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = stamp.ReplaceAllString(r.Replace(string(data)), "$1: T")
		return nil
	}))
	return out
}

// TestStore_LoggedModels_BytesMatchPython: the same operations through
// MlflowClient and through the Go store leave the same folders and the
// same bytes in every file under models/ (meta.yaml in each state,
// params, tags, metric lines), ids and timestamps aside.
func TestStore_LoggedModels_BytesMatchPython(t *testing.T) {
	pyRoot := filepath.Join(t.TempDir(), "mlruns")
	out := interoptest.Run(t, filepath.Join("testdata", "models_client.py"), nil, "write", filestore.FileURI(pyRoot))
	var pyTree modelTree
	require.NoError(t, json.Unmarshal(out, &pyTree))
	s, goRoot := storetest.New(t, nil)
	goTree := writeModelTree(t, s)

	want, got := modelFiles(t, pyRoot, pyTree), modelFiles(t, goRoot, goTree)
	require.Equal(t, slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)))
	for k := range want {
		require.Equal(t, want[k], got[k], "file %s", k)
	}
	require.Contains(t, want, "MODEL-delta/meta.yaml")
	require.Contains(t, want["MODEL-delta/meta.yaml"], "lifecycle_stage: deleted")
}

// TestStore_LoggedModels_Refusals: bad input is refused with the sentinel
// MLflow's error code maps to, and nothing is written.
func TestStore_LoggedModels_Refusals(t *testing.T) {
	ctx := context.Background()
	s, root := storetest.New(t, nil)
	exp, err := s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
	gone, err := s.CreateExperiment(ctx, "gone", "", nil)
	require.NoError(t, err)
	require.NoError(t, s.DeleteExperiment(ctx, gone))
	m, err := s.CreateLoggedModel(ctx, exp, filestore.CreateLoggedModelOptions{Name: "m"})
	require.NoError(t, err)
	deleted, err := s.CreateLoggedModel(ctx, exp, filestore.CreateLoggedModelOptions{Name: "d"})
	require.NoError(t, err)
	require.NoError(t, s.DeleteLoggedModel(ctx, deleted.ModelID))
	unknown := "m-ffffffffffffffffffffffffffffffff"
	long := strings.Repeat("v", 6001)
	strict := false
	sStrict, err := filestore.Open(root, &filestore.Options{TruncateLongValues: &strict})
	require.NoError(t, err)

	// create and searchModels make the calls most rows refuse
	create := func(expID string, o filestore.CreateLoggedModelOptions) func() error {
		return func() error { _, err := s.CreateLoggedModel(ctx, expID, o); return err }
	}
	searchModels := func(filter string, datasets []entities.LoggedModelDatasetFilter, maxResults int,
		orderBy []entities.LoggedModelOrderBy, pageToken string) func() error {
		return func() error {
			_, _, err := s.SearchLoggedModels(ctx, []string{exp}, filter, datasets, maxResults, orderBy, pageToken)
			return err
		}
	}
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"name with a slash", create(exp, filestore.CreateLoggedModelOptions{Name: "a/b"}), errs.ErrInvalidParameter},
		{"name with a period", create(exp, filestore.CreateLoggedModelOptions{Name: "v1.0"}), errs.ErrInvalidParameter},
		{"unknown experiment", create("999", filestore.CreateLoggedModelOptions{}), errs.ErrNotFound},
		{"deleted experiment", create(gone, filestore.CreateLoggedModelOptions{}), errs.ErrInvalidState},
		{"bad param key", create(exp, filestore.CreateLoggedModelOptions{Params: map[string]string{"a\x00b": "1"}}), errs.ErrInvalidParameter},
		{"bad tag key", create(exp, filestore.CreateLoggedModelOptions{Tags: map[string]string{"../x": "1"}}), errs.ErrInvalidParameter},
		{"invalid UTF-8 tag value", create(exp, filestore.CreateLoggedModelOptions{Tags: map[string]string{"t": "\xff"}}), errs.ErrInvalidParameter},
		{"long param value without truncation", func() error {
			return sStrict.LogLoggedModelParams(ctx, m.ModelID, map[string]string{"p": long})
		}, errs.ErrInvalidParameter},
		{"finalize with an unknown status", func() error { _, err := s.FinalizeLoggedModel(ctx, m.ModelID, 7); return err }, errs.ErrInvalidParameter},
		{"finalize an unknown model", func() error { _, err := s.FinalizeLoggedModel(ctx, unknown, entities.LoggedModelReady); return err }, errs.ErrNotFound},
		{"finalize a deleted model", func() error {
			_, err := s.FinalizeLoggedModel(ctx, deleted.ModelID, entities.LoggedModelReady)
			return err
		}, errs.ErrNotFound},
		{"delete a deleted model", func() error { return s.DeleteLoggedModel(ctx, deleted.ModelID) }, errs.ErrNotFound},
		{"get a deleted model", func() error { _, err := s.GetLoggedModel(ctx, deleted.ModelID); return err }, errs.ErrNotFound},
		{"tag a deleted model", func() error { return s.SetLoggedModelTags(ctx, deleted.ModelID, map[string]string{"a": "b"}) }, errs.ErrNotFound},
		{"params of an unknown model", func() error { return s.LogLoggedModelParams(ctx, unknown, map[string]string{"a": "b"}) }, errs.ErrNotFound},
		{"model id with a slash", func() error { _, err := s.GetLoggedModel(ctx, "../"+m.ModelID); return err }, errs.ErrInvalidPath},
		{"model id ..", func() error { return s.DeleteLoggedModel(ctx, "..") }, errs.ErrInvalidPath},
		{"delete a missing tag", func() error { return s.DeleteLoggedModelTag(ctx, m.ModelID, "nope") }, errs.ErrNotFound},
		{"delete a tag with a bad key", func() error { return s.DeleteLoggedModelTag(ctx, m.ModelID, "") }, errs.ErrInvalidParameter},
		{"search with a dataset without name", searchModels("", []entities.LoggedModelDatasetFilter{{DatasetDigest: "d"}}, 0, nil, ""), errs.ErrInvalidParameter},
		{"search with negative max_results", searchModels("", nil, -1, nil, ""), errs.ErrInvalidParameter},
		{"search with a bad filter", searchModels("name = 'a' OR name = 'b'", nil, 0, nil, ""), errs.ErrInvalidParameter},
		{"search with IS NULL", searchModels("tags.a IS NULL", nil, 0, nil, ""), errs.ErrInvalidParameter},
		{"search with an unknown attribute", searchModels("run_id = 'a'", nil, 0, nil, ""), errs.ErrInvalidParameter},
		{"search ordered by params", searchModels("", nil, 0, []entities.LoggedModelOrderBy{{FieldName: "params.p"}}, ""), errs.ErrInvalidParameter},
		{"search ordered by a digest without name", searchModels("", nil, 0, []entities.LoggedModelOrderBy{{FieldName: "metrics.a", DatasetDigest: "d"}}, ""), errs.ErrInvalidParameter},
		{"search with a bad page token", searchModels("", nil, 0, nil, "!!"), errs.ErrInvalidParameter},
		{"search a malformed experiment id", func() error {
			_, _, err := s.SearchLoggedModels(ctx, []string{"../x"}, "", nil, 0, nil, "")
			return err
		}, errs.ErrInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := modelTreeFiles(t, root)
			require.ErrorIs(t, tc.call(), tc.want)
			require.Equal(t, before, modelTreeFiles(t, root))
		})
	}
}

// modelTreeFiles lists every file and folder under root with its content.
func modelTreeFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[p] = "/"
			return nil
		}
		data, err := os.ReadFile(p)
		out[p] = string(data)
		return err
	}))
	return out
}

// TestStore_SearchLoggedModels_Paging: pages of every size walk all models
// in order without gaps or repeats, the last page has no token, and a
// long param value is written whole when truncation is on (Python only
// warns).
func TestStore_SearchLoggedModels_Paging(t *testing.T) {
	ctx := context.Background()
	s, _ := storetest.New(t, nil)
	exp, err := s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
	var names []string
	for i := range 7 {
		name := string(rune('a' + i))
		names = append(names, name)
		_, err := s.CreateLoggedModel(ctx, exp, filestore.CreateLoggedModelOptions{Name: name, Params: map[string]string{"long": strings.Repeat("x", 7000)}})
		require.NoError(t, err)
	}
	order := []entities.LoggedModelOrderBy{{FieldName: "name"}}
	for size := 1; size <= 8; size++ {
		var got []string
		tok := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			ms, next, err := s.SearchLoggedModels(ctx, []string{exp}, "", nil, size, order, tok)
			require.NoError(t, err)
			for _, m := range ms {
				got = append(got, m.Name)
				require.Len(t, m.Params["long"], 7000)
			}
			if next == "" {
				break
			}
			tok = next
		}
		require.Equal(t, names, got, "page size %d", size)
	}
}
