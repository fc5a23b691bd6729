package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/downsample"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/store"
)

func init() {
	register(command{name: "metrics", order: 45, subs: metricsSubcommands,
		summary: "print a metric's history (history) or draw curves to PNG, SVG or PDF (plot)"})
}

var metricsSubcommands = []subcommand{
	{"history", "print every value of one metric of a run (table, --json, --csv)", cmdMetricsHistory},
	{"plot", "draw metric curves of one or more runs to a .png, .svg or .pdf", cmdMetricsPlot},
}

// parseMethod is --method: lttb keeps the visual shape, minmax keeps every
// spike.
func parseMethod(s string) (downsample.Method, error) {
	switch strings.ToLower(s) {
	case "lttb":
		return downsample.LTTB, nil
	case "minmax", "min-max", "min_max":
		return downsample.MinMax, nil
	}
	return 0, usageError{fmt.Sprintf("--method must be lttb or minmax, not %q", s)}
}

func cmdMetricsHistory(e *env, args []string) error {
	fs := newFlagSet(e, "metrics history",
		"metrics history RUN_ID KEY [--max-points N] [--method lttb|minmax] [--json|--csv]")
	maxPoints := fs.Int("max-points", 0, "downsample to at most N points (0: every point, streamed)")
	methodName := fs.String("method", "lttb", "downsampling with --max-points: lttb (keeps the shape) or minmax (keeps every extreme)")
	ff := fs.formatFlags()
	pos, format, err := fs.parseArgsFormat(args, 2, ff)
	if err != nil {
		return err
	}
	method, err := parseMethod(*methodName)
	if err != nil {
		return err
	}
	if *maxPoints < 0 {
		return usageError{fmt.Sprintf("--max-points must be 0 (every point) or more, not %d", *maxPoints)}
	}
	s, err := e.open()
	if err != nil {
		return err
	}
	runID, key := pos[0], pos[1]
	if *maxPoints > 0 {
		h, err := downsample.Read(func() iter.Seq2[entities.Metric, error] {
			return s.MetricHistoryIter(e.ctx, runID, key)
		}, method, *maxPoints)
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return noMetricError(e, s, runID, key)
		}
		out := historyOut{format: format, runID: runID, width: stepWidth(h)}
		_, err = out.write(e.stdout, metricSeq(h))
		return err
	}
	// The table aligns the step column over the whole history, so it reads
	// the file twice rather than hold it: a 10M-point history prints in
	// constant memory. CSV and JSON need one pass.
	width := 0
	if format == cliout.FormatTable {
		var werr error
		width, werr = stepWidthErr(s.MetricHistoryIter(e.ctx, runID, key))
		if werr != nil {
			return werr
		}
	}
	out := historyOut{format: format, runID: runID, width: width}
	n, err := out.write(e.stdout, s.MetricHistoryIter(e.ctx, runID, key))
	if err != nil {
		return err
	}
	if n == 0 {
		return noMetricError(e, s, runID, key)
	}
	return nil
}

// noMetricError explains an empty history: MLflow returns an empty list
// for a key never logged, but on the command line that is nearly always a
// typo, so say which keys the run has.
func noMetricError(e *env, s store.Store, runID, key string) error {
	run, err := s.GetRun(e.ctx, runID)
	if err != nil {
		return err
	}
	return errs.New(errs.ErrNotFound, fmt.Sprintf("run %s has no values of metric %q; its metrics: %s",
		runID, key, metricKeyList(run.Data.Metrics)))
}

// metricKeyList names a run's metrics for an error message.
func metricKeyList(m map[string]entities.Metric) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	const most = 12
	if len(keys) > most {
		return strings.Join(keys[:most], ", ") + fmt.Sprintf(" and %d more", len(keys)-most)
	}
	return strings.Join(keys, ", ")
}

