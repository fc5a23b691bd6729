package mlsync

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// keyState is the fingerprint of a history's first n points.
type keyState struct {
	n     int64
	h     hash.Hash
	buf   []byte
	stamp *store.MetricStamp // of the file, taken before it was read whole
}

// stampOf is the stamp of a history's file, or nil when the source has
// none or it cannot be taken (the history is then read).
func stampOf(ctx context.Context, src store.Store, runID, key string) *store.MetricStamp {
	st, ok := src.(store.MetricStamper)
	if !ok {
		return nil
	}
	s, err := st.MetricFileStamp(ctx, runID, key)
	if err != nil {
		return nil
	}
	return &s
}

func newKeyState() *keyState { return &keyState{h: sha256.New()} }

// add hashes one point: timestamp, step, the value's bits and the dataset
// and model fields, each string length-prefixed.
func (k *keyState) add(m entities.Metric) {
	b := k.buf
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Timestamp))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Step))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Value))
	for _, s := range [...]string{m.DatasetName, m.DatasetDigest, m.ModelID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if len(b) >= 8<<10 { // hash in blocks: a Write per point costs more than the hashing
		k.h.Write(b)
		b = b[:0]
	}
	k.buf = b
	k.n++
}

func (k *keyState) fp() string {
	k.h.Write(k.buf)
	k.buf = k.buf[:0]
	return hex.EncodeToString(k.h.Sum(nil)[:16])
}

// point is a metric point as the destination tells points apart: a SQL
// server's primary key (key, timestamp, step, value, is_nan) after its
// value mapping.
type point struct {
	ts, step int64
	bits     uint64
}

var canonicalNaN = math.Float64bits(math.NaN())

func (p *pusher) pointOf(m entities.Metric) point {
	v := m.Value
	switch {
	case math.IsNaN(v):
		return point{m.Timestamp, m.Step, canonicalNaN}
	case p.caps.sqlValues && math.IsInf(v, 1):
		v = math.MaxFloat64
	case p.caps.sqlValues && math.IsInf(v, -1):
		v = -math.MaxFloat64
	case p.caps.sqlValues && v == 0:
		v = 0
	}
	return point{m.Timestamp, m.Step, math.Float64bits(v)}
}

// pushMetric sends the points of one history the destination lacks: after
// the watermark when the sent prefix is unchanged, else by comparison with
// the destination's history.
func (p *pusher) pushMetric(b *batcher, runID, key string, jr *runEntry) error {
	if !jr.Verify {
		ok, err := p.streamAfter(b, runID, key, jr.Metrics[key])
		if err != nil || ok {
			return err
		}
		b.rr.Rewritten = append(b.rr.Rewritten, key)
		p.changed(b.rr)
	}
	return p.reconcile(b, runID, key, jr)
}

// streamAfter sends the points after the watermark; ok is false, with
// nothing sent, when the first wm.N points are not those the watermark was
// taken of.
func (p *pusher) streamAfter(b *batcher, runID, key string, wm *watermark) (ok bool, err error) {
	var need int64
	want := newKeyState().fp()
	if wm != nil {
		need, want = wm.N, wm.FP
	}
	stamp := stampOf(p.ctx, p.src, runID, key)
	if wm != nil && wm.Stamp != nil && stamp != nil && *wm.Stamp == *stamp {
		return true, nil // the file the watermark was taken of: nothing new
	}
	ks := newKeyState()
	ks.stamp = stamp
	// seen is the points of the history already on their way, for the
	// duplicates a SQL server drops; made for the prefix only when a new
	// point follows it (a history without new points is only hashed).
	var seen map[point]struct{}
	checked := false
	check := func() bool {
		if ks.fp() != want {
			return false
		}
		checked = true
		b.open[key] = ks
		return true
	}
	if need == 0 && !check() {
		return false, nil
	}
	for m, err := range p.src.MetricHistoryIter(p.ctx, runID, key) {
		if err != nil {
			return false, err
		}
		if !checked && ks.n == need && !check() {
			return false, nil
		}
		ks.add(m)
		if !checked {
			continue
		}
		if seen == nil && p.caps.dedups {
			if seen, err = p.prefixPoints(runID, key, need); err != nil {
				return false, err
			}
		}
		if err := b.point(key, m, seen); err != nil {
			return false, err
		}
	}
	if !checked && (ks.n != need || !check()) {
		return false, nil
	}
	return true, nil
}

// prefixPoints is the set of the first n points of a local history.
func (p *pusher) prefixPoints(runID, key string, n int64) (map[point]struct{}, error) {
	seen := map[point]struct{}{}
	if n == 0 {
		return seen, nil
	}
	for m, err := range p.src.MetricHistoryIter(p.ctx, runID, key) {
		if err != nil {
			return nil, err
		}
		seen[p.pointOf(m)] = struct{}{}
		if n--; n == 0 {
			break
		}
	}
	return seen, nil
}

// reconcile sends the local points the destination's history lacks, and
// counts the destination's points the local history does not have.
func (p *pusher) reconcile(b *batcher, runID, key string, jr *runEntry) error {
	remote := map[point]int64{}
	if !p.dry {
		for m, err := range p.dst.MetricHistoryIter(p.ctx, jr.Remote, key) {
			if err != nil {
				return err
			}
			remote[p.pointOf(m)]++
		}
	}
	ks := newKeyState()
	ks.stamp = stampOf(p.ctx, p.src, runID, key)
	b.open[key] = ks
	var seen map[point]struct{}
	if p.caps.dedups {
		seen = map[point]struct{}{}
	}
	for m, err := range p.src.MetricHistoryIter(p.ctx, runID, key) {
		if err != nil {
			return err
		}
		ks.add(m)
		pt := p.pointOf(m)
		if remote[pt] > 0 {
			remote[pt]--
			if seen != nil {
				seen[pt] = struct{}{}
			}
			continue
		}
		if err := b.point(key, m, seen); err != nil {
			return err
		}
	}
	var stale int64
	for _, n := range remote {
		stale += n
	}
	b.loss(LossStaleRemotePoint, stale)
	return nil
}

