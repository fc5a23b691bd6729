package reststore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mlruns-go/mlruns/errs"
)

// Store is an MLflow tracking server as a store.Store. It is safe for
// concurrent use; requests share one pool of keep-alive connections.
type Store struct {
	base    string // the tracking URI without its trailing slash
	client  *http.Client
	cfg     config
	auth    string // the Authorization header, "" for none
	sleep   func(context.Context, time.Duration) error
	jitter  func() float64
	now     func() time.Time
	maxBody int
	probe   probeState // what the server says of itself, fetched on first need (probe.go)
}

// userAgent names this client to the server (Python sends
// mlflow-python-client/<version>).
const userAgent = "mlruns-go"

// Open returns the store of the tracking server at uri, an http:// or
// https:// URL (a path prefix such as https://host/mlflow is kept: the API
// paths are appended to it). Settings come from the environment, read once
// here as Python MLflow reads them (see Options). Open sends no request.
func Open(uri string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("tracking URI %q: %v", uri, err))
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("tracking URI %q: a server store needs an http:// or https:// URI", uri))
	case u.Host == "":
		return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("tracking URI %q has no host", uri))
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("tracking URI %q: a query or fragment cannot prefix API paths", uri))
	}
	cfg, err := loadConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		base:    strings.TrimSuffix(uri, "/"), // Python's strip_suffix: one slash
		cfg:     cfg,
		sleep:   opts.Sleep,
		jitter:  opts.Jitter,
		now:     opts.Now,
		maxBody: opts.MaxBodyBytes,
	}
	if s.sleep == nil {
		s.sleep = sleepCtx
	}
	if s.jitter == nil {
		s.jitter = randomJitter
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	// rest_utils.http_request: basic when both are set, else bearer.
	switch {
	case cfg.username != "" && cfg.password != "":
		s.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.username+":"+cfg.password))
	case cfg.token != "":
		s.auth = "Bearer " + cfg.token
	}
	rt := opts.Transport
	if rt == nil {
		if rt, err = newTransport(cfg); err != nil {
			return nil, err
		}
	}
	s.client = &http.Client{Transport: rt}
	if !cfg.allowRedirects {
		s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return s, nil
}

// newTransport is the keep-alive pool with the proxy from the environment
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) and the TLS settings of cfg.
func newTransport(cfg config) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.MaxIdleConns = 100
	tr.MaxIdleConnsPerHost = 32
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case cfg.insecureTLS:
		tc.InsecureSkipVerify = true
	case cfg.serverCertPath != nil && *cfg.serverCertPath == "":
		// requests' verify="" is falsy: no verification, as Python.
		tc.InsecureSkipVerify = true
	case cfg.serverCertPath != nil:
		pool, err := loadCAs(*cfg.serverCertPath)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if cfg.clientCertPath != "" {
		// requests' cert=<path>: one PEM file with the certificate and key.
		cert, err := tls.LoadX509KeyPair(cfg.clientCertPath, cfg.clientCertPath)
		if err != nil {
			return nil, configError("MLFLOW_TRACKING_CLIENT_CERT_PATH", fmt.Sprintf("%s: %v", cfg.clientCertPath, err))
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tc
	return tr, nil
}

// loadCAs reads a CA bundle file, or every certificate file of a folder
// (requests accepts both as verify=).
func loadCAs(path string) (*x509.CertPool, error) {
	fail := func(err error) error {
		return configError("MLFLOW_TRACKING_SERVER_CERT_PATH", fmt.Sprintf("%s: %v", path, err))
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fail(err)
	}
	files := []string{path}
	if fi.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fail(err)
		}
		files = files[:0]
		for _, e := range ents {
			if !e.IsDir() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	pool := x509.NewCertPool()
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fail(err)
		}
		if pool.AppendCertsFromPEM(b) {
			found = true
		}
	}
	if !found {
		return nil, fail(errors.New("no PEM certificate found"))
	}
	return pool, nil
}

// Close releases idle connections. The store stays usable.
func (s *Store) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// retryClass is how a call may be repeated (rest_utils.call_endpoint).
type retryClass int

const (
	// retrySafe: GET, PATCH, DELETE, and the POSTs of
	// _RETRY_SAFE_POST_RESPONSES (reads, and writes the server applies
	// idempotently): retried on 408, 429, 500, 502, 503, 504, on a 413,
	// 429 or 503 with Retry-After, and on every transport error.
	retrySafe retryClass = iota
	// retryUnsafe: other POSTs. Retried only on 408 and 429 (the server did
	// not process the request) and on errors before a connection was made.
	retryUnsafe
)

