package mlsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// Difference is one way the destination differs from the tree, beyond
// the losses a push reports (which Verify expects: ±Inf as ±MaxFloat64,
// duplicates once, truncated values).
type Difference struct {
	RunID string `json:"run_id"` // local run id
	What  string `json:"what"`   // "info", "param <key>", "tag <key>", "metric <key>", "artifact <path>", "run"
	// Local and Remote say what each side holds, briefly.
	Local  string `json:"local"`
	Remote string `json:"remote"`
}

// Verify reads the destination back and compares every selected run the
// journal maps with the tree: info, params, tags (mlflow.parentRunId as
// the remote parent), every metric history as a set of points (as the
// destination maps values), dataset inputs and artifact sizes. A run the
// journal does not map is a Difference ("run"): push first. Logged
// models are not compared yet.
func Verify(ctx context.Context, src, dst store.Store, o Options) ([]Difference, error) {
	if o.Root == "" || o.Target == "" || dst == nil {
		return nil, errs.New(errs.ErrInvalidParameter, "sync: verify needs the tree's root and the destination")
	}
	j, err := loadJournal(o.Root, o.Target, "")
	if err != nil {
		return nil, err
	}
	p := &pusher{ctx: ctx, src: src, dst: dst, o: o, dry: true, j: j, rep: &Report{},
		expFailed: map[string]error{}, runFailed: map[string]bool{}, modelDone: map[string]bool{}, modelFailed: map[string]error{}}
	p.caps = capsOf(j.StoreType)
	if err := p.selectRuns(); err != nil {
		return nil, err
	}
	var out []Difference
	for _, r := range p.order {
		ds, err := p.verifyRun(r)
		if err != nil {
			return out, fmt.Errorf("mlruns: sync: verifying run %s: %w", r.Info.RunID, err)
		}
		out = append(out, ds...)
	}
	return out, ctx.Err()
}

func (p *pusher) verifyRun(r *entities.Run) ([]Difference, error) {
	id := r.Info.RunID
	var out []Difference
	diff := func(what, local, remote string) {
		out = append(out, Difference{RunID: id, What: what, Local: local, Remote: remote})
	}
	jr := p.j.Runs[id]
	if jr == nil || jr.Remote == "" {
		diff("run", "in the tree", "not pushed (no journal entry)")
		return out, nil
	}
	rr, err := p.dst.GetRun(p.ctx, jr.Remote)
	if errors.Is(err, errs.ErrNotFound) {
		diff("run", "in the tree", "missing ("+jr.Remote+")")
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	li, ri := r.Info, rr.Info
	info := func(i entities.RunInfo) string {
		end := "-"
		if i.EndTime != nil {
			end = fmt.Sprint(*i.EndTime)
		}
		return fmt.Sprintf("name=%q user=%q status=%s start=%d end=%s stage=%s", i.RunName, i.UserID, i.Status, i.StartTime, end, i.LifecycleStage)
	}
	if info(li) != info(ri) {
		diff("info", info(li), info(ri))
	}
	trunc := func(v string, n int) string {
		if utf8.RuneCountInString(v) <= n {
			return v
		}
		return string([]rune(v)[:n])
	}
	for _, k := range union(r.Data.Params, rr.Data.Params) {
		lv, lok := r.Data.Params[k]
		rv, rok := rr.Data.Params[k]
		if lok {
			lv = trunc(lv, validate.MaxParamValueLength)
		}
		if lok != rok || lv != rv {
			diff("param "+k, show(lv, lok), show(rv, rok))
		}
	}
	tags, _, err := p.remoteTags(r)
	if err != nil {
		return nil, err
	}
	remoteTags := map[string]string{}
	for k, v := range rr.Data.Tags {
		if !strings.HasPrefix(k, tagPrefix) {
			remoteTags[k] = v
		}
	}
	for _, k := range union(tags, remoteTags) {
		lv, lok := tags[k]
		rv, rok := remoteTags[k]
		if lok {
			lv = trunc(lv, validate.MaxTagValueLength)
		}
		if lok != rok || lv != rv {
			diff("tag "+k, show(lv, lok), show(rv, rok))
		}
	}
	for _, k := range union(r.Data.Metrics, rr.Data.Metrics) {
		lp, err := p.pointSet(p.src, id, k, r.Data.Metrics)
		if err != nil {
			return nil, err
		}
		rp, err := p.pointSet(p.dst, jr.Remote, k, rr.Data.Metrics)
		if err != nil {
			return nil, err
		}
		missing, extra := 0, 0
		for pt, n := range lp {
			if rp[pt] < n {
				missing += n - rp[pt]
			}
		}
		for pt, n := range rp {
			if lp[pt] < n {
				extra += n - lp[pt]
			}
		}
		if missing+extra > 0 {
			diff("metric "+k, fmt.Sprintf("%d point(s) the destination lacks", missing), fmt.Sprintf("%d point(s) the tree lacks", extra))
		}
	}
	if len(r.Inputs.DatasetInputs) != len(rr.Inputs.DatasetInputs) {
		diff("dataset inputs", fmt.Sprint(len(r.Inputs.DatasetInputs)), fmt.Sprint(len(rr.Inputs.DatasetInputs)))
	}
	if !p.o.NoArtifacts && !p.expDeleted(r.Info.ExperimentID) {
		ds, err := p.verifyArtifacts(id, jr.Remote)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

// pointSet is a history as the destination tells points apart, counted
// (a SQL server holds each point once).
func (p *pusher) pointSet(s store.Store, runID, key string, latest map[string]entities.Metric) (map[point]int, error) {
	out := map[point]int{}
	if _, ok := latest[key]; !ok {
		return out, nil
	}
	for m, err := range s.MetricHistoryIter(p.ctx, runID, key) {
		if err != nil {
			return nil, err
		}
		pt := p.pointOf(m)
		if p.caps.dedups && out[pt] > 0 {
			continue
		}
		out[pt]++
	}
	return out, nil
}

// verifyArtifacts compares the sizes of the run's artifact files.
func (p *pusher) verifyArtifacts(localID, remoteID string) ([]Difference, error) {
	src, err := p.src.RunArtifacts(p.ctx, localID)
	if err != nil {
		return nil, err
	}
	local, err := p.walkArtifacts(src)
	if err != nil {
		return nil, err
	}
	if len(local) == 0 {
		return nil, nil
	}
	dst, err := p.dst.RunArtifacts(p.ctx, remoteID)
	if errors.Is(err, errs.ErrNotSupported) {
		return []Difference{{RunID: localID, What: "artifacts", Local: fmt.Sprintf("%d file(s)", len(local)), Remote: errText(err)}}, nil
	}
	if err != nil {
		return nil, err
	}
	remote, err := p.walkArtifacts(dst)
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	for _, f := range remote {
		sizes[f.path] = f.size
	}
	var out []Difference
	for _, f := range local {
		if n, ok := sizes[f.path]; !ok || n != f.size {
			out = append(out, Difference{RunID: localID, What: "artifact " + f.path,
				Local: fmt.Sprintf("%d bytes", f.size), Remote: show(fmt.Sprintf("%d bytes", n), ok)})
		}
	}
	return out, nil
}

func show(v string, ok bool) string {
	if !ok {
		return "(none)"
	}
	if len(v) > 60 {
		return fmt.Sprintf("%q... (%d characters)", v[:60], utf8.RuneCountInString(v))
	}
	return fmt.Sprintf("%q", v)
}

// union is the sorted keys of two maps.
func union[V any](a, b map[string]V) []string {
	out := make([]string, 0, len(a)+len(b))
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
