package mlflow

import (
	"fmt"
	"os"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
)

// envBool reads a boolean MLFLOW_* variable as Python's
// _BooleanEnvironmentVariable does: unset is def; "true", "false", "1" and
// "0" in any case are the values (no trimming); anything else is an error
// naming the variable, where Python raises ValueError.
func envBool(name string, def bool) (bool, error) {
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
