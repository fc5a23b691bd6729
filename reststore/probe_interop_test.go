package reststore_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/faultproxy"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
)

// pyServerInfo is what Python's own client reads from server-info
// (utils.server_info.fetch_server_info), without credentials.
const pyServerInfo = `
import json, sys
from mlflow.utils.rest_utils import MlflowHostCreds
from mlflow.utils.server_info import fetch_server_info
r = fetch_server_info(MlflowHostCreds(sys.argv[1]))
print(json.dumps({"status": r.status_code, "data": r.data}))
`

// The probe against real 3.18 servers (SQLite, FileStore, no artifact
// serving, basic-auth without credentials: server-info is public) reads
// what Python's client reads; ConcurrentBatches is false only for the
// FileStore backend. A workspace on a server without workspaces is refused
// as Python refuses it.
func TestStore_ServerInfo_RealServers(t *testing.T) {
	for _, c := range []struct {
		name string
		opts interoptest.ServerOptions
	}{
		{"sqlite", interoptest.ServerOptions{Backend: interoptest.SQLite}},
		{"filestore", interoptest.ServerOptions{Backend: interoptest.FileStore}},
		{"no-serve-artifacts", interoptest.ServerOptions{Backend: interoptest.SQLite, NoServeArtifacts: true}},
		{"basic-auth", interoptest.ServerOptions{Backend: interoptest.SQLite, BasicAuth: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := interoptest.StartServerWith(t, c.opts)
			var py struct {
				Status int            `json:"status"`
				Data   map[string]any `json:"data"`
			}
			require.NoError(t, json.Unmarshal(interoptest.RunCode(t, pyServerInfo, nil, srv.URL), &py))
			require.Equal(t, 200, py.Status)
			s, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(nil)})
			require.NoError(t, err)
			info, err := s.ServerInfo(context.Background())
			require.NoError(t, err)
			storeType, _ := py.Data["store_type"].(string)
			require.Equal(t, reststore.ServerInfo{
				Known:                     true,
				StoreType:                 storeType,
				ArtifactServingEnabled:    py.Data["artifact_serving_enabled"] == true,
				MultipartUploadsEnabled:   py.Data["multipart_uploads_enabled"] == true,
				MultipartDownloadsEnabled: py.Data["multipart_downloads_enabled"] == true,
				WorkspacesEnabled:         py.Data["workspaces_enabled"] == true,
			}, info)
			wantType := map[bool]string{true: "FileStore", false: "SqlStore"}[c.opts.Backend == interoptest.FileStore]
			require.Equal(t, wantType, info.StoreType)
			require.Equal(t, !c.opts.NoServeArtifacts, info.ArtifactServingEnabled)
			require.Equal(t, c.opts.Backend != interoptest.FileStore, s.ConcurrentBatches())
			if c.name != "sqlite" {
				return
			}
			out := interoptest.RunCodeEnv(t, append(srv.Env(), "MLFLOW_WORKSPACE=team-a"), pyWorkspaceCheck, nil, srv.URL)
			var want [2]string
			require.NoError(t, json.Unmarshal([]byte(strings.SplitN(string(out), "\n", 2)[0]), &want))
			ws, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(map[string]string{"MLFLOW_WORKSPACE": "team-a"})})
			require.NoError(t, err)
			_, err = ws.GetRun(context.Background(), "r1")
			var re *reststore.Error
			require.ErrorAs(t, err, &re)
			require.ErrorIs(t, err, errs.ErrNotSupported)
			require.Equal(t, want, [2]string{re.Code, re.Message})
		})
	}
}

// A FileStore-backed server appends the points of a retried LogBatch
// again: Python's client, whose response is lost once, stores each point
// twice. Ours does not re-send the batch there (an UnknownOutcomeError),
// so each point is stored once.
func TestStore_LogBatch_FileStoreServerNotDuplicated(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.FileStore})
	p, err := faultproxy.New(srv.URL)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	direct, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(nil)})
	require.NoError(t, err)
	ctx := context.Background()
	exp, err := direct.CreateExperiment(ctx, "fs", "", nil)
	require.NoError(t, err)
	newRun := func() string {
		r, err := direct.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp, StartTime: 1})
		require.NoError(t, err)
		return r.Info.RunID
	}
	logBatch := "/api/2.0/mlflow/runs/log-batch"

	pyRun := newRun()
	p.Inject(faultproxy.Rule{Match: faultproxy.Path(logBatch), Times: 1, Fault: faultproxy.Drop()})
	interoptest.RunCodeEnv(t, []string{"MLFLOW_TRACKING_URI=" + p.URL}, `
import sys
from mlflow import MlflowClient
from mlflow.entities import Metric
MlflowClient().log_batch(sys.argv[1], metrics=[Metric("m", float(i), 5, i) for i in range(10)])
`, nil, pyRun)
	h, err := direct.GetMetricHistory(ctx, pyRun, "m")
	require.NoError(t, err)
	require.Len(t, h, 20, "Python re-sent the batch and the FileStore appended it twice")

	goRun := newRun()
	s, err := reststore.Open(p.URL, &reststore.Options{LookupEnv: envOf(nil),
		Sleep: func(context.Context, time.Duration) error { return nil }})
	require.NoError(t, err)
	p.Inject(faultproxy.Rule{Match: faultproxy.Path(logBatch), Times: 1, Fault: faultproxy.Drop()})
	var ms []entities.Metric
	for i := range 10 {
		ms = append(ms, entities.Metric{Key: "m", Value: float64(i), Timestamp: 5, Step: int64(i)})
	}
	err = s.LogBatch(ctx, goRun, ms, nil, nil)
	var unknown *reststore.UnknownOutcomeError
	require.True(t, errors.As(err, &unknown), "%v", err)
	h, err = direct.GetMetricHistory(ctx, goRun, "m")
	require.NoError(t, err)
	require.Len(t, h, 10, "the batch reached the server once")

	p.Inject(faultproxy.Rule{Match: faultproxy.Path(logBatch), Times: 1, Fault: faultproxy.Drop()})
	require.NoError(t, s.LogBatch(ctx, goRun, nil, nil, []entities.RunTag{{Key: "t", Value: "v"}}), "a batch of tags is re-sent")
}

