package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// Operation is a queued asynchronous write, like MLflow's RunOperations.
type Operation struct {
	done chan struct{}
	err  error
}

// CompletedOperation returns an Operation that is already done with err.
// The fluent layer returns one for synchronous calls.
func CompletedOperation(err error) *Operation {
	o := &Operation{done: make(chan struct{}), err: err}
	close(o.done)
	return o
}

// Wait blocks until the write is done and returns its error.
func (o *Operation) Wait() error {
	<-o.done
	return o.err
}

// Done is closed when the write is done.
func (o *Operation) Done() <-chan struct{} { return o.done }

func (o *Operation) finish(err error) {
	o.err = err
	close(o.done)
}

// item is one queued call, or a flush or stop marker.
type item struct {
	runID   string
	metrics []entities.Metric
	params  []entities.Param
	tags    []entities.RunTag
	op      *Operation
	marker  chan struct{} // flush (stop=false) or stop marker: closed when reached
	stop    bool
}

func (it *item) size() int { return len(it.metrics) + len(it.params) + len(it.tags) }

// asyncWriter is the background writer of one Client.
type asyncWriter struct {
	st     store.Store
	window time.Duration
	size   int
	log    *slog.Logger

	// run guards the worker's life: enqueuers hold it shared while they
	// send, Close holds it exclusively while it stops the worker, so no
	// item is sent to a stopped worker.
	run struct {
		sync.RWMutex
		q       chan *item
		started bool
	}
	// failed holds errors of failed writes per run, not yet reported by
	// a flush.
	failed struct {
		sync.Mutex
		byRun map[string][]error
	}
}

