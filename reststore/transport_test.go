package reststore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
)

// fake is a scripted server: request i gets steps[i] (the last step
// repeats), and every request is recorded.
type fake struct {
	*httptest.Server
	mu    sync.Mutex
	steps []http.HandlerFunc
	reqs  []recorded
}

type recorded struct {
	method, path, query, body string
	header                    http.Header
}

func newFake(t *testing.T, steps ...http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{steps: steps}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/3.0/mlflow/server-info" {
		http.NotFound(w, r) // a server that does not say what it is (probe_test.go tests the probe)
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	i := len(f.reqs)
	f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone()})
	step := f.steps[min(i, len(f.steps)-1)]
	f.mu.Unlock()
	step(w, r)
}

func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// reply answers with a status, a body and headers (name, value pairs).
func reply(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// hangUp closes the connection after reading the request: the server may
// have committed it, and the client gets no answer.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// env is a fake environment.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// sleeps records the waits between attempts.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration{}, s.d...)
}

// open opens a store on url with the environment e (no credentials file)
// and a recorded sleep; jitter is always 0.5 of MLFLOW_HTTP_REQUEST_BACKOFF_JITTER.
func open(t *testing.T, url string, e env) (*reststore.Store, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	s, err := reststore.Open(url, &reststore.Options{
		LookupEnv: e.lookup, CredentialsPath: filepath.Join(t.TempDir(), "none"),
		Sleep: sl.sleep, Jitter: func() float64 { return 0.5 },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, sl
}

const okRun = `{"run":{"info":{"run_uuid":"r1","experiment_id":"0","run_name":"n","user_id":"u","status":"RUNNING","start_time":1,"artifact_uri":"a","lifecycle_stage":"active","run_id":"r1"},"data":{},"inputs":{},"outputs":{}}}`

const okModel = `{"model":{"info":{"model_id":"m-1","experiment_id":"0","name":"x","creation_timestamp_ms":1,"last_updated_timestamp_ms":1,"artifact_uri":"a","status":"LOGGED_MODEL_READY"}}}`

// The calls of each retry class, with the answer each expects on success.
var classCalls = map[string]struct {
	ok   string
	call func(context.Context, *reststore.Store) error
}{
	// GET: a read.
	"GetRun": {okRun, func(ctx context.Context, s *reststore.Store) error { _, err := s.GetRun(ctx, "r1"); return err }},
	// A POST of _RETRY_SAFE_POST_RESPONSES.
	"LogBatch": {`{}`, func(ctx context.Context, s *reststore.Store) error {
		return s.LogBatch(ctx, "r1", []entities.Metric{{Key: "m", Value: 1, Timestamp: 1}}, nil, nil)
	}},
	// PATCH: retried like a GET (the check is method == POST).
	"FinalizeLoggedModel": {okModel, func(ctx context.Context, s *reststore.Store) error {
		_, err := s.FinalizeLoggedModel(ctx, "m-1", entities.LoggedModelReady)
		return err
	}},
	// Non-idempotent POSTs.
	"CreateRun": {okRun, func(ctx context.Context, s *reststore.Store) error {
		_, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: "0", StartTime: 5})
		return err
	}},
	"DeleteTag": {`{}`, func(ctx context.Context, s *reststore.Store) error { return s.DeleteTag(ctx, "r1", "k") }},
}

