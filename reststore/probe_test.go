package reststore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
)

const serverInfoPath = "/api/3.0/mlflow/server-info"

// capServer is a tracking server by route: answers maps a path to its
// handler (others get {}), and every request is recorded with its
// X-MLFLOW-WORKSPACE header ("-" when absent).
type capServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]http.HandlerFunc
	seen    []string // "METHOD path | workspace"
}

func newCapServer(t *testing.T, answers map[string]http.HandlerFunc) *capServer {
	t.Helper()
	c := &capServer{answers: answers}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		ws := "-"
		if v, ok := r.Header["X-Mlflow-Workspace"]; ok {
			ws = strings.Join(v, ",")
		}
		c.mu.Lock()
		c.seen = append(c.seen, r.Method+" "+r.URL.Path+" | "+ws)
		h := c.answers[r.URL.Path]
		c.mu.Unlock()
		if h == nil {
			h = reply(200, `{}`)
		}
		h(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *capServer) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

func (c *capServer) reset() {
	c.mu.Lock()
	c.seen = nil
	c.mu.Unlock()
}

// The probe is one GET of server-info shared by concurrent callers and
// kept; a server without it (404) is Known false and kept too; a failure
// is an error and asked again; Open sends nothing, even to a server that
// is down.
func TestStore_ServerInfo_Probe(t *testing.T) {
	ctx := context.Background()
	t.Run("answer shared and kept", func(t *testing.T) {
		release := make(chan struct{})
		c := newCapServer(t, map[string]http.HandlerFunc{serverInfoPath: func(w http.ResponseWriter, r *http.Request) {
			<-release
			reply(200, `{"store_type":"FileStore","workspaces_enabled":false,"multipart_uploads_enabled":true,`+
				`"multipart_downloads_enabled":false,"artifact_serving_enabled":true,"features_enabled":{"gateway":true}}`)(w, r)
		}})
		s, _ := open(t, c.URL, nil)
		var wg sync.WaitGroup
		infos := make([]reststore.ServerInfo, 16)
		for i := range infos {
			wg.Go(func() {
				var err error
				infos[i], err = s.ServerInfo(ctx)
				require.NoError(t, err)
			})
		}
		time.Sleep(50 * time.Millisecond)
		close(release)
		wg.Wait()
		want := reststore.ServerInfo{Known: true, StoreType: "FileStore", ArtifactServingEnabled: true, MultipartUploadsEnabled: true}
		for _, got := range infos {
			require.Equal(t, want, got)
		}
		require.True(t, infos[0].FileStoreBacked())
		_, err := s.ServerInfo(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"GET " + serverInfoPath + " | -"}, c.requests())
	})
	t.Run("old server", func(t *testing.T) {
		c := newCapServer(t, map[string]http.HandlerFunc{serverInfoPath: reply(404, werkzeugNotFound, "Content-Type", "text/html; charset=utf-8")})
		s, _ := open(t, c.URL, nil)
		for range 2 {
			info, err := s.ServerInfo(ctx)
			require.NoError(t, err)
			require.Equal(t, reststore.ServerInfo{}, info)
			require.False(t, info.FileStoreBacked())
		}
		require.Len(t, c.requests(), 1)
	})
	t.Run("failures asked again", func(t *testing.T) {
		for _, h := range []http.HandlerFunc{reply(503, "busy"), reply(200, "<html>login</html>"), reply(200, `["x"]`)} {
			c := newCapServer(t, map[string]http.HandlerFunc{serverInfoPath: h})
			s, sl := open(t, c.URL, nil)
			_, err := s.ServerInfo(ctx)
			require.Error(t, err)
			require.ErrorContains(t, err, "Failed to query "+serverInfoPath)
			_, err = s.ServerInfo(ctx)
			require.Error(t, err)
			require.Len(t, c.requests(), 2, "not kept, and not retried within a call")
			require.Empty(t, sl.got(), "no backoff")
		}
	})
	t.Run("server down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		url := "http://" + l.Addr().String()
		require.NoError(t, l.Close())
		start := time.Now()
		s, sl := open(t, url, nil)
		_, err = s.ServerInfo(ctx)
		require.Error(t, err)
		require.ErrorIs(t, err, errs.ErrInternal)
		require.Empty(t, sl.got())
		require.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("bounded by 3 s", func(t *testing.T) {
		c := newCapServer(t, map[string]http.HandlerFunc{serverInfoPath: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }})
		s, _ := open(t, c.URL, nil)
		start := time.Now()
		_, err := s.ServerInfo(ctx)
		require.Error(t, err)
		require.Less(t, time.Since(start), 5*time.Second)
		require.GreaterOrEqual(t, time.Since(start), 3*time.Second)
	})
}

