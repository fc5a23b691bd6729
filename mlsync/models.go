package mlsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
)

// TagSourceModelID is the local model id, set on every pushed logged model
// when it is created: what a push looks a model up by after a crash.
const TagSourceModelID = "mlruns.sync.sourceModelId"

// modelEntry is one pushed logged model.
type modelEntry struct {
	Remote     string               `json:"remote"`
	Experiment string               `json:"experiment"`       // local experiment id
	Params     map[string]string    `json:"params,omitempty"` // key -> digest
	Tags       map[string]string    `json:"tags,omitempty"`   // key -> digest
	Status     string               `json:"status,omitempty"` // as last finalized
	Frozen     map[string]string    `json:"frozen,omitempty"` // param key -> digest of a new value the destination refuses
	Artifacts  map[string]*artEntry `json:"artifacts,omitempty"`
	Lossy      map[LossKind]int64   `json:"lossy,omitempty"`
}

// ModelReport is one logged model's part of a push.
type ModelReport struct {
	ModelID       string             `json:"model_id"`
	ExperimentID  string             `json:"experiment_id"`
	RemoteModelID string             `json:"remote_model_id,omitempty"`
	State         RunState           `json:"state"`
	Params        int                `json:"params,omitempty"`
	Tags          int                `json:"tags,omitempty"`
	Finalized     bool               `json:"finalized,omitempty"` // FinalizeLoggedModel sent
	Artifacts     ArtifactsReport    `json:"artifacts,omitzero"`
	Lossy         map[LossKind]int64 `json:"lossy,omitempty"`
	Error         string             `json:"error,omitempty"`
}

// modelPoint is a metric point as a model's metric names it: the run's
// point that LogBatch wrote to the model too.
type modelPoint struct {
	key             string
	ts, step        int64
	bits            uint64
	dsName, dsDigst string
}

func modelPointOf(key string, m entities.Metric) modelPoint {
	return modelPoint{key, m.Timestamp, m.Step, math.Float64bits(m.Value), m.DatasetName, m.DatasetDigest}
}

// listModelsIn reads the active logged models of exps in s (push: the
// tree; pull: the server), those keep accepts (nil: all); with runs
// selected by id (selected non-nil), only those the selected runs made,
// use, or logged metrics to.
func listModelsIn(ctx context.Context, s store.Store, exps []entities.Experiment, keep func(*entities.LoggedModel) bool,
	selected map[string]*entities.Run) (map[string]*entities.LoggedModel, error) {
	models := map[string]*entities.LoggedModel{}
	for _, x := range exps {
		for tok := ""; ; {
			ms, next, err := s.SearchLoggedModels(ctx, []string{x.ExperimentID}, "", nil, 100, nil, tok)
			if err != nil {
				return nil, fmt.Errorf("listing the logged models of experiment %s: %w", x.ExperimentID, err)
			}
			for i := range ms {
				if keep == nil || keep(&ms[i]) {
					models[ms[i].ModelID] = &ms[i]
				}
			}
			if tok = next; tok == "" {
				break
			}
		}
	}
	if selected == nil {
		return models, nil
	}
	used := map[string]bool{}
	for _, r := range selected {
		for _, m := range r.Inputs.ModelInputs {
			used[m.ModelID] = true
		}
		for _, m := range r.Outputs.ModelOutputs {
			used[m.ModelID] = true
		}
	}
	for id, m := range models {
		keep := used[id] || (m.SourceRunID != nil && selected[*m.SourceRunID] != nil)
		for _, mm := range m.Metrics {
			keep = keep || selected[mm.RunID] != nil
		}
		if !keep {
			delete(models, id)
		}
	}
	return models, nil
}

// listModels reads the logged models the push takes (listModelsIn) and
// which points of the selected runs are their metrics.
func (p *pusher) listModels() error {
	var selected map[string]*entities.Run
	if len(p.o.Select.RunIDs) > 0 {
		selected = p.local
	}
	models, err := listModelsIn(p.ctx, p.src, p.exps, nil, selected)
	if err != nil {
		return err
	}
	p.models = models
	p.modelPoints = map[string]map[modelPoint]string{}
	for id, m := range p.models {
		for _, mm := range m.Metrics {
			if p.local[mm.RunID] == nil {
				continue
			}
			pts := p.modelPoints[mm.RunID]
			if pts == nil {
				pts = map[modelPoint]string{}
				p.modelPoints[mm.RunID] = pts
			}
			pts[modelPointOf(mm.Key, mm)] = id
		}
	}
	return nil
}

