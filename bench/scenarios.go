package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/pyenv"
	"github.com/mlruns-go/mlruns/tracking"
)

// The scenarios S1-S8: each times our store and, where it has one, Python
// MLflow on the same shape.

func (d *driver) s1() (row, error) {
	var ours, py, floor best
	n := d.sz.s1Go
	err := d.rounds(
		goStep(&ours, func() (result, error) {
			s, id, err := d.newRun("s1")
			if err != nil {
				return result{}, err
			}
			return timed(n, func() error {
				for i := range n {
					if err := s.LogMetric(context.Background(), id, entities.Metric{Key: "loss", Value: 0.5, Timestamp: ts0 + int64(i), Step: int64(i)}); err != nil {
						return err
					}
				}
				return nil
			})
		}),
		d.pyStep(&py, func() []string { return []string{"log_metric", d.dir("s1py"), strconv.Itoa(d.sz.s1Py)} }),
		goStep(&floor, func() (result, error) { return floorOpenAppend(d.dir("s1floor"), n) }),
	)
	return mkRow("S1 sync log_metric, 1 point/call", ours, py, floor,
		fmt.Sprintf("ours %d points (Store.LogMetric), Python %d (MlflowClient.log_metric); floor F1", n, d.sz.s1Py)), err
}

func (d *driver) s2() (row, error) {
	var ours, py, floor best
	bs := d.sz.batchSize
	n := d.sz.s2Go
	err := d.rounds(
		goStep(&ours, func() (result, error) {
			s, id, err := d.newRun("s2")
			if err != nil {
				return result{}, err
			}
			ms := make([]entities.Metric, bs)
			return timed(n*bs, func() error {
				for b := range n {
					for i := range ms {
						ms[i] = entities.Metric{Key: "loss", Value: 0.5, Timestamp: ts0 + int64(i), Step: int64(b*bs + i)}
					}
					if err := s.LogBatch(context.Background(), id, ms, nil, nil); err != nil {
						return err
					}
				}
				return nil
			})
		}),
		d.pyStep(&py, func() []string {
			return []string{"log_batch", d.dir("s2py"), strconv.Itoa(d.sz.s2Py), strconv.Itoa(bs)}
		}),
		goStep(&floor, func() (result, error) { return floorBatched(d.dir("s2floor"), n*bs, d.sz.floorBuffer) }),
	)
	return mkRow("S2 log_batch of 1,000 metrics", ours, py, floor,
		fmt.Sprintf("ours %d batches (Store.LogBatch), Python %d (MlflowClient.log_batch); floor F3", n, d.sz.s2Py)), err
}

// asyncLog logs n points one LogBatchAsync call each on a fresh client and
// run under root, then flushes; it times the calls and the flush.
func asyncLog(root string, n int) (result, error) {
	ctx := context.Background()
	c, err := tracking.Open(root, nil)
	if err != nil {
		return result{}, err
	}
	defer c.Close(ctx)
	run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{StartTime: ts0})
	if err != nil {
		return result{}, err
	}
	id := run.Info.RunID
	return timed(n, func() error {
		for i := range n {
			m := []entities.Metric{{Key: "loss", Value: 0.5, Timestamp: ts0 + int64(i), Step: int64(i)}}
			if err := c.LogBatchAsync(ctx, id, m, nil, nil).Err(); err != nil {
				return err
			}
		}
		return c.Flush(ctx)
	})
}

func (d *driver) s3() (row, error) {
	var ours, py, floor best
	n := d.sz.s3Go
	err := d.rounds(
		goStep(&ours, func() (result, error) { return asyncLog(d.dir("s3"), n) }),
		d.pyStep(&py, func() []string { return []string{"async", d.dir("s3py"), strconv.Itoa(d.sz.s3Py)} }),
		goStep(&floor, func() (result, error) { return floorBatched(d.dir("s3floor"), n, d.sz.floorBuffer) }),
	)
	return mkRow("S3 async log N points + flush", ours, py, floor,
		fmt.Sprintf("ours %d points (tracking.Client.LogBatchAsync per point, Flush), Python %d (mlflow.log_metric synchronous=False, flush_async_logging); floor F3", n, d.sz.s3Py)), err
}