// werkzeugNotFound is Flask's 404 page (werkzeug 2.1 and later, as MLflow
// 2.x servers and the 3.18 server send for a route they do not have);
// TestStore_OldServer_FlaskBodiesMatchWerkzeug checks it against the
// installed werkzeug.
const werkzeugNotFound = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n" +
	"<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"

// werkzeugNotFoundOld is the page of werkzeug before 2.1 (MLflow 1.x and
// early 2.x installations).
const werkzeugNotFoundOld = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n" +
	"<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"

// The 404 page the test servers send is the installed werkzeug's.
func TestStore_OldServer_FlaskBodiesMatchWerkzeug(t *testing.T) {
	out := interoptest.RunCode(t, `
import sys
from werkzeug.exceptions import NotFound
r = NotFound().get_response()
sys.stdout.write(r.headers["Content-Type"] + "\n" + r.get_data(as_text=True))
`, nil)
	require.Equal(t, "text/html; charset=utf-8\n"+werkzeugNotFound, string(out))
}

// An older server (MLflow 2.x: no logged models, no runs/outputs, no
// server-info) answers Flask's 404 page: the call fails with an
// *EndpointNotFoundError naming the endpoint and the server's version.
func TestStore_OldServer_EndpointNotFound(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, body, ctype, version string
		wantVersion, wantText      string
	}{
		{"werkzeug 3", werkzeugNotFound, "text/html; charset=utf-8", "2.22.1", "2.22.1", "the server runs MLflow 2.22.1, older than the MLflow 3.18 API"},
		{"werkzeug 2.0", werkzeugNotFoundOld, "text/html; charset=utf-8", "2.9.2\n", "2.9.2", "the server runs MLflow 2.9.2, older"},
		{"plain text, no version", "404 page not found", "text/plain", "", "", "its version could not be read from /version"},
		{"json code", `{"error_code":"ENDPOINT_NOT_FOUND","message":"No API found for 'POST /mlflow/runs/outputs'"}`, "application/json", "<html>no</html>", "",
			"or the tracking URI does not point at the MLflow server itself"},
	} {
		t.Run(c.name, func(t *testing.T) {
			old := map[string]http.HandlerFunc{
				"/api/2.0/mlflow/runs/get": reply(200, okRun),
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/version" && c.version != "" && !strings.HasPrefix(c.version, "<"):
					reply(200, c.version, "Content-Type", "text/html; charset=utf-8")(w, r)
				case r.URL.Path == "/version" && c.version != "":
					reply(200, c.version)(w, r)
				case old[r.URL.Path] != nil:
					old[r.URL.Path](w, r)
				default:
					reply(404, c.body, "Content-Type", c.ctype)(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			s, _ := open(t, srv.URL, nil)
			_, err := s.GetRun(ctx, "r1")
			require.NoError(t, err, "the endpoints it has work")

			err = s.LogOutputs(ctx, "r1", []entities.ModelOutput{{ModelID: "m-1", Step: 1}})
			var nf *reststore.EndpointNotFoundError
			require.ErrorAs(t, err, &nf)
			require.ErrorIs(t, err, errs.ErrNotSupported)
			require.Equal(t, "LogOutputs", nf.RPC)
			require.Equal(t, "POST", nf.Method)
			require.Equal(t, "/api/2.0/mlflow/runs/outputs", nf.Path)
			require.Equal(t, c.wantVersion, nf.ServerVersion)
			require.Equal(t, "ENDPOINT_NOT_FOUND", errs.Code(err))
			require.ErrorContains(t, err, "no endpoint POST /api/2.0/mlflow/runs/outputs (HTTP 404 ENDPOINT_NOT_FOUND)")
			require.ErrorContains(t, err, c.wantText)

			_, err = s.CreateLoggedModel(ctx, "0", storeModel("x"))
			require.ErrorAs(t, err, &nf)
			require.Equal(t, "/api/2.0/mlflow/logged-models", nf.Path)
			_, err = s.GetLoggedModel(ctx, "m-1")
			require.ErrorAs(t, err, &nf)
			require.Equal(t, "GET", nf.Method)
			require.Equal(t, "/api/2.0/mlflow/logged-models/m-1", nf.Path)

			info, err := s.ServerInfo(ctx)
			require.NoError(t, err)
			require.False(t, info.Known, "no server-info: unknown")
		})
	}
}

// On a FileStore-backed server a LogBatch carrying metrics, and a
// LogMetric, are not sent again once they may have reached the server (it
// would append the points twice): an UnknownOutcomeError, as for CreateRun.
// A batch of params and tags only, and any call to a SQL-backed or an
// unknown server, are retried as before.
func TestStore_LogBatch_FileStoreServerNotResent(t *testing.T) {
	ctx := context.Background()
	metrics := []entities.Metric{{Key: "m", Value: 1, Timestamp: 1}}
	calls := map[string]func(*reststore.Store) error{
		"metrics": func(s *reststore.Store) error { return s.LogBatch(ctx, "r1", metrics, nil, nil) },
		"tags": func(s *reststore.Store) error {
			return s.LogBatch(ctx, "r1", nil, []entities.Param{{Key: "p", Value: "v"}}, []entities.RunTag{{Key: "t", Value: "v"}})
		},
		"log-metric": func(s *reststore.Store) error { return s.LogMetric(ctx, "r1", metrics[0]) },
	}
	for _, c := range []struct {
		name     string
		info     http.HandlerFunc
		fault    http.HandlerFunc
		resentOf map[string]bool
	}{
		{"FileStore, hang up", reply(200, `{"store_type":"FileStore"}`), hangUp, map[string]bool{"tags": true}},
		{"FileStore, 500", reply(200, `{"store_type":"FileStore"}`), reply(500, `{"error_code":"INTERNAL_ERROR","message":"m"}`), map[string]bool{"tags": true}},
		{"SqlStore, hang up", reply(200, `{"store_type":"SqlStore"}`), hangUp, map[string]bool{"metrics": true, "tags": true, "log-metric": true}},
		{"old server, hang up", reply(404, werkzeugNotFound), hangUp, map[string]bool{"metrics": true, "tags": true, "log-metric": true}},
		{"server-info fails, 500", reply(502, "bad gateway"), reply(500, `{"error_code":"INTERNAL_ERROR","message":"m"}`), map[string]bool{"metrics": true, "tags": true, "log-metric": true}},
	} {
		for name, call := range calls {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				var writes atomic.Int32 // counted before the answer goes out
				write := func(w http.ResponseWriter, r *http.Request) {
					writes.Add(1)
					c.fault(w, r)
				}
				srv := newCapServer(t, map[string]http.HandlerFunc{
					serverInfoPath:                    c.info,
					"/api/2.0/mlflow/runs/log-batch":  write,
					"/api/2.0/mlflow/runs/log-metric": write,
				})
				s, _ := open(t, srv.URL, env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"})
				err := call(s)
				require.Error(t, err)
				var unknown *reststore.UnknownOutcomeError
				if c.resentOf[name] {
					require.Equal(t, int32(3), writes.Load())
					require.False(t, errors.As(err, &unknown), "%v", err)
				} else {
					require.Equal(t, int32(1), writes.Load())
					require.ErrorAs(t, err, &unknown)
					require.ErrorContains(t, err, "outcome is unknown")
				}
			})
		}
	}
}