// modelDeps is the source runs of the models run r uses or logs metrics
// to: they are pushed before r, so the models can name them.
func (p *pusher) modelDeps(r *entities.Run) []string {
	var ids []string
	add := func(modelID string) {
		if m := p.models[modelID]; m != nil && m.SourceRunID != nil {
			ids = append(ids, *m.SourceRunID)
		}
	}
	for _, m := range r.Inputs.ModelInputs {
		add(m.ModelID)
	}
	for _, m := range r.Outputs.ModelOutputs {
		add(m.ModelID)
	}
	for _, id := range p.modelPoints[r.Info.RunID] {
		add(id)
	}
	return ids
}

// ensureModel pushes a logged model once per push (found or created,
// then its params, tags, artifacts and status) and returns its remote id.
func (p *pusher) ensureModel(id string) (string, error) {
	m := p.models[id]
	if m == nil {
		return "", errs.New(errs.ErrNotFound, fmt.Sprintf("logged model %s is not among the pushed experiments' models", id))
	}
	// Another run's worker pushing it now lets go of p.mu while it waits
	// on the destination: wait for it rather than name a model not made yet.
	for p.modelBusy[id] {
		p.cond.Wait()
	}
	if err := p.modelFailed[id]; err != nil {
		return "", err
	}
	if !p.modelDone[id] {
		p.modelDone[id], p.modelBusy[id] = true, true
		mr := p.pushModel(m)
		delete(p.modelBusy, id)
		p.cond.Broadcast()
		if mr.State == RunFailed {
			p.modelFailed[id] = errors.New(mr.Error)
			p.rep.Failures = append(p.rep.Failures, Failure{What: "logged model " + id, Error: mr.Error})
		}
		p.rep.Models = append(p.rep.Models, mr)
		p.save(false)
		if err := p.modelFailed[id]; err != nil {
			return "", err
		}
	}
	if jm := p.j.Models[id]; jm != nil && jm.Remote != "" {
		return jm.Remote, nil
	}
	return "(remote id of " + id + ")", nil // a dry run
}

// adopted is the journal entry of a model found on the destination by its
// tag: what it holds is what was sent.
func adopted(found entities.LoggedModel, exp string) *modelEntry {
	jm := &modelEntry{Remote: found.ModelID, Experiment: exp, Params: map[string]string{}, Tags: map[string]string{}}
	for k, v := range found.Params {
		jm.Params[k] = digest(v)
	}
	for k, v := range found.Tags {
		if !strings.HasPrefix(k, tagPrefix) {
			jm.Tags[k] = digest(v)
		}
	}
	if found.Status.Finalized() {
		jm.Status = found.Status.String()
	}
	return jm
}

// frozenSeen reports whether the refused new value v of param k was
// counted already, and records it.
func (jm *modelEntry) frozenSeen(k, v string) bool {
	if jm.Frozen == nil {
		jm.Frozen = map[string]string{}
	}
	if jm.Frozen[k] == digest(v) {
		return true
	}
	jm.Frozen[k] = digest(v)
	return false
}