// Every cell of the status retry matrix: with MLFLOW_HTTP_REQUEST_MAX_RETRIES=2
// a call is tried 3 times on a status its class retries, once otherwise.
func TestStore_Call_RetryStatusMatrix(t *testing.T) {
	safe := []string{"GetRun", "LogBatch", "FinalizeLoggedModel"}
	unsafe := []string{"CreateRun", "DeleteTag"}
	type cell struct {
		status     int
		retryAfter string
		safeTries  int
		unsafeTry  int
	}
	cells := []cell{
		{408, "", 3, 3}, {429, "", 3, 3},
		{500, "", 3, 1}, {502, "", 3, 1}, {503, "", 3, 1}, {504, "", 3, 1},
		{413, "", 1, 1}, {413, "1", 3, 1}, {503, "1", 3, 1}, {429, "1", 3, 3},
		{400, "", 1, 1}, {401, "", 1, 1}, {403, "", 1, 1}, {404, "", 1, 1}, {409, "", 1, 1}, {501, "", 1, 1}, {501, "1", 1, 1},
	}
	for _, c := range cells {
		for _, name := range append(append([]string{}, safe...), unsafe...) {
			want := c.safeTries
			if strings.HasPrefix(name, "Create") || name == "DeleteTag" {
				want = c.unsafeTry
			}
			t.Run(fmt.Sprintf("%s/%d/retry-after=%q", name, c.status, c.retryAfter), func(t *testing.T) {
				var hdr []string
				if c.retryAfter != "" {
					hdr = []string{"Retry-After", c.retryAfter}
				}
				f := newFake(t, reply(c.status, `{"error_code":"X","message":"m"}`, hdr...))
				s, _ := open(t, f.URL, env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"})
				err := classCalls[name].call(context.Background(), s)
				require.Error(t, err)
				require.Len(t, f.requests(), want)
				var re *reststore.Error
				require.ErrorAs(t, err, &re)
				require.Equal(t, c.status, re.Status)
				var unknown *reststore.UnknownOutcomeError
				require.Equal(t, want == 1 && c.status >= 500 && c.status != 501 && (name == "CreateRun" || name == "DeleteTag"),
					errors.As(err, &unknown), "unknown outcome only for an unsafe write answered 5xx")
			})
		}
	}
}

// A retried call that then succeeds returns the success.
func TestStore_Call_RetryThenSuccess(t *testing.T) {
	for name, c := range classCalls {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, reply(429, ""), reply(408, ""), reply(200, c.ok))
			s, sl := open(t, f.URL, nil)
			require.NoError(t, c.call(context.Background(), s))
			require.Len(t, f.requests(), 3)
			require.Equal(t, []time.Duration{0, 4500 * time.Millisecond}, sl.got())
		})
	}
}

func secs(v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x * float64(time.Second))
	}
	return out
}

// The waits are urllib3's: 0 before the first retry, then factor*2^(n-1)
// plus jitter, capped at 120 s; Retry-After replaces the backoff when it is
// respected and positive.
func TestStore_Call_BackoffSchedule(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name   string
		e      env
		header []string
		want   []time.Duration
	}{
		{"defaults", nil, nil, secs(0, 4.5, 8.5, 16.5, 32.5, 64.5, 120)},
		{"no jitter", env{"MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0"}, nil, secs(0, 4, 8, 16, 32, 64, 120)},
		{"factor 0", env{"MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3"}, nil, secs(0, 0.5, 0.5)},
		{"factor 5", env{"MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "5", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "4"}, nil, secs(0, 10.5, 20.5, 40.5)},
		{"no retries", env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}, nil, secs()},
		{"retry-after seconds", env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}, []string{"Retry-After", " 3 "}, secs(3, 3)},
		{"retry-after zero", env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}, []string{"Retry-After", "0"}, secs(0, 4.5)},
		{"retry-after capped", env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1"}, []string{"Retry-After", "99999"}, secs(21600)},
		{"retry-after date", env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1"}, []string{"Retry-After", now.Add(10 * time.Second).Format(http.TimeFormat)}, secs(10)},
		{"retry-after past date", env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}, []string{"Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)}, secs(0, 4.5)},
		{"retry-after ignored", env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER": "False"}, []string{"Retry-After", "3"}, secs(0, 4.5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, reply(503, "", c.header...))
			sl := &sleeps{}
			s, err := reststore.Open(f.URL, &reststore.Options{
				LookupEnv: c.e.lookup, CredentialsPath: filepath.Join(t.TempDir(), "none"),
				Sleep: sl.sleep, Jitter: func() float64 { return 0.5 }, Now: func() time.Time { return now },
			})
			require.NoError(t, err)
			_, err = s.GetRun(context.Background(), "r1")
			require.ErrorIs(t, err, errs.ErrInternal)
			require.Equal(t, c.want, sl.got())
			require.Len(t, f.requests(), len(c.want)+1)
		})
	}
}

// A Retry-After that is neither seconds nor a date fails the call, as
// urllib3 raises InvalidHeader.
func TestStore_Call_InvalidRetryAfter(t *testing.T) {
	f := newFake(t, reply(429, "", "Retry-After", "soon"))
	s, _ := open(t, f.URL, nil)
	_, err := s.GetRun(context.Background(), "r1")
	require.ErrorContains(t, err, "invalid Retry-After header: soon")
	require.Len(t, f.requests(), 1)
}

