package filestore_test

import (
	"context"
	"encoding/json"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// dumpStore reads everything in s with the Go store, in the JSON shape of
// testdata/dump_client.py, so the two readers can be compared value by
// value. Skipped (broken) entities fail the test.
//
// With fileStoreSteps, metric rows logged against a dataset show step 0 and
// latest values are chosen among those steps: that is how Python's
// FileStore reads them (we keep the stored step; see
// layout.ParseMetricLine). SQL stores keep the step, as we do.
func dumpStore(t testing.TB, s *filestore.Store, fileStoreSteps bool) map[string]any {
	t.Helper()
	ctx := context.Background()
	exps, skipped, err := s.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	require.Empty(t, skipped)
	sort.Slice(exps, func(i, j int) bool { return exps[i].ExperimentID < exps[j].ExperimentID })
	out := map[string]any{}
	expRows, runRows := []any{}, []any{}
	var runs []entities.Run
	for _, e := range exps {
		expRows = append(expRows, map[string]any{
			"experiment_id": e.ExperimentID, "name": e.Name,
			"artifact_location": e.ArtifactLocation, "lifecycle_stage": string(e.LifecycleStage),
			"creation_time": e.CreationTime, "last_update_time": e.LastUpdateTime,
			"tags": e.Tags,
		})
		rs, skipped, err := s.ListRuns(ctx, e.ExperimentID, entities.ViewAll)
		require.NoError(t, err)
		require.Empty(t, skipped)
		runs = append(runs, rs...)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Info.RunID < runs[j].Info.RunID })
	for _, r := range runs {
		i := r.Info
		latest := map[string]any{}
		hist := map[string]any{}
		for k, m := range r.Data.Metrics {
			h, err := s.GetMetricHistory(ctx, i.RunID, k)
			require.NoError(t, err)
			if fileStoreSteps {
				zeroed := false
				for j := range h {
					if h[j].DatasetName != "" && h[j].Step != 0 {
						h[j].Step, zeroed = 0, true
					}
				}
				if zeroed {
					m, _ = entities.LatestMetric(h)
				}
			}
			latest[k] = pynum.FormatFloat(m.Value)
			rows := []any{}
			for _, m := range h {
				rows = append(rows, []any{m.Timestamp, pynum.FormatFloat(m.Value), m.Step, m.DatasetName, m.DatasetDigest})
			}
			hist[k] = rows
		}
		datasets := []any{}
		dis := append([]entities.DatasetInput(nil), r.Inputs.DatasetInputs...)
		sort.Slice(dis, func(a, b int) bool {
			if dis[a].Dataset.Name != dis[b].Dataset.Name {
				return dis[a].Dataset.Name < dis[b].Dataset.Name
			}
			return dis[a].Dataset.Digest < dis[b].Dataset.Digest
		})
		for _, d := range dis {
			tags := map[string]string{}
			for _, t := range d.Tags {
				tags[t.Key] = t.Value
			}
			datasets = append(datasets, map[string]any{
				"name": d.Dataset.Name, "digest": d.Dataset.Digest, "source_type": d.Dataset.SourceType,
				"source": d.Dataset.Source, "schema": d.Dataset.Schema, "profile": d.Dataset.Profile,
				"tags": tags,
			})
		}
		mi := []string{}
		for _, m := range r.Inputs.ModelInputs {
			mi = append(mi, m.ModelID)
		}
		sort.Strings(mi)
		mo := [][]any{}
		for _, o := range r.Outputs.ModelOutputs {
			mo = append(mo, []any{o.ModelID, o.Step})
		}
		sort.Slice(mo, func(a, b int) bool { return mo[a][0].(string) < mo[b][0].(string) })
		runRows = append(runRows, map[string]any{
			"run_id": i.RunID, "run_name": i.RunName, "experiment_id": i.ExperimentID,
			"user_id": i.UserID, "status": i.Status.String(), "start_time": i.StartTime,
			"end_time": i.EndTime, "artifact_uri": i.ArtifactURI,
			"lifecycle_stage": string(i.LifecycleStage),
			"metrics":         latest, "params": r.Data.Params, "tags": r.Data.Tags,
			"datasets": datasets, "model_inputs": mi, "model_outputs": mo, "history": hist,
		})
	}
	out["experiments"] = expRows
	out["runs"] = runRows
	return normJSON(t, out)
}

// normJSON round-trips v through JSON so Go values and decoded Python JSON
// compare with require.Equal (numbers become float64, nil maps null...).
func normJSON(t testing.TB, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
