package reststore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// Every endpoint has the method, path and retry class Python MLflow 3.18
// computes from its service descriptors and _RETRY_SAFE_POST_RESPONSES.
func TestEndpoints_MatchPython(t *testing.T) {
	out := interoptest.RunCode(t, `
import json
import mlflow.protos.service_pb2 as pb
from mlflow.utils.rest_utils import extract_api_info_for_service, _RETRY_SAFE_POST_RESPONSES
info = extract_api_info_for_service(pb.MlflowService, "/api/2.0")
res = {}
for name in ["CreateExperiment", "GetExperiment", "GetExperimentByName", "SearchExperiments", "UpdateExperiment",
             "DeleteExperiment", "RestoreExperiment", "SetExperimentTag", "DeleteExperimentTag", "CreateRun", "GetRun",
             "UpdateRun", "DeleteRun", "RestoreRun", "SearchRuns", "LogMetric", "LogParam", "SetTag", "DeleteTag",
             "LogBatch", "LogInputs", "LogOutputs", "GetMetricHistory", "CreateLoggedModel", "GetLoggedModel",
             "FinalizeLoggedModel", "DeleteLoggedModel", "SearchLoggedModels", "SetLoggedModelTags",
             "DeleteLoggedModelTag", "LogLoggedModelParamsRequest"]:
    api = getattr(pb, name)
    path, method = info[api]
    safe = method != "POST" or api.Response.DESCRIPTOR.full_name in _RETRY_SAFE_POST_RESPONSES
    res[name.replace("Request", "")] = [method, path, safe]
print(json.dumps(res))
`, nil)
	var want map[string][3]any
	require.NoError(t, json.Unmarshal(out, &want))
	require.Len(t, allEndpoints, len(want))
	for _, ep := range allEndpoints {
		w, ok := want[ep.rpc]
		require.True(t, ok, ep.rpc)
		require.Equal(t, w[0], ep.method, ep.rpc)
		require.Equal(t, w[1], ep.path, ep.rpc)
		require.Equal(t, w[2], ep.class == retrySafe, ep.rpc)
	}
}

// The code of a non-JSON error answer is rest_utils.get_error_code's.
func TestStatusCode_MatchesPython(t *testing.T) {
	var statuses []string
	for s := 100; s < 600; s++ {
		statuses = append(statuses, fmt.Sprint(s))
	}
	out := interoptest.RunCode(t, `
import sys
from mlflow.utils.rest_utils import get_error_code
from mlflow.protos.databricks_pb2 import ErrorCode
for s in sys.argv[1:]:
    print(s, ErrorCode.Name(get_error_code(int(s))))
`, nil, statuses...)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var s int
		var code string
		_, err := fmt.Sscan(line, &s, &code)
		require.NoError(t, err)
		require.Equal(t, code, statusCode(s), "status %d", s)
	}
}

// backoff is urllib3 2.8's Retry.get_backoff_time (with jitter fixed by
// patching random.random) for every failure count, several factors and
// jitters.
func TestBackoff_MatchesUrllib3(t *testing.T) {
	out := interoptest.RunCode(t, `
import json, random
from urllib3.util import Retry
from urllib3.util.retry import RequestHistory
random.random = lambda: 0.25
res = []
for factor in [0, 1, 2, 5, 120, -3]:
    for jitter in [0.0, 1.0, 7.5, -2.0]:
        for n in range(1, 12):
            r = Retry(total=20, backoff_factor=factor, backoff_jitter=jitter,
                      history=tuple(RequestHistory("GET", "/", None, 503, None) for _ in range(n)))
            res.append([factor, jitter, n, r.get_backoff_time()])
print(json.dumps(res))
`, nil)
	var cases [][4]float64
	require.NoError(t, json.Unmarshal(out, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		want := time.Duration(c[3] * float64(time.Second))
		got := backoff(int(c[2]), int(c[0]), c[1], 0.25)
		require.InDelta(t, float64(want), float64(got), 1000, "factor %v jitter %v n %v", c[0], c[1], c[2])
	}
}
