package validate

import (
	"strconv"

	"github.com/mlruns-go/mlruns/entities"
)

// LoggedModelStatus refuses a status that is not one of MLflow's four
// (UNSPECIFIED, PENDING, READY, FAILED), with LoggedModelStatus.to_int's
// message. Python cannot be handed another value (it is an Enum); a Go
// integer can.
func LoggedModelStatus(s entities.LoggedModelStatus) error {
	if s.Valid() {
		return nil
	}
	v := strconv.Itoa(int(s))
	return plain("status", v, "must be UNSPECIFIED, PENDING, READY or FAILED", "Unknown model status: "+v)
}
