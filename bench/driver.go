package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"time"

	"github.com/mlruns-go/mlruns/filestore"
)

//go:embed py_bench.py
var pyBench []byte

const ts0 = 1_700_000_000_000

// result is one timed measurement: points done in seconds; the server
// scenarios add the CPU the client and the server used over it (nil: not
// measured).
type result struct {
	Points    int      `json:"points"`
	Seconds   float64  `json:"seconds"`
	RSSKB     int64    `json:"rss_kb,omitempty"`
	ClientCPU *float64 `json:"client_cpu_s,omitempty"`
	ServerCPU *float64 `json:"server_cpu_s,omitempty"`
}

func (r result) rate() float64 { return float64(r.Points) / r.Seconds }

// best keeps the fastest of several measurements of one column, and that
// measurement.
type best struct {
	r   *float64
	res result
}

func (b *best) add(res result) {
	if res.Seconds <= 0 || res.Points <= 0 {
		return
	}
	v := res.rate()
	if b.r == nil || v > *b.r {
		b.r = &v
		b.res = res
	}
}

type driver struct {
	sz       sizes
	tmp      string
	self     string // this binary, re-executed for child processes
	python   string // "" when the Python columns are skipped
	pyScript string
	pyNote   string
	coldGo   []string // the S7 Go program and its leading args
	n        int      // fresh directory counter
	extra    []row    // rows a scenario adds after its own
	server   *pyServer
	sections sections
}

// sections are the parts of the table an invocation runs.
type sections struct {
	files  bool // S1-S8 and F1-F3, on local folders
	server bool // R1-R3 and the server floors, against mlflow server
	sync   bool // Y1-Y2 and their floors, mlsync.Push into mlflow server
}

// pyServer is a long-lived `py_bench.py serve`, so that in-process Python
// scenarios pay MLflow's ~2 s import once.
type pyServer struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
}

func newDriver(sz sizes, python string, noPython bool, sec sections) (*driver, error) {
	tmp, err := os.MkdirTemp("", "mlruns-bench-")
	if err != nil {
		return nil, err
	}
	d := &driver{sz: sz, tmp: tmp, sections: sec}
	if d.self, err = os.Executable(); err != nil {
		return nil, err
	}
	if !noPython {
		d.python, d.pyNote = findPython(python)
		if d.python != "" {
			d.pyScript = filepath.Join(tmp, "py_bench.py")
			if err := os.WriteFile(d.pyScript, pyBench, 0o644); err != nil {
				return nil, err
			}
		} else {
			fmt.Fprintln(os.Stderr, "bench: no Python columns:", d.pyNote)
		}
	} else {
		d.pyNote = "skipped (-no-python)"
	}
	return d, nil
}

func (d *driver) close() {
	if p := d.server; p != nil {
		p.in.Close()
		p.cmd.Wait()
		d.server = nil
	}
	os.RemoveAll(d.tmp)
}

func (d *driver) describe() string {
	py := "Python: " + d.pyNote
	if d.python != "" {
		py = "Python: " + d.python + " (" + d.pyNote + ")"
	}
	return fmt.Sprintf("%d interleaved round(s), best of each column; %s", d.sz.rounds, py)
}

func ptr(v float64) *float64 { return &v }

// mkRow fills the ratios from the best rates.
func mkRow(name string, ours, py, floor best, note string) row {
	r := row{Scenario: name, Ours: ours.r, Python: py.r, Floor: floor.r, Note: note}
	if ours.r != nil && py.r != nil {
		r.OursOverPython = ptr(*ours.r / *py.r)
	}
	if ours.r != nil && floor.r != nil {
		r.OursOverFloor = ptr(*ours.r / *floor.r)
	}
	return r
}

func (d *driver) runAll() ([]row, error) {
	type scenario struct {
		name string
		fn   func() (row, error)
	}
	var all []scenario
	if d.sections.files {
		all = append(all, []scenario{
			{"S1", d.s1}, {"S2", d.s2}, {"S3", d.s3}, {"S4", d.s4},
			{"S5", d.s5}, {"S6", d.s6}, {"S7", d.s7}, {"S8", d.s8},
			{"F", nil},
		}...)
	}
	if d.sections.server || d.sections.sync {
		switch {
		case d.python == "":
			fmt.Fprintln(os.Stderr, "bench: no server scenarios (R1-R3, Y1-Y2): they need Python MLflow's mlflow server:", d.pyNote)
		case d.sections.server:
			all = append(all, scenario{"R1", d.r1}, scenario{"R2", d.r2}, scenario{"R3", d.r3})
		}
		if d.python != "" && d.sections.sync {
			all = append(all, scenario{"Y1", d.y1})
		}
	}
	var rows []row
	for _, s := range all {
		if s.fn == nil {
			fr, err := d.floors()
			if err != nil {
				return nil, err
			}
			rows = append(rows, fr...)
			continue
		}
		t0 := time.Now()
		r, err := s.fn()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s done in %v\n", s.name, time.Since(t0).Round(time.Millisecond))
		rows = append(rows, r)
		rows = append(rows, d.extra...)
		d.extra = nil
	}
	return rows, nil
}

// rounds runs each non-nil step once per round, in order, so that the
// columns of a scenario share the machine's good and bad moments.
func (d *driver) rounds(steps ...func() error) error {
	for range d.sz.rounds {
		for _, f := range steps {
			if f == nil {
				continue
			}
			if err := f(); err != nil {
				return err
			}
		}
	}
	return nil
}

// pyStep is a Python measurement step, nil when Python is skipped.
func (d *driver) pyStep(b *best, args func() []string) func() error {
	if d.python == "" {
		return nil
	}
	return func() error {
		r, err := d.py(args()...)
		if err != nil {
			return err
		}
		b.add(r)
		return nil
	}
}

func goStep(b *best, f func() (result, error)) func() error {
	return func() error {
		r, err := f()
		if err != nil {
			return err
		}
		b.add(r)
		return nil
	}
}

// newRun opens a fresh store with one run.
func (d *driver) newRun(name string) (*filestore.Store, string, error) {
	s, err := filestore.Open(d.dir(name), nil)
	if err != nil {
		return nil, "", err
	}
	run, err := s.CreateRun(context.Background(), filestore.CreateRunOptions{StartTime: ts0})
	if err != nil {
		return nil, "", err
	}
	return s, run.Info.RunID, nil
}

func timed(points int, f func() error) (result, error) {
	t0 := time.Now()
	err := f()
	return result{Points: points, Seconds: time.Since(t0).Seconds()}, err
}
