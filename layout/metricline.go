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
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
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
	if m.DatasetName != "" && m.DatasetDigest != "" {
		dst = append(dst, ' ')
		dst = append(dst, m.DatasetName...)
		dst = append(dst, ' ')
		dst = append(dst, m.DatasetDigest...)
	}
	return append(dst, '\n')
}

// AppendModelMetricLine appends m as a logged-model metric line (the copy
// FileStore writes under <exp>/models/<model_id>/metrics/ when a metric is
// logged with a model id).
func AppendModelMetricLine(dst []byte, m entities.Metric, runID string) []byte {
	dst = appendMetricHead(dst, m)
	dst = append(dst, ' ')
	dst = append(dst, runID...)
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
	ds := f[min(len(f), 3):]
	if model {
		m.RunID = p.str(&p.runID, f[3])
		ds = f[4:]
	}
	if len(ds) == 2 {
		m.DatasetName = p.str(&p.name, ds[0])
		m.DatasetDigest = p.str(&p.digest, ds[1])
	}
	return m, true
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
	ds := f[min(n, 3):]
	if model {
		m.RunID = p.str(&p.runID, f[3])
		ds = f[4:]
	}
	if len(ds) == 2 {
		m.DatasetName = p.str(&p.name, ds[0])
		m.DatasetDigest = p.str(&p.digest, ds[1])
	}
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

// MetricScanner reads a metric file line by line, in file order, in memory
// bounded by the longest line. Use it like bufio.Scanner:
//
//	s := layout.NewMetricScanner(f, key)
//	for s.Next() { use(s.Metric()) }
//	if err := s.Err(); err != nil { ... }
//
// An empty input yields no metrics and no error (get_metric_history); a
// caller that needs a latest value reports the empty file itself, or uses
// DecodeLatestMetric. Any bad line stops the scan with a *CorruptionError,
// since Python fails the whole read too.
type MetricScanner struct {
	r          io.Reader
	key        string
	model      bool
	buf        []byte
	start, end int // unread bytes are buf[start:end]
	eof        bool
	err        error
	line       int
	m          entities.Metric
	plain      bool // m holds just the key besides the numbers
	p          lineParser
}

const scannerBufSize = 64 << 10

// NewMetricScanner scans a run metric file (2, 3 or 5 fields per line).
func NewMetricScanner(r io.Reader, key string) *MetricScanner {
	return &MetricScanner{r: r, key: key}
}

// newBytesScanner scans data in place, without copying it.
func newBytesScanner(data []byte, key string, model bool) *MetricScanner {
	return &MetricScanner{key: key, model: model, buf: data, end: len(data) - incompleteUTF8Tail(data), eof: true}
}

// incompleteUTF8Tail returns the length of a truncated UTF-8 sequence at
// the end of b, which Python silently drops: FileStore reads through a
// codecs StreamReader, which decodes with final=False and never flushes.
// CPython's check of such a prefix is laxer than full decoding: after 0xED
// it accepts any continuation byte (surrogate prefixes are dropped too).
func incompleteUTF8Tail(b []byte) int {
	for n := 1; n <= 3 && n <= len(b); n++ {
		c := b[len(b)-n]
		if c&0xC0 == 0x80 {
			continue // continuation byte: look further back
		}
		var need int
		lo, hi := byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 2
		case c >= 0xE0 && c <= 0xEF:
			need = 3
			if c == 0xE0 {
				lo = 0xA0
			}
		case c >= 0xF0 && c <= 0xF4:
			need = 4
			if c == 0xF0 {
				lo = 0x90
			} else if c == 0xF4 {
				hi = 0x8F
			}
		default:
			return 0
		}
		if n >= need || n >= 2 && (b[len(b)-n+1] < lo || b[len(b)-n+1] > hi) {
			return 0
		}
		return n
	}
	return 0
}

// Metric returns the metric parsed by the last successful Next.
func (s *MetricScanner) Metric() entities.Metric { return s.m }

// Line returns the 1-based number of the last line read (Python's
// splitlines numbering).
func (s *MetricScanner) Line() int { return s.line }

// Err returns the first error met, or nil at a clean end of input.
func (s *MetricScanner) Err() error { return s.err }

