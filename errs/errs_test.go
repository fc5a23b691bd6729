package errs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/stretchr/testify/require"
)

func TestCode(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"invalid", errs.New(errs.ErrInvalidParameter, "x"), "INVALID_PARAMETER_VALUE"},
		{"path", fmt.Errorf("wrap: %w", errs.ErrInvalidPath), "INVALID_PARAMETER_VALUE"},
		{"notfound", errs.New(errs.ErrNotFound, "x"), "RESOURCE_DOES_NOT_EXIST"},
		{"exists", errs.New(errs.ErrAlreadyExists, "x"), "RESOURCE_ALREADY_EXISTS"},
		{"state", errs.New(errs.ErrInvalidState, "x"), "INVALID_STATE"},
		{"corrupt", errs.New(errs.ErrCorrupt, "x"), "INTERNAL_ERROR"},
		{"plain io", fs.ErrPermission, "INTERNAL_ERROR"},
		{"unsupported", errs.ErrNotSupported, "NOT_IMPLEMENTED"},
		{"internal wins", errs.Internal(errs.New(errs.ErrInvalidParameter, "x")), "INTERNAL_ERROR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, errs.Code(c.err))
		})
	}
}

func TestError_Unwrap(t *testing.T) {
	err := fmt.Errorf("ctx: %w", errs.New(errs.ErrNotFound, "Run 'x' not found"))
	require.ErrorIs(t, err, errs.ErrNotFound)
	require.False(t, errors.Is(err, errs.ErrInvalidParameter))
	require.ErrorIs(t, errs.ErrInvalidPath, errs.ErrInvalidParameter)
	require.False(t, errors.Is(errs.ErrInvalidParameter, errs.ErrInvalidPath))
	var e *errs.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "Run 'x' not found", e.Msg)
}

func TestInternal_KeepsKind(t *testing.T) {
	err := errs.Internal(errs.New(errs.ErrInvalidParameter, "Changing param values is not allowed."))
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.ErrorIs(t, err, errs.ErrInternal)
	require.Equal(t, "mlruns: Changing param values is not allowed.", err.Error())
	require.NoError(t, errs.Internal(nil))
}

// A server's own code wins over the kind's (BAD_REQUEST is a kind of
// invalid parameter to a Go caller, but its code stays the server's), and
// the authentication sentinels have theirs.
func TestCode_ServerCodes(t *testing.T) {
	require.Equal(t, "BAD_REQUEST", errs.Code(fmt.Errorf("wrapped: %w", codedErr{"BAD_REQUEST"})))
	require.Equal(t, errs.CodeUnauthenticated, errs.Code(fmt.Errorf("x: %w", errs.ErrUnauthenticated)))
	require.Equal(t, errs.CodePermissionDenied, errs.Code(errs.ErrPermissionDenied))
	require.Equal(t, errs.CodeInvalidParameterValue, errs.Code(codedErr{""}), "an empty code falls back to the kind")
}

type codedErr struct{ code string }

func (e codedErr) Error() string     { return "coded" }
func (e codedErr) ErrorCode() string { return e.code }
func (e codedErr) Unwrap() error     { return errs.ErrInvalidParameter }