// endpoint is one RPC of MlflowService: its name, method, path under the
// tracking URI, and retry class.
type endpoint struct {
	rpc    string
	method string
	path   string
	class  retryClass
}

// isRetryStatus is urllib3's Retry.is_retry for the class: the status
// force-list, or a Retry-After on 413/429/503 while retries remain (not
// for unsafe writes, _StatusForcelistOnlyRetry).
func (s *Store) isRetryStatus(c retryClass, status int, hasRetryAfter bool, left int) bool {
	switch status {
	case 408, 429:
		return true
	case 500, 502, 503, 504:
		if c == retrySafe {
			return true
		}
	}
	return c == retrySafe && left > 0 && s.cfg.respectRetryAfter && hasRetryAfter &&
		(status == 413 || status == 429 || status == 503)
}

var retryAfterSeconds = regexp.MustCompile(`^\s*[0-9]+\s*$`)

// retryAfter is urllib3's parse_retry_after: whole seconds or an HTTP
// date, at least 0, at most 6 hours.
func (s *Store) retryAfter(v string) (time.Duration, error) {
	var sec float64
	if retryAfterSeconds.MatchString(v) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			n = retryAfterMax
		}
		sec = float64(n)
	} else {
		t, err := mail.ParseDate(v)
		if err != nil {
			return 0, fmt.Errorf("invalid Retry-After header: %s", v)
		}
		sec = t.Sub(s.now()).Seconds()
	}
	sec = max(sec, 0)
	sec = min(sec, retryAfterMax)
	return time.Duration(sec * float64(time.Second)), nil
}

// call sends one RPC and decodes the answer into out (nil: ignored).
// body is JSON-encoded for POST, PATCH and DELETE; query is for GET.
// Retries follow Python's policy for the endpoint's class; the caller's
// ctx bounds everything, MLFLOW_HTTP_REQUEST_TIMEOUT each attempt.
func (s *Store) call(ctx context.Context, ep endpoint, path string, query url.Values, body, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("mlruns: %s: encoding the request: %w", ep.rpc, err)
		}
	}
	return s.send(ctx, ep, path, query, payload, out)
}

// send is call with the body already encoded. As RestStore._call_endpoint,
// it first makes sure that the server has workspaces when MLFLOW_WORKSPACE
// names one; a call that appends metric points is in the unsafe class on a
// FileStore-backed server (probe.go); an endpoint the server lacks is an
// *EndpointNotFoundError.
func (s *Store) send(ctx context.Context, ep endpoint, path string, query url.Values, payload []byte, out any) error {
	if err := s.checkWorkspace(ctx, ep.rpc); err != nil {
		return err
	}
	if ep.class == retrySafe && s.duplicatesPoints(ctx, ep, payload) {
		ep.class = retryUnsafe
	}
	target := s.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	r, err := s.retry(ctx, ep, target, nil, func() reply {
		status, header, body, sent, err := s.attempt(ctx, ep.method, target, path, payload, s.cfg.timeout)
		return reply{status: status, header: header, body: body, sent: sent, err: err}
	})
	if err != nil {
		return s.endpointMissing(ctx, ep, path, err)
	}
	return decodeOK(ep, path, r.body, out)
}

// reply is what one attempt got: an HTTP answer (its body read whole, or
// left open in stream) or a transport error.
type reply struct {
	status int
	header http.Header
	body   []byte
	stream io.ReadCloser // the open body of a streamed answer, else nil
	sent   bool          // a connection was made: the request may have reached the server
	final  bool          // an answer not to retry whatever its status
	err    error
}

// close releases a streamed answer's body.
func (r reply) close() {
	if r.stream != nil {
		r.stream.Close()
	}
}

// maxErrorBody bounds how much of a streamed error answer is read.
const maxErrorBody = 1 << 20

