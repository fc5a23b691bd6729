package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
)

// streamBlockSize is how much of a metric file ScanMetricHistory reads at
// a time: big enough that handing a block between goroutines costs little
// per line (~1,800 lines of 35 bytes), small enough that the blocks in
// flight stay around a megabyte.
const streamBlockSize = 64 << 10

// ScanMetricHistory calls fn with every metric of a run metric file read
// from r, in file order, and stops early when fn returns false. With more
// than one CPU, blocks of the file are parsed on the other cores while fn
// runs, so a caller that prints or plots each point overlaps with the
// parsing; memory stays bounded by a few blocks whatever the file's size.
// It returns what a MetricScanner's Err would: the first bad line as a
// *CorruptionError numbered in the whole file (fn has seen every metric
// before it), or the read error. r is not used after it returns.
func ScanMetricHistory(r io.Reader, key string, fn func(entities.Metric) bool) error {
	return scanMetricHistory(r, key, fn, streamBlockSize, runtime.GOMAXPROCS(0))
}

// A streamBlock is a run of whole lines (cut after a '\n', so every line
// break kind of Python's splitlines and every UTF-8 sequence lies inside
// it) on its way from the reading goroutine through a parser to fn.
type streamBlock struct {
	data  []byte
	last  bool // the end of the input: a final line may lack its '\n'
	ms    []entities.Metric
	lines int   // lines parsed, up to and including a bad one
	rerr  error // the read that ended the input failed: data is the whole lines before it
	err   error // a bad line (numbered within the block), else rerr wrapped
	done  chan struct{}
}

func scanMetricHistory(r io.Reader, key string, fn func(entities.Metric) bool, blockSize, workers int) error {
	// The first block is read here: a file that fits in it (most files)
	// is parsed in place, with no goroutines.
	first, rest := readBlock(r, make([]byte, 0, blockSize), nil, blockSize)
	if workers < 2 || first.last || first.rerr != nil {
		return scanSequential(r, key, fn, first, rest)
	}

	// Pipeline: one goroutine reads blocks in order and queues each both
	// for a parser and, in order, for this goroutine, which waits for each
	// block's parse and calls fn. The queue's capacity bounds the blocks
	// in flight; used buffers come back through free.
	inFlight := 2*workers + 1
	order := make(chan *streamBlock, inFlight)
	work := make(chan *streamBlock, inFlight+1)
	free := make(chan *streamBlock, inFlight+1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(order)
		b := first
		for {
			select {
			case <-stop:
				return
			default:
			}
			select {
			case order <- b:
			case <-stop:
				return
			}
			work <- b
			if b.last || b.rerr != nil {
				return
			}
			var next *streamBlock
			select {
			case next = <-free:
			default:
				next = &streamBlock{data: make([]byte, 0, blockSize)}
			}
			b, rest = readBlock(r, next.data[:0], rest, blockSize)
			b.ms = next.ms[:0]
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				parseBlock(b, key)
				close(b.done)
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)

	before := 0 // lines in the blocks already handed to fn
	for b := range order {
		<-b.done
		for _, m := range b.ms {
			if !fn(m) {
				return nil
			}
		}
		if b.err != nil {
			var ce *CorruptionError
			if errors.As(b.err, &ce) {
				ce.Line += before
			}
			return b.err
		}
		before += b.lines
		select {
		case free <- &streamBlock{data: b.data, ms: b.ms}:
		default:
		}
	}
	return nil
}

// readBlock fills buf with rest (the start of a line the previous block
// left) and then reads until it holds at least one '\n' and blockSize
// bytes, or the input ends. The block ends after its last '\n'; what
// follows is returned as the next rest. A line longer than blockSize grows
// the block. A failed read ends the input: the block then holds the whole
// lines read before it, as a MetricScanner yields them before the error.
func readBlock(r io.Reader, buf, rest []byte, blockSize int) (*streamBlock, []byte) {
	buf = append(buf, rest...) // rest holds no '\n'
	b := &streamBlock{done: make(chan struct{})}
	newline := false // seen in what was read since (each byte is looked at once)
	for tries := 0; len(buf) < blockSize || !newline; {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, max(blockSize, cap(buf)))...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		newline = newline || bytes.IndexByte(buf[len(buf):len(buf)+n], '\n') >= 0
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			// the scanner drops a truncated UTF-8 tail, as Python does
			b.data, b.last = buf, true
			return b, nil
		}
		if err == nil && n == 0 {
			if tries++; tries == 100 {
				err = io.ErrNoProgress
			}
		}
		if err != nil {
			b.data, b.rerr = buf[:bytes.LastIndexByte(buf, '\n')+1], err
			return b, nil
		}
	}
	cut := bytes.LastIndexByte(buf, '\n') + 1
	b.data = buf[:cut]
	// The rest goes into the next block's buffer, which may be this one
	// once the block is done with: a copy keeps them apart.
	return b, bytes.Clone(buf[cut:])
}

// parseBlock parses a block's lines into b.ms, stopping at a bad line.
func parseBlock(b *streamBlock, key string) {
	// A block but the last ends with '\n', so only the last can have a
	// truncated UTF-8 tail for newBytesScanner to drop.
	s := newBytesScanner(b.data, key, false)
	if n := bytes.Count(b.data, []byte{'\n'}) + 1; cap(b.ms) < n {
		b.ms = make([]entities.Metric, 0, n) // once, not by doubling: less garbage
	}
	for s.Next() {
		b.ms = append(b.ms, s.m)
	}
	b.lines = s.line
	switch {
	case s.err != nil:
		b.err = s.err
	case b.rerr != nil:
		b.err = errReadBlock(key, b.rerr)
	}
}

// scanSequential is ScanMetricHistory on one goroutine: the first block,
// then the rest of the input through a MetricScanner.
func scanSequential(r io.Reader, key string, fn func(entities.Metric) bool, first *streamBlock, rest []byte) error {
	parseBlock(first, key)
	for _, m := range first.ms {
		if !fn(m) {
			return nil
		}
	}
	if first.err != nil || first.last {
		return first.err // nil at a clean end
	}
	s := NewMetricScanner(io.MultiReader(bytes.NewReader(rest), r), key)
	s.line = first.lines
	for s.Next() {
		if !fn(s.m) {
			return nil
		}
	}
	return s.err
}

// errReadBlock wraps a read error as MetricScanner does.
func errReadBlock(key string, err error) error {
	return fmt.Errorf("read metric %q: %w", key, err)
}
