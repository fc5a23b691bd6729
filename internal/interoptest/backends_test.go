package interoptest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// One PostgreSQL cluster for the package's tests.
func TestMain(m *testing.M) { os.Exit(interoptest.Main(m)) }

// start starts a server and logs how long it took to answer /health.
func start(t *testing.T, opts interoptest.ServerOptions) *interoptest.Server {
	t.Helper()
	began := time.Now()
	s := interoptest.StartServerWith(t, opts)
	t.Logf("mlflow server %+v: up in %v", opts, time.Since(began).Round(100*time.Millisecond))
	return s
}

// pyLog has Python's MlflowClient, pointed at the server by
// MLFLOW_TRACKING_URI, create an experiment and a run, log a metric and a
// small artifact, and print what it made.
const pyLog = `
import json, sys, mlflow
from mlflow import MlflowClient
c = MlflowClient()
exp = c.create_experiment(sys.argv[1])
run = c.create_run(exp)
c.log_metric(run.info.run_id, "loss", 0.25, timestamp=1700000000123, step=3)
c.log_text(run.info.run_id, "hello", "notes/a.txt")
info = mlflow.get_tracking_uri()
print(json.dumps({"tracking_uri": info, "experiment_id": exp, "run_id": run.info.run_id,
                  "artifact_uri": c.get_run(run.info.run_id).info.artifact_uri}))
`

type pyLogged struct {
	TrackingURI  string `json:"tracking_uri"`
	ExperimentID string `json:"experiment_id"`
	RunID        string `json:"run_id"`
	ArtifactURI  string `json:"artifact_uri"`
}

func logWithPython(t *testing.T, s *interoptest.Server, experiment string) pyLogged {
	t.Helper()
	var got pyLogged
	out := interoptest.RunCodeEnv(t, s.Env(), pyLog, nil, experiment)
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Equal(t, s.URL, got.TrackingURI, "Python talked to our server")
	return got
}

// history is the server's metric history of key in run.
func history(t *testing.T, s *interoptest.Server, run, key string) []map[string]any {
	t.Helper()
	var resp struct {
		Metrics []map[string]any `json:"metrics"`
	}
	dec := json.NewDecoder(bytes.NewReader(s.Get(t, "/api/2.0/mlflow/metrics/get-history?run_id="+run+"&metric_key="+key)))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&resp))
	return resp.Metrics
}

func serverInfo(t *testing.T, s *interoptest.Server) map[string]any {
	t.Helper()
	var info map[string]any
	require.NoError(t, json.Unmarshal(s.Get(t, "/api/3.0/mlflow/server-info"), &info))
	return info
}

// Each backend starts and answers /health; what Python's client logs
// through it is what the server then serves, and lands in the store and
// the artifact folder the Server names. (Postgres: in
// TestStartServerWith_Postgres_FreshDatabase.)
func TestStartServerWith_Backend_PythonLogs(t *testing.T) {
	interoptest.Python(t)
	t.Parallel()
	for _, backend := range []interoptest.Backend{interoptest.SQLite, interoptest.FileStore} {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			checkBackend(t, start(t, interoptest.ServerOptions{Backend: backend}))
		})
	}
}