// retry makes attempts with Python's retry policy for the endpoint's class
// until one gets a 200 (returned) or a final failure (returned as an
// error). rewind, when not nil, is called before each retry and refuses it
// by returning an error (a request body that cannot be sent again); the
// failure is then final.
func (s *Store) retry(ctx context.Context, ep endpoint, target string, rewind func() error, try func() reply) (reply, error) {
	left := s.cfg.maxRetries // urllib3's total
	failures := 0            // the history whose length sets the backoff
	again := func() error {
		if rewind == nil {
			return nil
		}
		return rewind()
	}
	for {
		r := try()
		if cerr := ctx.Err(); cerr != nil {
			r.close()
			return reply{}, fmt.Errorf("mlruns: %s: %w", ep.rpc, cerr)
		}
		var wait time.Duration
		switch {
		case r.err != nil:
			// A connect error (nothing reached the server) is retried in
			// both classes; a read error (timeout or reset after the
			// request went out) only for safe calls.
			final := left == 0 || (r.sent && ep.class == retryUnsafe)
			if !final {
				if rerr := again(); rerr != nil {
					return reply{}, &TransportError{RPC: ep.rpc, URL: target, Attempts: failures + 1,
						Err: fmt.Errorf("%w (not retried: %v)", r.err, rerr)}
				}
			}
			if final {
				terr := &TransportError{RPC: ep.rpc, URL: target, Attempts: failures + 1, Err: r.err}
				if r.sent && ep.class == retryUnsafe {
					return reply{}, &UnknownOutcomeError{RPC: ep.rpc, Err: terr}
				}
				return reply{}, terr
			}
			failures++
			wait = backoff(failures, s.cfg.backoffFactor, s.cfg.backoffJitter, s.jitter())
		case r.status == http.StatusOK:
			return r, nil
		case !r.final && s.isRetryStatus(ep.class, r.status, r.header.Get("Retry-After") != "", left) && left > 0 && again() == nil:
			r.close()
			failures++
			wait = backoff(failures, s.cfg.backoffFactor, s.cfg.backoffJitter, s.jitter())
			if ra := r.header.Get("Retry-After"); ra != "" && s.cfg.respectRetryAfter {
				d, perr := s.retryAfter(ra)
				if perr != nil {
					return reply{}, &TransportError{RPC: ep.rpc, URL: target, Attempts: failures, Err: perr}
				}
				if d > 0 {
					wait = d
				}
			}
		default:
			body := r.body
			if r.stream != nil {
				body, _ = io.ReadAll(io.LimitReader(r.stream, maxErrorBody))
				r.close()
			}
			e := decodeError(ep.rpc, r.status, body)
			if ep.class == retryUnsafe && r.status >= 500 && r.status != http.StatusNotImplemented && !e.refusal() {
				return reply{}, &UnknownOutcomeError{RPC: ep.rpc, Err: e}
			}
			return reply{}, e
		}
		left--
		if err := s.sleep(ctx, wait); err != nil {
			return reply{}, fmt.Errorf("mlruns: %s: %w", ep.rpc, err)
		}
	}
}

// attempt sends the request once within timeout (MLFLOW_HTTP_REQUEST_TIMEOUT
// for an RPC). pyEndpoint is the endpoint Python's http_request is given
// (the path under the tracking URI), for the workspace header. sent
// reports whether a connection was made, after which the request may have
// reached the server.
func (s *Store) attempt(ctx context.Context, method, target, pyEndpoint string, payload []byte, timeout time.Duration) (status int, h http.Header, body []byte, sent bool, err error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var connected atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, target, rd)
	if err != nil {
		return 0, nil, nil, false, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	s.setHeaders(req, pyEndpoint)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, nil, connected.Load(), err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, true, err
	}
	return resp.StatusCode, resp.Header, body, true, nil
}

// workspaceHeader is utils.workspace_utils.WORKSPACE_HEADER_NAME, sent
// spelled as Python spells it.
const workspaceHeader = "X-MLFLOW-WORKSPACE"

// setHeaders sets what every request carries: the user agent, the
// credentials, and the workspace of MLFLOW_WORKSPACE as http_request sets
// it: for every endpoint but those whose path (pyEndpoint, what Python's
// http_request is given) contains /mlflow/workspaces
// (_should_include_workspace_header).
func (s *Store) setHeaders(req *http.Request, pyEndpoint string) {
	req.Header.Set("User-Agent", userAgent)
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	if s.cfg.workspace != "" && includeWorkspaceHeader(pyEndpoint) {
		req.Header[workspaceHeader] = []string{s.cfg.workspaceHeader}
	}
}

// includeWorkspaceHeader is rest_utils._should_include_workspace_header:
// the workspace administration endpoints carry the workspace in their path.
func includeWorkspaceHeader(endpoint string) bool {
	if endpoint == "" {
		return true
	}
	if !strings.HasPrefix(endpoint, "/") {
		endpoint = "/" + endpoint
	}
	return !strings.Contains(endpoint, "/mlflow/workspaces")
}

// streamRequest is one request of the streaming path: a body read as it is
// sent (nil for none) and the answer's body left to the caller.
type streamRequest struct {
	method      string
	target      string
	contentType string
	// body opens the request body for one attempt, with its length (-1
	// when unknown: sent chunked); nil for no body.
	body func() (io.Reader, int64)
	// rewind makes body start again before a retry, or refuses the retry.
	rewind func() error
	// final, when not nil, reads the body of a 503 and says whether it is
	// final (the server says why, and a retry cannot change it).
	final func(body []byte) bool
	// endpoint is what Python's http_request is given for this request
	// (the artifact path for an upload or download), for the workspace
	// header.
	endpoint string
}

