package reststore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
)

// The authentication sentinels are package errs' (so errs.Code gives
// UNAUTHENTICATED and PERMISSION_DENIED); kept here under their old names.
var (
	ErrUnauthenticated  = errs.ErrUnauthenticated
	ErrPermissionDenied = errs.ErrPermissionDenied
)

// Error is a failed REST call: the server's MLflow error code and message
// (or, for a body that is not MLflow's JSON error, the code Python derives
// from the HTTP status). It unwraps to the errs sentinel of its kind, so
// callers branch as with the file store.
type Error struct {
	RPC     string // the RPC, e.g. "CreateRun"
	Status  int    // the HTTP status
	Code    string // MLflow's error code, e.g. RESOURCE_DOES_NOT_EXIST
	Message string // the server's message, or the body of a non-JSON answer
	kind    error
	// named: the answer was MLflow's error JSON with an error_code of
	// its own (not the INTERNAL_ERROR a bare body defaults to).
	named bool
}

// refusal reports whether a 5xx answer is one the server gives only
// before it writes anything, so an unsafe write it answers was not
// applied: MLflow maps INVALID_STATE ("Cannot rename a non-active
// experiment.") to 500. Every other 5xx may follow a commit
// (INTERNAL_ERROR from a failure after it, TEMPORARILY_UNAVAILABLE, a
// code of a newer server or of a proxy), so it stays an unknown outcome.
func (e *Error) refusal() bool {
	return e.named && e.Code == errs.CodeInvalidState
}

func (e *Error) Error() string {
	return fmt.Sprintf("mlruns: %s: %s: %s", e.RPC, e.Code, e.Message)
}

// Unwrap returns the sentinel of the code's kind.
func (e *Error) Unwrap() error { return e.kind }

// ErrorCode is MLflow's error code (errs.Code gives only the codes of the
// errs sentinels).
func (e *Error) ErrorCode() string { return e.Code }

// kindOf maps MLflow's error codes to the errs sentinels.
func kindOf(code string) error {
	switch code {
	case errs.CodeInvalidParameterValue, "BAD_REQUEST", "INVALID_REQUEST", "MALFORMED_REQUEST",
		"INVALID_STATE_TRANSITION", "REQUEST_LIMIT_EXCEEDED":
		return errs.ErrInvalidParameter
	case errs.CodeResourceDoesNotExist, "NOT_FOUND":
		return errs.ErrNotFound
	case errs.CodeResourceAlreadyExists, "ALREADY_EXISTS":
		return errs.ErrAlreadyExists
	case errs.CodeInvalidState:
		return errs.ErrInvalidState
	case errs.CodeNotImplemented, "ENDPOINT_NOT_FOUND", "FEATURE_DISABLED":
		// an endpoint the server does not have: an older server
		return errs.ErrNotSupported
	case "UNAUTHENTICATED", "CUSTOMER_UNAUTHORIZED":
		return ErrUnauthenticated
	case "PERMISSION_DENIED":
		return ErrPermissionDenied
	}
	return errs.ErrInternal
}

