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
	"github.com/mlruns-go/mlruns/internal/mlenv"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// Operation is a queued asynchronous write, like MLflow's RunOperations.
// Operations queued together share one completion, so queuing a point
// costs one small allocation and no channel of its own.
type Operation struct {
	c     *completion
	err   error        // set by the writer before c.done closes
	parts []*Operation // the writes of a split batch (c is nil)
}

// completion is closed when every write it covers is done.
type completion struct{ done chan struct{} }

func newCompletion() *completion { return &completion{done: make(chan struct{})} }

// CompletedOperation returns an Operation that is already done with err.
// The fluent layer returns one for synchronous calls.
func CompletedOperation(err error) *Operation {
	c := newCompletion()
	close(c.done)
	return &Operation{c: c, err: err}
}

// Wait blocks until the write is done and returns its error.
func (o *Operation) Wait() error {
	if o.parts != nil {
		var list []error
		for _, p := range o.parts {
			if err := p.Wait(); err != nil {
				list = append(list, err)
			}
		}
		return errors.Join(list...)
	}
	<-o.c.done
	return o.err
}

// Done is closed when the write is done.
func (o *Operation) Done() <-chan struct{} {
	if o.parts == nil {
		return o.c.done
	}
	done := make(chan struct{})
	go func() {
		for _, p := range o.parts {
			<-p.Done()
		}
		close(done)
	}()
	return done
}

// Err returns nil while the write is pending and its error once it is
// done, without waiting (as context.Context's Err): a call refused before
// queueing (an invalid key, a full queue at ctx's end) is done at once, so
// `if err := op.Err(); err != nil` right after the call sees the refusal.
func (o *Operation) Err() error {
	if !o.done() {
		return nil
	}
	return o.Wait()
}

// done reports whether the write is done, without waiting.
func (o *Operation) done() bool {
	select {
	case <-o.Done():
		return true
	default:
		return false
	}
}

// joinOperations is one Operation for the writes of a split batch: done
// when all are, with their errors joined.
func joinOperations(ops []*Operation) *Operation {
	if len(ops) == 1 {
		return ops[0]
	}
	return &Operation{parts: ops}
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

// asyncWriter is the background writer of one Client. Callers append to a
// queue under a mutex and nudge the worker; the worker takes the whole
// queue at once (group commit), so under load one wake-up writes many
// calls and a call costs a lock and an append, not a channel hand-off.
type asyncWriter struct {
	st     store.Store
	window time.Duration
	size   int
	log    *slog.Logger

	mu      sync.Mutex
	queue   []item
	spare   []item            // the last taken queue, emptied, for reuse
	mbuf    []entities.Metric // the worker's merge buffer, reused
	points  int               // sum of the queued calls' sizes
	gen     *completion       // completion of the calls in queue
	wake    chan struct{}
	space   chan struct{} // closed when the worker takes the queue; nil if nobody waits
	started bool
	// setupErr refuses every asynchronous write: a bad
	// MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE, which Python refuses when its
	// queue starts.
	setupErr error

	// The worker's own state for concurrent batches (see inFlight).
	inFlight int           // most LogBatch calls at once; 0 until the worker resolves it
	want     int           // Options.AsyncInFlight or the environment's
	slots    chan struct{} // one token per call in flight
	pending  sync.WaitGroup
	tails    map[string]chan struct{} // per run: closed when its last params/tags chunk is written
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
	w.want = opts.AsyncInFlight
	if w.want <= 0 {
		// Python: MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE.get() or 10, the
		// max_workers of its logging thread pool.
		n, err := mlenv.Int(EnvAsyncLoggingThreadPoolSize, 0)
		switch {
		case err != nil:
			w.setupErr = err
		case n < 0:
			w.setupErr = errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
				"%s must be greater than 0 (it is the max_workers of the logging thread pool), got %d", EnvAsyncLoggingThreadPoolSize, n))
		case n == 0:
			w.want = 10
		default:
			w.want = n
		}
	}
	return w
}

// EnvAsyncLoggingThreadPoolSize bounds the LogBatch calls in flight at
// once when Options.AsyncInFlight is zero, as it bounds Python's logging
// thread pool.
const EnvAsyncLoggingThreadPoolSize = "MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE"

// resolveInFlight decides, once, in the worker, how many LogBatch calls it
// may have in flight: more than one only on a store that says metric-only
// batches commute (store.ConcurrentBatches), which it may learn from the
// server, so it is asked when the first write is due, not in NewClient.
func (w *asyncWriter) resolveInFlight() {
	if w.inFlight != 0 {
		return
	}
	w.inFlight = 1
	if cb, ok := w.st.(store.ConcurrentBatches); ok && w.want > 1 && cb.ConcurrentBatches() {
		w.inFlight = w.want
		w.slots = make(chan struct{}, w.want)
		w.tails = map[string]chan struct{}{}
	}
}

