package validate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// Limits of validation.py, in code points (Python len()).
const (
	MaxParamValueLength         = 6000  // MAX_PARAM_VAL_LENGTH
	MaxTagValueLength           = 8000  // MAX_TAG_VAL_LENGTH (run tags, log_batch)
	MaxExperimentNameLength     = 500   // MAX_EXPERIMENT_NAME_LENGTH
	MaxExperimentTagKeyLength   = 250   // MAX_EXPERIMENT_TAG_KEY_LENGTH
	MaxExperimentTagValueLength = 20000 // MAX_EXPERIMENT_TAG_VAL_LENGTH
	// DefaultMaxArtifactLocationLength is MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH's
	// default.
	DefaultMaxArtifactLocationLength = 2048
)

// length is _validate_length_limit. entity names the value in the message
// ("Param value", "tags[1].key"); field is our parameter path. With truncate
// (MLflow's MLFLOW_TRUNCATE_LONG_VALUES, true by default) a long value is
// cut to limit code points instead of rejected.
func length(field, entity string, limit int, value string, truncate bool) (string, error) {
	if err := UTF8(field, value); err != nil {
		return "", err
	}
	n := utf8.RuneCountInString(value)
	if n <= limit {
		return value, nil
	}
	if truncate {
		i := 0
		for k := range value { // byte offset of rune number limit
			if i == limit {
				return value[:k], nil
			}
			i++
		}
	}
	return "", plain(field, value, "exceeds the maximum length of "+strconv.Itoa(limit)+" characters",
		exceedsMaximumLength(entity, limit))
}