// stepWidthErr is the widest step of a streamed history, at least the
// header's, and the stream's error.
func stepWidthErr(seq iter.Seq2[entities.Metric, error]) (int, error) {
	w := len(historyHeader[0])
	for m, err := range seq {
		if err != nil {
			return 0, err
		}
		w = max(w, historyDigits(m.Step))
	}
	return w, nil
}

func stepWidth(h []entities.Metric) int {
	w, _ := stepWidthErr(metricSeq(h))
	return w
}

// metricSeq streams a history held in memory like MetricHistoryIter.
func metricSeq(h []entities.Metric) iter.Seq2[entities.Metric, error] {
	return func(yield func(entities.Metric, error) bool) {
		for _, m := range h {
			if !yield(m, nil) {
				return
			}
		}
	}
}

func historyDigits(n int64) int {
	var buf [24]byte
	return len(strconv.AppendInt(buf[:0], n, 10))
}

// historyHeader is the table's header; CSV says "timestamp" (ms since the
// epoch, as MLflow stores it).
var historyHeader = [3]string{"step", "timestamp (UTC)", "value"}

// historyTime is how the table shows a metric's timestamp: UTC with the
// milliseconds, since points are often logged ms apart.
const historyTime = "2006-01-02 15:04:05.000"

// historyOut says how to print a metric history.
type historyOut struct {
	format  cliout.Format
	runID   string // set on each JSON point, as MLflow's server prints it
	width   int    // of the table's step column
	emptyOK bool   // an empty history still prints its header
}

