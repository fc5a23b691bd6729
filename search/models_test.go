package search_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/search"
)

func sortedIDs(t *testing.T, models []entities.LoggedModel, order ...entities.LoggedModelOrderBy) []string {
	t.Helper()
	o, err := search.ParseLoggedModelOrderBy(order)
	require.NoError(t, err)
	ms := append([]entities.LoggedModel(nil), models...)
	search.SortLoggedModels(ms, o)
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ModelID)
	}
	return ids
}

// TestSortLoggedModels_MissingLast: a missing metric or None attribute
// sorts last in both directions (Python's _LoggedModelMetricComp and
// _Reversor), NaN after the numbers; ties fall to creation_timestamp DESC
// then model_id ASC.
func TestSortLoggedModels_MissingLast(t *testing.T) {
	typ := "agent"
	models := []entities.LoggedModel{
		{ModelID: "m-a", CreationTimestamp: 1, Metrics: []entities.Metric{{Key: "acc", Value: 0.5, Timestamp: 1}, {Key: "acc", Value: 0.9, Timestamp: 2, DatasetName: "ds"}}},
		{ModelID: "m-b", CreationTimestamp: 2, ModelType: &typ},
		{ModelID: "m-c", CreationTimestamp: 2, Metrics: []entities.Metric{{Key: "acc", Value: math.NaN(), Timestamp: 1}}},
		{ModelID: "m-d", CreationTimestamp: 3, Metrics: []entities.Metric{{Key: "acc", Value: 0.7, Timestamp: 1}}},
	}
	require.Equal(t, []string{"m-d", "m-b", "m-c", "m-a"}, sortedIDs(t, models))
	require.Equal(t, []string{"m-d", "m-a", "m-c", "m-b"}, sortedIDs(t, models, entities.LoggedModelOrderBy{FieldName: "metrics.acc"}))
	require.Equal(t, []string{"m-a", "m-d", "m-c", "m-b"}, sortedIDs(t, models, entities.LoggedModelOrderBy{FieldName: "metrics.acc", Descending: true}))
	require.Equal(t, []string{"m-a", "m-d", "m-b", "m-c"}, sortedIDs(t, models, entities.LoggedModelOrderBy{FieldName: "metrics.acc", DatasetName: "ds"}))
	require.Equal(t, []string{"m-b", "m-d", "m-c", "m-a"}, sortedIDs(t, models, entities.LoggedModelOrderBy{FieldName: "model_type", Descending: true}))
	require.Equal(t, []string{"m-a", "m-b", "m-c", "m-d"}, sortedIDs(t, models, entities.LoggedModelOrderBy{FieldName: "creation_time"}))
	require.Equal(t, []string{"m-d", "m-c", "m-b", "m-a"}, sortedIDs(t, models, entities.LoggedModelOrderBy{FieldName: "model_id", Descending: true}))
}

func TestParseLoggedModelOrderBy_Refusals(t *testing.T) {
	for _, o := range []entities.LoggedModelOrderBy{
		{}, {FieldName: "metric.acc"}, {FieldName: "params.p"}, {FieldName: "run_id"}, {FieldName: "metrics.acc", DatasetDigest: "d"},
	} {
		_, err := search.ParseLoggedModelOrderBy([]entities.LoggedModelOrderBy{o})
		require.ErrorIs(t, err, errs.ErrInvalidParameter, "%+v", o)
	}
}

// TestLoggedModelFilter_Match_Datasets: a metric clause looks at the first
// value of the key (on the datasets, when given); datasets alone keep the
// models with a metric on one of them; a missing value matches nothing,
// != included.
func TestLoggedModelFilter_Match_Datasets(t *testing.T) {
	m := entities.LoggedModel{ModelID: "m-1", Name: "n", Metrics: []entities.Metric{
		{Key: "acc", Value: 0.2}, {Key: "acc", Value: 0.8, DatasetName: "ds", DatasetDigest: "dg"}}}
	match := func(filter string, ds ...entities.LoggedModelDatasetFilter) bool {
		f, err := search.ParseLoggedModelFilter(filter)
		require.NoError(t, err, filter)
		return f.Match(&m, ds)
	}
	ds := entities.LoggedModelDatasetFilter{DatasetName: "ds"}
	require.False(t, match("metrics.acc > 0.5"))
	require.True(t, match("metrics.acc > 0.5", ds))
	require.False(t, match("metrics.acc > 0.5", entities.LoggedModelDatasetFilter{DatasetName: "ds", DatasetDigest: "other"}))
	require.True(t, match("", ds))
	require.False(t, match("", entities.LoggedModelDatasetFilter{DatasetName: "other"}))
	require.False(t, match("model_type != 'x'"))
	require.False(t, match("tags.t != 'x'"))
	require.True(t, match("creation_time = 0 AND last_updated_time <= 0.5"))
}
