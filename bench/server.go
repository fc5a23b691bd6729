package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/mlserver"
	"github.com/mlruns-go/mlruns/internal/procgroup"
	"github.com/mlruns-go/mlruns/internal/pyenv"
	"github.com/mlruns-go/mlruns/tracking"
)

// The server scenarios R1-R3: our tracking.Client over the REST store,
// Python's MlflowClient and the server floor (pre-serialised request bodies
// replayed by a minimal keep-alive client), against a fresh `mlflow server`
// per scenario. Every measurement also takes the CPU this process (or the
// Python child) and the server's process group used over it.

// floorInFlight are the replay concurrencies of the LogBatch floor; the
// floor is the best of them.
var floorInFlight = []int{1, 4, 10}

// benchServer is a running mlflow server of one scenario.
type benchServer struct {
	*mlserver.Server
}

// startServer starts a fresh `mlflow server` of d.python (-m mlflow) on
// 127.0.0.1 with a SQLite backend in a new folder, the job runner off and
// the configured worker count, and warms it up.
func (d *driver) startServer(name string) (*benchServer, error) {
	t0 := time.Now()
	dir := d.dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s, err := mlserver.Start(mlserver.Config{
		Command: []string{d.python, "-m", "mlflow"},
		Args: []string{
			"--backend-store-uri", "sqlite:///" + filepath.ToSlash(filepath.Join(dir, "mlflow.db")),
			"--artifacts-destination", filepath.Join(dir, "artifacts"),
			"--workers", strconv.Itoa(d.sz.srv.workers),
		},
		Env: pyenv.Env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"),
		Dir: dir,
	})
	if err != nil {
		return nil, fmt.Errorf("mlflow server: %w", err)
	}
	b := &benchServer{s}
	if err := b.warmUp(d.sz.srv.workers, d.sz.batchSize); err != nil {
		s.Stop()
		return nil, fmt.Errorf("mlflow server: warming up: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: %s: mlflow server (%d workers, SQLite) up and warm in %v\n", name, d.sz.srv.workers, time.Since(t0).Round(time.Millisecond))
	return b, nil
}

// warmUp sends every worker a few LogBatch and LogMetric requests on a run
// of its own: a worker's first requests pay for lazy imports and its
// database connection, which would otherwise land on whichever column
// happens to run first.
func (s *benchServer) warmUp(workers, size int) error {
	id, err := s.newRun()
	if err != nil {
		return err
	}
	if _, err := s.replay("/api/2.0/mlflow/runs/log-batch", logBatchBodies(id, 2*workers, size), size, workers); err != nil {
		return err
	}
	_, err = s.replay("/api/2.0/mlflow/runs/log-metric", logMetricBodies(id, 4*workers), 1, workers)
	return err
}

// cpu is the server's process group's CPU time so far, ok false where it
// cannot be read (not Linux).
func (s *benchServer) cpu() (time.Duration, bool) {
	c, err := procgroup.CPU(s.PID())
	return c, err == nil
}

// newRun makes a run in the Default experiment through our client.
func (s *benchServer) newRun() (string, error) {
	ctx := context.Background()
	c, err := tracking.Open(s.URL, nil)
	if err != nil {
		return "", err
	}
	run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{StartTime: ts0})
	if err != nil {
		return "", err
	}
	return run.Info.RunID, c.Close(ctx)
}

func seconds(d time.Duration) *float64 { return ptr(d.Seconds()) }

// timedGo times f as timed does, with this process's and the server's CPU
// over it.
func (s *benchServer) timedGo(points int, f func() error) (result, error) {
	c0, cok := selfCPU()
	s0, sok := s.cpu()
	r, err := timed(points, f)
	c1, _ := selfCPU()
	s1, _ := s.cpu()
	if cok {
		r.ClientCPU = seconds(c1 - c0)
	}
	if sok {
		r.ServerCPU = seconds(s1 - s0)
	}
	return r, err
}

// srvPyStep is a Python step against s: a run made by us (so the server's CPU
// over the call is the measured work and MlflowClient's construction), the
// client CPU from the child (py_bench.py's process_time).
func (d *driver) srvPyStep(s *benchServer, b *best, args func(runID string) []string) func() error {
	return func() error {
		id, err := s.newRun()
		if err != nil {
			return err
		}
		s0, sok := s.cpu()
		r, err := d.py(args(id)...)
		if err != nil {
			return err
		}
		if s1, _ := s.cpu(); sok {
			r.ServerCPU = seconds(s1 - s0)
		}
		b.add(r)
		return nil
	}
}

// srvGoStep is a Go step against s on a fresh run: f gets a client and the
// run id, and does the timing with s.timedGo.
func srvGoStep(s *benchServer, b *best, f func(c *tracking.Client, runID string) (result, error)) func() error {
	return goStep(b, func() (result, error) {
		ctx := context.Background()
		c, err := tracking.Open(s.URL, nil)
		if err != nil {
			return result{}, err
		}
		run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{StartTime: ts0})
		if err != nil {
			return result{}, err
		}
		r, err := f(c, run.Info.RunID)
		return r, errors.Join(err, c.Close(ctx))
	})
}

