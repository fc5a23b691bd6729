package layout

// Metric files (docs/format.md §7): one line per logged value, appended in call
// order. Run files hold "<ts> <value> <step>" or, with a dataset,
// "<ts> <value> <step> <dataset_name> <dataset_digest>"; pre-1.0 files also
// hold "<ts> <value>". Logged-model files hold "<ts> <value> <step> <run_id>"
// or "... <run_id> <dataset_name> <dataset_digest>".
//
// Reading mirrors FileStore 3.18: the file is decoded as strict UTF-8, split
// with Python's str.splitlines (so \r, \r\n, \v, \f, \x1c-\x1e, U+0085,
// U+2028 and U+2029 all end lines), each line is stripped of Unicode
// whitespace and split on single spaces, and fields go through int()/float().
// A blank line anywhere is a one-field line and therefore an error; a final
// line without '\n' counts like any other. A torn last line (a crash during
// an append) is read the same way, so it is usually an error here as in
// Python; repairing it (truncating to the last '\n') is the store's job.

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// CorruptionError reports a metric file that MLflow cannot read. It unwraps
// to errs.ErrCorrupt (MLflow: INTERNAL_ERROR).
type CorruptionError struct {
	Path   string // file path; codecs leave it empty, the store fills it in
	Key    string // metric key
	Line   int    // 1-based line (Python's splitlines numbering); 0 for the whole file
	Fields int    // fields found on a line with the wrong count; 0 otherwise
	Msg    string // MLflow's message where it has one
}

func (e *CorruptionError) Error() string {
	s := "mlruns: " + e.Msg
	switch {
	case e.Path != "" && e.Line > 0:
		s += " (" + e.Path + ":" + strconv.Itoa(e.Line) + ")"
	case e.Path != "":
		s += " (" + e.Path + ")"
	case e.Line > 0:
		s += " (line " + strconv.Itoa(e.Line) + ")"
	}
	return s
}

// Unwrap returns errs.ErrCorrupt.
func (e *CorruptionError) Unwrap() error { return errs.ErrCorrupt }

// noDataError is MLflow's error for an empty metric file when a latest
// value is needed (get_run); history reads of an empty file are empty.
func noDataError(key string) error {
	return &CorruptionError{Key: key, Msg: "Metric '" + key + "' is malformed. No data found."}
}

func fieldCountError(key string, n int, model bool) error {
	want := "Expected 2, 3, or 5 fields."
	if model {
		want = "Expected 4 or 6 fields."
	}
	return &CorruptionError{Key: key, Fields: n, Msg: fmt.Sprintf(
		"Metric '%s' is malformed; persisted metric data contained %d fields. %s", key, n, want)}
}

// AppendMetricLine appends m as a run metric line, as FileStore.log_metric
// writes it. The dataset fields are written only when both are set (Python
// checks "is not None"; Go has no None, and one empty field would write a
// line Python cannot read back). Callers validate keys and dataset names
// first: a name with a space makes a line nobody can read.
func AppendMetricLine(dst []byte, m entities.Metric) []byte {
	dst = appendMetricHead(dst, m)
	return appendMetricTail(dst, m)
}

// AppendModelMetricLine appends m as a logged-model metric line (the copy
// FileStore writes under <exp>/models/<model_id>/metrics/ when a metric is
// logged with a model id).
func AppendModelMetricLine(dst []byte, m entities.Metric, runID string) []byte {
	dst = appendMetricHead(dst, m)
	dst = append(dst, ' ')
	dst = append(dst, runID...)
	return appendMetricTail(dst, m)
}

// appendMetricTail ends a run or model metric line: the dataset fields
// when both are set, then the newline.
func appendMetricTail(dst []byte, m entities.Metric) []byte {
	if m.DatasetName != "" && m.DatasetDigest != "" {
		dst = append(dst, ' ')
		dst = append(dst, m.DatasetName...)
		dst = append(dst, ' ')
		dst = append(dst, m.DatasetDigest...)
	}
	return append(dst, '\n')
}

func appendMetricHead(dst []byte, m entities.Metric) []byte {
	dst = strconv.AppendInt(dst, m.Timestamp, 10)
	dst = append(dst, ' ')
	dst = pynum.AppendFloat(dst, m.Value)
	dst = append(dst, ' ')
	return strconv.AppendInt(dst, m.Step, 10)
}

