package validate

import "github.com/mlruns-go/mlruns/errs"

// idOK matches ^[a-zA-Z0-9][\w\-]{0,max-1}$ with Python's Unicode \w, as
// re.fullmatch does (so no trailing-newline quirk). Lengths are in code
// points.
func idOK(id string, max int) bool {
	n := 0
	for _, r := range id {
		if n == 0 {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
				return false
			}
		} else if r < 0x80 {
			// ASCII, every id MLflow makes: \w is [A-Za-z0-9_] here
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-') {
				return false
			}
		} else if !IsWordRune(r) {
			return false
		}
		n++
	}
	return n >= 1 && n <= max
}

// RunID checks a run id against _RUN_ID_REGEX ^[a-zA-Z0-9][\w\-]{0,255}$.
// Run ids become folder names, so this is also what keeps them inside the
// experiment folder.
func RunID(id string) error {
	if !idOK(id, 256) {
		return invalidString(errs.ErrInvalidParameter, "run_id", id, "")
	}
	return nil
}

// ExperimentID checks an experiment id against _EXPERIMENT_ID_REGEX
// ^[a-zA-Z0-9][\w\-]{0,63}$. MLflow lets None through; Go callers skip the
// call instead.
func ExperimentID(id string) error {
	if !idOK(id, 64) {
		return plain("experiment_id", id, "must match ^[a-zA-Z0-9][\\w\\-]{0,63}$",
			"Invalid experiment ID: '"+id+"'")
	}
	return nil
}
