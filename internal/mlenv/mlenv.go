// Package mlenv reads MLFLOW_* environment variables as Python MLflow's
// mlflow/environment_variables.py parses them, so a value Python refuses
// is refused here with Python's message instead of silently meaning
// something else.
package mlenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
)

// Bool is _BooleanEnvironmentVariable.get: unset is def; "true", "false",
// "1" and "0" in any case are the values (no trimming, so "" and " true"
// are refused, as in Python); anything else is an ErrInvalidParameter
// error with the text of Python's ValueError.
func Bool(name string, def bool) (bool, error) {
	v, ok := os.LookupEnv(name)
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

// Int is _EnvironmentVariable(int).get: unset is def; otherwise Python's
// int() of the text (surrounding whitespace, a sign and single underscores
// between digits allowed); anything else is an ErrInvalidParameter error
// with the text of Python's ValueError.
func Int(name string, def int) (int, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def, nil
	}
	if n, ok := pyInt(v); ok {
		return n, nil
	}
	return 0, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
		"Failed to convert %s for %s: invalid literal for int() with base 10: %s", pyQuote(v), name, pyQuote(v)))
}

// pyInt is int(s) for base 10 within the int range.
func pyInt(s string) (int, bool) {
	t := strings.TrimFunc(s, func(r rune) bool { return r == ' ' || (r >= '\t' && r <= '\r') })
	digits := strings.TrimLeft(t, "+-")
	if len(t)-len(digits) > 1 || digits == "" || digits[0] == '_' || digits[len(digits)-1] == '_' ||
		strings.Contains(digits, "__") {
		return 0, false
	}
	n, err := strconv.Atoi(t[:len(t)-len(digits)] + strings.ReplaceAll(digits, "_", ""))
	return n, err == nil
}

// pyQuote is Python's repr of a plain string, enough for a message.
func pyQuote(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
