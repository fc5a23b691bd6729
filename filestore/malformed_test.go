package filestore_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
)

// TestMalformed_Table runs testdata/malformed/cases.json: one defect per
// tree, the operation, and the outcome we promise (see filestore's package
// doc, "Broken runs"). Python 3.18's own outcome is recorded beside each
// case in the JSON.
func TestMalformed_Table(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "malformed", "cases.json"))
	require.NoError(t, err)
	var file struct {
		ExperimentID string `json:"experiment_id"`
		RunID        string `json:"run_id"`
		Cases        []struct {
			Name, Path, Op, Want string
			ID                   any
		}
	}
	require.NoError(t, json.Unmarshal(raw, &file))
	require.GreaterOrEqual(t, len(file.Cases), 40)
	wantErr := map[string]error{"corrupt": errs.ErrCorrupt, "not_found": errs.ErrNotFound, "invalid_state": errs.ErrInvalidState}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			root := copyFixture(t, filepath.Join("malformed", filepath.Dir(c.Path)))
			s, err := filestore.Open(root, nil)
			require.NoError(t, err)
			var skipped []*filestore.SkippedError
			switch c.Op {
			case "get_run":
				_, err = s.GetRun(ctx, c.ID.(string))
			case "get_experiment":
				_, err = s.GetExperiment(ctx, c.ID.(string))
			case "metric_history":
				id := c.ID.([]any)
				_, err = s.GetMetricHistory(ctx, id[0].(string), id[1].(string))
				requireSameRead(t, s, id[0].(string), id[1].(string)) // and the same in columns
			case "list_runs":
				var runs []entities.Run
				runs, skipped, err = s.ListRuns(ctx, c.ID.(string), entities.ViewAll)
				if err == nil && c.Want == "ok_reported" {
					// the broken run is either left out and reported, or read
					found := false
					for _, r := range runs {
						found = found || r.Info.RunID == file.RunID
					}
					if !found && len(skipped) == 0 {
						_, gerr := s.GetRun(ctx, file.RunID)
						require.Error(t, gerr, "a run left out silently must be unreadable")
					}
				}
			case "list_experiments":
				_, skipped, err = s.ListExperiments(ctx, entities.ViewAll)
			default:
				t.Fatalf("unknown op %q", c.Op)
			}
			switch c.Want {
			case "ok", "ok_reported":
				require.NoError(t, err)
				if c.Want == "ok" {
					require.Empty(t, skipped)
				}
				for _, sk := range skipped {
					require.NotEmpty(t, sk.Path)
					require.Error(t, sk.Err)
				}
			default:
				require.ErrorIs(t, err, wantErr[c.Want])
			}
		})
	}
}