// ParseMetricLine parses one line of a run metric file (its terminator may
// be included). It accepts 2, 3 and 5 fields like FileStore; 2-field lines
// (pre-1.0) have step 0.
//
// Deliberate difference: for 5-field (dataset) lines we return the stored
// step. FileStore 3.18 reports step 0 for them without reading the field
// (`step = int(metric_parts[2]) if len(metric_parts) == 3 else 0`), so a
// value logged at step 3 against a dataset reads back at step 0 there; the
// official file-to-SQLite migrator (mlflow/store/fs2db) keeps the step, and
// so do we. Errors are *CorruptionError.
func ParseMetricLine(key string, line []byte) (entities.Metric, error) {
	var p lineParser
	return p.parse(key, line, false)
}

// ParseModelMetricLine parses one line of a logged-model metric file: 4 or 6
// fields; RunID is set, ModelID is left for the caller.
func ParseModelMetricLine(key string, line []byte) (entities.Metric, error) {
	var p lineParser
	return p.parse(key, line, true)
}

// lineParser keeps the last dataset strings so that files with many lines
// for one dataset allocate them once.
type lineParser struct {
	name, digest, runID string
}

func (p *lineParser) str(prev *string, b []byte) string {
	if string(b) != *prev {
		*prev = string(b)
	}
	return *prev
}

// parse tries the fast path (ASCII, single spaces, plain numbers) and falls
// back to the Python-exact path.
func (p *lineParser) parse(key string, line []byte, model bool) (entities.Metric, error) {
	var f [7][]byte
	n, ok := splitFast(line, &f)
	if ok {
		if m, ok := p.build(key, f[:n], model); ok {
			return m, nil
		}
	}
	return p.parseSlow(key, line, model)
}

// parse3Line parses the line every MLflow 1.x-3.x writes for a run metric,
// "<timestamp> <value> <step>" in plain ASCII ended by "\n", "\r\n" or
// (at eof) the end of b, in one pass: each number is parsed where it
// starts and must be followed by the expected separator, so no search for
// spaces or the line end comes first. It returns the bytes the line took.
// Anything else (other field counts, extra spaces, other bytes, a line not
// complete in b) is ok=false for the general paths; it accepts a subset of
// what splitFast+build accept, with the same result.
func parse3Line(b []byte, eof bool) (ts int64, v float64, step int64, n int, ok bool) {
	ts, i, ok := pynum.ParseIntPrefix(b)
	if !ok || i >= len(b) || b[i] != ' ' {
		return 0, 0, 0, 0, false
	}
	i++
	v, k, ok := pynum.ParseFloatPrefix(b[i:])
	if i += k; !ok || i >= len(b) || b[i] != ' ' {
		return 0, 0, 0, 0, false
	}
	i++
	step, k, ok = pynum.ParseIntPrefix(b[i:])
	if i += k; !ok {
		return 0, 0, 0, 0, false
	}
	switch {
	case i < len(b) && b[i] == '\n':
		return ts, v, step, i + 1, true
	case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
		return ts, v, step, i + 2, true
	case i == len(b) && eof:
		return ts, v, step, i, true
	}
	return 0, 0, 0, 0, false
}

// splitFast splits a line made only of printable ASCII and single spaces;
// anything else (other whitespace, non-ASCII, a '\r', more than 7 fields)
// is left to the slow path, which also handles line breaks inside.
func splitFast(line []byte, f *[7][]byte) (int, bool) {
	if k := len(line); k > 0 && line[k-1] == '\n' {
		line = line[:k-1]
	}
	n, start := 0, 0
	for i, c := range line {
		if c == ' ' {
			if n == 6 {
				return 0, false
			}
			f[n] = line[start:i]
			n++
			start = i + 1
		} else if c < 0x21 || c > 0x7e {
			return 0, false
		}
	}
	f[n] = line[start:]
	return n + 1, true
}

