package reststore_test

import (
	"context"
	"errors"
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

// envOf is an Options.LookupEnv over a map (the process environment is
// left alone).
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// logSome creates an experiment and a run and logs a batch; it returns the
// run id.
func logSome(t *testing.T, s store.Store, name string) string {
	t.Helper()
	ctx := context.Background()
	exp, err := s.CreateExperiment(ctx, name, "", nil)
	require.NoError(t, err)
	run, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp, UserID: "u", StartTime: 1, RunName: "r"})
	require.NoError(t, err)
	require.NoError(t, s.LogBatch(ctx, run.Info.RunID,
		[]entities.Metric{{Key: "m", Value: 1.5, Timestamp: 2, Step: 3}},
		[]entities.Param{{Key: "p", Value: "v"}}, []entities.RunTag{{Key: "t", Value: "w"}}))
	return run.Info.RunID
}

// TestStore_Postgres: the backend against a server over PostgreSQL (a
// fresh database), read back through the server by the backend itself
// and by Python's MlflowClient; PostgreSQL's own limits come back as
// typed errors (a run name over its VARCHAR(250)).
func TestStore_Postgres(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.Postgres})
	s, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(nil)})
	require.NoError(t, err)
	ctx := context.Background()
	id := logSome(t, s, "pg")
	run, err := s.GetRun(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "v", run.Data.Params["p"])
	require.Equal(t, 1.5, run.Data.Metrics["m"].Value)
	out := interoptest.RunCodeEnv(t, srv.Env(), `
import sys
from mlflow import MlflowClient
r = MlflowClient().get_run(sys.argv[1])
print(r.data.params["p"], r.data.metrics["m"], r.data.tags["t"])
`, nil, id)
	require.Equal(t, "v 1.5 w\n", string(out))
	exp, err := s.GetExperimentByName(ctx, "pg")
	require.NoError(t, err)
	_, err = s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp.ExperimentID, StartTime: 1, RunName: string(make([]byte, 300))})
	require.Error(t, err, "PostgreSQL refuses what SQLite stores")
	require.NotEmpty(t, errs.Code(err))
}

// TestStore_BasicAuth: credentials from MLFLOW_TRACKING_USERNAME/PASSWORD;
// a wrong password is ErrUnauthenticated, a user without permission on an
// experiment ErrPermissionDenied, each with the server's code.
func TestStore_BasicAuth(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite, BasicAuth: true})
	open := func(user, password string) store.Store {
		s, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(map[string]string{
			"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password,
			"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
		})})
		require.NoError(t, err)
		return s
	}
	admin := open(srv.AdminUser, srv.AdminPassword)
	id := logSome(t, admin, "guarded")
	ctx := context.Background()

	_, err := open(srv.AdminUser, "wrong-password").GetRun(ctx, id)
	require.ErrorIs(t, err, errs.ErrUnauthenticated)
	require.Equal(t, errs.CodeUnauthenticated, errs.Code(err))

	bob := open("bob", srv.CreateUser(t, "bob"))
	_, err = bob.GetRun(ctx, id)
	require.NoError(t, err, "READ is the default permission")
	err = bob.LogBatch(ctx, id, []entities.Metric{{Key: "m", Value: 2, Timestamp: 3, Step: 4}}, nil, nil)
	require.ErrorIs(t, err, errs.ErrPermissionDenied)
	require.Equal(t, errs.CodePermissionDenied, errs.Code(err))
}

// TestStore_Faults: through a proxy that loses responses after the server
// committed the request. A lost LogBatch response is retried and the
// points are there once; a lost CreateRun response is never blindly sent
// again (an UnknownOutcomeError, one run on the server); a lost
// CreateExperiment response is recovered by looking the experiment up; a
// 503 with Retry-After is waited out.
func TestStore_Faults(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	p, err := faultproxy.New(srv.URL)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	var slept []time.Duration
	s, err := reststore.Open(p.URL, &reststore.Options{
		LookupEnv: envOf(nil),
		Sleep:     func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
	})
	require.NoError(t, err)
	direct, err := reststore.Open(srv.URL, &reststore.Options{LookupEnv: envOf(nil)})
	require.NoError(t, err)
	ctx := context.Background()

	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/api/2.0/mlflow/experiments/create"), Times: 1, Fault: faultproxy.Drop()})
	expID, err := s.CreateExperiment(ctx, "lossy", "", nil)
	require.NoError(t, err, "recovered by name")
	exps, _, err := direct.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	require.Len(t, exps, 2, "Default and one lossy")

	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/api/2.0/mlflow/runs/create"), Times: 1, Fault: faultproxy.Drop()})
	_, err = s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: expID, StartTime: 1, RunName: "once"})
	var unknown *reststore.UnknownOutcomeError
	require.True(t, errors.As(err, &unknown), "%v", err)
	runs, _, err := direct.ListRuns(ctx, expID, entities.ViewAll)
	require.NoError(t, err)
	require.Len(t, runs, 1, "the run was created once, not again")
	id := runs[0].Info.RunID

	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/api/2.0/mlflow/runs/log-batch"), Times: 1, Fault: faultproxy.Drop()})
	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/api/2.0/mlflow/runs/log-batch"), Times: 1, Fault: faultproxy.Refuse(503, "1")})
	var ms []entities.Metric
	for i := range 10 {
		ms = append(ms, entities.Metric{Key: "m", Value: float64(i), Timestamp: 5, Step: int64(i)})
	}
	require.NoError(t, s.LogBatch(ctx, id, ms, nil, nil))
	h, err := direct.GetMetricHistory(ctx, id, "m")
	require.NoError(t, err)
	require.Len(t, h, 10, "a retried batch stores each point once")
	require.Contains(t, slept, time.Second, "Retry-After was honoured")
}