// cpuPerPoint is a measurement's CPU in µs per point.
func cpuPerPoint(b best, cpu func(result) *float64) *float64 {
	if b.r == nil || cpu(b.res) == nil {
		return nil
	}
	return ptr(*cpu(b.res) / float64(b.res.Points) * 1e6)
}

func clientCPU(r result) *float64 { return r.ClientCPU }
func serverCPU(r result) *float64 { return r.ServerCPU }

// mkServerRow is mkRow with the CPU columns of each side's best
// measurement.
func mkServerRow(name string, ours, py, floor best, note string) row {
	r := mkRow(name, ours, py, floor, note)
	r.CPU = &cpuRow{
		OursClient: cpuPerPoint(ours, clientCPU), OursServer: cpuPerPoint(ours, serverCPU),
		PythonClient: cpuPerPoint(py, clientCPU), PythonServer: cpuPerPoint(py, serverCPU),
		FloorClient: cpuPerPoint(floor, clientCPU), FloorServer: cpuPerPoint(floor, serverCPU),
	}
	return r
}

// withServer runs a scenario against a fresh server, stopped after it.
func (d *driver) withServer(name string, f func(s *benchServer) (row, error)) (row, error) {
	s, err := d.startServer(name)
	if err != nil {
		return row{}, err
	}
	defer s.Stop()
	return f(s)
}

func (d *driver) r1() (row, error) {
	return d.withServer("r1", func(s *benchServer) (row, error) {
		var ours, py, floor best
		n, np := d.sz.srv.syncGo, d.sz.srv.syncPy
		err := d.rounds(
			srvGoStep(s, &ours, func(c *tracking.Client, id string) (result, error) {
				ctx := context.Background()
				return s.timedGo(n, func() error {
					for i := range n {
						if err := c.LogMetric(ctx, id, "loss", 0.5, tracking.WithStep(int64(i)), tracking.WithTimestamp(ts0+int64(i))); err != nil {
							return err
						}
					}
					return nil
				})
			}),
			d.srvPyStep(s, &py, func(id string) []string {
				return []string{"log_metric_run", s.URL, id, strconv.Itoa(np)}
			}),
			goStep(&floor, func() (result, error) {
				id, err := s.newRun()
				if err != nil {
					return result{}, err
				}
				return s.replay("/api/2.0/mlflow/runs/log-metric", logMetricBodies(id, n), 1, 1)
			}),
		)
		return mkServerRow("R1 server: sync LogMetric, 1 point/call", ours, py, floor,
			fmt.Sprintf("ours %d points (tracking.Client.LogMetric over the REST store), Python %d (MlflowClient.log_metric); floor: the same %d log-metric bodies replayed, 1 in flight", n, np, n)), err
	})
}

func (d *driver) r2() (row, error) {
	return d.withServer("r2", func(s *benchServer) (row, error) {
		var ours, pyAsync, pyBatch, floor best
		perK := make([]best, len(floorInFlight))
		n, bs := d.sz.srv.asyncGo, d.sz.batchSize
		// The floor replays as many points as ours logs (at least
		// floorBatches bodies): a run's metric tables grow as it is
		// written, so a smaller floor would be measured on a cheaper
		// server.
		fb := max(d.sz.srv.floorBatches, (n+bs-1)/bs)
		steps := []func() error{
			srvGoStep(s, &ours, func(c *tracking.Client, id string) (result, error) {
				ctx := context.Background()
				return s.timedGo(n, func() error {
					for i := range n {
						if err := c.LogMetricAsync(ctx, id, "loss", 0.5, tracking.WithStep(int64(i)), tracking.WithTimestamp(ts0+int64(i))).Err(); err != nil {
							return err
						}
					}
					return c.Flush(ctx)
				})
			}),
			d.srvPyStep(s, &pyAsync, func(id string) []string {
				return []string{"async_run", s.URL, id, strconv.Itoa(d.sz.srv.asyncPy)}
			}),
			d.srvPyStep(s, &pyBatch, func(id string) []string {
				return []string{"log_batch_run", s.URL, id, strconv.Itoa(d.sz.srv.batchPy), strconv.Itoa(bs)}
			}),
		}
		for i, k := range floorInFlight {
			steps = append(steps, goStep(&perK[i], func() (result, error) {
				id, err := s.newRun()
				if err != nil {
					return result{}, err
				}
				r, err := s.replay("/api/2.0/mlflow/runs/log-batch", logBatchBodies(id, fb, bs), bs, k)
				if err == nil {
					floor.add(r)
				}
				return r, err
			}))
		}
		err := d.rounds(steps...)
		floorNote := fmt.Sprintf("floor: the best of %d LogBatch bodies of %d metrics replayed at %v in flight (rows FR)", fb, bs, floorInFlight)
		for i, k := range floorInFlight {
			d.extra = append(d.extra, mkServerRow(fmt.Sprintf("FR%d server floor: LogBatch replay, %d in flight", k, k), best{}, best{}, perK[i],
				fmt.Sprintf("%d pre-serialised LogBatch bodies of %d metrics (our wire shape), net/http keep-alive, %d in flight", fb, bs, k)))
		}
		d.extra = append([]row{mkServerRow("R2b same, vs Python log_batch loop", ours, pyBatch, floor,
			fmt.Sprintf("ours as R2; Python %d MlflowClient.log_batch calls of %d metrics, sequential; %s", d.sz.srv.batchPy, bs, floorNote))}, d.extra...)
		return mkServerRow("R2 server: async N points + Flush", ours, pyAsync, floor,
			fmt.Sprintf("ours %d points, one tracking.Client.LogMetricAsync call each, then Flush (the client's default in-flight limit); Python %d mlflow.log_metric(synchronous=False) in a run, then flush_async_logging; %s", n, d.sz.srv.asyncPy, floorNote)), err
	})
}

