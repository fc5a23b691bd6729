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

// send is call with the body already encoded.
func (s *Store) send(ctx context.Context, ep endpoint, path string, query url.Values, payload []byte, out any) error {
	target := s.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	left := s.cfg.maxRetries // urllib3's total
	failures := 0            // the history whose length sets the backoff
	for {
		status, header, respBody, sent, err := s.attempt(ctx, ep, target, payload)
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("mlruns: %s: %w", ep.rpc, cerr)
		}
		var wait time.Duration
		switch {
		case err != nil:
			// A connect error (nothing reached the server) is retried in
			// both classes; a read error (timeout or reset after the
			// request went out) only for safe calls.
			if left == 0 || (sent && ep.class == retryUnsafe) {
				terr := &TransportError{RPC: ep.rpc, URL: target, Attempts: failures + 1, Err: err}
				if sent && ep.class == retryUnsafe {
					return &UnknownOutcomeError{RPC: ep.rpc, Err: terr}
				}
				return terr
			}
			failures++
			wait = backoff(failures, s.cfg.backoffFactor, s.cfg.backoffJitter, s.jitter())
		case status == http.StatusOK:
			return decodeOK(ep, path, respBody, out)
		case s.isRetryStatus(ep.class, status, header.Get("Retry-After") != "", left) && left > 0:
			failures++
			wait = backoff(failures, s.cfg.backoffFactor, s.cfg.backoffJitter, s.jitter())
			if ra := header.Get("Retry-After"); ra != "" && s.cfg.respectRetryAfter {
				d, perr := s.retryAfter(ra)
				if perr != nil {
					return &TransportError{RPC: ep.rpc, URL: target, Attempts: failures, Err: perr}
				}
				if d > 0 {
					wait = d
				}
			}
		default:
			e := decodeError(ep.rpc, status, respBody)
			if ep.class == retryUnsafe && status >= 500 && status != http.StatusNotImplemented {
				return &UnknownOutcomeError{RPC: ep.rpc, Err: e}
			}
			return e
		}
		left--
		if err := s.sleep(ctx, wait); err != nil {
			return fmt.Errorf("mlruns: %s: %w", ep.rpc, err)
		}
	}
}

// attempt sends the request once within MLFLOW_HTTP_REQUEST_TIMEOUT. sent
// reports whether a connection was made, after which the request may have
// reached the server.
func (s *Store) attempt(ctx context.Context, ep endpoint, target string, payload []byte) (status int, h http.Header, body []byte, sent bool, err error) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	var connected atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, ep.method, target, rd)
	if err != nil {
		return 0, nil, nil, false, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", userAgent)
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
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