// batcher gathers one run's params, tags and points into LogBatch calls
// within the server's limits, and moves the journal forward when one
// succeeds.
type batcher struct {
	p       *pusher
	jr      *runEntry
	rr      *RunReport
	metrics []entities.Metric
	params  []entities.Param
	tags    []entities.RunTag
	digests map[string]string     // "p"+key / "t"+key -> digest of the value in the batch
	open    map[string]*keyState  // histories read so far: their watermarks move with each flush
	links   map[modelPoint]string // the run's points that are a logged model's metrics -> model id
	lossy   map[LossKind]int64    // of what the next flush sends
}

func (b *batcher) loss(k LossKind, n int64) {
	if n == 0 {
		return
	}
	if b.lossy == nil {
		b.lossy = map[LossKind]int64{}
	}
	b.lossy[k] += n
}

func (b *batcher) param(k, v, d string) error {
	b.params = append(b.params, entities.Param{Key: k, Value: v})
	b.digest("p"+k, d)
	return b.maybeFlush()
}

func (b *batcher) tag(k, v, d string) error {
	b.tags = append(b.tags, entities.RunTag{Key: k, Value: v})
	b.digest("t"+k, d)
	return b.maybeFlush()
}

func (b *batcher) digest(k, d string) {
	if b.digests == nil {
		b.digests = map[string]string{}
	}
	b.digests[k] = d
}

// point adds one point, or counts it as lost: as the destination keeps it
// (±Inf, -0.0), without its dataset (a point that is no logged model's
// metric), or not at all (a duplicate a SQL server would drop; seen holds
// the points of the history already on their way). A point that is a
// logged model's metric goes with the model's remote id and its dataset,
// so the server records it as the model's metric too.
func (b *batcher) point(key string, m entities.Metric, seen map[point]struct{}) error {
	m.Key, m.RunID, m.ModelID = key, "", ""
	if id, ok := b.links[modelPointOf(key, m)]; ok {
		if remote, err := b.p.ensureModel(id); err == nil {
			m.ModelID = remote
		}
	}
	hasDataset := m.DatasetName != "" || m.DatasetDigest != ""
	switch {
	case m.ModelID == "" && hasDataset:
		b.loss(LossMetricLink, 1)
		m.DatasetName, m.DatasetDigest = "", ""
	case hasDataset && m.Step != 0 && b.p.caps.datasetStepZero:
		b.loss(LossDatasetStep, 1)
	}
	if b.p.caps.sqlValues {
		switch {
		case math.IsInf(m.Value, 0):
			b.loss(LossInfinity, 1)
		case m.Value == 0 && math.Signbit(m.Value):
			b.loss(LossNegativeZero, 1)
		}
	}
	if seen != nil {
		pt := b.p.pointOf(m)
		if _, dup := seen[pt]; dup {
			b.loss(LossDuplicatePoint, 1)
			return nil
		}
		seen[pt] = struct{}{}
	}
	b.metrics = append(b.metrics, m)
	return b.maybeFlush()
}

func (b *batcher) maybeFlush() error {
	n := len(b.metrics) + len(b.params) + len(b.tags)
	if len(b.metrics) >= validate.MaxMetricsPerBatch || len(b.params) >= validate.MaxParamsTagsPerBatch ||
		len(b.tags) >= validate.MaxParamsTagsPerBatch || n >= validate.MaxEntitiesPerBatch {
		return b.flush()
	}
	return nil
}

// flush sends what is gathered as one LogBatch and, once the destination
// has it, records it in the journal: param and tag digests, the watermarks
// of the open histories, the losses.
func (b *batcher) flush() error {
	p, jr, rr := b.p, b.jr, b.rr
	if len(b.metrics)+len(b.params)+len(b.tags) > 0 {
		p.changed(rr)
		if !p.dry {
			if len(b.metrics) > 0 && !p.caps.dedups && !jr.Verify {
				// A cut push must not re-send these points blindly.
				jr.Verify = true
				if err := p.save(true); err != nil {
					return err
				}
			}
			if err := p.dst.LogBatch(p.ctx, jr.Remote, b.metrics, b.params, b.tags); err != nil {
				return err
			}
			p.rep.Requests++
		}
	}
	rr.Params += len(b.params)
	rr.Tags += len(b.tags)
	rr.Points += int64(len(b.metrics))
	if len(b.metrics) > 0 {
		p.prog.Points += int64(len(b.metrics))
		p.progress()
	}
	for k, d := range b.digests {
		if k[0] == 'p' {
			jr.Params[k[1:]] = d
		} else {
			jr.Tags[k[1:]] = d
		}
	}
	for key, ks := range b.open {
		wm := &watermark{N: ks.n, FP: ks.fp(), Stamp: ks.stamp}
		if old := jr.Metrics[key]; old == nil || !sameWatermark(old, wm) {
			jr.Metrics[key] = wm
		}
	}
	for k, n := range b.lossy {
		p.lose(rr, jr, k, n)
	}
	b.metrics, b.params, b.tags = b.metrics[:0], b.params[:0], b.tags[:0]
	clear(b.digests)
	clear(b.lossy)
	return nil
}

func sameWatermark(a, b *watermark) bool {
	if a.N != b.N || a.FP != b.FP || (a.Stamp == nil) != (b.Stamp == nil) {
		return false
	}
	return a.Stamp == nil || *a.Stamp == *b.Stamp
}