func (d *driver) r3() (row, error) {
	return d.withServer("r3", func(s *benchServer) (row, error) {
		var ours, py, floor best
		nb, bs := d.sz.srv.batchGo, d.sz.batchSize
		err := d.rounds(
			srvGoStep(s, &ours, func(c *tracking.Client, id string) (result, error) {
				ctx := context.Background()
				ms := make([]entities.Metric, bs)
				return s.timedGo(nb*bs, func() error {
					for b := range nb {
						for i := range ms {
							ms[i] = entities.Metric{Key: "loss", Value: 0.5, Timestamp: ts0 + int64(i), Step: int64(b*bs + i)}
						}
						if err := c.LogBatch(ctx, id, ms, nil, nil); err != nil {
							return err
						}
					}
					return nil
				})
			}),
			d.srvPyStep(s, &py, func(id string) []string {
				return []string{"log_batch_run", s.URL, id, strconv.Itoa(d.sz.srv.batchPy), strconv.Itoa(bs)}
			}),
			goStep(&floor, func() (result, error) {
				id, err := s.newRun()
				if err != nil {
					return result{}, err
				}
				return s.replay("/api/2.0/mlflow/runs/log-batch", logBatchBodies(id, nb, bs), bs, 1)
			}),
		)
		return mkServerRow("R3 server: LogBatch of 1,000, sequential", ours, py, floor,
			fmt.Sprintf("ours %d tracking.Client.LogBatch calls of %d metrics, Python %d MlflowClient.log_batch; floor: the same %d bodies replayed, 1 in flight", nb, bs, d.sz.srv.batchPy, nb)), err
	})
}

// logBatchBodies are n LogBatch request bodies of size points each for
// run, in our REST store's wire shape (reststore's logBatchReq: run_id,
// then metrics with key, value, timestamp, step), with the steps R3 and
// Python log (distinct points: the server drops exact duplicates, at a
// cost).
func logBatchBodies(run string, n, size int) [][]byte {
	bodies := make([][]byte, n)
	for b := range bodies {
		buf := append([]byte(`{"run_id":"`), run...)
		buf = append(buf, `","metrics":[`...)
		for i := range size {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"key":"loss","value":0.5,"timestamp":`...)
			buf = strconv.AppendInt(buf, ts0+int64(i), 10)
			buf = append(buf, `,"step":`...)
			buf = strconv.AppendInt(buf, int64(b*size+i), 10)
			buf = append(buf, '}')
		}
		bodies[b] = append(buf, "]}"...)
	}
	return bodies
}

// logMetricBodies are n LogMetric request bodies of one point each, in our
// wire shape (reststore's logMetricReq).
func logMetricBodies(run string, n int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		buf := append([]byte(`{"run_id":"`), run...)
		buf = append(buf, `","run_uuid":"`...)
		buf = append(buf, run...)
		buf = append(buf, `","key":"loss","value":0.5,"timestamp":`...)
		buf = strconv.AppendInt(buf, ts0+int64(i), 10)
		buf = append(buf, `,"step":`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		bodies[i] = append(buf, '}')
	}
	return bodies
}

// replay POSTs the bodies to path with inFlight requests at once over
// keep-alive connections, and times them; each body is perBody points.
// Anything but 200 is an error naming the body.
func (s *benchServer) replay(path string, bodies [][]byte, perBody, inFlight int) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: inFlight, MaxConnsPerHost: inFlight}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	url := s.URL + path
	post := func(body []byte) error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, msg)
		}
		return nil
	}
	var next atomic.Int64
	return s.timedGo(len(bodies)*perBody, func() error {
		var wg sync.WaitGroup
		errs := make([]error, inFlight)
		for w := range inFlight {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(bodies) || errs[w] != nil {
						return
					}
					errs[w] = post(bodies[i])
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	})
}