// A run whose artifacts go through the proxy of a server that says it
// does not serve artifacts is refused before any transfer, saying so; a
// server that does not say is tried, and its 503 mapped, as before.
func TestStore_RunArtifacts_ServingDisabledSaidFirst(t *testing.T) {
	ctx := context.Background()
	run := strings.Replace(okRun, `"artifact_uri":"a"`, `"artifact_uri":"mlflow-artifacts:/0/r1/artifacts"`, 1)
	disabled := reply(503, `{"error_code":"TEMPORARILY_UNAVAILABLE","message":"Artifact serving is disabled"}`)
	upload := "/api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/x.txt"
	for _, c := range []struct {
		name  string
		info  http.HandlerFunc
		early bool
	}{
		{"says disabled", reply(200, `{"store_type":"SqlStore","artifact_serving_enabled":false}`), true},
		{"old server", reply(404, werkzeugNotFound), false},
		{"server-info fails", reply(500, "x"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newCapServer(t, map[string]http.HandlerFunc{serverInfoPath: c.info, "/api/2.0/mlflow/runs/get": reply(200, run), upload: disabled})
			s, _ := open(t, srv.URL, nil)
			a, err := s.RunArtifacts(ctx, "r1")
			if c.early {
				require.ErrorIs(t, err, errs.ErrNotSupported)
				require.ErrorContains(t, err, "artifact_serving_enabled: false")
				require.ErrorContains(t, err, "Artifact serving is disabled on the server at "+srv.URL)
				require.ErrorContains(t, err, "mlflow-artifacts:/0/r1/artifacts")
				require.NotContains(t, strings.Join(srv.requests(), "\n"), "mlflow-artifacts")
				return
			}
			require.NoError(t, err)
			err = a.Put(ctx, "x.txt", strings.NewReader("x"))
			require.ErrorIs(t, err, errs.ErrNotSupported)
			require.ErrorContains(t, err, "Artifact serving is disabled")
		})
	}
	t.Run("another host", func(t *testing.T) {
		other := strings.Replace(okRun, `"artifact_uri":"a"`, `"artifact_uri":"mlflow-artifacts://127.0.0.1:1/0/r1/artifacts"`, 1)
		srv := newCapServer(t, map[string]http.HandlerFunc{
			serverInfoPath: reply(200, `{"artifact_serving_enabled":false}`), "/api/2.0/mlflow/runs/get": reply(200, other)})
		s, _ := open(t, srv.URL, nil)
		_, err := s.RunArtifacts(ctx, "r1")
		require.NoError(t, err, "the tracking server's server-info says nothing of another host")
	})
}