// Next parses the next line; it returns false at the end or on error.
func (s *MetricScanner) Next() bool {
	if s.err != nil {
		return false
	}
	for {
		data := s.buf[s.start:s.end]
		if !s.model {
			// The three numbers come back in registers and only they
			// are stored: the key and empty dataset fields stay from the
			// previous plain line (no 104-byte copies, no pointer writes).
			if ts, v, step, n, ok := parse3Line(data, s.eof); ok {
				if !s.plain {
					s.m, s.plain = entities.Metric{Key: s.key}, true
				}
				s.m.Timestamp, s.m.Value, s.m.Step = ts, v, step
				s.start += n
				s.line++
				return true
			}
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 && !s.eof {
			s.fill()
			if s.err != nil {
				return false
			}
			continue
		}
		seg := data
		if i >= 0 {
			seg = data[:i+1]
		} else if len(seg) == 0 {
			return false
		}
		clean := seg
		if k := len(clean); k > 0 && clean[k-1] == '\n' {
			clean = clean[:k-1]
			if k > 1 && clean[k-2] == '\r' {
				clean = clean[:k-2]
			}
		}
		return s.otherLine(seg, clean)
	}
}

// otherLine parses a line parse3Line left: other field counts through
// splitFast, anything else through the exact path. It is apart from Next
// so the fields array is not zeroed for every common line.
func (s *MetricScanner) otherLine(seg, clean []byte) bool {
	var f [7][]byte
	if n, ok := splitFast(clean, &f); ok {
		if m, ok := s.p.build(s.key, f[:n], s.model); ok {
			s.start += len(seg)
			s.line++
			s.m, s.plain = m, false
			return true
		}
	}
	return s.slowLine(seg)
}

// slowLine finds the first Python line boundary in seg, validating UTF-8,
// and parses that line with the exact parser.
func (s *MetricScanner) slowLine(seg []byte) bool {
	s.line++
	end, next := len(seg), len(seg)
	for j := 0; j < len(seg); {
		size, width := pyLineBreak(seg, j)
		if size < 0 {
			s.err = &CorruptionError{Key: s.key, Line: s.line,
				Msg: "Metric '" + s.key + "' is malformed: invalid UTF-8"}
			return false
		}
		if size > 0 {
			end, next = j, j+size
			break
		}
		j += width
	}
	s.start += next
	m, err := s.p.parseSlow(s.key, seg[:end], s.model)
	if err != nil {
		var ce *CorruptionError
		if errors.As(err, &ce) {
			ce.Line = s.line
		}
		s.err = err
		return false
	}
	s.m, s.plain = m, false
	return true
}

// fill reads more input, compacting or growing the buffer so that a line
// longer than the buffer still fits.
func (s *MetricScanner) fill() {
	if s.buf == nil {
		s.buf = make([]byte, scannerBufSize)
	}
	if s.start > 0 {
		s.end = copy(s.buf, s.buf[s.start:s.end])
		s.start = 0
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
			s.end -= incompleteUTF8Tail(s.buf[s.start:s.end])
			return
		}
		if err != nil {
			s.err = fmt.Errorf("read metric %q: %w", s.key, err)
			return
		}
		if n > 0 {
			return
		}
	}
	s.err = fmt.Errorf("read metric %q: %w", s.key, io.ErrNoProgress)
}

// DecodeMetricHistory parses a whole run metric file, lines in file order
// (get_metric_history). An empty file gives an empty history.
func DecodeMetricHistory(key string, data []byte) ([]entities.Metric, error) {
	return decodeAll(key, data, false)
}

// DecodeModelMetricHistory parses a whole logged-model metric file.
func DecodeModelMetricHistory(key string, data []byte) ([]entities.Metric, error) {
	return decodeAll(key, data, true)
}