// together starts the commands, waits until each has printed "ready",
// releases them all at once and returns their summed points over the
// slowest one's time.
func together(cmds []*exec.Cmd) (result, error) {
	type proc struct {
		cmd    *exec.Cmd
		stdin  *os.File
		out    *bufio.Reader
		stderr bytes.Buffer
	}
	var ps []*proc
	defer func() {
		for _, p := range ps {
			if p.cmd.ProcessState == nil && p.cmd.Process != nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
		}
	}()
	for _, c := range cmds {
		p := &proc{cmd: c}
		r, w, err := os.Pipe()
		if err != nil {
			return result{}, err
		}
		c.Stdin = r
		p.stdin = w
		so, err := c.StdoutPipe()
		if err != nil {
			return result{}, err
		}
		p.out = bufio.NewReader(so)
		c.Stderr = &p.stderr
		if err := c.Start(); err != nil {
			return result{}, err
		}
		r.Close()
		ps = append(ps, p)
	}
	for _, p := range ps {
		line, err := p.out.ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			p.cmd.Wait()
			return result{}, fmt.Errorf("%s: not ready: %q %v\n%s", p.cmd.Path, line, err, p.stderr.String())
		}
	}
	for _, p := range ps {
		p.stdin.Write([]byte("go\n"))
		p.stdin.Close()
	}
	var total result
	for _, p := range ps {
		rest, _ := bufio.NewReader(p.out).ReadBytes(0)
		if err := p.cmd.Wait(); err != nil {
			return result{}, fmt.Errorf("%s: %v\n%s", p.cmd.Path, err, p.stderr.String())
		}
		var r result
		if err := json.Unmarshal(lastLine(rest), &r); err != nil {
			return result{}, fmt.Errorf("%s: %v in %q", p.cmd.Path, err, rest)
		}
		total.Points += r.Points
		total.Seconds = max(total.Seconds, r.Seconds)
	}
	return total, nil
}

func (d *driver) childCmd(args ...string) *exec.Cmd {
	return exec.Command(d.self, append([]string{"-child"}, args...)...)
}

func (d *driver) s4() (row, error) {
	var ours, py, floor best
	np, ng := d.sz.s4Procs, d.sz.s4Goroutines
	err := d.rounds(
		goStep(&ours, func() (result, error) {
			s, id, err := d.newRun("s4")
			if err != nil {
				return result{}, err
			}
			var cmds []*exec.Cmd
			for range np {
				cmds = append(cmds, d.childCmd("contention", s.Root(), id, strconv.Itoa(ng), strconv.Itoa(d.sz.s4Go)))
			}
			return together(cmds)
		}),
		d.pyContention(&py),
		goStep(&floor, func() (result, error) {
			path := filepath.Join(d.dir("s4floor"), "loss")
			var cmds []*exec.Cmd
			for range np {
				cmds = append(cmds, d.childCmd("floor-contention", path, strconv.Itoa(ng), strconv.Itoa(d.sz.s4Go)))
			}
			return together(cmds)
		}),
	)
	return mkRow("S4 4 procs x 4 goroutines, one run", ours, py, floor,
		fmt.Sprintf("%d processes x %d goroutines (Python: threads) x %d points (Python %d) on one metric of one run; floor F1 in the same shape", np, ng, d.sz.s4Go, d.sz.s4Py)), err
}

// pyContention is S4's Python step: a Go-made run, np Python processes.
func (d *driver) pyContention(b *best) func() error {
	if d.python == "" {
		return nil
	}
	return func() error {
		s, id, err := d.newRun("s4py")
		if err != nil {
			return err
		}
		var cmds []*exec.Cmd
		for range d.sz.s4Procs {
			c := exec.Command(d.python, d.pyScript, "contention", s.Root(), id, strconv.Itoa(d.sz.s4Goroutines), strconv.Itoa(d.sz.s4Py))
			c.Env = pyenv.Env()
			c.Dir = d.tmp
			cmds = append(cmds, c)
		}
		r, err := together(cmds)
		if err != nil {
			return err
		}
		b.add(r)
		return nil
	}
}

