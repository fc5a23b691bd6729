package reststore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mlruns-go/mlruns/errs"
)

// ServerInfo is what a tracking server says of itself at
// GET /api/3.0/mlflow/server-info (handlers.build_server_info_payload),
// which MLflow 3 serves without login even under basic-auth.
type ServerInfo struct {
	// Known is false for a server without the endpoint (404: an MLflow
	// older than 3, or not MLflow); nothing below is known then.
	Known bool
	// StoreType is the tracking store behind the server: "SqlStore",
	// "FileStore", or "" (null: an artifacts-only server or another store).
	StoreType string
	// ArtifactServingEnabled: the server proxies artifacts
	// (mlflow-artifacts: URIs work); false with --no-serve-artifacts.
	ArtifactServingEnabled bool
	// MultipartUploadsEnabled and MultipartDownloadsEnabled: the server
	// hands out presigned URLs for multipart transfers.
	MultipartUploadsEnabled, MultipartDownloadsEnabled bool
	// WorkspacesEnabled: the server runs with --enable-workspaces.
	WorkspacesEnabled bool
}

// FileStoreBacked reports a server over a FileStore tracking tree, which
// appends every metric point it is sent: a retried LogBatch or LogMetric
// stores its points twice there (no primary key drops them, as SQL does).
func (i ServerInfo) FileStoreBacked() bool { return i.Known && i.StoreType == "FileStore" }

// The capability endpoints (utils/server_info.py) and the version route.
const (
	serverInfoPath     = "/api/3.0/mlflow/server-info"
	serverFeaturesPath = "/api/3.0/mlflow/server-features"
	versionPath        = "/version"
)

const (
	// probeTimeout bounds a capability request, without retries, as Python
	// sends them (fetch_server_info, _get_server_version: timeout=3,
	// max_retries=0), so a server without them does not stall a call.
	probeTimeout = 3 * time.Second
	// probeBackoff is how long a failed probe is not repeated for the
	// callers that can do without its answer.
	probeBackoff = 30 * time.Second
)

// probeState holds the answers of the capability requests. A definitive
// answer (a 200, or a 404: no such endpoint) is kept for the Store's life;
// a failure is not, so a later need asks again.
type probeState struct {
	mu       sync.Mutex
	info     *ServerInfo   // server-info's definitive answer
	wait     chan struct{} // closed when the server-info request in flight ends
	err      error         // the last failed server-info request
	failedAt time.Time
	// workspaces is whether the server has workspaces, once determined
	// (WorkspaceRestStoreMixin._workspace_support).
	workspaces *bool
	version    *string // GET /version's text ("" when unreadable), once tried
}

// ServerInfo returns the server's capabilities, asking it once (GET
// /api/3.0/mlflow/server-info, 3 s, no retries; concurrent callers share
// the request). A server without the endpoint gives Known false and no
// error; a failed request (no answer, a 5xx, a body that is not a JSON
// object) is an error and is asked again on the next call.
func (s *Store) ServerInfo(ctx context.Context) (ServerInfo, error) {
	return s.serverInfo(ctx, false)
}

// serverInfo is ServerInfo; lenient callers (those that carry on as before
// without an answer) get the last failure again for probeBackoff instead
// of a new request.
func (s *Store) serverInfo(ctx context.Context, lenient bool) (ServerInfo, error) {
	info, _, err := s.probeServerInfo(ctx, lenient)
	return info, err
}

// probeServerInfo is serverInfo; fetched reports that this call sent the
// request (the answer is not an earlier one).
func (s *Store) probeServerInfo(ctx context.Context, lenient bool) (info ServerInfo, fetched bool, err error) {
	p := &s.probe
	for {
		p.mu.Lock()
		switch {
		case p.info != nil:
			info := *p.info
			p.mu.Unlock()
			return info, false, nil
		case lenient && p.err != nil && time.Since(p.failedAt) < probeBackoff:
			err := p.err
			p.mu.Unlock()
			return ServerInfo{}, false, err
		case p.wait != nil:
			w := p.wait
			p.mu.Unlock()
			select {
			case <-w:
				continue
			case <-ctx.Done():
				return ServerInfo{}, false, ctx.Err()
			}
		}
		w := make(chan struct{})
		p.wait = w
		p.mu.Unlock()

		info, definitive, err := s.fetchServerInfo(ctx)
		p.mu.Lock()
		switch {
		case definitive:
			p.info, p.err = &info, nil
		case ctx.Err() == nil: // a caller giving up says nothing of the server
			p.err, p.failedAt = err, time.Now()
		}
		p.wait = nil
		close(w)
		p.mu.Unlock()
		return info, true, err
	}
}

// probeError is a failed capability request: Python's ServerInfoRequestError
// (no answer, or a 200 that is not a JSON object) or a status other than
// 200 and 404.
type probeError struct {
	Path   string
	Status int    // 0: no answer
	Text   string // the answer's body, or the transport error
	Err    error  // the transport error, or nil
}

