package tracking

import (
	"context"
	"fmt"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/sysmetrics"
)

// SystemMetricsOptions configure the system metrics of a run (see package
// sysmetrics); nil is Python's defaults.
type SystemMetricsOptions = sysmetrics.Options

// monitors are the system metrics monitors of a Client's runs.
type monitors struct {
	sync.Mutex
	byRun map[string]*sysmetrics.Monitor
}

// StartSystemMetrics starts logging the machine's system metrics to a run,
// as Python's SystemMetricsMonitor(run_id).start(): one batch per window
// through the asynchronous writer, until StopSystemMetrics, SetTerminated
// or Close (each logs the window under way). The only errors are a run
// that already has a monitor (ErrInvalidState) and settings Python refuses
// (sysmetrics.Check).
func (c *Client) StartSystemMetrics(ctx context.Context, runID string, opts *SystemMetricsOptions) error {
	var o sysmetrics.Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = c.log
	}
	c.mons.Lock()
	defer c.mons.Unlock()
	for id, m := range c.mons.byRun { // forget monitors that stopped by themselves
		select {
		case <-m.Done():
			delete(c.mons.byRun, id)
		default:
		}
	}
	if _, ok := c.mons.byRun[runID]; ok {
		return errs.New(errs.ErrInvalidState, fmt.Sprintf("System metrics are already being logged for run %s.", runID))
	}
	m, err := sysmetrics.Start(ctx, runWriter{c: c, runID: runID}, &o)
	if err != nil {
		return err
	}
	if c.mons.byRun == nil {
		c.mons.byRun = map[string]*sysmetrics.Monitor{}
	}
	c.mons.byRun[runID] = m
	return nil
}

// StopSystemMetrics stops the run's system metrics monitor, if it has one,
// after it queued the window under way; FlushRun or SetTerminated writes
// it.
func (c *Client) StopSystemMetrics(runID string) {
	c.mons.Lock()
	m := c.mons.byRun[runID]
	delete(c.mons.byRun, runID)
	c.mons.Unlock()
	if m != nil {
		m.Stop()
	}
}

// stopAllSystemMetrics stops every monitor of the client, for Close.
func (c *Client) stopAllSystemMetrics() {
	c.mons.Lock()
	ms := c.mons.byRun
	c.mons.byRun = nil
	c.mons.Unlock()
	for _, m := range ms {
		m.Stop()
	}
}

// runWriter is a monitor's way to its run: the asynchronous writer for
// the windows, the store for the status and the latest steps.
type runWriter struct {
	c     *Client
	runID string
}

func (w runWriter) LogWindow(ctx context.Context, ms []entities.Metric) sysmetrics.Pending {
	return w.c.LogBatchAsync(ctx, w.runID, ms, nil, nil)
}

func (w runWriter) RunStatus(ctx context.Context) (entities.RunStatus, error) {
	info, err := w.c.store.GetRunInfo(ctx, w.runID)
	return info.Status, err
}

func (w runWriter) LatestMetrics(ctx context.Context) (map[string]entities.Metric, error) {
	run, err := w.c.store.GetRun(ctx, w.runID)
	return run.Data.Metrics, err
}