// On a server without artifact serving, a run whose artifact URI is
// mlflow-artifacts: is refused by RunArtifacts, which says why.
func TestStore_RunArtifacts_NoServeArtifactsSaidFirst(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite, NoServeArtifacts: true})
	s, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(nil)})
	require.NoError(t, err)
	ctx := context.Background()
	exp, err := s.CreateExperiment(ctx, "proxied", "mlflow-artifacts:/proxied", nil)
	require.NoError(t, err)
	r, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp, StartTime: 1})
	require.NoError(t, err)
	_, err = s.RunArtifacts(ctx, r.Info.RunID)
	require.ErrorIs(t, err, errs.ErrNotSupported)
	require.ErrorContains(t, err, "artifact_serving_enabled: false")
	require.ErrorContains(t, err, r.Info.ArtifactURI)
}

// A tracking URI that misses the server's path prefix gets Flask's 404
// page from the real server for every call: an EndpointNotFoundError
// saying to check the URI (its /version is not found either).
func TestStore_RealServer_WrongPrefixEndpointNotFound(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	s, err := reststore.Open(srv.URL+"/mlflow", &reststore.Options{LookupEnv: envOf(nil)})
	require.NoError(t, err)
	_, err = s.GetRun(context.Background(), "r1")
	var nf *reststore.EndpointNotFoundError
	require.ErrorAs(t, err, &nf)
	require.ErrorIs(t, err, errs.ErrNotSupported)
	require.Equal(t, "/api/2.0/mlflow/runs/get", nf.Path)
	require.Equal(t, "", nf.ServerVersion)
	require.Equal(t, 404, nf.Err.Status)
	require.Contains(t, nf.Err.Message, "The requested URL was not found on the server")
	require.ErrorContains(t, err, "check its path prefix")
	info, err := s.ServerInfo(context.Background())
	require.NoError(t, err)
	require.False(t, info.Known)
}

// Against a real server with workspaces (MLFLOW_ENABLE_WORKSPACES=true),
// MLFLOW_WORKSPACE puts our experiments in the workspace Python's client
// uses with the same setting, and only there.
func TestStore_Workspace_RealServer(t *testing.T) {
	t.Setenv("MLFLOW_ENABLE_WORKSPACES", "true") // read by the server started next
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	resp, err := http.Post(srv.URL+"/api/3.0/mlflow/workspaces", "application/json", strings.NewReader(`{"name":"team-a"}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	ctx := context.Background()
	pyEnv := []string{"MLFLOW_TRACKING_URI=" + srv.URL, "MLFLOW_WORKSPACE= team-a "}
	interoptest.RunCodeEnv(t, pyEnv, `
from mlflow import MlflowClient
MlflowClient().create_experiment("py-exp")
`, nil)
	ws, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(map[string]string{"MLFLOW_WORKSPACE": " team-a "})})
	require.NoError(t, err)
	info, err := ws.ServerInfo(ctx)
	require.NoError(t, err)
	require.True(t, info.WorkspacesEnabled)
	e, err := ws.GetExperimentByName(ctx, "py-exp")
	require.NoError(t, err)
	_, err = ws.CreateExperiment(ctx, "go-exp", "", nil)
	require.NoError(t, err)

	plain, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(nil)})
	require.NoError(t, err)
	_, err = plain.GetExperimentByName(ctx, "py-exp")
	require.ErrorIs(t, err, errs.ErrNotFound, "not in the default workspace")

	out := interoptest.RunCodeEnv(t, pyEnv, `
from mlflow import MlflowClient
print(sorted(e.name for e in MlflowClient().search_experiments()))
`, nil)
	require.Equal(t, "['go-exp', 'py-exp']\n", string(out))
	require.Equal(t, "py-exp", e.Name)
}