func (e *probeError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("Failed to query %s: %s", e.Path, e.Text)
	}
	return fmt.Sprintf("Failed to query %s: %d %s", e.Path, e.Status, e.Text)
}

func (e *probeError) Unwrap() []error { return []error{e.Err, errs.ErrInternal} }

// getCapability sends one capability GET (no retries, probeTimeout) and
// returns its status and body; no answer is a *probeError.
func (s *Store) getCapability(ctx context.Context, path string) (int, []byte, error) {
	status, _, body, _, err := s.attempt(ctx, http.MethodGet, s.base+path, path, nil, probeTimeout)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, &probeError{Path: path, Text: err.Error(), Err: err}
	}
	return status, body, nil
}

// capabilityObject is server_info._fetch_server_info_response: a 200 must
// carry a JSON object; a 404 is returned as such; another status is a
// *probeError with the answer's text.
func (s *Store) capabilityObject(ctx context.Context, path string) (int, map[string]any, error) {
	status, body, err := s.getCapability(ctx, path)
	switch {
	case err != nil:
		return 0, nil, err
	case status == http.StatusNotFound:
		return status, nil, nil
	case status != http.StatusOK:
		return status, nil, &probeError{Path: path, Status: status, Text: string(body)}
	}
	var data map[string]any
	if !isJSONObject(body) || json.Unmarshal(body, &data) != nil {
		return status, nil, &probeError{Path: path, Text: "Invalid JSON returned by " + path}
	}
	return status, data, nil
}

// fetchServerInfo asks the server once. definitive is true for a 200 with
// a JSON object and for a 404 (Known false).
func (s *Store) fetchServerInfo(ctx context.Context) (info ServerInfo, definitive bool, err error) {
	status, data, err := s.capabilityObject(ctx, serverInfoPath)
	switch {
	case err != nil:
		return ServerInfo{}, false, err
	case status == http.StatusNotFound:
		return ServerInfo{}, true, nil
	}
	storeType, _ := data["store_type"].(string)
	return ServerInfo{
		Known:                     true,
		StoreType:                 storeType,
		ArtifactServingEnabled:    pyTruthy(data["artifact_serving_enabled"]),
		MultipartUploadsEnabled:   pyTruthy(data["multipart_uploads_enabled"]),
		MultipartDownloadsEnabled: pyTruthy(data["multipart_downloads_enabled"]),
		WorkspacesEnabled:         pyTruthy(data["workspaces_enabled"]),
	}, true, nil
}

// pyTruthy is Python's bool() of a decoded JSON value (the flags are read
// with data.get(key, False) and used as conditions).
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// The messages of WorkspaceRestStoreMixin.
const (
	workspaceUnsupported = "Active workspace '%s' cannot be used because the remote server does not " +
		"support workspaces. Restart the server with --enable-workspaces or unset the active " +
		"workspace."
	workspaceUndetermined = "Active workspace '%s' cannot be used. " +
		"MLflow could not determine whether the server supports workspaces, because " +
		"the MLflow server-info and server-features endpoints were not found (HTTP 404). " +
		"Verify that the configured MLflow URI points to the MLflow server, including any " +
		"required path prefix." +
		" If the configured MLflow URI is correct, ensure that the server supports " +
		"workspaces and restart it with --enable-workspaces."
)

// checkWorkspace is WorkspaceRestStoreMixin._validate_workspace_support_if_specified,
// which RestStore._call_endpoint runs before every RPC: with MLFLOW_WORKSPACE
// set, the server must say workspaces_enabled (server-info, or on a 404
// server-features), else the RPC is not sent: FEATURE_DISABLED
// (ErrNotSupported) when the server has no workspaces, INVALID_PARAMETER_VALUE
// when neither endpoint exists, INTERNAL_ERROR or TEMPORARILY_UNAVAILABLE
// when the question could not be asked. The answer is kept; a failure is
// asked again on the next RPC, as Python does.
func (s *Store) checkWorkspace(ctx context.Context, rpc string) error {
	if s.cfg.workspace == "" {
		return nil
	}
	supported, err := s.workspacesSupported(ctx)
	var pe *probeError
	var re *Error
	switch {
	case errors.As(err, &re):
		re.RPC = rpc
		return re
	case errors.As(err, &pe) && pe.Status != 0:
		return &Error{RPC: rpc, Code: "TEMPORARILY_UNAVAILABLE", Message: pe.Error(), kind: errs.ErrInternal}
	case errors.As(err, &pe):
		return &Error{RPC: rpc, Code: errs.CodeInternalError, Message: pe.Error(), kind: errs.ErrInternal}
	case err != nil:
		return fmt.Errorf("mlruns: %s: %w", rpc, err)
	case !supported:
		return &Error{RPC: rpc, Code: "FEATURE_DISABLED", Message: fmt.Sprintf(workspaceUnsupported, s.cfg.workspace), kind: errs.ErrNotSupported}
	}
	return nil
}

