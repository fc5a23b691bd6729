package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mlruns-go/mlruns/entities"
)

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
	// noNL: buf[start:noNL] holds no '\n' (where start <= noNL), so a
	// file whose lines end in other breaks (a lone '\r', which Python's
	// splitlines also takes) is searched once, not once a line.
	noNL int
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
		from := min(max(s.noNL-s.start, 0), len(data))
		i := bytes.IndexByte(data[from:], '\n')
		if i >= 0 {
			i += from
			s.noNL = s.start + i
		} else {
			s.noNL = s.end
		}
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
		s.noNL = max(s.noNL-s.start, 0)
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