func checkBackend(t *testing.T, s *interoptest.Server) {
	t.Helper()
	require.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"), s.URL)
	require.Equal(t, "OK", string(s.Get(t, "/health")))
	info := serverInfo(t, s)
	want := map[interoptest.Backend]string{interoptest.SQLite: "SqlStore", interoptest.Postgres: "SqlStore", interoptest.FileStore: "FileStore"}
	require.Equal(t, want[s.Backend], info["store_type"])
	require.Equal(t, true, info["artifact_serving_enabled"])

	got := logWithPython(t, s, "harness-"+string(s.Backend))
	points := history(t, s, got.RunID, "loss")
	require.Len(t, points, 1)
	require.Equal(t, json.Number("0.25"), points[0]["value"])
	require.Equal(t, json.Number("1700000000123"), points[0]["timestamp"])
	require.Equal(t, json.Number("3"), points[0]["step"])

	switch s.Backend {
	case interoptest.SQLite:
		require.True(t, strings.HasPrefix(s.BackendURI, "sqlite:///"), s.BackendURI)
		require.FileExists(t, strings.TrimPrefix(s.BackendURI, "sqlite:///"))
	case interoptest.Postgres:
		require.True(t, strings.HasPrefix(s.BackendURI, "postgresql+psycopg2://postgres@/"+s.Database+"?host="), s.BackendURI)
	case interoptest.FileStore:
		root := strings.TrimPrefix(s.BackendURI, "file://")
		require.FileExists(t, filepath.Join(root, got.ExperimentID, got.RunID, "metrics", "loss"))
	}
	if s.Backend == interoptest.FileStore {
		// StartServer's file:// default root, not proxied.
		require.Equal(t, "file://"+filepath.ToSlash(filepath.Join(s.ArtifactRoot, got.ExperimentID, got.RunID, "artifacts")), got.ArtifactURI)
	} else {
		require.Equal(t, "mlflow-artifacts:/"+got.ExperimentID+"/"+got.RunID+"/artifacts", got.ArtifactURI)
	}
	data, err := os.ReadFile(filepath.Join(s.ArtifactRoot, got.ExperimentID, got.RunID, "artifacts", "notes", "a.txt"))
	require.NoError(t, err, "the artifact lands under ArtifactRoot")
	require.Equal(t, "hello", string(data))
}

// Two Postgres servers get two databases: what one holds, the other does
// not, and each database (read with SQLAlchemy, as MLflow does) holds its
// server's experiments. The first also passes checkBackend.
func TestStartServerWith_Postgres_FreshDatabase(t *testing.T) {
	interoptest.Python(t)
	t.Parallel()
	a := start(t, interoptest.ServerOptions{Backend: interoptest.Postgres})
	b := start(t, interoptest.ServerOptions{Backend: interoptest.Postgres})
	require.Equal(t, interoptest.Postgres, a.Backend)
	require.NotEqual(t, a.Database, b.Database)
	require.NotEqual(t, a.BackendURI, b.BackendURI)
	checkBackend(t, a)
	b.Post(t, "/api/2.0/mlflow/experiments/create", map[string]any{"name": "only-in-b"})
	names := func(s *interoptest.Server) []string {
		var resp struct {
			Experiments []struct {
				Name string `json:"name"`
			} `json:"experiments"`
		}
		require.NoError(t, json.Unmarshal(s.Post(t, "/api/2.0/mlflow/experiments/search", map[string]any{"max_results": 100}), &resp))
		var out []string
		for _, e := range resp.Experiments {
			out = append(out, e.Name)
		}
		return out
	}
	require.ElementsMatch(t, []string{"Default", "harness-postgresql"}, names(a))
	require.ElementsMatch(t, []string{"Default", "only-in-b"}, names(b))
	const sql = `
import sys, sqlalchemy
e = sqlalchemy.create_engine(sys.argv[1])
with e.connect() as c:
    print(",".join(sorted(r[0] for r in c.execute(sqlalchemy.text("select name from experiments")))))
`
	require.Equal(t, "Default,harness-postgresql\n", string(interoptest.RunCode(t, sql, nil, a.BackendURI)))
	require.Equal(t, "Default,only-in-b\n", string(interoptest.RunCode(t, sql, nil, b.BackendURI)))
}

