// Package difftest runs the same tracking-store workload against Python
// MLflow's FileStore (driver.py) and against filestore.Store, and compares
// what each wrote, byte for byte, after normalising what cannot agree
// (random ids, clock readings, the absolute root).
//
// A workload is a JSON list of Ops. Ops name experiments and runs by their
// slot, never by id: experiment slot 0 is the Default experiment "0", and
// every create_experiment (create_run) op opens the next experiment (run)
// slot, whether it succeeded or not. An op whose slot holds no entity (its
// create failed) has the outcome "noref" on both sides.
//
// Outcomes are "ok" or MLflow's error code: errs.Code on the Go side,
// MlflowException.error_code on the Python side. Python exceptions that are
// not MlflowExceptions count as INTERNAL_ERROR (the tracking server answers
// them with a 500), with their type in the detail.
package difftest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlruns-go/mlruns/internal/restjson"
)

// Op kinds.
const (
	OpCreateExperiment    = "create_experiment"
	OpRenameExperiment    = "rename_experiment"
	OpDeleteExperiment    = "delete_experiment"
	OpRestoreExperiment   = "restore_experiment"
	OpSetExperimentTag    = "set_experiment_tag"
	OpDeleteExperimentTag = "delete_experiment_tag"
	OpCreateRun           = "create_run"
	OpUpdateRun           = "update_run"
	OpDeleteRun           = "delete_run"
	OpRestoreRun          = "restore_run"
	OpLogMetric           = "log_metric"
	OpLogBatch            = "log_batch"
	OpLogParam            = "log_param"
	OpSetTag              = "set_tag"
	OpDeleteTag           = "delete_tag"
	OpLogInputs           = "log_inputs"
	OpLogOutputs          = "log_outputs"
)

// AllOpKinds lists every op kind, for coverage reports.
var AllOpKinds = []string{
	OpCreateExperiment, OpRenameExperiment, OpDeleteExperiment, OpRestoreExperiment,
	OpSetExperimentTag, OpDeleteExperimentTag, OpCreateRun, OpUpdateRun, OpDeleteRun,
	OpRestoreRun, OpLogMetric, OpLogBatch, OpLogParam, OpSetTag, OpDeleteTag,
	OpLogInputs, OpLogOutputs,
}

// OutcomeOK and OutcomeNoRef are the non-error outcomes.
const (
	OutcomeOK    = "ok"
	OutcomeNoRef = "noref"
)

// KV is a key/value pair, written in JSON as ["key", "value"] so order is
// kept (tags are applied in order).
type KV struct {
	Key   string
	Value string
}

// MarshalJSON writes [key, value].
func (kv KV) MarshalJSON() ([]byte, error) { return json.Marshal([2]string{kv.Key, kv.Value}) }

// UnmarshalJSON reads [key, value].
func (kv *KV) UnmarshalJSON(b []byte) error {
	var a [2]string
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	kv.Key, kv.Value = a[0], a[1]
	return nil
}

// Float is a float64 that survives JSON: written as a string, either a
// number Python's float() and Go's ParseFloat both read ("0.1", "nan",
// "-inf", "-0.0", "1e-07") or a bit pattern "bits:<16 hex digits>".
type Float string

// Value decodes the float.
func (f Float) Value() (float64, error) {
	s := string(f)
	if h, ok := strings.CutPrefix(s, "bits:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 8 {
			return 0, fmt.Errorf("difftest: bad float bits %q", s)
		}
		var u uint64
		for _, c := range b {
			u = u<<8 | uint64(c)
		}
		return math.Float64frombits(u), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !strings.Contains(err.Error(), "value out of range") {
		return 0, fmt.Errorf("difftest: bad float %q: %w", s, err)
	}
	return v, nil
}

// Bits returns the "bits:" spelling of v.
func Bits(v float64) Float { return Float(fmt.Sprintf("bits:%016x", math.Float64bits(v))) }

// Metric is a metric value to log.
type Metric struct {
	Key           string  `json:"key"`
	Value         Float   `json:"value"`
	Timestamp     int64   `json:"timestamp"`
	Step          int64   `json:"step"`
	DatasetName   *string `json:"dataset_name,omitempty"`
	DatasetDigest *string `json:"dataset_digest,omitempty"`
}

// Dataset is a dataset input with its input tags. The embedded
// restjson.Dataset's fields are written inline, so the op's JSON (what
// driver.py reads) is {"name", "digest", ..., "tags"}.
type Dataset struct {
	restjson.Dataset
	Tags []KV `json:"tags,omitempty"`
}

// ModelOutput is a logged model a run produced.
type ModelOutput = restjson.ModelOutput

// Op is one store call. Which fields matter depends on Op.
type Op struct {
	Op string `json:"op"`
	// Exp and Run are slots (see the package doc).
	Exp int `json:"exp,omitempty"`
	Run int `json:"run,omitempty"`

	Name             string  `json:"name,omitempty"`              // create/rename experiment
	ArtifactLocation *string `json:"artifact_location,omitempty"` // create_experiment
	Tags             []KV    `json:"tags,omitempty"`              // create_experiment, create_run, log_batch

	Key   string `json:"key,omitempty"`   // tags, params
	Value string `json:"value,omitempty"` // tags, params

	// create_run
	UserID    string  `json:"user_id,omitempty"`
	StartTime *int64  `json:"start_time,omitempty"` // nil: now, as MlflowClient passes
	RunName   *string `json:"run_name,omitempty"`   // also update_run
	Parent    *int    `json:"parent,omitempty"`     // run slot: adds mlflow.parentRunId

	// update_run
	Status  string `json:"status,omitempty"`
	EndTime *int64 `json:"end_time,omitempty"`

	Metric   *Metric       `json:"metric,omitempty"`  // log_metric
	Metrics  []Metric      `json:"metrics,omitempty"` // log_batch
	Params   []KV          `json:"params,omitempty"`  // log_batch
	Datasets []Dataset     `json:"datasets,omitempty"`
	Models   []string      `json:"models,omitempty"`  // log_inputs model ids
	Outputs  []ModelOutput `json:"outputs,omitempty"` // log_outputs
}

// Result is what one executor reports for a workload.
type Result struct {
	// Outcomes holds one outcome per op.
	Outcomes []string `json:"outcomes"`
	// Details holds the error text per op ("" when ok), for messages only.
	Details []string `json:"details"`
	// Experiments holds the id per experiment slot ("" when the create
	// failed); slot 0 is "0".
	Experiments []string `json:"experiments"`
	// Runs holds the id per run slot ("" when the create failed).
	Runs []string `json:"runs"`
	// RunNames holds, per run slot, the name MLflow generated for the run,
	// or "" when the run was named by the workload.
	RunNames []string `json:"run_names"`
	// StartTimeNow marks run slots created without a start time.
	StartTimeNow []bool `json:"start_time_now"`
}

// Workload is a list of ops to run against one fresh root.
type Workload struct {
	Ops []Op `json:"ops"`
}

// LoadScript decodes a JSON op list.
func LoadScript(data []byte) ([]Op, error) {
	var ops []Op
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ops); err != nil {
		return nil, fmt.Errorf("difftest: script: %w", err)
	}
	return ops, nil
}
