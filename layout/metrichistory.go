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
