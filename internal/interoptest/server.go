package interoptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlruns-go/mlruns/internal/mlserver"
	"github.com/mlruns-go/mlruns/internal/pyenv"
)

// ServerStartTimeout bounds how long StartServerWith waits for `mlflow
// server` to answer: it imports all of MLflow, creates or migrates its
// tables (about 10 s on PostgreSQL) and starts uvicorn workers, more on a
// busy 2-core machine with several servers starting at once.
const ServerStartTimeout = 120 * time.Second

// Backend is the tracking store behind a test server.
type Backend string

const (
	// SQLite is a fresh sqlite:///<temp>/mlflow.db, MLflow 3.x's default
	// backend; the zero ServerOptions use it.
	SQLite Backend = "sqlite"
	// Postgres is a fresh database in this test binary's PostgreSQL
	// cluster (see Main), over postgresql+psycopg2:// on a unix socket.
	Postgres Backend = "postgresql"
	// FileStore is a file:// tree (ServerOptions.Root, or a temporary
	// one); the server needs MLFLOW_ALLOW_FILE_STORE=true, which pyenv.Env sets.
	FileStore Backend = "file"
)

// ServerOptions choose how StartServerWith runs `mlflow server`.
type ServerOptions struct {
	// Backend is the tracking store; empty means SQLite.
	Backend Backend
	// Root is the FileStore backend's tree (made if missing); empty means a
	// temporary folder. Other backends ignore it.
	Root string
	// BasicAuth runs MLflow's basic-auth app (--app-name basic-auth) with an
	// admin user (Server.AdminUser, Server.AdminPassword) and its user
	// database in the server's temporary folder.
	BasicAuth bool
	// DefaultPermission is the basic-auth app's permission of a user on
	// resources others created: empty means READ, as MLflow's shipped
	// basic_auth.ini; NO_PERMISSIONS makes reads 403 as well.
	DefaultPermission string
	// NoServeArtifacts passes --no-serve-artifacts: the artifact service
	// answers 503 and runs get server-local artifact paths
	// (Server.ArtifactRoot), which clients must write themselves.
	NoServeArtifacts bool
	// Workers is uvicorn's worker count; 0 means 1, for deterministic tests
	// (MLflow's own default is 4).
	Workers int
}

// Server is a running `mlflow server` of the pinned venv, started by
// StartServerWith and stopped when its test ends.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT, without a trailing slash.
	URL string
	// Backend is the kind of tracking store, and BackendURI the
	// --backend-store-uri the server was given.
	Backend    Backend
	BackendURI string
	// Database is the PostgreSQL database of a Postgres backend ("" otherwise).
	Database string
	// ArtifactRoot is the local folder new experiments' artifacts go to:
	// the --artifacts-destination of a server that serves artifacts
	// (mlflow-artifacts:/ roots), or the server-local default root with
	// NoServeArtifacts (MLflow's ./mlruns in the server's working folder,
	// the tree itself for FileStore). For FileStore without NoServeArtifacts
	// it is the file:// --default-artifact-root StartServer has always given.
	ArtifactRoot string
	// AdminUser and AdminPassword log in to a BasicAuth server as its admin;
	// Get and Post send them. Empty without BasicAuth.
	AdminUser, AdminPassword string

	proc *mlserver.Server
}

// StartServer starts `mlflow server --backend-store-uri file://<root>` on a
// free loopback port with one worker, new experiments' artifacts under a
// temporary folder, and waits until GET /health answers. The server runs in
// its own process group, which is stopped in t.Cleanup; when the test has
// failed, the server's output is logged. Like Python, it skips or fails t
// when the venv is missing.
func StartServer(t testing.TB, root string) *Server {
	t.Helper()
	if root == "" {
		t.Fatalf("mlflow server: StartServer needs a tree (root is empty)")
	}
	return StartServerWith(t, ServerOptions{Backend: FileStore, Root: root})
}

// adminPassword is the basic-auth admin's password: MLflow 3.18 ships none
// and wants at least 12 characters, not the old default password1234.
const adminPassword = "admin-password-for-tests"

