// Package mlenv reads MLFLOW_* environment variables as Python MLflow's
// mlflow/environment_variables.py parses them, so a value Python refuses
// is refused here with Python's message instead of silently meaning
// something else.
package mlenv

import (
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// Lookup reads one variable; os.LookupEnv is the process environment's,
// and a test or a library with injected settings passes its own.
type Lookup func(name string) (string, bool)

// Bool is BoolFrom of the process environment.
func Bool(name string, def bool) (bool, error) { return BoolFrom(os.LookupEnv, name, def) }

// Int is IntFrom of the process environment.
func Int(name string, def int) (int, error) { return IntFrom(os.LookupEnv, name, def) }

// Float is FloatFrom of the process environment.
func Float(name string, def float64) (float64, error) { return FloatFrom(os.LookupEnv, name, def) }

// String is StringFrom of the process environment.
func String(name, def string) string { return StringFrom(os.LookupEnv, name, def) }

// BoolFrom is _BooleanEnvironmentVariable.get: unset is def; "true",
// "false", "1" and "0" in any case are the values (no trimming, so "" and
// " true" are refused, as in Python); anything else is an
// ErrInvalidParameter error with the text of Python's ValueError.
func BoolFrom(lookup Lookup, name string, def bool) (bool, error) {
	v, ok := lookup(name)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
		"%s value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got %s", name, v))
}

// IntFrom is _EnvironmentVariable(int).get: unset is def; otherwise
// Python's int() of the text (pynum.ParseInt: surrounding whitespace, a
// sign, underscores between digits); anything else, or a number past
// Go's int, is an ErrInvalidParameter error with the text of Python's
// ValueError.
func IntFrom(lookup Lookup, name string, def int) (int, error) {
	v, ok := lookup(name)
	if !ok {
		return def, nil
	}
	if n, err := pynum.ParseInt(v); err == nil && n >= math.MinInt && n <= math.MaxInt {
		return int(n), nil
	}
	return 0, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
		"Failed to convert %s for %s: invalid literal for int() with base 10: %s", PyQuote(v), name, PyQuote(v)))
}

// FloatFrom is _EnvironmentVariable(float).get: unset is def; otherwise
// Python's float() of the text (pynum.ParseFloat: whitespace, underscores,
// nan and inf, overflow to ±inf); anything else is an ErrInvalidParameter
// error with the text of Python's ValueError.
func FloatFrom(lookup Lookup, name string, def float64) (float64, error) {
	v, ok := lookup(name)
	if !ok {
		return def, nil
	}
	if f, err := pynum.ParseFloat(v); err == nil {
		return f, nil
	}
	return 0, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
		"Failed to convert %s for %s: could not convert string to float: %s", PyQuote(v), name, PyQuote(v)))
}

// StringFrom is _EnvironmentVariable(str).get: the text as it is when
// set (an empty string too), else def.
func StringFrom(lookup Lookup, name, def string) string {
	if v, ok := lookup(name); ok {
		return v
	}
	return def
}

// PyQuote is Python's repr of a plain string, enough for a message.
func PyQuote(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
