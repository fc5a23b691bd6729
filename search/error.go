package search

import (
	"fmt"

	"github.com/mlruns-go/mlruns/errs"
)

// Error is a rejected filter, order_by clause, page token or limit. Msg
// follows the gist of MLflow's message; Pos is the byte offset in the input
// where the problem starts (-1 when it concerns the whole input).
type Error struct {
	Input string
	Pos   int
	Msg   string
}

func (e *Error) Error() string {
	if e.Pos < 0 {
		return "mlruns: " + e.Msg
	}
	return fmt.Sprintf("mlruns: %s (at position %d of %q)", e.Msg, e.Pos, e.Input)
}

// Unwrap makes every search error an invalid parameter
// (INVALID_PARAMETER_VALUE), as MLflow reports them.
func (e *Error) Unwrap() error { return errs.ErrInvalidParameter }

func errAt(input string, pos int, format string, args ...any) *Error {
	return &Error{Input: input, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
