package mlenv_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/mlenv"
	"github.com/mlruns-go/mlruns/internal/pyenv"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// TestBoolInt_Interop: for each text, Bool, Int and Float give Python's
// value or Python's ValueError message (MLFLOW_TRUNCATE_LONG_VALUES,
// MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH and
// MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL read by Python 3.18 itself).
func TestBoolInt_Interop(t *testing.T) {
	py := interoptest.Python(t)
	values := []string{"true", "TRUE", "True", "1", "false", "0", "FALSE", "yes", "no", "", " true", "2",
		"12", " 12 ", "+7", "-3", "1_000", "1__0", "_1", "1_", "12.0", "0x10", "abc", "++1", "\t5\n",
		"0.5", " 2.5 ", "1e3", "1_0.5", "nan", "-inf", "Infinity", ".5", "5.", "1e", "0.1.2"}
	type pyResult struct {
		Bool    *bool   `json:"bool"`
		BoolErr *string `json:"bool_err"`
		Int     *int    `json:"int"`
		IntErr  *string `json:"int_err"`
		// Float is a string: JSON has no nan or inf.
		Float    *string `json:"float"`
		FloatErr *string `json:"float_err"`
	}
	in, err := json.Marshal(values)
	require.NoError(t, err)
	cmd := exec.Command(py, "-c", `
import json, os, sys
from mlflow.environment_variables import MLFLOW_TRUNCATE_LONG_VALUES as B, MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH as I
from mlflow.environment_variables import MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL as F
out = []
for v in json.load(sys.stdin):
    os.environ["MLFLOW_TRUNCATE_LONG_VALUES"] = v
    os.environ["MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH"] = v
    os.environ["MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"] = v
    r = {}
    try: r["float"] = repr(F.get())
    except ValueError as e: r["float_err"] = str(e)
    try: r["bool"] = B.get()
    except ValueError as e: r["bool_err"] = str(e)
    try: r["int"] = I.get()
    except ValueError as e: r["int_err"] = str(e)
    out.append(r)
print(json.dumps(out))
`)
	cmd.Env = pyenv.Env()
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	require.NoError(t, err)
	var wants []pyResult
	require.NoError(t, json.Unmarshal(out, &wants), "%s", out)
	require.Len(t, wants, len(values))
	for i, v := range values {
		want := wants[i]
		t.Setenv("MLFLOW_TRUNCATE_LONG_VALUES", v)
		t.Setenv("MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH", v)
		b, berr := mlenv.Bool("MLFLOW_TRUNCATE_LONG_VALUES", true)
		requireAsPython(t, v, want.Bool, want.BoolErr, b, berr)
		n, ierr := mlenv.Int("MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH", 2048)
		requireAsPython(t, v, want.Int, want.IntErr, n, ierr)
		t.Setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", v)
		f, ferr := mlenv.Float("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", 10)
		requireAsPython(t, v, want.Float, want.FloatErr, pynum.FormatFloat(f), ferr)
	}
}

// requireAsPython requires Python's value, or an ErrInvalidParameter error
// whose text is Python's ValueError message.
func requireAsPython[T any](t *testing.T, text string, want *T, wantErr *string, got T, err error) {
	t.Helper()
	if wantErr != nil {
		require.ErrorIs(t, err, errs.ErrInvalidParameter, "%q", text)
		require.Equal(t, "mlruns: "+*wantErr, err.Error())
		return
	}
	require.NoError(t, err, "%q", text)
	require.Equal(t, *want, got, "%q", text)
}

func TestStringFrom_UnsetEmptySet(t *testing.T) {
	env := map[string]string{"EMPTY": "", "SET": "node_0"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	require.Equal(t, "def", mlenv.StringFrom(lookup, "UNSET", "def"))
	require.Equal(t, "", mlenv.StringFrom(lookup, "EMPTY", "def"))
	require.Equal(t, "node_0", mlenv.StringFrom(lookup, "SET", "def"))
}