func (d *driver) s5() (row, error) {
	var ours, cols, iter, py, floor best
	n := d.sz.s5
	s, id, err := d.newRun("s5")
	if err != nil {
		return row{}, err
	}
	ctx := context.Background()
	ms := make([]entities.Metric, 0, d.sz.batchSize)
	for i := range n {
		ms = append(ms, entities.Metric{Key: "loss", Value: 1 / float64(i+1), Timestamp: ts0 + int64(i), Step: int64(i)})
		if len(ms) == cap(ms) || i == n-1 {
			if err := s.LogBatch(ctx, id, ms, nil, nil); err != nil {
				return row{}, err
			}
			ms = ms[:0]
		}
	}
	path := filepath.Join(s.Root(), "0", id, "metrics", "loss")
	err = d.rounds(
		goStep(&ours, func() (result, error) {
			var h []entities.Metric
			r, err := timed(n, func() (err error) {
				h, err = s.GetMetricHistory(ctx, id, "loss")
				return err
			})
			if err == nil && len(h) != n {
				err = fmt.Errorf("read %d points, want %d", len(h), n)
			}
			return r, err
		}),
		goStep(&cols, func() (result, error) {
			var c entities.MetricColumns
			r, err := timed(n, func() (err error) {
				c, err = s.GetMetricHistoryColumns(ctx, id, "loss")
				return err
			})
			if err == nil && c.Len() != n {
				err = fmt.Errorf("read %d points into columns, want %d", c.Len(), n)
			}
			return r, err
		}),
		goStep(&iter, func() (result, error) {
			var got int
			r, err := timed(n, func() error {
				for _, err := range s.MetricHistoryIter(ctx, id, "loss") {
					if err != nil {
						return err
					}
					got++
				}
				return nil
			})
			if err == nil && got != n {
				err = fmt.Errorf("iterated %d points, want %d", got, n)
			}
			return r, err
		}),
		d.pyStep(&py, func() []string { return []string{"history", s.Root(), id, "loss"} }),
		goStep(&floor, func() (result, error) {
			var lines int
			r, err := timed(n, func() error {
				b, err := os.ReadFile(path)
				lines = bytes.Count(b, []byte{'\n'})
				return err
			})
			if err == nil && lines != n {
				err = fmt.Errorf("floor counted %d lines in %s, want %d", lines, path, n)
			}
			return r, err
		}),
	)
	d.extra = append(d.extra, mkRow("S5c same, into columns (GetMetricHistoryColumns)", cols, py, floor,
		"as S5, ours Store.GetMetricHistoryColumns: timestamps, values and steps in three arrays, 24 bytes a point"))
	d.extra = append(d.extra, mkRow("S5i same, streamed (MetricHistoryIter)", iter, py, floor,
		"as S5, ours Store.MetricHistoryIter, one point at a time without the slice"))
	return mkRow("S5 read N-point metric history", ours, py, floor,
		fmt.Sprintf("%d lines; ours Store.GetMetricHistory, Python FileStore.get_metric_history(max_results=None), one parse (MlflowClient.get_metric_history pages by 25,000 and re-parses the file per page: quadratic); floor os.ReadFile + count newlines", n)), err
}

func (d *driver) s6() (row, error) {
	var ours, py, floor best
	n := d.sz.s6
	s, expID, err := makeSearchStore(d.dir("s6"), n, d.sz.s6Metrics, d.sz.s6Params)
	if err != nil {
		return row{}, err
	}
	root := s.Root()
	if err := s.Close(); err != nil {
		return row{}, err
	}
	// Both sides search a tree in the page cache (see readTree), each of
	// our rounds with a newly opened Store: a one-shot search, whose read
	// cache is empty (BenchmarkSearchRuns/store=reused measures repeats).
	if err := readTree(root); err != nil {
		return row{}, err
	}
	ctx := context.Background()
	var goN int
	pyStep := d.pyStep(&py, func() []string {
		return []string{"search", root, expID, "1000", searchFilter, searchOrder}
	})
	if pyStep != nil {
		// Python returns the runs found; rate is runs searched per second.
		pyStep = func() error {
			r, err := d.py("search", root, expID, "1000", searchFilter, searchOrder)
			if err != nil {
				return err
			}
			if r.Points != goN {
				return fmt.Errorf("python found %d runs, ours %d", r.Points, goN)
			}
			r.Points = n
			py.add(r)
			return nil
		}
	}
	err = d.rounds(
		goStep(&ours, func() (result, error) {
			r, err := timed(n, func() error {
				s, err := filestore.Open(root, nil)
				if err != nil {
					return err
				}
				defer s.Close()
				got, _, err := s.SearchRuns(ctx, []string{expID}, searchFilter, entities.ViewActiveOnly, 1000, []string{searchOrder}, "")
				goN = len(got)
				return err
			})
			return r, err
		}),
		pyStep,
	)
	return mkRow("S6 search_runs, filter + order_by", ours, py, floor,
		fmt.Sprintf("%d runs x %d metrics x %d params, %q order by %s, max 1000, a newly opened Store per search; rate = runs searched/s", n, d.sz.s6Metrics, d.sz.s6Params, searchFilter, searchOrder)), err
}