// write prints a history as it streams in: an aligned table, CSV, or JSON
// in the GetMetricHistory response shape. It returns the number of points
// written. An empty history prints nothing unless emptyOK (an export still
// writes the header), so the caller can explain it instead.
func (o historyOut) write(w io.Writer, seq iter.Seq2[entities.Metric, error]) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var hw historyWriter
	switch o.format {
	case cliout.FormatCSV:
		hw = &csvHistory{cw: csv.NewWriter(bw)}
	case cliout.FormatJSON:
		hw = &jsonHistory{w: bw, runID: o.runID}
	default:
		hw = &tableHistory{w: bw, width: o.width}
	}
	var n int64
	for m, err := range seq {
		if err == nil && n == 0 {
			err = hw.begin()
		}
		if err == nil {
			err = hw.write(m)
		}
		if err != nil {
			bw.Flush()
			return n, err
		}
		n++
	}
	if n == 0 {
		if !o.emptyOK {
			return 0, nil
		}
		if err := hw.begin(); err != nil {
			return 0, err
		}
	}
	if err := hw.end(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// historyWriter writes one metric history point by point in one format,
// so neither a listing nor an export holds a whole history.
type historyWriter interface {
	begin() error
	write(m entities.Metric) error
	end() error
}

// tableHistory is the aligned table: the columns of cliout.WriteTable
// (two spaces apart, no trailing blanks) written a row at a time.
type tableHistory struct {
	w     *bufio.Writer
	width int
	buf   []byte
}

func (t *tableHistory) begin() error {
	t.buf = t.appendRow(t.buf[:0], historyHeader[0], historyHeader[1], historyHeader[2])
	_, err := t.w.Write(t.buf)
	return err
}

func (t *tableHistory) appendRow(b []byte, step, ts, value string) []byte {
	b = append(b, step...)
	for i := len(step); i < t.width; i++ {
		b = append(b, ' ')
	}
	b = append(b, "  "...)
	b = append(b, ts...)
	for i := len(ts); i < len(historyTime); i++ {
		b = append(b, ' ')
	}
	b = append(b, "  "...)
	b = append(b, value...)
	return append(b, '\n')
}

func (t *tableHistory) write(m entities.Metric) error {
	b := strconv.AppendInt(t.buf[:0], m.Step, 10)
	for i := len(b); i < t.width; i++ {
		b = append(b, ' ')
	}
	b = append(b, "  "...)
	b = time.UnixMilli(m.Timestamp).UTC().AppendFormat(b, historyTime)
	b = append(b, "  "...)
	b = pynum.AppendFloat(b, m.Value)
	b = append(b, '\n')
	t.buf = b
	_, err := t.w.Write(b)
	return err
}

func (t *tableHistory) end() error { return nil }

// csvHistory is step,timestamp,value: the timestamp in ms since the epoch
// and the value as Python's repr (nan, inf, -inf included), so the file
// reads back to the same floats in pandas or Go.
type csvHistory struct {
	cw  *csv.Writer
	row [3]string
}

func (c *csvHistory) begin() error {
	return c.cw.Write([]string{"step", "timestamp", "value"})
}

func (c *csvHistory) write(m entities.Metric) error {
	c.row = [3]string{strconv.FormatInt(m.Step, 10), strconv.FormatInt(m.Timestamp, 10), pynum.FormatFloat(m.Value)}
	return c.cw.Write(c.row[:])
}

func (c *csvHistory) end() error {
	c.cw.Flush()
	return c.cw.Error()
}

// jsonHistory streams {"metrics": [...]} with exactly the bytes
// cliout.WriteJSON prints for a restjson.GetMetricHistoryResponse (two-space
// indent, no HTML escaping, "{}" when empty, as protobuf leaves out an
// empty list). Like MLflow's server, every point carries its run's id.
// Plain points (no dataset or model) are appended by hand, three times
// faster than encoding/json; the rest go through it.
type jsonHistory struct {
	w       *bufio.Writer
	runID   string
	n       int
	buf     bytes.Buffer
	enc     *json.Encoder
	key     string // the last key seen, and its JSON string
	keyJSON []byte
	line    []byte
}

func (j *jsonHistory) begin() error {
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	j.enc.SetIndent("    ", "  ")
	return nil
}

func (j *jsonHistory) write(m entities.Metric) error {
	sep := ",\n    "
	if j.n == 0 {
		sep = "{\n  \"metrics\": [\n    "
	}
	j.n++
	if _, err := j.w.WriteString(sep); err != nil {
		return err
	}
	if m.RunID == "" {
		m.RunID = j.runID
	}
	if m.DatasetName != "" || m.DatasetDigest != "" || m.ModelID != "" {
		j.buf.Reset()
		if err := j.enc.Encode(restjson.FromMetric(m)); err != nil {
			return err
		}
		_, err := j.w.Write(bytes.TrimSuffix(j.buf.Bytes(), []byte("\n")))
		return err
	}
	if j.keyJSON == nil || m.Key != j.key {
		j.buf.Reset()
		if err := j.enc.Encode(m.Key); err != nil {
			return err
		}
		j.key, j.keyJSON = m.Key, bytes.Clone(bytes.TrimSuffix(j.buf.Bytes(), []byte("\n")))
	}
	v, err := restjson.Float(m.Value).MarshalJSON()
	if err != nil {
		return err
	}
	b := append(j.line[:0], "{\n      \"key\": "...)
	b = append(b, j.keyJSON...)
	b = append(b, ",\n      \"value\": "...)
	b = append(b, v...)
	b = append(b, ",\n      \"timestamp\": "...)
	b = strconv.AppendInt(b, m.Timestamp, 10)
	b = append(b, ",\n      \"step\": "...)
	b = strconv.AppendInt(b, m.Step, 10)
	if m.RunID != "" {
		b = append(b, ",\n      \"run_id\": "...)
		b = strconv.AppendQuote(b, m.RunID) // run ids are [\w-]: the same in JSON
	}
	b = append(b, "\n    }"...)
	j.line = b
	_, err = j.w.Write(b)
	return err
}

func (j *jsonHistory) end() error {
	if j.n == 0 {
		_, err := j.w.WriteString("{}\n")
		return err
	}
	_, err := j.w.WriteString("\n  ]\n}\n")
	return err
}
