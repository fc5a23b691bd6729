package entities

import "fmt"

// TagModelIsExternal marks a logged model whose artifacts live outside
// MLflow: mlflow.create_external_model sets it to "true".
const TagModelIsExternal = "mlflow.model.isExternal"

// loggedModelStatusNames are LoggedModelStatus's names in Python
// (mlflow/entities/logged_model_status.py), indexed by the integer
// meta.yaml stores.
var loggedModelStatusNames = [...]string{"UNSPECIFIED", "PENDING", "READY", "FAILED"}

// String returns MLflow's name of the status: UNSPECIFIED, PENDING, READY
// or FAILED (what Python's str(LoggedModelStatus.READY) gives).
func (s LoggedModelStatus) String() string {
	if s.Valid() {
		return loggedModelStatusNames[s]
	}
	return fmt.Sprintf("LoggedModelStatus(%d)", int(s))
}

// Valid reports whether s is one of the four statuses (LoggedModelStatus.from_int).
func (s LoggedModelStatus) Valid() bool {
	return s >= 0 && int(s) < len(loggedModelStatusNames)
}

// Finalized reports whether no further status change is expected (READY
// or FAILED: LoggedModelStatus.is_finalized).
func (s LoggedModelStatus) Finalized() bool {
	return s == LoggedModelReady || s == LoggedModelFailed
}

// ParseLoggedModelStatus returns the status of a name as String gives it.
func ParseLoggedModelStatus(name string) (LoggedModelStatus, error) {
	for i, n := range loggedModelStatusNames {
		if n == name {
			return LoggedModelStatus(i), nil
		}
	}
	return 0, fmt.Errorf("unknown logged model status %q", name)
}

// LoggedModelDatasetFilter is one entry of search_logged_models' datasets:
// metric clauses (and metric-less searches) consider only metrics logged
// against a listed dataset. DatasetName is required; an empty
// DatasetDigest matches any digest.
type LoggedModelDatasetFilter struct {
	DatasetName   string
	DatasetDigest string
}

// LoggedModelOrderBy is one entry of search_logged_models' order_by, a
// dictionary in MLflow: FieldName is an attribute (name, model_id,
// creation_timestamp, ...) or metrics.<key>. The zero Descending is
// MLflow's default, ascending. DatasetName and DatasetDigest narrow a
// metric to the values logged against that dataset.
type LoggedModelOrderBy struct {
	FieldName     string
	Descending    bool
	DatasetName   string
	DatasetDigest string
}