// Transport errors: a refused connection never reached the server and is
// retried in every class; a connection closed after the request went out
// is retried only for safe calls, and an unsafe write then reports an
// unknown outcome.
func TestStore_Call_TransportErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		url := "http://" + l.Addr().String()
		require.NoError(t, l.Close())
		for name, c := range classCalls {
			s, sl := open(t, url, env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"})
			err := c.call(context.Background(), s)
			var te *reststore.TransportError
			require.ErrorAs(t, err, &te, name)
			require.Equal(t, 3, te.Attempts, name)
			require.Len(t, sl.got(), 2, name)
			var unknown *reststore.UnknownOutcomeError
			require.False(t, errors.As(err, &unknown), name)
			require.Equal(t, errs.CodeInternalError, errs.Code(err))
		}
	})
	t.Run("hang up", func(t *testing.T) {
		for name, c := range classCalls {
			f := newFake(t, hangUp)
			s, _ := open(t, f.URL, env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"})
			err := c.call(context.Background(), s)
			require.Error(t, err)
			var unknown *reststore.UnknownOutcomeError
			if name == "CreateRun" || name == "DeleteTag" {
				require.Len(t, f.requests(), 1, name)
				require.ErrorAs(t, err, &unknown, name)
				require.ErrorContains(t, err, "outcome is unknown")
			} else {
				require.Len(t, f.requests(), 3, name)
				require.False(t, errors.As(err, &unknown), name)
			}
		}
	})
	t.Run("hang up then success", func(t *testing.T) {
		f := newFake(t, hangUp, reply(200, `{}`))
		s, _ := open(t, f.URL, nil)
		require.NoError(t, s.LogParam(context.Background(), "r1", "k", "v"))
		require.Len(t, f.requests(), 2)
	})
}

// A 5xx answer to an unsafe write is an unknown outcome unless MLflow's
// error JSON names a refusal it makes before writing: MLflow answers
// renaming a deleted experiment with 500 INVALID_STATE, a plain refusal.
func TestStore_Call_UnsafeWrite5xx(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		unknown bool
		kind    error
	}{
		{"invalid state", 500, `{"error_code": "INVALID_STATE", "message": "Cannot rename a non-active experiment."}`, false, errs.ErrInvalidState},
		{"internal error", 500, `{"error_code": "INTERNAL_ERROR", "message": "boom"}`, true, nil},
		{"data loss", 500, `{"error_code": "DATA_LOSS", "message": "lost"}`, true, nil},
		{"temporarily unavailable", 503, `{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "later"}`, true, nil},
		{"a code this client does not know", 500, `{"error_code": "X", "message": "m"}`, true, nil},
		{"json without a code", 500, `{"message": "boom"}`, true, nil},
		{"plain text", 500, `Internal Server Error`, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, reply(tc.status, tc.body, "Content-Type", "application/json"))
			s, _ := open(t, f.URL, env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
			err := s.RenameExperiment(context.Background(), "1", "new")
			require.Error(t, err)
			require.Len(t, f.requests(), 1)
			var unknown *reststore.UnknownOutcomeError
			require.Equal(t, tc.unknown, errors.As(err, &unknown), "%v", err)
			var re *reststore.Error
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.status, re.Status)
			if tc.kind != nil {
				require.ErrorIs(t, err, tc.kind)
				require.ErrorContains(t, err, "Cannot rename a non-active experiment.")
				require.NotContains(t, err.Error(), "outcome is unknown")
			}
		})
	}
}

// MLFLOW_HTTP_REQUEST_TIMEOUT bounds each attempt; a safe call is tried
// again, an unsafe one is not.
func TestStore_Call_Timeout(t *testing.T) {
	block := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	e := env{"MLFLOW_HTTP_REQUEST_TIMEOUT": "1", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1"}
	f := newFake(t, block)
	s, _ := open(t, f.URL, e)
	_, err := s.GetRun(context.Background(), "r1")
	require.ErrorContains(t, err, "MLFLOW_HTTP_REQUEST_TIMEOUT")
	require.Len(t, f.requests(), 2)

	f = newFake(t, block)
	s, _ = open(t, f.URL, e)
	_, err = s.CreateRun(context.Background(), store.CreateRunOptions{})
	var unknown *reststore.UnknownOutcomeError
	require.ErrorAs(t, err, &unknown)
	require.Len(t, f.requests(), 1)
}

// The caller's context stops retries at once.
func TestStore_Call_ContextCancelled(t *testing.T) {
	f := newFake(t, reply(503, ""))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := reststore.Open(f.URL, &reststore.Options{
		LookupEnv: env{}.lookup, CredentialsPath: filepath.Join(t.TempDir(), "none"),
		Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() },
	})
	require.NoError(t, err)
	_, err = s.GetRun(ctx, "r1")
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, f.requests(), 1)
	_, err = s.GetRun(ctx, "r1")
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, f.requests(), 1, "a done context sends nothing")
}