func decodeAll(key string, data []byte, model bool) ([]entities.Metric, error) {
	if len(data) == 0 {
		return nil, nil
	}
	chunks := splitChunks(data, runtime.GOMAXPROCS(0))
	if len(chunks) == 1 {
		out, _, err := decodeChunk(key, data, model)
		return out, err
	}
	// Long histories: each core parses a run of whole lines into its own
	// region of one slice (sized by the '\n' count); the first bad line in
	// file order is the one reported, numbered in the whole file.
	// Every chunk but the last ends with '\n', so its line count is its
	// '\n' count unless it holds other line breaks; the last may lack a
	// final '\n'.
	starts := make([]int, len(chunks)+1)
	for i, c := range chunks {
		starts[i+1] = starts[i] + bytes.Count(c, []byte{'\n'})
	}
	starts[len(chunks)]++
	all := make([]entities.Metric, starts[len(chunks)])
	type result struct {
		ms    []entities.Metric
		lines int
		err   error
	}
	res := make([]result, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := all[starts[i]:starts[i]:starts[i+1]]
			res[i].ms, res[i].lines, res[i].err = decodeInto(dst, key, c, model)
		}()
	}
	wg.Wait()
	before, contiguous := 0, true
	for i, r := range res {
		if r.err != nil {
			var ce *CorruptionError
			if errors.As(r.err, &ce) {
				ce.Line += before
			}
			return nil, r.err
		}
		before += r.lines
		// a chunk stays in place unless it held more lines than '\n's
		// (other line breaks) and had to grow elsewhere
		contiguous = contiguous && len(r.ms) > 0 && &r.ms[0] == &all[starts[i]] &&
			(i == len(res)-1 || len(r.ms) == starts[i+1]-starts[i])
	}
	if contiguous {
		return all[:before], nil
	}
	out := make([]entities.Metric, 0, before)
	for _, r := range res {
		out = append(out, r.ms...)
	}
	return out, nil
}

// parallelMinBytes is the file size from which decodeAll parses on all
// cores: below it the goroutines cost more than they save.
const parallelMinBytes = 1 << 20

// splitChunks cuts data into at most n runs of whole lines, each ending
// just after a '\n' (every splitlines boundary kind lies inside such a
// run, and no UTF-8 sequence spans a '\n').
func splitChunks(data []byte, n int) [][]byte {
	if n < 2 || len(data) < parallelMinBytes {
		return [][]byte{data}
	}
	var out [][]byte
	for len(data) > 0 && len(out) < n-1 {
		cut := len(data) / (n - len(out))
		j := bytes.IndexByte(data[cut:], '\n')
		if j < 0 {
			break
		}
		out = append(out, data[:cut+j+1])
		data = data[cut+j+1:]
	}
	if len(data) > 0 {
		out = append(out, data)
	}
	return out
}

// decodeChunk parses whole lines of a metric file and reports how many
// lines it read.
func decodeChunk(key string, data []byte, model bool) ([]entities.Metric, int, error) {
	return decodeInto(make([]entities.Metric, 0, bytes.Count(data, []byte{'\n'})+1), key, data, model)
}

// decodeInto appends the metrics of whole lines of data to out.
func decodeInto(out []entities.Metric, key string, data []byte, model bool) ([]entities.Metric, int, error) {
	s := newBytesScanner(data, key, model)
	for s.Next() {
		out = append(out, s.m)
	}
	if s.err != nil {
		return nil, s.line, s.err
	}
	return out, s.line, nil
}

// DecodeLatestMetric returns the latest value of a run metric file by
// MLflow's rule (entities.LatestMetric) without building the history, as
// get_run needs. An empty file is MLflow's "No data found" error.
func DecodeLatestMetric(key string, data []byte) (entities.Metric, error) {
	return latestOf(newBytesScanner(data, key, false), key)
}

// ScanLatestMetric is DecodeLatestMetric on a metric file read from r, in
// memory bounded by the longest line rather than the file's size.
func ScanLatestMetric(r io.Reader, key string) (entities.Metric, error) {
	return latestOf(NewMetricScanner(r, key), key)
}

func latestOf(s *MetricScanner, key string) (entities.Metric, error) {
	var best entities.Metric
	found := false
	for s.Next() {
		if !found || entities.IsNewerMetric(s.m, best) {
			best, found = s.m, true
		}
	}
	if s.err != nil {
		return entities.Metric{}, s.err
	}
	if !found {
		return entities.Metric{}, noDataError(key)
	}
	return best, nil
}