// statusCode is mlflow.utils.rest_utils.get_error_code: the code of a
// non-JSON error answer, from its status.
func statusCode(status int) string {
	switch status {
	case 400:
		return "BAD_REQUEST"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "ENDPOINT_NOT_FOUND"
	case 409:
		return "ALREADY_EXISTS"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 501:
		return "NOT_IMPLEMENTED"
	case 503:
		return "TEMPORARILY_UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return errs.CodeInternalError
}

// maxMessage bounds how much of a non-JSON body goes into a message.
const maxMessage = 1000

// decodeError turns a non-200 answer into an *Error as verify_rest_response
// does: a JSON object body carries error_code and message; any other body
// (the basic-auth app's plain-text 401/403, an HTML 404 of an older server
// or a proxy) gets the code of its status.
func decodeError(rpc string, status int, body []byte) *Error {
	var e struct {
		ErrorCode *string `json:"error_code"`
		Message   *string `json:"message"`
		Detail    any     `json:"detail"` // FastAPI's {"detail": ...}
	}
	if isJSONObject(body) && json.Unmarshal(body, &e) == nil {
		// RestException: error_code defaults to INTERNAL_ERROR and the
		// message to the whole body.
		code := errs.CodeInternalError
		if e.ErrorCode != nil {
			code = *e.ErrorCode
		}
		msg := string(body)
		switch {
		case e.Message != nil:
			msg = *e.Message
		case e.Detail != nil:
			if s, ok := e.Detail.(string); ok {
				msg = s
			}
		}
		return &Error{RPC: rpc, Status: status, Code: code, Message: msg, kind: kindOf(code), named: e.ErrorCode != nil}
	}
	code := statusCode(status)
	text := strings.TrimSpace(string(body))
	if len(text) > maxMessage {
		text = text[:maxMessage] + "..."
	}
	msg := fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	if text != "" {
		msg += ": " + text
	}
	return &Error{RPC: rpc, Status: status, Code: code, Message: msg, kind: kindOf(code)}
}

func isJSONObject(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return strings.HasPrefix(s, "{") && json.Valid([]byte(s))
}

// UnknownOutcomeError reports a write that is not safe to repeat and whose
// request may have reached the server before the failure: the server may
// or may not have applied it (MLflow's own server can answer 503 after it
// committed). It unwraps to the failure.
type UnknownOutcomeError struct {
	RPC string
	Err error
}

func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("mlruns: %s: the outcome is unknown: the request may have reached the server, "+
		"which may have applied it; it is not sent again, since repeating it is not safe: %v", e.RPC, e.Err)
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// TransportError is a request that got no HTTP answer (connection refused,
// reset, timeout) after the retries Python MLflow would make.
type TransportError struct {
	RPC      string
	URL      string
	Attempts int
	Err      error
}

func (e *TransportError) Error() string {
	msg := fmt.Sprintf("mlruns: %s: API request to %s failed after %d attempt(s): %v", e.RPC, e.URL, e.Attempts, e.Err)
	var te interface{ Timeout() bool }
	if errors.As(e.Err, &te) && te.Timeout() {
		msg += " (to allow more time, set MLFLOW_HTTP_REQUEST_TIMEOUT to a larger value)"
	}
	return msg
}

// Unwrap returns the cause and ErrInternal (errs.Code INTERNAL_ERROR).
func (e *TransportError) Unwrap() []error { return []error{e.Err, errs.ErrInternal} }

// EndpointNotFoundError is an RPC whose endpoint the server does not have:
// it answered 404 ENDPOINT_NOT_FOUND (Flask's HTML "Not Found" page, or
// MLflow's JSON code). A server older than MLflow 3 lacks the logged-model
// and runs/outputs endpoints; a tracking URI that misses the server's path
// prefix gets the same answer for every call. It unwraps to the server's
// answer (an *Error of kind errs.ErrNotSupported).
type EndpointNotFoundError struct {
	RPC    string // the RPC, e.g. "LogOutputs"
	Method string // its HTTP method
	Path   string // its path under the tracking URI
	// ServerVersion is what the server's GET /version said ("" when it
	// could not be read).
	ServerVersion string
	Err           *Error
}

func (e *EndpointNotFoundError) Error() string {
	msg := fmt.Sprintf("mlruns: %s: the tracking server has no endpoint %s %s (HTTP %d %s): ",
		e.RPC, e.Method, e.Path, e.Err.Status, e.Err.Code)
	major, minor, ok := versionNumbers(e.ServerVersion)
	switch {
	case !ok:
		msg += "it is an MLflow server older than the MLflow 3.18 API this client speaks (its version could not be read from /version), " +
			"or the tracking URI does not point at the MLflow server itself (check its path prefix)"
	case major < clientMajor || (major == clientMajor && minor < clientMinor):
		msg += fmt.Sprintf("the server runs MLflow %s, older than the MLflow 3.18 API this client speaks; "+
			"upgrade the server, or check that the tracking URI points at the MLflow server itself (its path prefix)", e.ServerVersion)
	default:
		msg += fmt.Sprintf("the server runs MLflow %s, which should have it; check that the tracking URI points at the MLflow server itself (its path prefix)",
			e.ServerVersion)
	}
	return msg
}

// Unwrap returns the server's answer.
func (e *EndpointNotFoundError) Unwrap() error { return e.Err }

// The MLflow version whose API this client speaks.
const clientMajor, clientMinor = 3, 18

var versionPrefix = regexp.MustCompile(`^(\d+)\.(\d+)`)

// versionNumbers reads major.minor from the start of a version string.
func versionNumbers(v string) (major, minor int, ok bool) {
	m := versionPrefix.FindStringSubmatch(v)
	if m == nil {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(m[1])
	b, err2 := strconv.Atoi(m[2])
	return a, b, err1 == nil && err2 == nil
}