// CreateExperiment recovers from an unknown outcome by looking the
// experiment up by name; it is ours only if it is active with our tags.
func TestStore_CreateExperiment_UnknownOutcomeRecovered(t *testing.T) {
	exp := func(stage, team string) string {
		return `{"experiment":{"experiment_id":"7","name":"e","artifact_location":"a","lifecycle_stage":"` + stage +
			`","tags":[{"key":"team","value":"` + team + `"}]}}`
	}
	tags := []entities.ExperimentTag{{Key: "team", Value: "x"}}
	for _, c := range []struct {
		name   string
		first  http.HandlerFunc
		lookup string
		ok     bool
	}{
		{"hang up, found", hangUp, exp("active", "x"), true},
		{"503 after commit, found", reply(503, `{"error_code":"TEMPORARILY_UNAVAILABLE","message":"x"}`), exp("active", "x"), true},
		{"found with other tags", hangUp, exp("active", "y"), false},
		{"found deleted", hangUp, exp("deleted", "x"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, c.first, reply(200, c.lookup))
			s, _ := open(t, f.URL, nil)
			id, err := s.CreateExperiment(context.Background(), "e", "", tags)
			reqs := f.requests()
			require.Len(t, reqs, 2)
			require.Equal(t, "/api/2.0/mlflow/experiments/create", reqs[0].path)
			require.Equal(t, "/api/2.0/mlflow/experiments/get-by-name", reqs[1].path)
			require.Equal(t, "experiment_name=e", reqs[1].query)
			if c.ok {
				require.NoError(t, err)
				require.Equal(t, "7", id)
				return
			}
			var unknown *reststore.UnknownOutcomeError
			require.ErrorAs(t, err, &unknown)
		})
	}
}

// Authorization as rest_utils.http_request sets it: basic when user and
// password are both set (environment over the credentials file, per
// field), else bearer, else none.
func TestStore_Call_AuthHeaders(t *testing.T) {
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	cases := []struct {
		name string
		e    env
		file string
		want string
	}{
		{"none", nil, "", ""},
		{"basic", env{"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "pw:é"}, "", basic("alice", "pw:é")},
		{"bearer", env{"MLFLOW_TRACKING_TOKEN": "tok"}, "", "Bearer tok"},
		{"basic beats bearer", env{"MLFLOW_TRACKING_USERNAME": "a", "MLFLOW_TRACKING_PASSWORD": "b", "MLFLOW_TRACKING_TOKEN": "t"}, "", basic("a", "b")},
		{"user only", env{"MLFLOW_TRACKING_USERNAME": "a", "MLFLOW_TRACKING_TOKEN": "t"}, "", "Bearer t"},
		{"empty token", env{"MLFLOW_TRACKING_TOKEN": ""}, "", ""},
		{"file", nil, "[mlflow]\nmlflow_tracking_username = bob\nMLFLOW_TRACKING_PASSWORD: s3cr%%t\n", basic("bob", "s3cr%t")},
		{"env user, file password", env{"MLFLOW_TRACKING_USERNAME": "carol"}, "[mlflow]\nmlflow_tracking_username=bob\nmlflow_tracking_password=pw\n", basic("carol", "pw")},
		{"empty env falls to file", env{"MLFLOW_TRACKING_USERNAME": ""}, "[mlflow]\nmlflow_tracking_username=bob\nmlflow_tracking_password=pw\n", basic("bob", "pw")},
		{"other section", nil, "[other]\nmlflow_tracking_username=bob\nmlflow_tracking_password=pw\n", ""},
		{"comments", nil, "# c\n[mlflow]\n; c\nmlflow_tracking_username = bob\nmlflow_tracking_password = %(mlflow_tracking_username)s-pw\n", basic("bob", "bob-pw")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, reply(200, okRun))
			cred := filepath.Join(t.TempDir(), "credentials")
			if c.file != "" {
				require.NoError(t, os.WriteFile(cred, []byte(c.file), 0o600))
			}
			s, err := reststore.Open(f.URL+"/", &reststore.Options{LookupEnv: c.e.lookup, CredentialsPath: cred})
			require.NoError(t, err)
			_, err = s.GetRun(context.Background(), "r1")
			require.NoError(t, err)
			r := f.requests()[0]
			require.Equal(t, c.want, r.header.Get("Authorization"))
			require.Equal(t, "mlruns-go", r.header.Get("User-Agent"))
			require.Equal(t, "/api/2.0/mlflow/runs/get", r.path, "one trailing slash of the URI is dropped")
		})
	}
	t.Run("bad interpolation", func(t *testing.T) {
		cred := filepath.Join(t.TempDir(), "credentials")
		require.NoError(t, os.WriteFile(cred, []byte("[mlflow]\nmlflow_tracking_password = 50%\n"), 0o600))
		_, err := reststore.Open("http://h", &reststore.Options{LookupEnv: env{}.lookup, CredentialsPath: cred})
		require.ErrorIs(t, err, errs.ErrInvalidParameter)
		require.ErrorContains(t, err, "'%' must be followed by")
	})
}