func newAsyncWriter(st store.Store, opts *Options) *asyncWriter {
	w := &asyncWriter{st: st, window: opts.AsyncWindow, size: opts.AsyncQueueSize, log: opts.Logger}
	if w.window <= 0 {
		w.window = 20 * time.Millisecond
	}
	if w.size <= 0 {
		w.size = 1024
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.failed.byRun = map[string][]error{}
	return w
}

// send queues it, starting the worker if needed; it blocks while the queue
// is full, until ctx ends.
func (w *asyncWriter) send(ctx context.Context, it *item) error {
	for {
		w.run.RLock()
		if w.run.started {
			defer w.run.RUnlock()
			select {
			case w.run.q <- it:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("tracking: queue asynchronous write: %w", ctx.Err())
			}
		}
		w.run.RUnlock()
		w.run.Lock()
		if !w.run.started {
			w.run.q = make(chan *item, w.size)
			w.run.started = true
			go w.loop(w.run.q)
		}
		w.run.Unlock()
	}
}

func (w *asyncWriter) enqueue(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) (*Operation, error) {
	op := &Operation{done: make(chan struct{})}
	it := &item{runID: runID, metrics: metrics, params: params, tags: tags, op: op}
	if err := w.send(ctx, it); err != nil {
		return nil, err
	}
	return op, nil
}

// flush waits for everything queued so far, then reports the unreported
// failures of runID ("" for all runs).
func (w *asyncWriter) flush(ctx context.Context, runID string) error {
	w.run.RLock()
	started := w.run.started
	w.run.RUnlock()
	if started {
		m := &item{marker: make(chan struct{})}
		if err := w.send(ctx, m); err != nil {
			return err
		}
		select {
		case <-m.marker:
		case <-ctx.Done():
			return fmt.Errorf("tracking: flush: %w", ctx.Err())
		}
	}
	return w.takeFailures(runID)
}

func (w *asyncWriter) close(ctx context.Context) error {
	err := w.flush(ctx, "")
	w.run.Lock()
	defer w.run.Unlock()
	if w.run.started {
		m := &item{marker: make(chan struct{}), stop: true}
		w.run.q <- m // the queue is drained by the worker, so this cannot block for ever
		<-m.marker
		w.run.started = false
	}
	return errors.Join(err, w.takeFailures(""))
}

func (w *asyncWriter) takeFailures(runID string) error {
	w.failed.Lock()
	defer w.failed.Unlock()
	var out []error
	if runID != "" {
		out = w.failed.byRun[runID]
		delete(w.failed.byRun, runID)
	} else {
		runs := make([]string, 0, len(w.failed.byRun))
		for r := range w.failed.byRun {
			runs = append(runs, r)
		}
		sort.Strings(runs)
		for _, r := range runs {
			out = append(out, w.failed.byRun[r]...)
		}
		clear(w.failed.byRun)
	}
	return errors.Join(out...)
}

// loop is the worker: it takes the first waiting call, gathers more for up
// to the window or until a batch's worth of points, and writes them.
func (w *asyncWriter) loop(q chan *item) {
	for it := range q {
		if it.marker != nil {
			close(it.marker)
			if it.stop {
				return
			}
			continue
		}
		batch := []*item{it}
		n := it.size()
		timer := time.NewTimer(w.window)
		var marker *item
	gather:
		for n < validate.MaxMetricsPerBatch {
			select {
			case next := <-q:
				if next.marker != nil {
					marker = next
					break gather
				}
				batch = append(batch, next)
				n += next.size()
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		w.write(batch)
		if marker != nil {
			close(marker.marker)
			if marker.stop {
				return
			}
		}
	}
}

// write writes queued calls, merged per run into batches within MLflow's
// limits.
func (w *asyncWriter) write(batch []*item) {
	var order []string
	byRun := map[string][]*item{}
	for _, it := range batch {
		if _, ok := byRun[it.runID]; !ok {
			order = append(order, it.runID)
		}
		byRun[it.runID] = append(byRun[it.runID], it)
	}
	for _, runID := range order {
		for _, chunk := range chunks(byRun[runID]) {
			w.writeChunk(runID, chunk)
		}
	}
}

// chunks splits one run's calls into groups that fit one log_batch: within
// the count limits and with no param key given two values.
func chunks(items []*item) [][]*item {
	var out [][]*item
	var cur []*item
	var nm, np, nt int
	params := map[string]string{}
	for _, it := range items {
		fits := nm+len(it.metrics) <= validate.MaxMetricsPerBatch &&
			np+len(it.params) <= validate.MaxParamsTagsPerBatch &&
			nt+len(it.tags) <= validate.MaxParamsTagsPerBatch &&
			nm+np+nt+it.size() <= validate.MaxEntitiesPerBatch
		for _, p := range it.params {
			if _, ok := params[p.Key]; ok {
				fits = false // a repeated key, even with the same value, is refused in one batch
			}
		}
		if !fits && len(cur) > 0 {
			out = append(out, cur)
			cur, nm, np, nt = nil, 0, 0, 0
			clear(params)
		}
		cur = append(cur, it)
		nm, np, nt = nm+len(it.metrics), np+len(it.params), nt+len(it.tags)
		for _, p := range it.params {
			params[p.Key] = p.Value
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (w *asyncWriter) writeChunk(runID string, chunk []*item) {
	var ms []entities.Metric
	var ps []entities.Param
	var ts []entities.RunTag
	for _, it := range chunk {
		ms = append(ms, it.metrics...)
		ps = append(ps, it.params...)
		ts = append(ts, it.tags...)
	}
	err := w.st.LogBatch(context.Background(), runID, ms, ps, ts)
	if err != nil && len(chunk) > 1 && refusedBeforeWriting(err) {
		// The store refused the merged batch before writing anything (a
		// deleted run, a changed param): write each call on its own so
		// only the offending ones fail.
		for _, it := range chunk {
			w.done(runID, it, w.st.LogBatch(context.Background(), runID, it.metrics, it.params, it.tags))
		}
		return
	}
	for _, it := range chunk {
		w.done(runID, it, err)
	}
}

// refusedBeforeWriting reports errors the file store raises before its
// first write of a batch: lookups and validation.
func refusedBeforeWriting(err error) bool {
	return errors.Is(err, errs.ErrInvalidParameter) || errors.Is(err, errs.ErrNotFound) ||
		errors.Is(err, errs.ErrInvalidState)
}

func (w *asyncWriter) done(runID string, it *item, err error) {
	if err != nil {
		err = fmt.Errorf("tracking: asynchronous write to run %s: %w", runID, err)
		w.log.Warn("asynchronous write failed", "run_id", runID, "err", err)
		w.failed.Lock()
		w.failed.byRun[runID] = append(w.failed.byRun[runID], err)
		w.failed.Unlock()
	}
	it.op.finish(err)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