// send queues it, starting the worker if needed; it blocks while the queue
// holds size calls, until ctx ends. It returns the completion it joined.
func (w *asyncWriter) send(ctx context.Context, it item) (*completion, error) {
	if w.setupErr != nil && it.marker == nil {
		return nil, w.setupErr
	}
	w.mu.Lock()
	for len(w.queue) >= w.size {
		if w.space == nil {
			w.space = make(chan struct{})
		}
		space := w.space
		w.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return nil, fmt.Errorf("tracking: queue asynchronous write: %w", ctx.Err())
		}
		w.mu.Lock()
	}
	if !w.started {
		w.started = true
		w.wake = make(chan struct{}, 1)
		go w.loop(w.wake)
	}
	if w.gen == nil {
		w.gen = newCompletion()
	}
	c := w.gen
	w.queue = append(w.queue, it)
	w.points += it.size()
	// Nudge the worker only when it has something new to decide: the
	// first call, a batch's worth of points, a marker, a full queue. A
	// wake-up per call would cost a futex wake per point.
	nudge := len(w.queue) == 1 || it.marker != nil || len(w.queue) >= w.size ||
		w.points >= validate.MaxMetricsPerBatch && w.points-it.size() < validate.MaxMetricsPerBatch
	wake := w.wake
	w.mu.Unlock()
	if nudge {
		select {
		case wake <- struct{}{}:
		default: // already nudged
		}
	}
	return c, nil
}

func (w *asyncWriter) enqueue(ctx context.Context, runID string, metrics []entities.Metric, params []entities.Param, tags []entities.RunTag) *Operation {
	op := &Operation{}
	c, err := w.send(ctx, item{runID: runID, metrics: metrics, params: params, tags: tags, op: op})
	if err != nil {
		return CompletedOperation(err)
	}
	op.c = c
	return op
}