// pyWorkspaceCalls is what Python's client does against a capServer: the
// calls Go makes in goWorkspaceCalls.
const pyWorkspaceCalls = `
import sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
c.get_run("r1")
c.log_text("r1", "x", "mlflow/workspaces/a.txt")
c.log_text("r1", "x", "b.txt")
c.list_artifacts("r1")
`

func goWorkspaceCalls(t *testing.T, s *reststore.Store) {
	ctx := context.Background()
	_, err := s.GetRun(ctx, "r1")
	require.NoError(t, err)
	a, err := s.RunArtifacts(ctx, "r1")
	require.NoError(t, err)
	require.NoError(t, a.Put(ctx, "mlflow/workspaces/a.txt", strings.NewReader("x")))
	require.NoError(t, a.Put(ctx, "b.txt", strings.NewReader("x")))
	_, err = a.List(ctx, "")
	require.NoError(t, err)
}

// MLFLOW_WORKSPACE is sent as X-MLFLOW-WORKSPACE exactly as Python's
// client sends it: stripped, as Latin-1 bytes, on every request but those
// whose endpoint contains /mlflow/workspaces (here an artifact path), and
// not at all when blank. Both clients run the same calls against the same
// recording server; every request both made carries the same header.
func TestStore_Workspace_HeaderMatchesPython(t *testing.T) {
	run := strings.Replace(okRun, `"artifact_uri":"a"`, `"artifact_uri":"mlflow-artifacts:/0/r1/artifacts"`, 1)
	for _, ws := range []string{"team-a", " team-a\t", "é-team", "", "  \u3000", "a b"} {
		t.Run(ws, func(t *testing.T) {
			srv := newCapServer(t, map[string]http.HandlerFunc{
				serverInfoPath:                        reply(200, `{"store_type":"SqlStore","workspaces_enabled":true,"artifact_serving_enabled":true}`),
				"/api/2.0/mlflow/runs/get":            reply(200, run),
				"/api/2.0/mlflow-artifacts/artifacts": reply(200, `{"files":[{"path":"b.txt","is_dir":false,"file_size":1}]}`),
			})
			interoptest.RunCodeEnv(t, []string{"MLFLOW_WORKSPACE=" + ws}, pyWorkspaceCalls, nil, srv.URL)
			py := srv.requests()
			srv.reset()
			s, _ := open(t, srv.URL, env{"MLFLOW_WORKSPACE": ws})
			goWorkspaceCalls(t, s)
			got := srv.requests()

			header := func(reqs []string) map[string]string {
				m := map[string]string{}
				for _, r := range reqs {
					k, v, _ := strings.Cut(r, " | ")
					if prev, ok := m[k]; ok {
						require.Equal(t, prev, v, "one header per endpoint: %s", r)
					}
					m[k] = v
				}
				return m
			}
			pyH, goH := header(py), header(got)
			for _, k := range []string{
				"GET /api/2.0/mlflow/runs/get",
				"PUT /api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/mlflow/workspaces/a.txt",
				"PUT /api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/b.txt",
				"GET /api/2.0/mlflow-artifacts/artifacts",
			} {
				require.Contains(t, pyH, k, "Python: %v", py)
				require.Contains(t, goH, k, "Go: %v", got)
			}
			for k, v := range goH {
				if pv, ok := pyH[k]; ok {
					require.Equal(t, pv, v, "%s: Python sent %q, Go %q", k, pv, v)
				}
			}
			wantPut := pyH["PUT /api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/b.txt"]
			if strings.TrimSpace(ws) == "" {
				require.Equal(t, "-", wantPut)
			} else {
				require.NotEqual(t, "-", wantPut)
				require.Equal(t, "-", pyH["PUT /api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/mlflow/workspaces/a.txt"])
			}
		})
	}
}