// StartServerWith starts `mlflow server` of the pinned venv as opts say, on
// a free port of 127.0.0.1, with the job runner off
// (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: two processes, not ten, and a
// faster start), and waits until GET /health answers. The server runs in its
// own process group, stopped in t.Cleanup (then a Postgres database is
// dropped); when the test has failed, the server's output is logged. Like
// Python, it skips or fails t when the venv (or, for Postgres, PostgreSQL)
// is missing.
func StartServerWith(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	Python(t)
	if opts.Backend == "" {
		opts.Backend = SQLite
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	work := t.TempDir()
	s := &Server{Backend: opts.Backend}
	var args []string
	switch opts.Backend {
	case SQLite:
		s.BackendURI = "sqlite:///" + filepath.ToSlash(filepath.Join(work, "mlflow.db"))
	case Postgres:
		s.Database, s.BackendURI = postgresDatabase(t)
	case FileStore:
		root := opts.Root
		if root == "" {
			root = filepath.Join(work, "mlruns")
		}
		abs, err := filepath.Abs(root)
		if err != nil {
			t.Fatalf("mlflow server: %v", err)
		}
		s.BackendURI = "file://" + filepath.ToSlash(abs)
	default:
		t.Fatalf("mlflow server: unknown backend %q (want %q, %q or %q)", opts.Backend, SQLite, Postgres, FileStore)
	}
	switch {
	case opts.NoServeArtifacts && opts.Backend == FileStore:
		args = append(args, "--no-serve-artifacts")
		s.ArtifactRoot = strings.TrimPrefix(s.BackendURI, "file://")
	case opts.NoServeArtifacts:
		// MLflow's default root for a non-local backend: ./mlruns.
		args = append(args, "--no-serve-artifacts")
		s.ArtifactRoot = filepath.Join(work, "mlruns")
	case opts.Backend == FileStore:
		s.ArtifactRoot = filepath.Join(work, "artifacts")
		args = append(args, "--default-artifact-root", "file://"+filepath.ToSlash(s.ArtifactRoot))
	default:
		s.ArtifactRoot = filepath.Join(work, "artifacts")
		args = append(args, "--artifacts-destination", s.ArtifactRoot)
	}
	env := pyenv.Env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false")
	if opts.BasicAuth {
		perm := opts.DefaultPermission
		if perm == "" {
			perm = "READ"
		}
		ini := filepath.Join(work, "basic_auth.ini")
		conf := "[mlflow]\n" +
			"default_permission = " + perm + "\n" +
			"database_uri = sqlite:///" + filepath.ToSlash(filepath.Join(work, "basic_auth.db")) + "\n" +
			"admin_username = admin\n" +
			"authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
		if err := os.WriteFile(ini, []byte(conf), 0o600); err != nil {
			t.Fatalf("mlflow server: %v", err)
		}
		s.AdminUser, s.AdminPassword = "admin", adminPassword
		args = append(args, "--app-name", "basic-auth")
		env = append(env,
			"MLFLOW_AUTH_CONFIG_PATH="+ini,
			"MLFLOW_AUTH_ADMIN_USERNAME="+s.AdminUser,
			"MLFLOW_AUTH_ADMIN_PASSWORD="+s.AdminPassword,
			"MLFLOW_FLASK_SERVER_SECRET_KEY=mlruns-go-test-secret")
	}
	args = append(args, "--backend-store-uri", s.BackendURI, "--workers", strconv.Itoa(opts.Workers))
	proc, err := mlserver.Start(mlserver.Config{Command: []string{pyenv.VenvBin("mlflow")}, Args: args, Env: env,
		Dir: work, StartTimeout: ServerStartTimeout}) // Dir: keep ./mlartifacts or ./mlruns out of the package
	if err != nil {
		t.Fatalf("mlflow server (%s): %v", opts.Backend, err)
	}
	s.proc, s.URL = proc, proc.URL
	t.Cleanup(func() {
		proc.Stop()
		if t.Failed() {
			t.Logf("mlflow server (%s) at %s, its output:\n%s", s.Backend, s.URL, proc.Output())
		}
	})
	return s
}

// PID returns the server's process id, which is also its process group id.
func (s *Server) PID() int { return s.proc.PID() }

// Output returns what the server has printed so far.
func (s *Server) Output() string { return s.proc.Output() }

// Get sends GET path?query and returns the response body; the test fails
// unless the status is 200.
func (s *Server) Get(t testing.TB, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return s.do(t, req)
}

// Post sends body as JSON to path and returns the response body; the test
// fails unless the status is 200.
func (s *Server) Post(t testing.TB, path string, body any) []byte {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	return s.do(t, req)
}

func (s *Server) do(t testing.TB, req *http.Request) []byte {
	t.Helper()
	if s.AdminUser != "" {
		req.SetBasicAuth(s.AdminUser, s.AdminPassword)
	}
	status, body := send(t, req)
	if status != http.StatusOK {
		t.Fatalf("%s %s: %d\n%s", req.Method, req.URL, status, body)
	}
	return body
}

// send sends req and returns the status and body; the test fails when no
// response comes.
func send(t testing.TB, req *http.Request) (int, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, body
}

// Call sends method path with body as JSON (none when body is nil), logged
// in as user:password when user is not empty, and returns the status and
// body whatever the status is: for tests of refusals (401, 403, 503).
func (s *Server) Call(t testing.TB, method, path string, body any, user, password string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	return send(t, req)
}

// CreateUser makes a user of a BasicAuth server through the auth REST API
// (as the admin) and returns its password. The user is no admin and holds
// no permission of its own: on others' experiments it has the server's
// default permission (ServerOptions.DefaultPermission).
func (s *Server) CreateUser(t testing.TB, name string) (password string) {
	t.Helper()
	if s.AdminUser == "" {
		t.Fatalf("CreateUser %s: the server at %s does not run the basic-auth app", name, s.URL)
	}
	password = name + "-password-for-tests"
	s.Post(t, "/api/2.0/mlflow/users/create", map[string]string{"username": name, "password": password})
	return password
}

// Env returns the environment variables a client of the server needs:
// MLFLOW_TRACKING_URI, and for a BasicAuth server the admin's
// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.
func (s *Server) Env() []string {
	env := []string{"MLFLOW_TRACKING_URI=" + s.URL}
	if s.AdminUser != "" {
		env = append(env, "MLFLOW_TRACKING_USERNAME="+s.AdminUser, "MLFLOW_TRACKING_PASSWORD="+s.AdminPassword)
	}
	return env
}

// RequireSameJSON fails t with a line diff (- server, + ours) when the
// server's body and ours differ after CanonicalJSON: every field the server
// prints must be in ours, with the same type and number token, and no other.
func RequireSameJSON(t testing.TB, what string, server, ours []byte) {
	t.Helper()
	want, err := CanonicalJSON(server)
	if err != nil {
		t.Fatalf("%s: the server's JSON: %v\n%s", what, err, server)
	}
	got, err := CanonicalJSON(ours)
	if err != nil {
		t.Fatalf("%s: our JSON: %v\n%s", what, err, ours)
	}
	if want != got {
		t.Fatalf("%s: ours differs from mlflow server (- server, + ours):\n%s", what, lineDiff(want, got))
	}
}

// lineDiff is a small longest-common-subsequence diff of two texts, changed
// lines with two lines of context.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			lines = append(lines, line{' ', x[i]})
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			lines = append(lines, line{'+', y[j]})
			j++
		default:
			lines = append(lines, line{'-', x[i]})
			i++
		}
	}
	var out strings.Builder
	last := -1
	for k, l := range lines {
		near := false
		for d := -2; d <= 2; d++ {
			if n := k + d; n >= 0 && n < len(lines) && lines[n].op != ' ' {
				near = true
			}
		}
		if !near {
			continue
		}
		if last >= 0 && k > last+1 {
			out.WriteString("  ...\n")
		}
		last = k
		out.WriteByte(l.op)
		out.WriteString(" " + l.text + "\n")
	}
	return out.String()
}