// buildColdStart builds bench/coldstart once into the temp dir; when go
// build is not possible (no toolchain or not inside the module) it falls
// back to this binary's -child coldstart.
func (d *driver) buildColdStart() string {
	if d.coldGo != nil {
		return ""
	}
	out := filepath.Join(d.tmp, "coldstart")
	cmd := exec.Command("go", "build", "-o", out, "github.com/mlruns-go/mlruns/bench/coldstart")
	if b, err := cmd.CombinedOutput(); err == nil {
		d.coldGo = []string{out}
		return "bench/coldstart, built once"
	} else {
		fmt.Fprintf(os.Stderr, "bench: go build bench/coldstart: %v %s; using the driver binary\n", err, b)
	}
	d.coldGo = []string{d.self, "-child", "coldstart"}
	return "the driver binary -child coldstart"
}

func wallTime(cmd *exec.Cmd) (result, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Run()
	r := result{Points: 1, Seconds: time.Since(t0).Seconds()}
	if err != nil {
		return r, fmt.Errorf("%s: %v\n%s", cmd.Path, err, stderr.String())
	}
	return r, nil
}

func (d *driver) s7() (row, error) {
	var ours, py, floor best
	what := d.buildColdStart()
	var goMs, pyMs []float64
	for range d.sz.s7 {
		c := exec.Command(d.coldGo[0], append(d.coldGo[1:], d.dir("s7"))...)
		c.Dir = d.tmp
		r, err := wallTime(c)
		if err != nil {
			return row{}, err
		}
		goMs = append(goMs, r.Seconds*1000)
		ours.add(r)
		if d.python != "" {
			c := exec.Command(d.python, d.pyScript, "coldstart", d.dir("s7py"))
			c.Env = pyenv.Env()
			c.Dir = d.tmp
			r, err := wallTime(c)
			if err != nil {
				return row{}, err
			}
			pyMs = append(pyMs, r.Seconds*1000)
			py.add(r)
		}
	}
	return mkRow("S7 cold start: run + 1 metric + end", ours, py, floor,
		fmt.Sprintf("whole process, best of %d; rate = processes/s; ours %s (%s ms), Python py_bench.py coldstart (%s ms)", d.sz.s7, what, msList(goMs), msList(pyMs))), nil
}

func msList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(s, ", ")
}

func (d *driver) s8() (row, error) {
	var ours best
	var peak int64
	// One process: peak RSS does not improve with repeats.
	err := func() error {
		c := d.childCmd("rss", d.dir("s8"), strconv.Itoa(d.sz.s8))
		var stderr bytes.Buffer
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			return fmt.Errorf("rss child: %v\n%s", err, stderr.String())
		}
		var r result
		if err := json.Unmarshal(lastLine(out), &r); err != nil {
			return fmt.Errorf("rss child: %v in %q", err, out)
		}
		// VmHWM, not the rusage maxrss wait4 reports: Linux carries the
		// high-water mark of the mm the child was cloned from (this
		// driver's, hundreds of MB after S6) across exec into ru_maxrss.
		kb := r.RSSKB
		if kb == 0 {
			return errors.New("rss child: no VmHWM in /proc/self/status")
		}
		peak = max(peak, kb)
		ours.add(r)
		return nil
	}()
	rw := mkRow("S8 peak RSS, async log M points", ours, best{}, best{},
		fmt.Sprintf("%d points, one LogBatchAsync call each, then Flush, in a child process; peak RSS = the child's VmHWM", d.sz.s8))
	rw.PeakRSSMB = ptr(float64(peak) / 1024)
	return rw, err
}
