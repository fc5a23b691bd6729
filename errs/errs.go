// Package errs holds the exported sentinel errors of mlruns and their mapping
// to MLflow's error codes.
//
// Every error returned by the store, the validators and the codecs unwraps
// (errors.Is) to exactly one of the sentinels below, so callers branch on the
// kind of failure and never on message text. The package imports nothing of
// ours, so every other package may depend on it.
package errs

import "errors"

// Sentinels. Each maps to one MLflow error code (see Code).
var (
	// ErrInvalidParameter: a caller-supplied value breaks a rule
	// (INVALID_PARAMETER_VALUE).
	ErrInvalidParameter = errors.New("mlruns: invalid parameter value")
	// ErrNotFound: an experiment, run, tag or file does not exist
	// (RESOURCE_DOES_NOT_EXIST).
	ErrNotFound = errors.New("mlruns: resource does not exist")
	// ErrAlreadyExists: a name or id is taken (RESOURCE_ALREADY_EXISTS).
	ErrAlreadyExists = errors.New("mlruns: resource already exists")
	// ErrInvalidState: the tree or an entity is in a state the operation
	// does not allow, e.g. a run whose meta disagrees with its folder
	// (INVALID_STATE).
	ErrInvalidState = errors.New("mlruns: invalid state")
	// ErrCorrupt: a file cannot be parsed (INTERNAL_ERROR, as MLflow reports
	// malformed metric files).
	ErrCorrupt = errors.New("mlruns: corrupt data")
	// ErrInvalidPath: a key, id or artifact path would resolve outside its
	// folder or to another name. It is a kind of invalid parameter:
	// errors.Is(ErrInvalidPath, ErrInvalidParameter) holds
	// (INVALID_PARAMETER_VALUE).
	ErrInvalidPath error = &subKind{msg: "mlruns: invalid path", parent: ErrInvalidParameter}
	// ErrInternal: any other failure MLflow reports as INTERNAL_ERROR.
	ErrInternal = errors.New("mlruns: internal error")
	// ErrNotSupported: the backend cannot do this (e.g. an http tracking URI
	// given to the file store).
	ErrNotSupported = errors.New("mlruns: not supported")
	// ErrUnauthenticated: a tracking server wants credentials, or refused
	// the ones given (HTTP 401, UNAUTHENTICATED).
	ErrUnauthenticated = errors.New("mlruns: unauthenticated")
	// ErrPermissionDenied: the server's user may not do this (HTTP 403,
	// PERMISSION_DENIED).
	ErrPermissionDenied = errors.New("mlruns: permission denied")
)

// subKind is a sentinel that is also its parent sentinel.
type subKind struct {
	msg    string
	parent error
}

func (e *subKind) Error() string { return e.msg }
func (e *subKind) Unwrap() error { return e.parent }

// MLflow error codes, as used in its REST API and MlflowException.
const (
	CodeInvalidParameterValue = "INVALID_PARAMETER_VALUE"
	CodeResourceDoesNotExist  = "RESOURCE_DOES_NOT_EXIST"
	CodeResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	CodeInvalidState          = "INVALID_STATE"
	CodeInternalError         = "INTERNAL_ERROR"
	CodeNotImplemented        = "NOT_IMPLEMENTED"
	CodeUnauthenticated       = "UNAUTHENTICATED"
	CodePermissionDenied      = "PERMISSION_DENIED"
)

// Code returns MLflow's error code for err, or "" for nil. An error that
// carries the code a server sent (an ErrorCode method, as reststore's
// errors have) gives that code; unknown errors (plain I/O failures, say)
// are INTERNAL_ERROR, as MLflow reports them.
func Code(err error) string {
	var coded interface{ ErrorCode() string }
	switch {
	case err == nil:
		return ""
	case errors.As(err, &coded) && coded.ErrorCode() != "":
		return coded.ErrorCode()
	case errors.Is(err, ErrUnauthenticated):
		return CodeUnauthenticated
	case errors.Is(err, ErrPermissionDenied):
		return CodePermissionDenied
	case errors.Is(err, ErrInternal):
		// checked first: Internal marks errors MLflow reports as
		// INTERNAL_ERROR whatever their kind (see Internal)
		return CodeInternalError
	case errors.Is(err, ErrInvalidParameter), errors.Is(err, ErrInvalidPath):
		return CodeInvalidParameterValue
	case errors.Is(err, ErrNotFound):
		return CodeResourceDoesNotExist
	case errors.Is(err, ErrAlreadyExists):
		return CodeResourceAlreadyExists
	case errors.Is(err, ErrInvalidState):
		return CodeInvalidState
	case errors.Is(err, ErrNotSupported):
		return CodeNotImplemented
	default:
		return CodeInternalError
	}
}

// Error is a general typed error: a sentinel kind plus MLflow's message.
// The store returns it where no more specific type (validate.Error,
// layout.CorruptionError) fits.
type Error struct {
	Kind error  // one of the sentinels above
	Msg  string // MLflow-style message, without the "mlruns: " prefix
}

func (e *Error) Error() string { return "mlruns: " + e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// New returns an *Error of the given kind.
func New(kind error, msg string) error { return &Error{Kind: kind, Msg: msg} }

// Internal marks err as one MLflow reports as INTERNAL_ERROR while keeping
// its own kind for errors.Is: a param conflict inside log_batch is still
// ErrInvalidParameter to a Go caller, but its code is INTERNAL_ERROR, as
// MLflow's FileStore.log_batch re-raises every failure that way.
func Internal(err error) error {
	if err == nil {
		return nil
	}
	return &internalError{err}
}

type internalError struct{ err error }

func (e *internalError) Error() string   { return e.err.Error() }
func (e *internalError) Unwrap() []error { return []error{e.err, ErrInternal} }