func (p *lineParser) build(key string, f [][]byte, model bool) (entities.Metric, bool) {
	m := entities.Metric{Key: key}
	switch len(f) {
	case 2, 3, 5:
		if model {
			return m, false
		}
	case 4, 6:
		if !model {
			return m, false
		}
	default:
		return m, false
	}
	var ok bool
	if m.Timestamp, ok = pynum.ParseIntFast(f[0]); !ok {
		return m, false
	}
	if m.Value, ok = pynum.ParseFloatFast(f[1]); !ok {
		return m, false
	}
	if len(f) >= 3 {
		if m.Step, ok = pynum.ParseIntFast(f[2]); !ok {
			return m, false
		}
	}
	p.refs(&m, f, model)
	return m, true
}

// refs sets the fields after timestamp, value and step, which both parse
// paths read the same way: a model metric's run id, then an optional
// dataset name and digest.
func (p *lineParser) refs(m *entities.Metric, f [][]byte, model bool) {
	ds := f[min(len(f), 3):]
	if model {
		m.RunID = p.str(&p.runID, f[3])
		ds = f[4:]
	}
	if len(ds) == 2 {
		m.DatasetName = p.str(&p.name, ds[0])
		m.DatasetDigest = p.str(&p.digest, ds[1])
	}
}

// parseSlow is _get_metric_from_line / _get_model_metric_from_line.
func (p *lineParser) parseSlow(key string, line []byte, model bool) (entities.Metric, error) {
	m := entities.Metric{Key: key}
	if !utf8.Valid(line) {
		return m, &CorruptionError{Key: key, Msg: "Metric '" + key + "' is malformed: invalid UTF-8"}
	}
	line = pyStrip(line)
	n := bytes.Count(line, []byte{' '}) + 1
	if model && n != 4 && n != 6 || !model && n != 2 && n != 3 && n != 5 {
		return m, fieldCountError(key, n, model)
	}
	f := bytes.Split(line, []byte{' '})
	var err error
	if m.Timestamp, err = pynum.ParseInt(string(f[0])); err != nil {
		return m, valueError(key, "invalid literal for int() with base 10: %s", f[0])
	}
	if m.Value, err = pynum.ParseFloat(string(f[1])); err != nil {
		return m, valueError(key, "could not convert string to float: %s", f[1])
	}
	if n >= 3 {
		if m.Step, err = pynum.ParseInt(string(f[2])); err != nil {
			return m, valueError(key, "invalid literal for int() with base 10: %s", f[2])
		}
	}
	p.refs(&m, f, model)
	return m, nil
}

func valueError(key, format string, field []byte) error {
	return &CorruptionError{Key: key, Msg: "Metric '" + key + "' is malformed: " + fmt.Sprintf(format, QuoteExcerpt(field))}
}

// excerptMax is how much of a bad field or line a message quotes: a file
// of zeros or one 100 MB line must not become a 100 MB message.
const excerptMax = 64

// QuoteExcerpt is %q of b, or of its first bytes (cut at a character
// boundary) followed by how long it is, when b is longer than a message
// should quote.
func QuoteExcerpt(b []byte) string {
	if len(b) <= excerptMax {
		return fmt.Sprintf("%q", b)
	}
	cut := excerptMax
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", b[:cut], len(b))
}

// pyStrip is Python's str.strip() on UTF-8.
func pyStrip(b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if !pynum.IsSpace(r) {
			break
		}
		b = b[size:]
	}
	for len(b) > 0 {
		r, size := utf8.DecodeLastRune(b)
		if !pynum.IsSpace(r) {
			break
		}
		b = b[:len(b)-size]
	}
	return b
}

// pyLineBreak reports whether line[i:] starts with a str.splitlines
// boundary and its length (a "\r\n" pair is one boundary of length 2), and
// the width of the character at i, so callers step over whole UTF-8
// sequences. Invalid UTF-8 is reported as size -1.
func pyLineBreak(line []byte, i int) (size, width int) {
	c := line[i]
	switch {
	case c == '\r':
		if i+1 < len(line) && line[i+1] == '\n' {
			return 2, 2
		}
		return 1, 1
	case c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e):
		return 1, 1
	case c < utf8.RuneSelf:
		return 0, 1
	}
	r, n := utf8.DecodeRune(line[i:])
	if r == utf8.RuneError && n == 1 {
		return -1, 1
	}
	if r == 0x85 || r == 0x2028 || r == 0x2029 {
		return n, n
	}
	return 0, n
}