// remoteModelTags is a model's tags as the destination gets them.
func remoteModelTags(m *entities.LoggedModel) map[string]string {
	out := map[string]string{}
	for k, v := range m.Tags {
		if !strings.HasPrefix(k, tagPrefix) {
			out[k] = v
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (p *pusher) pushModel(m *entities.LoggedModel) ModelReport {
	mr := ModelReport{ModelID: m.ModelID, ExperimentID: m.ExperimentID}
	fail := func(err error) ModelReport {
		mr.State, mr.Error = RunFailed, errText(err)
		return mr
	}
	if err := p.expFailed[m.ExperimentID]; err != nil {
		return fail(fmt.Errorf("its experiment was not pushed: %w", err))
	}
	je := p.j.Experiments[m.ExperimentID]
	jm := p.j.Models[m.ModelID]
	if jm != nil {
		mr.RemoteModelID = jm.Remote
	}
	lose := func(k LossKind, n int64) {
		if mr.Lossy == nil {
			mr.Lossy = map[LossKind]int64{}
		}
		mr.Lossy[k] += n
		p.rep.addLoss(k, n)
		if !p.dry && jm != nil {
			if jm.Lossy == nil {
				jm.Lossy = map[LossKind]int64{}
			}
			jm.Lossy[k] += n
		}
	}
	if je != nil && je.Deleted {
		if jm != nil {
			mr.State = p.unchanged()
			return mr
		}
		return fail(errs.New(errs.ErrInvalidState, "its experiment is deleted on the destination: restore it there to push this model"))
	}
	// The source run as the destination knows it.
	source := deref(m.SourceRunID)
	sourceLost := false
	if source != "" {
		if jr := p.j.Runs[source]; jr != nil && jr.Remote != "" {
			source = jr.Remote
		} else if p.dry && p.local[source] != nil {
			source = "(remote id of " + source + ")"
		} else if p.local[source] != nil && jm == nil && !p.dry {
			// Created later, with its source run's remote id: the run failed.
			return fail(fmt.Errorf("its source run %s is not on the destination (it failed to push)", source))
		} else {
			sourceLost = true
		}
	}
	tags := remoteModelTags(m)
	fresh := false
	switch {
	case jm != nil:
		mr.State = p.unchanged()
	case p.dry:
		mr.State = RunNew
		jm = &modelEntry{}
		fresh = true
	default:
		found, ok, err := p.findModel(je.Remote, m.ModelID)
		if err != nil {
			return fail(err)
		}
		if ok {
			mr.State = RunAdopted
			jm = adopted(found, m.ExperimentID)
		} else {
			all := maps.Clone(tags)
			all[TagSourceModelID] = m.ModelID
			all[TagSource] = p.j.Source
			o := store.CreateLoggedModelOptions{Name: m.Name, SourceRunID: source, ModelType: deref(m.ModelType), Tags: all, Params: m.Params}
			created, cerr := p.dst.CreateLoggedModel(p.ctx, je.Remote, o)
			p.rep.Requests++
			if cerr != nil {
				// The response may have been lost after the server committed it.
				if found, ok, err = p.findModel(je.Remote, m.ModelID); err != nil || !ok {
					return fail(cerr)
				}
				mr.State = RunAdopted
				jm = adopted(found, m.ExperimentID)
			} else {
				mr.State = RunCreated
				jm = &modelEntry{Remote: created.ModelID, Experiment: m.ExperimentID, Params: map[string]string{}, Tags: map[string]string{}}
				for k, v := range m.Params {
					jm.Params[k] = digest(v)
				}
				for k, v := range tags {
					jm.Tags[k] = digest(v)
				}
				mr.Params, mr.Tags = len(m.Params), len(tags)
			}
		}
		fresh = true
		mr.RemoteModelID = jm.Remote
		p.j.Models[m.ModelID] = jm
		if err := p.save(false); err != nil {
			return fail(err)
		}
	}
	if fresh {
		if sourceLost {
			lose(LossModelSourceMissing, 1)
		}
		for _, mm := range m.Metrics {
			if p.local[mm.RunID] == nil {
				lose(LossModelMetricDropped, 1) // no pushed run to log it with
			}
		}
	}
	if jm.Params == nil {
		jm.Params = map[string]string{}
	}
	if jm.Tags == nil {
		jm.Tags = map[string]string{}
	}
	changed := func() {
		if mr.State == RunUnchanged {
			mr.State = RunUpdated
		} else if mr.State == RunSynced {
			mr.State = RunPending
		}
	}
	params := map[string]string{}
	var frozen int64
	for k, v := range m.Params {
		switch d, ok := jm.Params[k]; {
		case ok && d == digest(v):
		case ok && p.caps.dedups && !jm.frozenSeen(k, v):
			// A SQL server refuses a new value of a model's param (its
			// primary key is the model and the key); the file store
			// replaces it.
			frozen++
		case !ok || !p.caps.dedups:
			params[k] = v
		}
	}
	if frozen > 0 {
		lose(LossModelParamChanged, frozen)
	}
	if len(params) > 0 {
		changed()
		mr.Params += len(params)
		if !p.dry {
			if err := p.dst.LogLoggedModelParams(p.ctx, jm.Remote, params); err != nil {
				return fail(err)
			}
			p.rep.Requests++
			for k, v := range params {
				jm.Params[k] = digest(v)
			}
		}
	}
	set := map[string]string{}
	for k, v := range tags {
		if jm.Tags[k] != digest(v) {
			set[k] = v
		}
	}
	if len(set) > 0 {
		changed()
		mr.Tags += len(set)
		if !p.dry {
			if err := p.dst.SetLoggedModelTags(p.ctx, jm.Remote, set); err != nil {
				return fail(err)
			}
			p.rep.Requests++
			for k, v := range set {
				jm.Tags[k] = digest(v)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(jm.Tags)) {
		if _, ok := tags[k]; ok {
			continue
		}
		changed()
		if p.dry {
			continue
		}
		if err := p.dst.DeleteLoggedModelTag(p.ctx, jm.Remote, k); err != nil && !errors.Is(err, errs.ErrNotFound) {
			return fail(err)
		}
		p.rep.Requests++
		delete(jm.Tags, k)
	}
	if !p.o.NoArtifacts && !p.expDeleted(m.ExperimentID) {
		src, err := p.src.ModelArtifacts(p.ctx, m.ModelID)
		if err != nil {
			return fail(fmt.Errorf("the model's artifacts: %w", err))
		}
		if jm.Artifacts == nil {
			jm.Artifacts = map[string]*artEntry{}
		}
		open := func() (store.Artifacts, error) { return p.dst.ModelArtifacts(p.ctx, jm.Remote) }
		if err := p.pushArtifacts(src, open, jm.Artifacts, &mr.Artifacts, changed, lose); err != nil {
			return fail(err)
		}
	}
	// Finalized after its artifacts, as Python's log_model does.
	if m.Status.Finalized() && jm.Status != m.Status.String() {
		changed()
		mr.Finalized = true
		if !p.dry {
			if _, err := p.dst.FinalizeLoggedModel(p.ctx, jm.Remote, m.Status); err != nil {
				return fail(err)
			}
			p.rep.Requests++
			jm.Status = m.Status.String()
		}
	}
	return mr
}

// findModel is the remote logged model whose TagSourceModelID is localID;
// of several, the smallest id.
func (p *pusher) findModel(remoteExp, localID string) (entities.LoggedModel, bool, error) {
	if localID == "" || strings.ContainsAny(localID, "'\\`") {
		return entities.LoggedModel{}, false, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("logged model id %q cannot be searched for", localID))
	}
	filter := fmt.Sprintf("tags.`%s` = '%s'", TagSourceModelID, localID)
	var best entities.LoggedModel
	ok := false
	for tok := ""; ; {
		ms, next, err := p.dst.SearchLoggedModels(p.ctx, []string{remoteExp}, filter, nil, 100, nil, tok)
		if err != nil {
			return entities.LoggedModel{}, false, err
		}
		for _, m := range ms {
			if m.Tags[TagSourceModelID] == localID && (!ok || m.ModelID < best.ModelID) {
				best, ok = m, true
			}
		}
		if tok = next; tok == "" {
			break
		}
	}
	if !ok {
		// A pulled model has the server's id and no source tag.
		m, err := p.dst.GetLoggedModel(p.ctx, localID)
		switch {
		case err == nil && m.ExperimentID == remoteExp:
			return m, true, nil
		case err != nil && !errors.Is(err, errs.ErrNotFound) && !errors.Is(err, errs.ErrInvalidParameter):
			return entities.LoggedModel{}, false, err
		}
	}
	return best, ok, nil
}

// pushModelLinks sends the run's model inputs and outputs with the remote
// model ids, when they changed since the last push: LogInputs keeps one
// row per model and run, LogOutputs refuses a repeat, so only the outputs
// the destination's run lacks are sent. A link to a model that could not
// be pushed is counted as lost.
func (p *pusher) pushModelLinks(r *entities.Run, jr *runEntry, rr *RunReport) error {
	var ins []entities.ModelInput
	var outs []entities.ModelOutput
	var desc []string
	var lost int64
	for _, m := range r.Inputs.ModelInputs {
		remote, err := p.ensureModel(m.ModelID)
		if err != nil {
			lost++
			desc = append(desc, "lost-in:"+m.ModelID)
			continue
		}
		ins = append(ins, entities.ModelInput{ModelID: remote})
		desc = append(desc, "in:"+m.ModelID)
	}
	for _, m := range r.Outputs.ModelOutputs {
		remote, err := p.ensureModel(m.ModelID)
		if err != nil {
			lost++
			desc = append(desc, fmt.Sprintf("lost-out:%s:%d", m.ModelID, m.Step))
			continue
		}
		outs = append(outs, entities.ModelOutput{ModelID: remote, Step: m.Step})
		desc = append(desc, fmt.Sprintf("out:%s:%d", m.ModelID, m.Step))
	}
	if len(desc) == 0 {
		return nil
	}
	d := digest(strings.Join(desc, "\n"))
	if jr.Models == d {
		return nil
	}
	if len(ins)+len(outs) > 0 {
		p.changed(rr)
		rr.ModelLinks += len(ins) + len(outs)
	}
	if !p.dry {
		if len(ins) > 0 {
			if err := p.dst.LogInputs(p.ctx, jr.Remote, nil, ins); err != nil {
				return err
			}
			p.rep.Requests++
		}
		if len(outs) > 0 {
			have, err := p.dst.GetRun(p.ctx, jr.Remote)
			if err != nil {
				return err
			}
			var missing []entities.ModelOutput
			for _, o := range outs {
				if !slices.Contains(have.Outputs.ModelOutputs, o) {
					missing = append(missing, o)
				}
			}
			if len(missing) > 0 {
				if err := p.dst.LogOutputs(p.ctx, jr.Remote, missing); err != nil {
					return err
				}
				p.rep.Requests++
			}
		}
	}
	if lost > 0 {
		p.lose(rr, jr, LossModelLink, lost)
	}
	if !p.dry {
		jr.Models = d
	}
	return nil
}