// workspacesSupported is WorkspaceRestStoreMixin.supports_workspaces: the
// answer is kept once determined; until then each call asks server-info
// (Python keeps only its 200s) and, on a 404, server-features.
func (s *Store) workspacesSupported(ctx context.Context) (bool, error) {
	p := &s.probe
	p.mu.Lock()
	known := p.workspaces
	p.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	info, fetched, err := s.probeServerInfo(ctx, false)
	if err == nil && !info.Known && !fetched {
		// a kept 404: Python asks again
		if info, _, err = s.fetchServerInfo(ctx); err == nil && info.Known {
			p.mu.Lock()
			p.info = &info
			p.mu.Unlock()
		}
	}
	if err != nil {
		return false, err
	}
	supported := info.WorkspacesEnabled
	if !info.Known {
		status, data, err := s.capabilityObject(ctx, serverFeaturesPath)
		switch {
		case err != nil:
			return false, err
		case status == http.StatusNotFound:
			return false, &Error{Code: errs.CodeInvalidParameterValue, Message: fmt.Sprintf(workspaceUndetermined, s.cfg.workspace),
				kind: errs.ErrInvalidParameter}
		}
		supported = pyTruthy(data["workspaces_enabled"])
	}
	p.mu.Lock()
	p.workspaces = &supported
	p.mu.Unlock()
	return supported, nil
}

// duplicatesPoints reports a call that would store its metric points twice
// if it were sent again after reaching the server: a LogMetric, or a
// LogBatch carrying metrics, to a FileStore-backed server (which appends
// every point; a SQL store drops exact duplicates by its primary key).
// Such a call is in the unsafe retry class, as CreateRun: retried only
// when the server cannot have processed it. The first such call asks the
// server (ServerInfo); a server that does not say is treated as before.
func (s *Store) duplicatesPoints(ctx context.Context, ep endpoint, payload []byte) bool {
	if ep.rpc != epLogBatch.rpc && ep.rpc != epLogMetric.rpc {
		return false
	}
	info, err := s.serverInfo(ctx, true)
	if err != nil || !info.FileStoreBacked() {
		return false
	}
	if ep.rpc == epLogMetric.rpc {
		return true
	}
	var batch struct {
		Metrics []json.RawMessage `json:"metrics"`
	}
	return json.Unmarshal(payload, &batch) != nil || len(batch.Metrics) > 0
}

// checkArtifactServing refuses an mlflow-artifacts: URI of the tracking
// server itself (no host of its own) when the server says it does not
// serve artifacts: every transfer would get its 503 "Artifact serving is
// disabled". A server that does not say is tried as before.
func (s *Store) checkArtifactServing(ctx context.Context, uri, what string) error {
	if u, err := url.Parse(uri); err != nil || u.Host != "" {
		return nil
	}
	info, err := s.serverInfo(ctx, true)
	if err != nil || !info.Known || info.ArtifactServingEnabled {
		return nil
	}
	return errs.New(errs.ErrNotSupported, fmt.Sprintf(
		"artifacts of %s are at %s, through the tracking server's artifact proxy, but Artifact serving is disabled on the server at %s "+
			"(its server-info says artifact_serving_enabled: false: it runs with --no-serve-artifacts); "+
			"restart it with --serve-artifacts to log and read these artifacts", what, uri, s.base))
}

// endpointMissing turns an ENDPOINT_NOT_FOUND answer to an RPC into an
// *EndpointNotFoundError, with the server's version when it is readable.
func (s *Store) endpointMissing(ctx context.Context, ep endpoint, path string, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != "ENDPOINT_NOT_FOUND" {
		return err
	}
	return &EndpointNotFoundError{RPC: ep.rpc, Method: ep.method, Path: path, ServerVersion: s.serverVersion(ctx), Err: e}
}

// versionText is what a /version answer must look like to be quoted
// (an HTML page of a proxy is not a version).
var versionText = regexp.MustCompile(`^[0-9][0-9A-Za-z.+_-]{0,63}$`)

// serverVersion is RestStore._get_server_version: GET /version once (3 s,
// no retries); "" when it cannot be read. The outcome is kept, as Python's
// lru_cache keeps it.
func (s *Store) serverVersion(ctx context.Context) string {
	s.probe.mu.Lock()
	v := s.probe.version
	s.probe.mu.Unlock()
	if v != nil {
		return *v
	}
	status, body, err := s.getCapability(ctx, versionPath)
	if ctx.Err() != nil {
		return ""
	}
	text := strings.TrimSpace(string(body))
	if err != nil || status != http.StatusOK || !versionText.MatchString(text) {
		text = ""
	}
	s.probe.mu.Lock()
	s.probe.version = &text
	s.probe.mu.Unlock()
	return text
}
