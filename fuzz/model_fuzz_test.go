package fuzz_test

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/search"
)

// FuzzDecodeLoggedModelMeta: arbitrary bytes never panic; an accepted
// logged-model meta re-encodes (with its lifecycle stage) to one that
// decodes to the same model.
func FuzzDecodeLoggedModelMeta(f *testing.F) {
	f.Add([]byte("artifact_location: file:///x/1/models/m-1/artifacts\ncreation_timestamp: 1\nexperiment_id: '1'\nlast_updated_timestamp: 2\nlifecycle_stage: active\nmodel_id: m-1\nmodel_type: null\nname: n\nsource_run_id: null\nstatus: 1\nstatus_message: null\n"))
	f.Add([]byte("model_id: m-1\nexperiment_id: 1\nstatus: 2\nmodel_type: agent\nsource_run_id: r\n"))
	f.Add([]byte("model_id: m-1\nlifecycle_stage: deleted\nstatus: 9\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := layout.DecodeLoggedModelMeta(data)
		if err != nil {
			if !errors.Is(err, errs.ErrCorrupt) {
				t.Fatalf("%q: error %v is not ErrCorrupt", data, err)
			}
			return
		}
		stage := layout.ModelStageActive
		if m.LifecycleStage == entities.StageDeleted {
			stage = layout.ModelStageDeleted
		}
		again, err := layout.DecodeLoggedModelMeta(layout.EncodeLoggedModelMeta(m, stage))
		if err != nil {
			t.Fatalf("re-encoded meta of %q: %v", data, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("%q: %+v then %+v", data, m, again)
		}
	})
}

// FuzzLoggedModelFilter: the logged-model filter parser never panics and
// refuses only with ErrInvalidParameter; what it accepts matches a model
// (with and without datasets) without panicking.
func FuzzLoggedModelFilter(f *testing.F) {
	for _, s := range []string{
		"name = 'a'", "metrics.acc > 0.5 AND params.p LIKE 'x%'", "status IN ('READY', 'FAILED')",
		"creation_time > 5", "last_updated_timestamp <= 10.5", "datasets.name > 'b'", "tags.t IS NULL",
		"model_type != 'agent'", "source_run_id NOT IN ('r')", "name <> 'x'", "datasets.digest = 'd'",
		"tags.`a b` ILIKE '%_'", "metrics.a > 1 OR x",
	} {
		f.Add(s)
	}
	mt := "agent"
	model := entities.LoggedModel{ModelID: "m-1", Name: "b", ModelType: &mt, Status: entities.LoggedModelReady,
		CreationTimestamp: 7, Params: map[string]string{"p": "x%"}, Tags: map[string]string{"t": "v"},
		Metrics: []entities.Metric{{Key: "acc", Value: math.NaN()}, {Key: "acc", Value: 1, DatasetName: "ds"}}}
	ds := []entities.LoggedModelDatasetFilter{{DatasetName: "ds"}}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := search.ParseLoggedModelFilter(s)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalidParameter) {
				t.Fatalf("%q: error %v is not ErrInvalidParameter", s, err)
			}
			return
		}
		flt.Match(&model, nil)
		flt.Match(&model, ds)
	})
}