// flush waits for everything queued so far, then reports the unreported
// failures of runID ("" for all runs).
func (w *asyncWriter) flush(ctx context.Context, runID string) error {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if started {
		m := item{marker: make(chan struct{})}
		if _, err := w.send(ctx, m); err != nil {
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
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if started {
		m := item{marker: make(chan struct{}), stop: true}
		if _, serr := w.send(context.Background(), m); serr == nil { // drained by the worker: cannot block for ever
			<-m.marker
		}
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

// take removes and returns the queue and its completion, and frees the
// callers waiting for room.
func (w *asyncWriter) take() ([]item, *completion, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q, c, n := w.queue, w.gen, w.points
	w.queue, w.gen, w.points = w.spare, nil, 0
	w.spare = nil
	if w.space != nil {
		close(w.space)
		w.space = nil
	}
	return q, c, n
}

// loop is the worker. On a nudge it waits up to the window for a batch's
// worth of points (unless a flush or stop is queued), then takes the whole
// queue and writes it in call order, merged per run; markers are closed
// once everything queued before them is written.
func (w *asyncWriter) loop(wake chan struct{}) {
	w.resolveInFlight()
	for range wake {
		w.gather(wake)
		q, c, _ := w.take()
		if len(q) == 0 {
			continue
		}
		var taken sync.WaitGroup // the concurrent chunks of q
		start, stop := 0, false
		for i := range q {
			if q[i].marker == nil {
				continue
			}
			w.write(q[start:i], &taken)
			start = i + 1
			w.pending.Wait() // everything before the marker is written
			close(q[i].marker)
			stop = stop || q[i].stop
		}
		w.write(q[start:], &taken)
		if w.inFlight > 1 {
			// Chunks still in flight point into q: it is not reused, and
			// the completion closes when they are all written.
			go func() {
				taken.Wait()
				if c != nil {
					close(c.done)
				}
			}()
		} else {
			if c != nil {
				close(c.done)
			}
			clear(q) // drop the references to callers' slices
			w.mu.Lock()
			if w.spare == nil && cap(q) <= 4*w.size {
				w.spare = q[:0]
			}
			w.mu.Unlock()
		}
		if stop {
			w.mu.Lock()
			w.started = false
			if len(w.queue) > 0 {
				// queued while this worker was stopping: a new one writes them
				w.started = true
				w.wake = make(chan struct{}, 1)
				w.wake <- struct{}{}
				go w.loop(w.wake)
			}
			w.mu.Unlock()
			return
		}
	}
}

// gather waits, up to the window, until the queue holds a batch's worth
// of points or a marker.
func (w *asyncWriter) gather(wake chan struct{}) {
	var timer *time.Timer
	for {
		w.mu.Lock()
		n, marker := w.points, len(w.queue) > 0 && w.queue[len(w.queue)-1].marker != nil
		full := len(w.queue) >= w.size
		w.mu.Unlock()
		if n >= validate.MaxMetricsPerBatch || marker || full || n == 0 {
			break
		}
		if timer == nil {
			timer = time.NewTimer(w.window)
		}
		select {
		case <-wake:
			continue
		case <-timer.C:
			return
		}
	}
	if timer != nil {
		timer.Stop()
	}
}

// write writes queued calls, merged per run into batches within MLflow's
// limits: one after the other, or, on a store that allows it, up to
// inFlight at once (see dispatch); taken counts those still in flight.
func (w *asyncWriter) write(batch []item, taken *sync.WaitGroup) {
	if len(batch) == 0 {
		return
	}
	var order []string
	byRun := map[string][]*item{}
	for i := range batch {
		it := &batch[i]
		if _, ok := byRun[it.runID]; !ok {
			order = append(order, it.runID)
		}
		byRun[it.runID] = append(byRun[it.runID], it)
	}
	for _, runID := range order {
		for _, chunk := range chunks(byRun[runID]) {
			if w.inFlight > 1 {
				w.dispatch(runID, chunk, taken)
			} else {
				w.writeChunk(runID, chunk, true)
			}
		}
	}
}

// dispatch writes a chunk in its own goroutine once a slot is free, the
// way Python's async logging queue submits batches to its thread pool: a
// metric-only chunk goes at once (the store said such batches commute);
// a chunk with params or tags waits for the run's previous such chunk,
// since tags are last write wins and a param's second value is refused,
// so their order is the call order. Taking the slot here, in the worker,
// is the back-pressure: a full set of slots stops the worker, the queue
// fills, and callers block.
func (w *asyncWriter) dispatch(runID string, chunk []*item, taken *sync.WaitGroup) {
	w.slots <- struct{}{}
	w.pending.Add(1)
	taken.Add(1)
	var prev, mine chan struct{}
	if hasParamsOrTags(chunk) {
		w.pruneTails()
		prev, mine = w.tails[runID], make(chan struct{})
		w.tails[runID] = mine
	}
	go func() {
		defer func() {
			if mine != nil {
				close(mine)
			}
			<-w.slots
			taken.Done()
			w.pending.Done()
		}()
		if prev != nil {
			<-prev // written, or failed, before this one is sent
		}
		w.writeChunk(runID, chunk, false)
	}()
}

// pruneTails forgets the runs whose last params/tags chunk is written.
func (w *asyncWriter) pruneTails() {
	if len(w.tails) < 64 {
		return
	}
	for r, ch := range w.tails {
		select {
		case <-ch:
			delete(w.tails, r)
		default:
		}
	}
}

func hasParamsOrTags(chunk []*item) bool {
	for _, it := range chunk {
		if len(it.params) > 0 || len(it.tags) > 0 {
			return true
		}
	}
	return false
}

// chunks splits one run's calls into groups that fit one log_batch: within
// the count limits and with no param key given two values.
func chunks(items []*item) [][]*item {
	var out [][]*item
	var cur []*item
	var nm, np, nt int
	var params map[string]string // made when a call has params
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
		if len(it.params) > 0 && params == nil {
			params = map[string]string{}
		}
		for _, p := range it.params {
			params[p.Key] = p.Value
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// writeChunk writes one chunk as one LogBatch; reuse lets the worker's
// merge buffer carry it (only on the worker's own goroutine).
func (w *asyncWriter) writeChunk(runID string, chunk []*item, reuse bool) {
	ms, ps, ts := chunk[0].metrics, chunk[0].params, chunk[0].tags
	if len(chunk) > 1 { // merge; a lone call is written from its own slices
		var nm, np, nt int
		for _, it := range chunk {
			nm, np, nt = nm+len(it.metrics), np+len(it.params), nt+len(it.tags)
		}
		if reuse {
			ms = w.metricBuf(nm)
		} else {
			ms = make([]entities.Metric, 0, nm)
		}
		ps = make([]entities.Param, 0, np)
		ts = make([]entities.RunTag, 0, nt)
		for _, it := range chunk {
			ms = append(ms, it.metrics...)
			ps = append(ps, it.params...)
			ts = append(ts, it.tags...)
		}
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
	if len(chunk) > 1 && reuse {
		clear(ms) // the store keeps nothing of a batch; reuse the buffer
		w.mbuf = ms[:0]
	}
}

// metricBuf returns an empty slice of capacity n for merging metrics,
// reusing the last one (only the worker goroutine calls it).
func (w *asyncWriter) metricBuf(n int) []entities.Metric {
	if cap(w.mbuf) >= n {
		b := w.mbuf
		w.mbuf = nil
		return b[:0]
	}
	return make([]entities.Metric, 0, n)
}

// refusedBeforeWriting reports errors the file store raises before its
// first write of a batch: lookups and validation.
func refusedBeforeWriting(err error) bool {
	return errors.Is(err, errs.ErrInvalidParameter) || errors.Is(err, errs.ErrNotFound) ||
		errors.Is(err, errs.ErrInvalidState)
}

func (w *asyncWriter) done(runID string, it *item, err error) {
	if err != nil {
		// The store's error as it is (its message is MLflow's and names
		// the run where MLflow's does); the log line adds the run id.
		w.log.Warn("asynchronous write failed", "run_id", runID, "err", err)
		w.failed.Lock()
		w.failed.byRun[runID] = append(w.failed.byRun[runID], err)
		w.failed.Unlock()
	}
	it.op.err = err // read by Wait after the completion closes
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