// The basic-auth app: the admin's password works (for Python's client
// too), a wrong one or none is 401 plain text with a Basic challenge, and a
// second user is refused (403) what its permission does not allow.
func TestStartServerWith_BasicAuth(t *testing.T) {
	interoptest.Python(t)
	t.Parallel()
	t.Run("READ", func(t *testing.T) {
		t.Parallel()
		s := start(t, interoptest.ServerOptions{BasicAuth: true})
		require.NotEmpty(t, s.AdminUser)
		require.Equal(t, "OK", string(s.Get(t, "/health")), "no login for /health")
		got := logWithPython(t, s, "admins")
		require.Len(t, history(t, s, got.RunID, "loss"), 1)

		const path = "/api/2.0/mlflow/experiments/get?experiment_id="
		for _, login := range [][2]string{{s.AdminUser, "wrong-password-123"}, {"", ""}, {"nobody", s.AdminPassword}} {
			status, body := s.Call(t, http.MethodGet, path+got.ExperimentID, nil, login[0], login[1])
			require.Equal(t, http.StatusUnauthorized, status, "login %q: %s", login[0], body)
			require.Contains(t, string(body), "You are not authenticated")
		}
		status, _ := s.Call(t, http.MethodGet, path+got.ExperimentID, nil, s.AdminUser, s.AdminPassword)
		require.Equal(t, http.StatusOK, status)

		pw := s.CreateUser(t, "bob")
		status, body := s.Call(t, http.MethodGet, path+got.ExperimentID, nil, "bob", pw)
		require.Equal(t, http.StatusOK, status, "READ is the default permission: %s", body)
		status, body = s.Call(t, http.MethodPost, "/api/2.0/mlflow/runs/create", map[string]any{"experiment_id": got.ExperimentID}, "bob", pw)
		require.Equal(t, http.StatusForbidden, status, "no EDIT on the admin's experiment: %s", body)
		require.Equal(t, "Permission denied", strings.TrimSpace(string(body)))
		status, body = s.Call(t, http.MethodPost, "/api/2.0/mlflow/experiments/create", map[string]any{"name": "bobs"}, "bob", pw)
		require.Equal(t, http.StatusOK, status, "bob may create his own: %s", body)
	})
	t.Run("NO_PERMISSIONS", func(t *testing.T) {
		t.Parallel()
		s := start(t, interoptest.ServerOptions{Backend: interoptest.FileStore, BasicAuth: true, DefaultPermission: "NO_PERMISSIONS"})
		var created struct {
			ExperimentID string `json:"experiment_id"`
		}
		require.NoError(t, json.Unmarshal(s.Post(t, "/api/2.0/mlflow/experiments/create", map[string]any{"name": "private"}), &created))
		pw := s.CreateUser(t, "eve")
		status, body := s.Call(t, http.MethodGet, "/api/2.0/mlflow/experiments/get?experiment_id="+created.ExperimentID, nil, "eve", pw)
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		require.Equal(t, "Permission denied", strings.TrimSpace(string(body)))
	})
}

// --no-serve-artifacts: the artifact service refuses (503), runs get
// server-local artifact paths under ArtifactRoot, and Python's client
// writes there itself.
func TestStartServerWith_NoServeArtifacts(t *testing.T) {
	interoptest.Python(t)
	t.Parallel()
	for _, backend := range []interoptest.Backend{interoptest.SQLite, interoptest.FileStore} {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			s := start(t, interoptest.ServerOptions{Backend: backend, NoServeArtifacts: true})
			require.Equal(t, false, serverInfo(t, s)["artifact_serving_enabled"])
			got := logWithPython(t, s, "no-serve")
			want := filepath.Join(s.ArtifactRoot, got.ExperimentID, got.RunID, "artifacts")
			require.Contains(t, []string{want, "file://" + filepath.ToSlash(want)}, got.ArtifactURI)
			data, err := os.ReadFile(filepath.Join(want, "notes", "a.txt"))
			require.NoError(t, err, "Python wrote the server-local root itself")
			require.Equal(t, "hello", string(data))

			art := "/api/2.0/mlflow-artifacts/artifacts/" + got.ExperimentID + "/" + got.RunID + "/artifacts/notes/a.txt"
			for _, method := range []string{http.MethodGet, http.MethodPut} {
				status, body := s.Call(t, method, art, nil, "", "")
				require.Equal(t, http.StatusServiceUnavailable, status, "%s %s", method, body)
				require.Contains(t, string(body), "Artifact serving is disabled")
			}
			status, body := s.Call(t, http.MethodGet, "/api/2.0/mlflow-artifacts/artifacts?path="+got.ExperimentID, nil, "", "")
			require.Equal(t, http.StatusServiceUnavailable, status, "list: %s", body)
		})
	}
}
