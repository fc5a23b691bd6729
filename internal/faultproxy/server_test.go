package faultproxy_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/faultproxy"
	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// In front of a real `mlflow server`, with Python's MlflowClient as the
// client: the server accepts the proxied requests (its host check passes),
// a 429 with Retry-After is retried by Python (CreateExperiment is retried
// on 429 only), and a dropped CreateRun response fails Python's call although
// the server has created the run: the case a client must not re-send.
func TestProxy_Inject_MLflowServer(t *testing.T) {
	s := interoptest.StartServerWith(t, interoptest.ServerOptions{})
	p := startProxy(t, s.URL)
	const create = "/api/2.0/mlflow/experiments/create"
	const createRun = "/api/2.0/mlflow/runs/create"
	limited := p.Inject(faultproxy.Rule{Match: faultproxy.Path(create), Times: 1, Fault: faultproxy.Refuse(http.StatusTooManyRequests, "1")})
	dropped := p.Inject(faultproxy.Rule{Match: faultproxy.Path(createRun), Times: 1, Fault: faultproxy.Drop()})
	out := interoptest.RunCodeEnv(t, []string{"MLFLOW_TRACKING_URI=" + p.URL, "MLFLOW_HTTP_REQUEST_MAX_RETRIES=2"}, `
import json
from mlflow import MlflowClient
c = MlflowClient()
exp = c.create_experiment("through-the-proxy")
try:
    c.create_run(exp)
    err = ""
except Exception as e:
    err = type(e).__name__ + ": " + str(e)
print(json.dumps({"experiment_id": exp, "error": err}))
`, nil)
	var got struct {
		ExperimentID string `json:"experiment_id"`
		Error        string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Equal(t, 1, p.Fired(limited))
	require.Equal(t, 2, p.Count(create), "Python retried after the 429")
	require.Equal(t, 1, p.Fired(dropped))
	require.NotEmpty(t, got.Error, "Python's create_run fails without a response")
	require.Equal(t, 1, p.Count(createRun), "and does not re-send it")

	var runs struct {
		Runs []json.RawMessage `json:"runs"`
	}
	body := s.Post(t, "/api/2.0/mlflow/runs/search", map[string]any{"experiment_ids": []string{got.ExperimentID}})
	require.NoError(t, json.Unmarshal(body, &runs))
	require.Len(t, runs.Runs, 1, "the server committed the run whose response was lost")
	require.Contains(t, got.Error, "Remote end closed connection without response", "a lost answer, not a refusal")
}