// stream sends req with Python's retry policy for ep's class and returns
// the open body of the 200 answer. MLFLOW_HTTP_REQUEST_TIMEOUT bounds each
// wait without progress (as Python's socket timeout: a slow transfer that
// keeps moving is not cut off), the caller's ctx the whole transfer.
func (s *Store) stream(ctx context.Context, ep endpoint, req streamRequest) (io.ReadCloser, error) {
	r, err := s.retry(ctx, ep, req.target, req.rewind, func() reply { return s.streamAttempt(ctx, ep, req) })
	if err != nil {
		return nil, err
	}
	return r.stream, nil
}

func (s *Store) streamAttempt(ctx context.Context, ep endpoint, sr streamRequest) reply {
	actx, cancel := context.WithCancel(ctx)
	idle := time.AfterFunc(s.cfg.timeout, cancel)
	touch := func() { idle.Reset(s.cfg.timeout) }
	stop := func() { idle.Stop(); cancel() }
	var connected atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true); touch() },
	})
	var rd io.Reader
	n := int64(0)
	if sr.body != nil {
		var body io.Reader
		body, n = sr.body()
		rd = &touchReader{r: body, touch: touch}
	}
	req, err := http.NewRequestWithContext(actx, sr.method, sr.target, rd)
	if err != nil {
		stop()
		return reply{err: err}
	}
	if rd != nil {
		req.ContentLength = n
		if n == 0 {
			req.Body = http.NoBody
		}
		req.GetBody = nil // a redirect must not re-read a consumed stream
	}
	if sr.contentType != "" {
		req.Header.Set("Content-Type", sr.contentType)
	}
	s.setHeaders(req, sr.endpoint)
	resp, err := s.client.Do(req)
	if err != nil {
		stop()
		return reply{sent: connected.Load(), err: timeoutCause(actx, ctx, err, s.cfg.timeout)}
	}
	touch()
	if resp.StatusCode == http.StatusServiceUnavailable && sr.final != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		stop()
		return reply{status: resp.StatusCode, header: resp.Header, body: body, sent: true, final: sr.final(body)}
	}
	return reply{status: resp.StatusCode, header: resp.Header, sent: true,
		stream: &idleBody{touchReader: touchReader{r: resp.Body, touch: touch}, stop: stop}}
}

// timeoutCause names the idle timeout when it, not the caller, ended the
// attempt.
func timeoutCause(actx, ctx context.Context, err error, d time.Duration) error {
	if actx.Err() != nil && ctx.Err() == nil {
		return &idleTimeout{d: d, err: err}
	}
	return err
}

// idleTimeout is an attempt that made no progress for
// MLFLOW_HTTP_REQUEST_TIMEOUT.
type idleTimeout struct {
	d   time.Duration
	err error
}

func (e *idleTimeout) Error() string {
	return fmt.Sprintf("no progress for %s: %v", e.d, e.err)
}
func (e *idleTimeout) Unwrap() error { return e.err }
func (e *idleTimeout) Timeout() bool { return true }

// touchReader reports progress on every read; Close closes what it reads
// when that is an io.Closer (the transport closes a request body when it
// is done with it).
type touchReader struct {
	r     io.Reader
	touch func()
}

func (t *touchReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.touch()
	return n, err
}

func (t *touchReader) Close() error {
	if c, ok := t.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// idleBody is a streamed answer's body: reads keep its attempt alive, Close
// ends it.
type idleBody struct {
	touchReader
	stop func()
}

func (b *idleBody) Close() error {
	err := b.touchReader.Close()
	b.stop()
	return err
}

// decodeOK is verify_rest_response for a 200: an empty body (or Armeria's
// "200 OK") is {}; any other body under /api must be a JSON object.
func decodeOK(ep endpoint, path string, body []byte, out any) error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || string(t) == "200 OK" {
		return nil
	}
	if !isJSONObject(t) {
		if len(t) > 50 {
			t = append(t[:50:50], "..."...)
		}
		return &Error{RPC: ep.rpc, Status: http.StatusOK, Code: errs.CodeInternalError, kind: errs.ErrInternal,
			Message: fmt.Sprintf("API request to endpoint %s was successful but the response body was not in a valid JSON format. Response body: '%s'", path, t)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(t, out); err != nil {
		return &Error{RPC: ep.rpc, Status: http.StatusOK, Code: errs.CodeInternalError, kind: errs.ErrInternal,
			Message: fmt.Sprintf("decoding the answer of %s: %v", path, err)}
	}
	return nil
}