// Settings are parsed as Python parses them, and a value Python refuses is
// an error naming the variable.
func TestOpen_Config(t *testing.T) {
	bad := []struct {
		e    env
		name string
	}{
		{env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "11"}, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
		{env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "-1"}, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
		{env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "seven"}, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
		{env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": ""}, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
		{env{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2.0"}, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
		{env{"MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "121"}, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"},
		{env{"MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "x"}, "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"},
		{env{"MLFLOW_HTTP_REQUEST_TIMEOUT": "0"}, "MLFLOW_HTTP_REQUEST_TIMEOUT"},
		{env{"MLFLOW_HTTP_REQUEST_TIMEOUT": "1.5"}, "MLFLOW_HTTP_REQUEST_TIMEOUT"},
		{env{"MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER": "yes"}, "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER"},
		{env{"MLFLOW_TRACKING_INSECURE_TLS": ""}, "MLFLOW_TRACKING_INSECURE_TLS"},
		{env{"MLFLOW_TRACKING_INSECURE_TLS": "on"}, "MLFLOW_TRACKING_INSECURE_TLS"},
		{env{"MLFLOW_TRACKING_INSECURE_TLS": "true", "MLFLOW_TRACKING_SERVER_CERT_PATH": "/x"}, "MLFLOW_TRACKING_SERVER_CERT_PATH"},
		{env{"_MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT": "2", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3"}, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
		{env{"MLFLOW_TRACKING_SERVER_CERT_PATH": "/no/such/ca.pem"}, "MLFLOW_TRACKING_SERVER_CERT_PATH"},
		{env{"MLFLOW_TRACKING_CLIENT_CERT_PATH": "/no/such/client.pem"}, "MLFLOW_TRACKING_CLIENT_CERT_PATH"},
	}
	for _, c := range bad {
		_, err := reststore.Open("http://127.0.0.1:1", &reststore.Options{LookupEnv: c.e.lookup, CredentialsPath: "/no/such/file"})
		require.ErrorIs(t, err, errs.ErrInvalidParameter, "%v", c.e)
		require.ErrorContains(t, err, c.name, "%v", c.e)
	}
	good := []env{
		{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": " 3 "}, {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1_0"},
		{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "+0"}, {"MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "1e-1"},
		{"MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER": "FALSE"}, {"MLFLOW_TRACKING_INSECURE_TLS": "1"},
		{"MLFLOW_TRACKING_INSECURE_TLS": "0", "MLFLOW_TRACKING_SERVER_CERT_PATH": ""},
		{"MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "-3"},
	}
	for _, e := range good {
		_, err := reststore.Open("http://127.0.0.1:1", &reststore.Options{LookupEnv: e.lookup, CredentialsPath: "/no/such/file"})
		require.NoError(t, err, "%v", e)
	}
	for _, uri := range []string{"ftp://h", "http://", "http://h/?q=1", "http://h/#f", "file:///tmp", "h:5000"} {
		_, err := reststore.Open(uri, &reststore.Options{LookupEnv: env{}.lookup})
		require.ErrorIs(t, err, errs.ErrInvalidParameter, uri)
	}
}

// The tracking URI's path prefix is kept before the API paths.
func TestStore_Call_PathPrefix(t *testing.T) {
	f := newFake(t, reply(200, `{}`))
	s, _ := open(t, f.URL+"/mlflow", nil)
	require.NoError(t, s.DeleteRun(context.Background(), "r1"))
	r := f.requests()[0]
	require.Equal(t, "/mlflow/api/2.0/mlflow/runs/delete", r.path)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.JSONEq(t, `{"run_id":"r1"}`, r.body)
}

// Redirects are followed unless MLFLOW_ALLOW_HTTP_REDIRECTS says no
// (anything but true/1).
func TestStore_Call_Redirects(t *testing.T) {
	target := newFake(t, reply(200, okRun))
	redirect := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusFound)
	}
	f := newFake(t, redirect)
	s, _ := open(t, f.URL, nil)
	_, err := s.GetRun(context.Background(), "r1")
	require.NoError(t, err)
	require.Len(t, target.requests(), 1)

	s, _ = open(t, f.URL, env{"MLFLOW_ALLOW_HTTP_REDIRECTS": "nope"})
	_, err = s.GetRun(context.Background(), "r1")
	require.Error(t, err)
	require.Len(t, target.requests(), 1)
}

// certPEM makes a self-signed certificate for 127.0.0.1 and returns the
// TLS certificate and its PEM (certificate then key, as requests' cert=).
func certPEM(t *testing.T, cn string) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	p := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	c, err := tls.X509KeyPair(p, p)
	require.NoError(t, err)
	return c, p
}

// TLS: the server's CA from MLFLOW_TRACKING_SERVER_CERT_PATH, no checks
// with MLFLOW_TRACKING_INSECURE_TLS, a client certificate (one PEM with
// the key) from MLFLOW_TRACKING_CLIENT_CERT_PATH.
func TestStore_Call_TLS(t *testing.T) {
	serverCert, serverPEM := certPEM(t, "server")
	_, clientPEM := certPEM(t, "client")
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, serverPEM, 0o600))
	client := filepath.Join(dir, "client.pem")
	require.NoError(t, os.WriteFile(client, clientPEM, 0o600))

	var sawClientCert bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawClientCert = len(r.TLS.PeerCertificates) == 1 && r.TLS.PeerCertificates[0].Subject.CommonName == "client"
		_, _ = io.WriteString(w, okRun)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	srv.Config.ErrorLog = nil

	get := func(e env) error {
		e["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
		s, _ := open(t, srv.URL, e)
		_, err := s.GetRun(context.Background(), "r1")
		return err
	}
	err := get(env{})
	var te *reststore.TransportError
	require.ErrorAs(t, err, &te, "an unknown CA is refused")
	require.NoError(t, get(env{"MLFLOW_TRACKING_INSECURE_TLS": "true"}))
	require.False(t, sawClientCert)
	require.NoError(t, get(env{"MLFLOW_TRACKING_SERVER_CERT_PATH": ca}))
	require.NoError(t, get(env{"MLFLOW_TRACKING_SERVER_CERT_PATH": dir}), "a folder of certificates")
	require.NoError(t, get(env{"MLFLOW_TRACKING_SERVER_CERT_PATH": ca, "MLFLOW_TRACKING_CLIENT_CERT_PATH": client}))
	require.True(t, sawClientCert)
}

// A server chooses run ids: a CreateRun given one is refused before
// anything is sent (a pull keeps ids only in a file store).
func TestStore_CreateRun_ChosenIDRefused(t *testing.T) {
	f := newFake(t, reply(200, okRun))
	s, _ := open(t, f.URL, env{})
	_, err := s.CreateRun(context.Background(), store.CreateRunOptions{RunID: "0123456789abcdef0123456789abcdef"})
	require.ErrorIs(t, err, errs.ErrNotSupported)
	require.ErrorContains(t, err, "run_id")
	require.Empty(t, f.requests())
}

func TestStore_CreateLoggedModel_ChosenIDRefused(t *testing.T) {
	f := newFake(t, reply(200, okModel))
	s, _ := open(t, f.URL, env{})
	_, err := s.CreateLoggedModel(context.Background(), "0", store.CreateLoggedModelOptions{ModelID: "m-0123456789abcdef0123456789abcdef"})
	require.ErrorIs(t, err, errs.ErrNotSupported)
	require.Empty(t, f.requests())
}
