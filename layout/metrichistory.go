package layout

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
)

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
	// region of one slice (sized by the '\n' count).
	starts := lineStarts(chunks)
	all := make([]entities.Metric, starts[len(chunks)])
	parts := make([][]entities.Metric, len(chunks))
	err := parseChunks(chunks, func(i int, c []byte) (lines int, err error) {
		parts[i], lines, err = decodeInto(all[starts[i]:starts[i]:starts[i+1]], key, c, model)
		return lines, err
	})
	if err != nil {
		return nil, err
	}
	n, contiguous := 0, true
	for i, p := range parts {
		n += len(p)
		contiguous = contiguous && inPlace(len(p), len(p) > 0 && &p[0] == &all[starts[i]], i, starts)
	}
	if contiguous {
		return all[:n], nil
	}
	out := make([]entities.Metric, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

// DecodeMetricColumns is DecodeMetricHistory into columns: the same lines
// through the same parser, on all cores for long files, with the same
// errors (the first bad line in file order, numbered in the whole file).
// An empty file gives no points.
func DecodeMetricColumns(key string, data []byte) (entities.MetricColumns, error) {
	if len(data) == 0 {
		return entities.MetricColumns{Key: key}, nil
	}
	chunks := splitChunks(data, runtime.GOMAXPROCS(0))
	starts := lineStarts(chunks)
	n := starts[len(chunks)]
	ts, vs, st := make([]int64, n), make([]float64, n), make([]int64, n)
	parts := make([]entities.MetricColumns, len(chunks))
	for i := range parts {
		a, b := starts[i], starts[i+1]
		parts[i] = entities.MetricColumns{Key: key, Timestamps: ts[a:a:b], Values: vs[a:a:b], Steps: st[a:a:b]}
	}
	if len(chunks) == 1 {
		if _, err := decodeColumnsInto(&parts[0], key, data); err != nil {
			return entities.MetricColumns{}, err
		}
		return parts[0], nil
	}
	err := parseChunks(chunks, func(i int, c []byte) (int, error) {
		return decodeColumnsInto(&parts[i], key, c)
	})
	if err != nil {
		return entities.MetricColumns{}, err
	}
	total, contiguous := 0, true
	for i, p := range parts {
		k := p.Len()
		total += k
		contiguous = contiguous && inPlace(k, k > 0 && &p.Timestamps[0] == &ts[starts[i]], i, starts)
	}
	out := entities.MetricColumns{Key: key}
	if contiguous {
		out.Timestamps, out.Values, out.Steps = ts[:total], vs[:total], st[:total]
	} else {
		out.Timestamps, out.Values, out.Steps = make([]int64, 0, total), make([]float64, 0, total), make([]int64, 0, total)
	}
	off := 0
	for _, p := range parts {
		if !contiguous {
			out.Timestamps = append(out.Timestamps, p.Timestamps...)
			out.Values = append(out.Values, p.Values...)
			out.Steps = append(out.Steps, p.Steps...)
		}
		for _, r := range p.Refs {
			r.Start, r.End = off+r.Start, off+r.End
			out.AddRefs(r)
		}
		off += p.Len()
	}
	return out, nil
}

// lineStarts returns, for chunks of whole lines from splitChunks, the
// first line of each chunk and (last) the total, if every line break is
// a '\n': every chunk but the last ends with '\n', so its line count is
// its '\n' count unless it holds other line breaks; the last may lack a
// final '\n', so one more line is allowed for.
func lineStarts(chunks [][]byte) []int {
	starts := make([]int, len(chunks)+1)
	for i, c := range chunks {
		starts[i+1] = starts[i] + bytes.Count(c, []byte{'\n'})
	}
	starts[len(chunks)]++
	return starts
}

// inPlace reports whether chunk i's k points filled its region of the
// shared storage (first tells whether they start there): a chunk moves
// elsewhere when it held more lines than '\n's (other line breaks) and
// outgrew its region.
func inPlace(k int, first bool, i int, starts []int) bool {
	return first && (i == len(starts)-2 || k == starts[i+1]-starts[i])
}

// parseChunks runs parse on every chunk at once, one goroutine each, and
// returns the first error in file order: a *CorruptionError's line,
// numbered within its chunk by parse, is renumbered in the whole file.
func parseChunks(chunks [][]byte, parse func(i int, chunk []byte) (lines int, err error)) error {
	lines := make([]int, len(chunks))
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		wg.Go(func() { lines[i], errs[i] = parse(i, c) })
	}
	wg.Wait()
	before := 0
	for i, err := range errs {
		if err != nil {
			var ce *CorruptionError
			if errors.As(err, &ce) {
				ce.Line += before
			}
			return err
		}
		before += lines[i]
	}
	return nil
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
		if s.plain && len(out) < cap(out) {
			// A plain line sets the key and the numbers only: out's spare
			// capacity is zeroed (make and append leave it so), and the
			// four empty strings need not be copied over 1M points.
			out = out[:len(out)+1]
			m := &out[len(out)-1]
			m.Key, m.Timestamp, m.Value, m.Step = key, s.m.Timestamp, s.m.Value, s.m.Step
			continue
		}
		out = append(out, s.m)
	}
	if s.err != nil {
		return nil, s.line, s.err
	}
	return out, s.line, nil
}

// decodeColumnsInto appends the points of whole lines of data to c, as
// decodeInto does to a slice, and reports how many lines it read.
func decodeColumnsInto(c *entities.MetricColumns, key string, data []byte) (int, error) {
	s := newBytesScanner(data, key, false)
	ts, vs, st := c.Timestamps, c.Values, c.Steps
	for s.Next() {
		ts = append(ts, s.m.Timestamp)
		vs = append(vs, s.m.Value)
		st = append(st, s.m.Step)
		if !s.plain && (s.m.DatasetName != "" || s.m.DatasetDigest != "") {
			i := len(ts) - 1
			c.AddRefs(entities.RefRange{Start: i, End: i + 1, DatasetName: s.m.DatasetName, DatasetDigest: s.m.DatasetDigest})
		}
	}
	c.Timestamps, c.Values, c.Steps = ts, vs, st
	return s.line, s.err
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
