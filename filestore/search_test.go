package filestore_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
)

// TestStore_SearchRuns_FullRuns checks that every run a search returns
// carries what GetRun reads (info, all metrics, params, tags, inputs),
// including run names the fast meta reader must hand to the YAML decoder.
func TestStore_SearchRuns_FullRuns(t *testing.T) {
	s, _ := newStore(t, nil)
	ctx := context.Background()
	expID, err := s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
	names := []string{"plain", "with space", "it's", `dq"x`, "null", "123", "yes", "1e5", "a: b", "#hash", "é ü",
		"- dash", "trailing ", "x #y", "0x1F", "2001-12-14", "~", "true", string(make([]byte, 0)) + "long " + fmt.Sprint(make([]int, 30))}
	for i, n := range names {
		r, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: expID, RunName: n, UserID: n, StartTime: int64(100 + i)})
		require.NoError(t, err)
		require.NoError(t, s.LogBatch(ctx, r.Info.RunID,
			[]entities.Metric{{Key: "m", Value: float64(i), Step: 1}, {Key: "x/y", Value: math.NaN()}},
			[]entities.Param{{Key: "p", Value: n}}, []entities.RunTag{{Key: "t", Value: "v"}}))
		if i%3 == 0 {
			end := int64(500)
			_, err = s.UpdateRunInfo(ctx, r.Info.RunID, entities.StatusKilled, &end, "")
			require.NoError(t, err)
		}
	}
	runs, next, err := s.SearchRuns(ctx, []string{expID}, "", entities.ViewAll, 0, nil, "")
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, runs, len(names))
	for _, r := range runs {
		want, err := s.GetRun(ctx, r.Info.RunID)
		require.NoError(t, err)
		require.Equal(t, want.Info, r.Info)
		require.Equal(t, want.Data.Params, r.Data.Params)
		require.Equal(t, want.Data.Tags, r.Data.Tags)
		require.Len(t, r.Data.Metrics, 2)
	}
	// newest first by default
	require.Equal(t, "long [0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0]", runs[0].Info.RunName)

	for _, n := range names {
		got, _, err := s.SearchRuns(ctx, []string{expID}, fmt.Sprintf("params.p = %q AND run_name = %q", n, n), entities.ViewActiveOnly, 0, nil, "")
		require.NoError(t, err)
		if n == `dq"x` { // %q escapes the quote, which MLflow keeps as written
			continue
		}
		require.Len(t, got, 1, n)
	}
}

func TestStore_SearchRuns_Paging(t *testing.T) {
	s, _ := newStore(t, nil)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		r, err := s.CreateRun(ctx, filestore.CreateRunOptions{StartTime: int64(1000 + i)})
		require.NoError(t, err)
		require.NoError(t, s.LogMetric(ctx, r.Info.RunID, entities.Metric{Key: "acc", Value: float64(i % 3)}))
	}
	var seen []float64
	tok := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 4)
		runs, next, err := s.SearchRuns(ctx, []string{"0", "missing"}, "metrics.acc >= 0", entities.ViewActiveOnly, 3, []string{"metrics.acc DESC"}, tok)
		require.NoError(t, err)
		for _, r := range runs {
			seen = append(seen, r.Data.Metrics["acc"].Value)
		}
		if next == "" {
			break
		}
		tok = next
	}
	require.Equal(t, []float64{2, 2, 1, 1, 0, 0, 0}, seen)

	_, _, err := s.SearchRuns(ctx, []string{"0"}, "metrics.acc > 'x'", entities.ViewAll, 0, nil, "")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	_, _, err = s.SearchRuns(ctx, []string{"0"}, "", entities.ViewAll, 50001, nil, "")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	_, _, err = s.SearchRuns(ctx, []string{"0"}, "", entities.ViewAll, 0, []string{"foo.bar"}, "")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	_, _, err = s.SearchRuns(ctx, []string{"0"}, "", entities.ViewAll, 0, nil, "!!")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = s.SearchRuns(cctx, []string{"0"}, "", entities.ViewAll, 0, nil, "")
	require.ErrorIs(t, err, context.Canceled)
}

func TestStore_SearchExperiments(t *testing.T) {
	s, _ := newStore(t, nil)
	ctx := context.Background()
	for _, n := range []string{"alpha", "beta", "Alphabet"} {
		_, err := s.CreateExperiment(ctx, n, "", []entities.ExperimentTag{{Key: "k", Value: n}})
		require.NoError(t, err)
	}
	exps, next, err := s.SearchExperiments(ctx, entities.ViewActiveOnly, 2, "name ILIKE 'alpha%'", []string{"name DESC"}, "")
	require.NoError(t, err)
	require.Empty(t, next)
	require.Equal(t, "alpha", exps[0].Name)
	require.Equal(t, "Alphabet", exps[1].Name)
	exps, next, err = s.SearchExperiments(ctx, entities.ViewAll, 1, "", nil, "")
	require.NoError(t, err)
	require.NotEmpty(t, next)
	require.Len(t, exps, 1)
	_, _, err = s.SearchExperiments(ctx, entities.ViewAll, -1, "", nil, "")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	_, _, err = s.SearchExperiments(ctx, entities.ViewAll, 0, "name > 'a'", nil, "")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
}