// A workspace Python cannot send is refused at Open, with the reason
// Python's requests fail with.
func TestStore_Workspace_UnsendableRefused(t *testing.T) {
	out := interoptest.RunCodeEnv(t, []string{"MLFLOW_WORKSPACE=工作"}, `
from mlflow.utils.rest_utils import http_request, MlflowHostCreds
try:
    http_request(MlflowHostCreds("http://127.0.0.1:1"), "/api/2.0/mlflow/runs/get", "GET", max_retries=0)
except Exception as e:
    print(e)
`, nil)
	_, err := reststore.Open("http://127.0.0.1:1", &reststore.Options{LookupEnv: env{"MLFLOW_WORKSPACE": "工作"}.lookup})
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.ErrorContains(t, err, "MLFLOW_WORKSPACE")
	i := strings.Index(string(out), "'latin-1' codec")
	require.GreaterOrEqual(t, i, 0, string(out))
	require.ErrorContains(t, err, strings.TrimSpace(string(out)[i:]))

	_, err = reststore.Open("http://127.0.0.1:1", &reststore.Options{LookupEnv: env{"MLFLOW_WORKSPACE": "a工b"}.lookup})
	require.ErrorContains(t, err, `'latin-1' codec can't encode character '\u5de5' in position 1: ordinal not in range(256)`)
	for _, bad := range []string{"a\nb", "a\x00b"} {
		_, err := reststore.Open("http://127.0.0.1:1", &reststore.Options{LookupEnv: env{"MLFLOW_WORKSPACE": bad}.lookup})
		require.ErrorIs(t, err, errs.ErrInvalidParameter, "%q", bad)
		require.ErrorContains(t, err, "X-MLFLOW-WORKSPACE")
	}
}

// pyWorkspaceCheck runs get_run twice with a workspace and prints what
// each call raised.
const pyWorkspaceCheck = `
import json, sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
for _ in range(2):
    try:
        c.get_run("r1")
        print(json.dumps(["ok", ""]))
    except Exception as e:
        print(json.dumps([getattr(e, "error_code", type(e).__name__), getattr(e, "message", str(e))]))
`

