package layout_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/layout"
)

// TestEncodeExternalModelSpec_Interop: the MLmodel of an external model is
// byte for byte what Python 3.18's create_external_model saves
// (get_external_mlflow_model_spec(...).save) for the same model and
// creation time: with and without a source run, microseconds zero or not,
// artifact locations YAML must quote.
func TestEncodeExternalModelSpec_Interop(t *testing.T) {
	run := "0123456789abcdef0123456789abcdef"
	cases := []struct {
		loc     string
		run     *string
		created time.Time
	}{
		{"file:///tmp/mlruns/0/models/m-0123456789abcdef0123456789abcdef/artifacts", nil, time.Date(2026, 12, 7, 1, 29, 46, 226708000, time.UTC)},
		{"file:///tmp/ml runs/1/models/m-0123456789abcdef0123456789abcdef/artifacts", &run, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"file:///tmp/a: b/'q'/#x/models/m-1/artifacts", nil, time.Date(1999, 12, 31, 23, 59, 59, 1000, time.UTC)},
		{"/plain/path/yes", &run, time.Date(2026, 6, 1, 0, 0, 0, 999999000, time.FixedZone("x", 3600))},
	}
	type pyCase struct {
		Loc     string  `json:"loc"`
		Run     *string `json:"run"`
		Created string  `json:"created"` // ISO, UTC
	}
	var in []pyCase
	for _, c := range cases {
		in = append(in, pyCase{c.loc, c.run, c.created.UTC().Format("2006-01-02T15:04:05.000000")})
	}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	out := interoptest.RunCode(t, `
import datetime, json, sys
from mlflow.entities import LoggedModel
from mlflow.models.utils import get_external_mlflow_model_spec
res = []
for c in json.load(sys.stdin):
    m = LoggedModel(experiment_id="0", model_id="m-0123456789abcdef0123456789abcdef", name="x",
                    artifact_location=c["loc"], creation_timestamp=1, last_updated_timestamp=1,
                    source_run_id=c["run"])
    spec = get_external_mlflow_model_spec(m)
    # Model.__init__ stores str(datetime.utcnow()); the same for a fixed time
    spec.utc_time_created = str(datetime.datetime.fromisoformat(c["created"]))
    res.append(spec.to_yaml())
print(json.dumps(res))
`, data)
	var want []string
	require.NoError(t, json.Unmarshal(out, &want))
	require.Len(t, want, len(cases))
	for i, c := range cases {
		m := entities.LoggedModel{ModelID: "m-0123456789abcdef0123456789abcdef", ArtifactLocation: c.loc, SourceRunID: c.run}
		require.Equal(t, want[i], string(layout.EncodeExternalModelSpec(m, c.created)), "case %d", i)
	}
}
