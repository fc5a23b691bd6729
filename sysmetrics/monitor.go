package sysmetrics

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/mlruns-go/mlruns/entities"
)

// Writer is what a Monitor logs through: one run. Package tracking has one
// over its asynchronous batching writer (tracking.Client.StartSystemMetrics).
type Writer interface {
	// LogWindow queues one window's metrics as one batch and returns its
	// outcome.
	LogWindow(ctx context.Context, metrics []entities.Metric) Pending
	// RunStatus is the run's status, asked after every sample as Python
	// does: a run no longer RUNNING (ended by another client or process)
	// stops the monitor without logging the window.
	RunStatus(ctx context.Context) (entities.RunStatus, error)
	// LatestMetrics is the run's latest value of each metric (for
	// Options.Resume).
	LatestMetrics(ctx context.Context) (map[string]entities.Metric, error)
}

// Pending is a queued write's outcome: nil while pending or written, its
// error once failed. *tracking.Operation is one.
type Pending interface{ Err() error }

// Monitor samples the machine in a goroutine of its own and logs a window
// of samples per step until Stop. Its methods are safe for concurrent use.
type Monitor struct {
	w          Writer
	cfg        config
	collectors []collector
	now        func() time.Time
	step       int64 // the next window's step; the loop's after Start

	stopOnce sync.Once
	stop     chan struct{} // closed by Stop
	done     chan struct{} // closed when the loop has returned
	// ctx is the loop's for sampling and status calls; Stop cancels it,
	// so a hanging server cannot hold up the end of a run.
	ctx    context.Context
	cancel context.CancelFunc
}

// Start starts a monitor logging through w. Its only errors are settings
// Python refuses or cannot run with (see Check); a failure to read the
// run's steps for Resume starts at step 0, as in Python.
func Start(ctx context.Context, w Writer, opts *Options) (*Monitor, error) {
	cfg, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	m := &Monitor{w: w, cfg: cfg, now: time.Now, stop: make(chan struct{}), done: make(chan struct{})}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if opts != nil && opts.sources != nil {
		m.collectors = opts.sources
	} else {
		m.collectors = machineCollectors(ctx, cfg)
	}
	if cfg.resume {
		m.step = nextStep(ctx, w, cfg)
	}
	cfg.log.Info("Started monitoring system metrics.", "interval", cfg.interval,
		"samples_before_logging", cfg.samples, "first_step", m.step)
	go m.loop()
	return m, nil
}

// nextStep is _get_next_logging_step: one past the largest step among the
// run's latest system/ metrics (any node's), else 0.
func nextStep(ctx context.Context, w Writer, cfg config) int64 {
	latest, err := w.LatestMetrics(ctx)
	if err != nil {
		cfg.log.Debug("sysmetrics: cannot read the run's system metrics to resume; starting at step 0", "err", err)
		return 0
	}
	found, maxStep := false, int64(0)
	for k, m := range latest {
		if strings.HasPrefix(k, Prefix) && (!found || m.Step > maxStep) {
			found, maxStep = true, m.Step
		}
	}
	if !found {
		return 0
	}
	return maxStep + 1
}

// Stop ends the monitor and returns once its goroutine has: the samples of
// the window under way, with a last one for the time since the previous
// sample, are handed to the Writer first, so a run shorter than one
// interval still gets a step (Python drops that window). A last sample
// less than a tenth of an interval after the previous one is not taken,
// unless nothing was logged yet. Stopping a stopped monitor does nothing.
func (m *Monitor) Stop() {
	m.stopOnce.Do(func() {
		close(m.stop)
		m.cancel()
	})
	<-m.done
}

func (m *Monitor) stopping() bool {
	select {
	case <-m.stop:
		return true
	default:
		return false
	}
}

// Done is closed when the monitor has stopped: by Stop, or by itself
// when the run is no longer RUNNING or a write failed.
func (m *Monitor) Done() <-chan struct{} { return m.done }

// loop is SystemMetricsMonitor.monitor: a sample every interval, a window
// logged every SamplesBeforeLogging samples, the run's status checked
// after each sample. A sample is taken at the end of its interval (Python
// takes it at the start), so the CPU share covers the interval.
func (m *Monitor) loop() {
	defer close(m.done)
	defer m.cancel()
	var (
		win        window
		last       Pending
		logged     bool
		lastSample = m.now()
		ctx        = m.ctx
	)
	// final is the end by Stop: the window under way, with a last sample,
	// written (through a context Stop did not cancel).
	final := func() {
		if (win.empty() && !logged) || m.now().Sub(lastSample) >= m.cfg.interval/10 {
			m.sample(context.Background(), &win)
		}
		if !win.empty() {
			m.publish(context.Background(), &win)
		}
		m.cfg.log.Info("Successfully terminated system metrics monitoring!")
	}
	timer := time.NewTimer(m.cfg.interval)
	defer timer.Stop()
	for {
		for i := 0; i < m.cfg.samples; i++ {
			select {
			case <-m.stop:
				final()
				return
			case <-timer.C:
			}
			m.sample(ctx, &win)
			lastSample = m.now()
			timer.Reset(m.cfg.interval)
			status, err := m.w.RunStatus(ctx)
			if err != nil && m.stopping() {
				final() // the status call was cut short by Stop
				return
			}
			if err != nil {
				m.cfg.log.Warn("Failed to get mlflow run; system metrics monitoring stops.", "err", err)
				return
			}
			if status != entities.StatusRunning {
				m.cfg.log.Debug("Monitor loop exiting", "status", status.String())
				return
			}
		}
		if last != nil {
			if err := last.Err(); err != nil {
				m.cfg.log.Warn("Failed to log system metrics; system metrics monitoring stops. This is expected if the experiment/run is already terminated.", "err", err)
				return
			}
		}
		last, logged = m.publish(ctx, &win), true
	}
}

func (m *Monitor) sample(ctx context.Context, win *window) {
	for _, c := range m.collectors {
		c.collect(ctx, win)
	}
}

// publish is publish_metrics: the window's values under the prefix at the
// next step, one batch, all at the time of logging.
func (m *Monitor) publish(ctx context.Context, win *window) Pending {
	ms := win.metrics(m.cfg.prefix, m.now().UnixMilli(), m.step)
	m.step++
	return m.w.LogWindow(ctx, ms)
}