// With MLFLOW_WORKSPACE set, each RPC first makes sure the server has
// workspaces, as RestStore._call_endpoint does: the same requests, the
// same error codes and messages as Python's client, and the same caching
// (an answer is kept, a failure asked again).
func TestStore_Workspace_ServerSupportMatchesPython(t *testing.T) {
	features := "/api/3.0/mlflow/server-features"
	for _, c := range []struct {
		name    string
		answers map[string]http.HandlerFunc
	}{
		{"supported", map[string]http.HandlerFunc{serverInfoPath: reply(200, `{"workspaces_enabled":true}`)}},
		{"not supported", map[string]http.HandlerFunc{serverInfoPath: reply(200, `{"store_type":"SqlStore","workspaces_enabled":false}`)}},
		{"no flag", map[string]http.HandlerFunc{serverInfoPath: reply(200, `{"store_type":"SqlStore"}`)}},
		{"features", map[string]http.HandlerFunc{serverInfoPath: reply(404, werkzeugNotFound), features: reply(200, `{"workspaces_enabled":true}`)}},
		{"features say no", map[string]http.HandlerFunc{serverInfoPath: reply(404, werkzeugNotFound), features: reply(200, `{"workspaces_enabled":false}`)}},
		{"neither", map[string]http.HandlerFunc{serverInfoPath: reply(404, werkzeugNotFound), features: reply(404, werkzeugNotFound)}},
		{"features fail", map[string]http.HandlerFunc{serverInfoPath: reply(404, werkzeugNotFound), features: reply(500, "boom")}},
		{"busy", map[string]http.HandlerFunc{serverInfoPath: reply(503, "busy")}},
		{"not json", map[string]http.HandlerFunc{serverInfoPath: reply(200, "<html>sign in</html>")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.answers["/api/2.0/mlflow/runs/get"] = reply(200, okRun)
			srv := newCapServer(t, c.answers)
			out := interoptest.RunCodeEnv(t, []string{"MLFLOW_WORKSPACE=team-a"}, pyWorkspaceCheck, nil, srv.URL)
			py := srv.requests()
			srv.reset()
			var want [][2]string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				var r [2]string
				require.NoError(t, json.Unmarshal([]byte(line), &r), line)
				want = append(want, r)
			}
			s, _ := open(t, srv.URL, env{"MLFLOW_WORKSPACE": "team-a", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
			var got [][2]string
			for range 2 {
				_, err := s.GetRun(context.Background(), "r1")
				var re *reststore.Error
				switch {
				case err == nil:
					got = append(got, [2]string{"ok", ""})
				case errors.As(err, &re):
					got = append(got, [2]string{re.Code, re.Message})
				default:
					got = append(got, [2]string{"?", err.Error()})
				}
			}
			require.Equal(t, want, got)
			require.Equal(t, py, srv.requests(), "the same requests, with the same header")
			if want[0][0] == "FEATURE_DISABLED" {
				_, err := s.GetRun(context.Background(), "r1")
				require.ErrorIs(t, err, errs.ErrNotSupported)
			}
		})
	}
}

// Probing from many goroutines while calls run is race-free and asks once.
func TestStore_ServerInfo_ConcurrentWithCalls(t *testing.T) {
	srv := newCapServer(t, map[string]http.HandlerFunc{serverInfoPath: reply(200, `{"store_type":"SqlStore"}`)})
	s, _ := open(t, srv.URL, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			require.NoError(t, s.LogBatch(context.Background(), "r1", []entities.Metric{{Key: "m", Value: 1, Timestamp: 1}}, nil, nil))
		})
		wg.Go(func() {
			_, err := s.ServerInfo(context.Background())
			require.NoError(t, err)
		})
	}
	wg.Wait()
	n := 0
	for _, r := range srv.requests() {
		if strings.Contains(r, serverInfoPath) {
			n++
		}
	}
	require.Equal(t, 1, n)
}

var _ store.Store = (*reststore.Store)(nil)

// ConcurrentBatches is false only for a server that says it is
// FileStore-backed; the server is asked once.
func TestStore_ConcurrentBatches_ProbesStoreType(t *testing.T) {
	for _, c := range []struct {
		name string
		info http.HandlerFunc
		want bool
	}{
		{"FileStore", reply(200, `{"store_type":"FileStore"}`), false},
		{"SqlStore", reply(200, `{"store_type":"SqlStore"}`), true},
		{"artifacts only", reply(200, `{"store_type":null}`), true},
		{"old server", reply(404, werkzeugNotFound), true},
		{"fails", reply(500, "x"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newCapServer(t, map[string]http.HandlerFunc{serverInfoPath: c.info})
			s, _ := open(t, srv.URL, nil)
			require.Equal(t, c.want, s.ConcurrentBatches())
			require.Equal(t, c.want, s.ConcurrentBatches())
			require.Len(t, srv.requests(), 1, "a failure is not asked again at once either")
		})
	}
}