// CanonicalJSON decodes a JSON body keeping number tokens as they are written
// (1.0 and 1 differ) and the order of each object's keys (the server prints
// fields in field-number order, and so does restjson), sorts the lists
// whose order MLflow does not define — a run's metrics, params and tags
// (read from a folder listing), and tag lists — by key, and a run's dataset
// inputs (also a folder listing) by name and digest. Run order in search
// results, history order and page tokens are kept. It returns the value as
// indented JSON, so that a mismatch shows as a readable diff.
func CanonicalJSON(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return "", err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("more than one JSON value")
	}
	sortUnordered(v, "")
	var b strings.Builder
	render(&b, v, "")
	return b.String(), nil
}

// object is a JSON object with its keys in the order they were written.
type object struct {
	keys []string
	vals map[string]any
}

// decodeOrdered decodes one JSON value: *object, []any, string,
// json.Number, bool or nil.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &object{vals: map[string]any{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			key := k.(string)
			if _, dup := o.vals[key]; dup {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			o.keys = append(o.keys, key)
			o.vals[key] = v
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token()
		return list, err
	}
	return tok, nil
}

// render writes v as indented JSON, numbers as their tokens.
func render(b *strings.Builder, v any, indent string) {
	switch x := v.(type) {
	case *object:
		if len(x.keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range x.keys {
			q, _ := json.Marshal(k)
			b.WriteString(indent + "  " + string(q) + ": ")
			render(b, x.vals[k], indent+"  ")
			if i < len(x.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(indent + "  ")
			render(b, e, indent+"  ")
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case json.Number:
		b.WriteString(string(x))
	default:
		q, _ := json.Marshal(x)
		b.Write(q)
	}
}

func sortUnordered(v any, field string) {
	switch x := v.(type) {
	case *object:
		for _, k := range x.keys {
			child := x.vals[k]
			list, ok := child.([]any)
			switch {
			case !ok:
			case k == "tags" || (field == "data" && (k == "params" || k == "metrics")):
				slices.SortStableFunc(list, func(a, b any) int {
					return strings.Compare(keyOf(a), keyOf(b))
				})
			case k == "dataset_inputs":
				// FileStore lists a run's inputs folder in directory order.
				slices.SortStableFunc(list, func(a, b any) int {
					return strings.Compare(datasetOf(a), datasetOf(b))
				})
			}
			sortUnordered(child, k)
		}
	case []any:
		for _, child := range x {
			sortUnordered(child, field)
		}
	}
}

// field is o[key] when o is an object.
func field(o any, key string) any {
	if m, ok := o.(*object); ok {
		return m.vals[key]
	}
	return nil
}

// datasetOf is the name and digest of a dataset input.
func datasetOf(v any) string {
	d := field(v, "dataset")
	name, _ := field(d, "name").(string)
	digest, _ := field(d, "digest").(string)
	return name + "\x00" + digest
}

func keyOf(v any) string {
	k, _ := field(v, "key").(string)
	return k
}