// UTF8 refuses a string that is not valid UTF-8. Python's str cannot hold
// such bytes, so a file or a meta.yaml holding them breaks Python MLflow's
// readers (UnicodeDecodeError) for the whole listing; MLflow itself never
// gets such input. Every string the store writes passes here: the length
// checks call it, and the store calls it for the fields MLflow does not
// check (run names, user ids, dataset fields, artifact locations).
func UTF8(field, value string) error {
	if utf8.ValidString(value) {
		return nil
	}
	i := 0
	for i < len(value) {
		r, n := utf8.DecodeRuneInString(value[i:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		i += n
	}
	return invalidString(errs.ErrInvalidParameter, field, value, fmt.Sprintf(
		"must be valid UTF-8, and byte 0x%02x at offset %d is not (Python MLflow cannot read such text)", value[i], i))
}

func exceedsMaximumLength(entity string, limit int) string {
	return "'" + entity + "' exceeds the maximum length of " + strconv.Itoa(limit) + " characters"
}

// Metric checks a metric the way _validate_metric does for log_metric:
// name characters and path, timestamp >= 0, then name length. Value and step
// need no check here: MLflow only demands that they be numbers (not bool,
// not None), which float64 and int64 always are; NaN and ±Inf are accepted.
func Metric(m entities.Metric) error { return metric("", m) }

// metricKeyOK reports whether metric() accepts key (given a valid
// timestamp), without building error strings.
func metricKeyOK(key string) bool {
	for _, r := range key {
		if !keyRune(r, onWindows) {
			return false
		}
	}
	return !pathNotUnique(key) && utf8.RuneCountInString(key) <= MaxKeyLength
}

func metric(path string, m entities.Metric) error {
	if err := keyName(join(path, "name"), m.Key, onWindows); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		f := join(path, "timestamp")
		ts := strconv.FormatInt(m.Timestamp, 10)
		rule := "metric '" + m.Key + "' (value=" + pynum.FormatFloat(m.Value) + "). " +
			"Timestamp must be a nonnegative long (64-bit integer) " // trailing space is MLflow's
		return &Error{Field: f, Value: ts, Rule: rule, Kind: errs.ErrInvalidParameter,
			msg: invalidValue(f, ts, rule)}
	}
	if _, err := length(join(path, "name"), "Metric name", MaxKeyLength, m.Key, false); err != nil {
		return err
	}
	// Not MLflow's checks (its strings cannot be invalid), so after them.
	for _, f := range [...]struct{ name, value string }{
		{"dataset_name", m.DatasetName}, {"dataset_digest", m.DatasetDigest}, {"model_id", m.ModelID},
	} {
		if err := UTF8(join(path, f.name), f.value); err != nil {
			return err
		}
	}
	return metricDataset(path, m)
}

// metricDataset checks a metric's dataset reference: the file store writes
// name and digest as two more space-separated fields of the metric line,
// and Python's reader (split(" "), then 3 or 5 fields) rejects the whole
// metric file when either is empty or holds a space, so we refuse such a
// reference rather than write a history nobody can read.
func metricDataset(path string, m entities.Metric) error {
	if m.DatasetName == "" && m.DatasetDigest == "" {
		return nil
	}
	for _, f := range [...]struct{ name, other, value string }{
		{"dataset_name", "dataset_digest", m.DatasetName}, {"dataset_digest", "dataset_name", m.DatasetDigest},
	} {
		field := join(path, f.name)
		if f.value == "" {
			return invalidString(errs.ErrInvalidParameter, field, f.value, "must not be empty when "+f.other+" is set")
		}
		if strings.IndexFunc(f.value, unicode.IsSpace) >= 0 {
			return invalidString(errs.ErrInvalidParameter, field, f.value,
				"must not contain whitespace (the file store writes it as a field of a space-separated metric line)")
		}
	}
	return nil
}

// metricTextOK reports whether the metric's dataset and model strings pass
// metric's checks.
func metricTextOK(m entities.Metric) bool {
	if m.DatasetName != "" || m.DatasetDigest != "" {
		return false // rare: metric checks them
	}
	return utf8.ValidString(m.ModelID)
}

// Param checks a param the way _validate_param does (log_param, log_batch,
// logged-model params) and returns it with the value truncated to 6000 code
// points when truncate is set.
func Param(p entities.Param, truncate bool) (entities.Param, error) {
	return param("", p, truncate)
}

func param(path string, p entities.Param, truncate bool) (entities.Param, error) {
	if err := keyName(join(path, "key"), p.Key, onWindows); err != nil {
		return entities.Param{}, err
	}
	if _, err := length(join(path, "key"), "Param key", MaxKeyLength, p.Key, false); err != nil {
		return entities.Param{}, err
	}
	v, err := ParamValueAt(join(path, "value"), p.Value, truncate)
	if err != nil {
		return entities.Param{}, err
	}
	return entities.Param{Key: p.Key, Value: v}, nil
}

// ParamValue applies the 6000 code point limit to the value of param key.
// The key is not part of MLflow's message ("'Param value' exceeds ..."); it
// is taken so callers read naturally and for symmetry with TagValue.
func ParamValue(key, value string, truncate bool) (string, error) {
	_ = key
	return ParamValueAt("value", value, truncate)
}

// ParamValueAt is ParamValue with an explicit field path ("params[2].value").
func ParamValueAt(field, value string, truncate bool) (string, error) {
	return length(field, "Param value", MaxParamValueLength, value, truncate)
}

// RunTag checks a run tag the way _validate_tag does (log_batch only;
// FileStore.set_tag checks just TagName). Key length 250, value 8000
// (truncated when truncate is set); MLflow names them "key" and "value".
func RunTag(t entities.RunTag, truncate bool) (entities.RunTag, error) {
	return runTag("", t, truncate)
}

func runTag(path string, t entities.RunTag, truncate bool) (entities.RunTag, error) {
	kf, vf := join(path, "key"), join(path, "value")
	if err := keyName(kf, t.Key, onWindows); err != nil {
		return entities.RunTag{}, err
	}
	if _, err := length(kf, kf, MaxKeyLength, t.Key, false); err != nil {
		return entities.RunTag{}, err
	}
	v, err := length(vf, vf, MaxTagValueLength, t.Value, truncate)
	if err != nil {
		return entities.RunTag{}, err
	}
	return entities.RunTag{Key: t.Key, Value: v}, nil
}

// TagValue applies the 8000 code point run-tag value limit as
// _validate_tag does outside a batch (message entity "value"). The key is
// not part of the message.
func TagValue(key, value string, truncate bool) (string, error) {
	_ = key
	return length("value", "value", MaxTagValueLength, value, truncate)
}

// ExperimentName checks a name the way _validate_experiment_name does:
// not empty or whitespace only (Python's str.strip), at most 500 code
// points. It does not catch names with a single quote, which FileStore
// accepts here and then fails to look up (its filter has no escaping).
func ExperimentName(name string) error {
	if strings.TrimFunc(name, pynum.IsSpace) == "" {
		return plain("name", name, "must not be empty", "Invalid experiment name: '"+name+"'")
	}
	_, err := length("name", "name", MaxExperimentNameLength, name, false)
	return err
}

// Experiment tag keys whose values FileStore also parses (the trace
// archival settings, mlflow.tracing.constant.TraceExperimentTagKey).
const (
	TagTraceArchivalRetention = "mlflow.trace.archivalRetention"
	TagTraceArchiveNow        = "mlflow.trace.archiveNow"
)

var retentionRe = regexp.MustCompile(`^[1-9][0-9]*[mhd]$`)

// ExperimentTag checks an experiment tag the way _validate_experiment_tag
// does (set_experiment_tag and create_experiment's tags in 3.18): key name,
// key <= 250, value <= 20000 (never truncated), and the JSON value of the
// trace archival tags.
func ExperimentTag(key, value string) error {
	if err := keyName("key", key, onWindows); err != nil {
		return err
	}
	if _, err := length("key", "key", MaxExperimentTagKeyLength, key, false); err != nil {
		return err
	}
	if _, err := length("value", "value", MaxExperimentTagValueLength, value, false); err != nil {
		return err
	}
	switch key {
	case TagTraceArchivalRetention:
		return archivalConfig(value, "value", "duration", false)
	case TagTraceArchiveNow:
		return archivalConfig(value, "older_than", "", true)
	}
	return nil
}

// archivalConfig is _parse_trace_archival_duration_config. Go's JSON
// decoder refuses the NaN/Infinity literals Python's accepts; an object
// holding them is rejected here and accepted by MLflow.
func archivalConfig(value, durationKey, wantType string, allowMissing bool) error {
	const (
		notObject = "Trace archival config must be encoded as a JSON object."
		badForm   = "Trace archival retention must be in the form `<int><unit>`, " +
			"where unit is one of 'm', 'h', or 'd'."
		tooLong = "Trace archival duration must be at most 32 characters."
	)
	var payload map[string]any
	if err := json.Unmarshal([]byte(value), &payload); err != nil || payload == nil {
		return plain("value", value, "not a JSON object", notObject)
	}
	if wantType != "" {
		if t, ok := payload["type"].(string); !ok || t != wantType {
			return plain("value", value, "wrong type",
				"Trace archival config must use type '"+wantType+"'.")
		}
	}
	d := payload[durationKey] // missing and JSON null are both None to MLflow
	if d == nil && allowMissing {
		return nil
	}
	s, ok := d.(string)
	if !ok {
		return plain("value", value, "duration is not a string", badForm)
	}
	s = strings.TrimFunc(s, pynum.IsSpace)
	if utf8.RuneCountInString(s) > 32 {
		return plain("value", value, "duration too long", tooLong)
	}
	if !retentionRe.MatchString(s) {
		return plain("value", value, "bad duration", badForm)
	}
	return nil
}

// ArtifactLocation checks an experiment's artifact location length
// (_validate_experiment_artifact_location_length; FileStore checks it only
// when the location is non-empty). max is
// MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH (DefaultMaxArtifactLocationLength
// unless set), taken literally as Python takes it: 0 refuses every
// non-empty location.
func ArtifactLocation(location string, max int) error {
	if utf8.RuneCountInString(location) <= max {
		return nil
	}
	m := strconv.Itoa(max)
	return plain("artifact_location", location, "longer than "+m+" characters",
		"Invalid artifact path length. The length of the artifact path cannot be "+
			"greater than "+m+" characters. To configure this limit, please set the "+
			"MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH environment variable.")
}

// LoggedModelName checks a logged model name the way
// _validate_logged_model_name does. MLflow skips the check for None (a
// random name is generated); callers do the same for "" before calling, as
// "" itself is rejected.
func LoggedModelName(name string) error {
	if name == "" || strings.ContainsAny(name, `/:.%"'`) {
		return plain("name", name, "empty or contains / : . % \" '",
			"Invalid model name ("+pyRepr(name)+") provided. Model name must be a non-empty string "+
				`and cannot contain the following characters: ('/', ':', '.', '%', '"', "'")`)
	}
	return nil
}

// PathComponent is file_store.py's _validate_path_component for ids that
// name one folder (model_id, trace_id, assessment_id): non-empty, no '/',
// and no trailing ' ' or '.' (Windows strips those, turning ".. " into "..").
func PathComponent(field, value string) error {
	if value == "" || strings.TrimRight(value, " .") != value || strings.Contains(value, "/") {
		return invalidString(errs.ErrInvalidPath, field, value, "must be a single path component")
	}
	return nil
}

// NewTraceID is _validate_new_trace_id: a path component without '%', '?',
// '#' or control characters (< 0x20, 0x7f), as the id is embedded in a URI.
func NewTraceID(id string) error {
	if err := PathComponent("trace_id", id); err != nil {
		return err
	}
	if strings.ContainsFunc(id, func(r rune) bool {
		return r == '%' || r == '?' || r == '#' || r < 32 || r == 127
	}) {
		return invalidString(errs.ErrInvalidParameter, "trace_id", id,
			"must not contain '%', '?', '#' or control characters")
	}
	return nil
}

// join is append_to_json_path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
