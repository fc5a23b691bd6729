package mlsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// Tags every pushed run carries on the destination, set in CreateRun. They
// are never copied from a local run.
const (
	// TagSourceRunID is the local run id: what a push looks a run up by.
	TagSourceRunID = "mlruns.sync.sourceRunId"
	// TagSource names the tree the run came from ("<host>:<absolute root>").
	TagSource = "mlruns.sync.source"
	tagPrefix = "mlruns.sync."
)

// Selection says which local runs to push; empty is every run of every
// experiment, deleted ones included. A run's ancestors (mlflow.parentRunId)
// are always pushed with it.
type Selection struct {
	ExperimentIDs   []string
	ExperimentNames []string
	RunIDs          []string
}

func (s Selection) empty() bool {
	return len(s.ExperimentIDs)+len(s.ExperimentNames)+len(s.RunIDs) == 0
}

// Options configure Push and Status.
type Options struct {
	// Root is the local tree's folder, where the journal lives. Required.
	Root string
	// Target is the destination's tracking URI; each has its own journal.
	// Required.
	Target string
	// Source is the value of TagSource; empty is "<hostname>:<absolute Root>".
	Source string
	// Select chooses the runs; the zero value is all of them.
	Select Selection
	// DryRun computes what a push would send from the tree and the journal
	// alone: nothing is sent, nothing written, the destination is not
	// contacted (a run the journal does not know counts as new).
	DryRun bool
	// NoArtifacts leaves artifacts out: neither runs' nor models' are
	// listed or sent.
	NoArtifacts bool
	// Jobs is how many runs are pushed at once; zero is DefaultJobs, 1 is
	// one after another. A run still waits for its parent and for the
	// source runs of the logged models it uses; experiments are pushed
	// before the runs and deletions mirrored after them either way.
	// Negative is refused.
	Jobs int
	// Progress, when set, is called as the push goes: after each batch of
	// points, each artifact file and each run done, and once at the end
	// with the totals of the report. Calls never overlap; they hold up
	// the push while they run, so they must be quick (draw, or hand off).
	Progress func(Progress) `json:"-"`
}

// caps is what the destination does with what it is sent.
type caps struct {
	dedups    bool // drops exact duplicate points (a SQL-backed server)
	sqlValues bool // stores ±Inf as ±MaxFloat64 and -0.0 as 0.0
	// datasetStepZero: Python's FileStore behind a server, which reads a
	// point logged with a dataset (a 5-field line) back at step 0.
	datasetStepZero bool
}

func capsOf(storeType string) caps {
	if storeType == "FileStore" {
		return caps{}
	}
	return caps{dedups: true, sqlValues: true}
}

// serverInfo is the capability probe of a REST store.
type serverInfo interface {
	ServerInfo(ctx context.Context) (reststore.ServerInfo, error)
}

type pusher struct {
	// mu guards every field below that changes while the runs are pushed
	// (the journal, the report, the progress, the model and failure
	// maps): a worker holds it while it works and lets go only while it
	// waits on the destination or, through cond, for another run (see
	// jobs.go). The sequential phases run with it held too.
	mu   sync.Mutex
	cond *sync.Cond
	prog Progress

	ctx     context.Context
	src     store.Store
	dst     store.Store
	o       Options
	dry     bool
	status  bool
	j       *journal
	caps    caps
	rep     *Report
	saved   []byte // the journal as last written (or read)
	savedAt time.Time

	local     map[string]*entities.Run // selected runs by local id
	order     []*entities.Run          // parents first
	exps      []entities.Experiment
	expFailed map[string]error // local experiment id -> why it was not pushed
	runFailed map[string]bool

	models      map[string]*entities.LoggedModel // selected logged models by local id
	modelPoints map[string]map[modelPoint]string // run id -> its points that are model metrics -> model id
	modelDone   map[string]bool                  // pushed (or tried) in this push
	modelBusy   map[string]bool                  // being pushed by a worker now
	modelFailed map[string]error
}

// Push pushes the selected runs of the tree src (the file store at
// o.Root) into dst. Runs that fail are reported in the Report and the push
// goes on with the others (their children are not pushed); the error is for
// what stops the whole push (the lock, the journal, listing the tree, a
// cancelled ctx), with the Report of what was done until then.
func Push(ctx context.Context, src, dst store.Store, o Options) (*Report, error) {
	return run(ctx, src, dst, o, false)
}

// Status reports, from the tree and the journal alone (the destination is
// not contacted), which selected runs are synced, pending (something new
// to send) or new, and the journal's loss totals of those runs.
func Status(ctx context.Context, src store.Store, o Options) (*Report, error) {
	o.DryRun = true
	return run(ctx, src, nil, o, true)
}

func run(ctx context.Context, src, dst store.Store, o Options, status bool) (*Report, error) {
	if o.Root == "" || o.Target == "" {
		return nil, errs.New(errs.ErrInvalidParameter, "sync: the tree's root and the destination are required")
	}
	if !o.DryRun && dst == nil {
		return nil, errs.New(errs.ErrInvalidParameter, "sync: no destination store")
	}
	if o.Source == "" {
		o.Source = defaultSource(o.Root)
	}
	p := &pusher{ctx: ctx, src: src, dst: dst, o: o, dry: o.DryRun, status: status,
		rep:       &Report{Target: o.Target, DryRun: o.DryRun && !status, Runs: []RunReport{}},
		expFailed: map[string]error{}, runFailed: map[string]bool{},
		modelDone: map[string]bool{}, modelBusy: map[string]bool{}, modelFailed: map[string]error{}}
	if o.Jobs < 0 {
		return nil, &validate.Error{Field: "Jobs", Value: strconv.Itoa(o.Jobs), Rule: "must be at least 1 (0 is the default, " + strconv.Itoa(DefaultJobs) + ")"}
	}
	p.cond = sync.NewCond(&p.mu)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dry {
		unlock, err := lockTarget(ctx, o.Root, o.Target)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	j, err := loadJournal(o.Root, o.Target, o.Source)
	if err != nil {
		return nil, err
	}
	p.j = j
	p.saved, _ = json.Marshal(j)
	if err := p.probe(); err != nil {
		return nil, err
	}
	if err := p.selectRuns(); err != nil {
		return nil, err
	}
	for _, x := range p.exps {
		if err := p.pushExperiment(x); err != nil {
			p.expFailed[x.ExperimentID] = err
			p.rep.Failures = append(p.rep.Failures, Failure{What: "experiment " + x.ExperimentID, Error: errText(err)})
		}
	}
	if !p.dry {
		p.dst = &unlockingStore{Store: p.dst, mu: &p.mu}
	}
	for _, r := range p.order {
		if r.Info.Status == entities.StatusRunning && r.Info.LifecycleStage != entities.StageDeleted {
			p.rep.Live++
		}
	}
	p.prog.Runs = len(p.order)
	p.progress()
	failures := len(p.rep.Failures)
	p.pushRuns()
	// The models no pushed run made, used or logged metrics to.
	for _, id := range slices.Sorted(maps.Keys(p.models)) {
		if p.ctx.Err() == nil {
			p.ensureModel(id)
		}
	}
	p.mirrorDeletions()
	// Models and their failures in one order whatever the jobs did.
	slices.SortStableFunc(p.rep.Models, func(a, b ModelReport) int { return strings.Compare(a.ModelID, b.ModelID) })
	slices.SortStableFunc(p.rep.Failures[failures:], func(a, b Failure) int { return strings.Compare(a.What, b.What) })
	if status {
		// What was lossy is what the journal says reached the destination.
		p.rep.Lossy = nil
		for i := range p.rep.Runs {
			rr := &p.rep.Runs[i]
			rr.Lossy = nil
			if jr := p.j.Runs[rr.RunID]; jr != nil && len(jr.Lossy) > 0 {
				rr.Lossy = maps.Clone(jr.Lossy)
				for k, n := range jr.Lossy {
					p.rep.addLoss(k, n)
				}
			}
		}
		for i := range p.rep.Models {
			mr := &p.rep.Models[i]
			mr.Lossy = nil
			if jm := p.j.Models[mr.ModelID]; jm != nil && len(jm.Lossy) > 0 {
				mr.Lossy = maps.Clone(jm.Lossy)
				for k, n := range jm.Lossy {
					p.rep.addLoss(k, n)
				}
			}
		}
	}
	files, bytes := p.rep.ArtifactFiles()
	p.prog = Progress{Runs: len(p.order), RunsDone: len(p.rep.Runs), Points: p.rep.Points(), ArtifactFiles: files, ArtifactBytes: bytes}
	p.progress()
	if err := p.save(true); err != nil {
		return p.rep, err
	}
	return p.rep, ctx.Err()
}

// defaultSource is "<hostname>:<absolute root>".
func defaultSource(root string) string {
	host, _ := os.Hostname()
	abs, err := filepath.Abs(root)
	if err != nil {
		abs = root
	}
	return host + ":" + filepath.ToSlash(abs)
}

// probe learns what the destination does with duplicate points and
// infinities: a REST store says which store is behind the server; another
// store.Store (a file store, in tests) keeps every value as sent.
func (p *pusher) probe() error {
	if p.dry {
		p.caps = capsOf(p.j.StoreType)
		return nil
	}
	p.j.StoreType = "FileStore"
	if si, ok := p.dst.(serverInfo); ok {
		info, err := si.ServerInfo(p.ctx)
		if err != nil {
			return &probeError{fmt.Errorf("mlruns: sync: asking %s what it is: %w", p.o.Target, err)}
		}
		p.j.StoreType = info.StoreType
		if !info.Known {
			p.j.StoreType = ""
		}
	}
	p.caps = capsOf(p.j.StoreType)
	p.caps.datasetStepZero = p.j.StoreType == "FileStore" && strings.HasPrefix(strings.ToLower(p.o.Target), "http")
	return nil
}

// probeError is a destination that did not say what it is: out of reach,
// or not answering as a server does (Follow tries again).
type probeError struct{ err error }

func (e *probeError) Error() string { return e.err.Error() }
func (e *probeError) Unwrap() error { return e.err }

// save writes the journal when it changed: at once when force, else at
// most once a second (what is not written yet is re-sent safely after a
// crash, see the package doc).
func (p *pusher) save(force bool) error {
	if p.dry {
		return nil
	}
	if !force && time.Since(p.savedAt) < time.Second {
		return nil
	}
	data, err := json.Marshal(p.j)
	if err != nil {
		return err
	}
	if bytes.Equal(data, p.saved) {
		return nil
	}
	if err := p.j.save(p.o.Root); err != nil {
		return err
	}
	p.saved, p.savedAt = data, time.Now()
	return nil
}

// selectRuns lists the selected runs and their ancestors, and their
// experiments, and orders the runs parents first (and after the source
// runs of the logged models they use or log metrics to).
func (p *pusher) selectRuns() error {
	exps, runs, err := selectIn(p.ctx, p.src, p.o.Select, nil, func(s *store.SkippedError) {
		p.rep.Failures = append(p.rep.Failures, Failure{What: s.Path, Error: errText(s.Err)})
	})
	if err != nil {
		return err
	}
	p.local = runs
	p.exps = byID(exps)
	if err := p.listModels(); err != nil {
		return err
	}
	p.order = parentsFirst(runs, p.modelDeps)
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pushExperiment maps a local experiment to the destination's experiment
// of the same name (created when missing) and copies its tags.
func (p *pusher) pushExperiment(x entities.Experiment) error {
	ctx := p.ctx
	je := p.j.Experiments[x.ExperimentID]
	if je == nil {
		if p.dry {
			p.rep.ExperimentsCreated++
			return nil
		}
		remote, err := p.dst.GetExperimentByName(ctx, x.Name)
		switch {
		case err == nil:
			gone := remote.LifecycleStage == entities.StageDeleted
			if gone && x.LifecycleStage != entities.StageDeleted {
				return errs.New(errs.ErrInvalidState, fmt.Sprintf(
					"the destination's experiment %q (id %s) is deleted: restore it there, or rename the local one, and push again", x.Name, remote.ExperimentID))
			}
			je = &expEntry{Remote: remote.ExperimentID, Name: x.Name, Deleted: gone}
			p.rep.ExperimentsMatched++
		case errors.Is(err, errs.ErrNotFound):
			tags := make([]entities.ExperimentTag, 0, len(x.Tags))
			for _, k := range slices.Sorted(maps.Keys(x.Tags)) {
				tags = append(tags, entities.ExperimentTag{Key: k, Value: x.Tags[k]})
			}
			id, err := p.dst.CreateExperiment(ctx, x.Name, "", tags)
			p.rep.Requests++
			if err != nil {
				return err
			}
			je = &expEntry{Remote: id, Name: x.Name, Tags: map[string]string{}}
			for _, t := range tags {
				je.Tags[t.Key] = digest(t.Value)
			}
			p.rep.ExperimentsCreated++
		default:
			return err
		}
		p.j.Experiments[x.ExperimentID] = je
		if err := p.save(true); err != nil {
			return err
		}
	} else {
		p.rep.ExperimentsMatched++
		if x.LifecycleStage == entities.StageDeleted && !je.Deleted && !p.dry {
			// A push killed after its DeleteExperiment left the journal
			// saying active: ask, since nothing can be written there.
			remote, err := p.dst.GetExperiment(ctx, je.Remote)
			if err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}
			je.Deleted = err == nil && remote.LifecycleStage == entities.StageDeleted
		}
	}
	if x.LifecycleStage == entities.StageDeleted && je.Deleted {
		return nil // deleted on both sides: nothing can be written there
	}
	if x.LifecycleStage == entities.StageActive && je.Deleted {
		if !p.dry {
			if err := p.dst.RestoreExperiment(ctx, je.Remote); err != nil {
				return err
			}
			p.rep.Requests++
			// A server restores every run of the experiment: the ones
			// deleted locally are deleted again at the end.
			je.Deleted = false
			for _, jr := range p.j.Runs {
				if jr.Experiment == x.ExperimentID {
					jr.Deleted = false
				}
			}
		}
		p.rep.ExperimentsRestored++
	}
	if je.Name != x.Name && !p.dry {
		if err := p.dst.RenameExperiment(ctx, je.Remote, x.Name); err != nil {
			return err
		}
		p.rep.Requests++
		je.Name = x.Name
	}
	if p.dry {
		return nil
	}
	if je.Tags == nil {
		je.Tags = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(x.Tags)) {
		d := digest(x.Tags[k])
		if je.Tags[k] == d {
			continue
		}
		if err := p.dst.SetExperimentTag(ctx, je.Remote, k, x.Tags[k]); err != nil {
			return err
		}
		p.rep.Requests++
		je.Tags[k] = d
	}
	for _, k := range slices.Sorted(maps.Keys(je.Tags)) {
		if _, ok := x.Tags[k]; ok {
			continue
		}
		if err := p.dst.DeleteExperimentTag(ctx, je.Remote, k); err != nil && !errors.Is(err, errs.ErrNotFound) {
			return err
		}
		p.rep.Requests++
		delete(je.Tags, k)
	}
	return nil
}

// pushRun pushes one run: found or created, then its content.
func (p *pusher) pushRun(r *entities.Run) RunReport {
	rr, gone := p.pushRunOnce(r)
	if gone {
		// The remote run was removed for good (gc on the server): the
		// mapping is dropped and the run pushed anew.
		delete(p.j.Runs, r.Info.RunID)
		rr, _ = p.pushRunOnce(r)
	}
	return rr
}

// pushRunOnce is pushRun; gone reports a journal mapping to a remote run
// that no longer exists.
func (p *pusher) pushRunOnce(r *entities.Run) (_ RunReport, gone bool) {
	info := r.Info
	rr := RunReport{RunID: info.RunID, ExperimentID: info.ExperimentID}
	fail := func(err error) (RunReport, bool) {
		rr.State, rr.Error = RunFailed, errText(err)
		return rr, false
	}
	if err := p.ctx.Err(); err != nil {
		return fail(err)
	}
	if err := p.expFailed[info.ExperimentID]; err != nil {
		return fail(fmt.Errorf("its experiment was not pushed: %w", err))
	}
	tags, parentLost, err := p.remoteTags(r)
	if err != nil {
		return fail(err)
	}
	je := p.j.Experiments[info.ExperimentID]
	jr := p.j.Runs[info.RunID]
	if jr != nil {
		rr.RemoteRunID = jr.Remote
	}
	if je != nil && je.Deleted {
		// Nothing can be written into a deleted experiment; a run there
		// that the journal lacks (a push killed after DeleteExperiment) is
		// looked up, not created.
		if jr == nil && !p.dry {
			found, ok, err := p.findRemote(je.Remote, info.RunID)
			if err != nil {
				return fail(err)
			}
			if ok {
				p.j.Runs[info.RunID] = &runEntry{Remote: found.RunID, Experiment: info.ExperimentID,
					Deleted: found.LifecycleStage == entities.StageDeleted, Verify: true}
				rr.RemoteRunID, rr.State = found.RunID, RunAdopted
				return rr, false
			}
		}
		if jr != nil {
			rr.State = p.unchanged()
			return rr, false
		}
		return fail(errs.New(errs.ErrInvalidState, "its experiment is deleted on the destination: restore it there to push this run"))
	}
	switch {
	case jr != nil:
		rr.State = p.unchanged()
	case p.dry:
		rr.State = RunNew
		jr = &runEntry{Experiment: info.ExperimentID}
	default:
		found, adopted, err := p.findOrCreate(je.Remote, r)
		if err != nil {
			return fail(err)
		}
		jr = &runEntry{Remote: found.RunID, Experiment: info.ExperimentID, Deleted: found.LifecycleStage == entities.StageDeleted}
		rr.RemoteRunID = found.RunID
		if adopted {
			rr.State, jr.Verify = RunAdopted, true
		} else {
			// On a server that keeps duplicate points, a cut push must be
			// checked against the server before it sends again.
			rr.State, jr.Verify = RunCreated, !p.caps.dedups
		}
		p.j.Runs[info.RunID] = jr
		// Not forced: a run the journal on disk lacks is found again by
		// its tag (and compared with the destination) after a crash.
		if err := p.save(false); err != nil {
			return fail(err)
		}
	}
	deleted := info.LifecycleStage == entities.StageDeleted
	if deleted && !jr.Deleted && !p.dry && rr.State != RunCreated {
		// A push killed after its DeleteRun left the journal saying active:
		// ask, since nothing can be written to a deleted run.
		ri, err := p.dst.GetRunInfo(p.ctx, jr.Remote)
		if err != nil && !errors.Is(err, errs.ErrNotFound) {
			return fail(err)
		}
		jr.Deleted = err == nil && ri.LifecycleStage == entities.StageDeleted
	}
	if deleted && jr.Deleted {
		return rr, false // deleted on both sides: nothing can be written there
	}
	if !deleted && jr.Deleted {
		if !p.dry {
			if err := p.dst.RestoreRun(p.ctx, jr.Remote); err != nil {
				return fail(err)
			}
			p.rep.Requests++
			jr.Deleted = false
		}
		rr.Restored = true
		p.changed(&rr)
	}
	// The models this run made, now that the destination knows the run.
	for _, id := range slices.Sorted(maps.Keys(p.models)) {
		if p.models[id].SourceRunID != nil && *p.models[id].SourceRunID == info.RunID {
			p.ensureModel(id)
		}
	}
	if err := p.pushContent(r, tags, parentLost, jr, &rr); err != nil {
		if known := rr.State != RunCreated && rr.State != RunAdopted; known && !p.dry && errors.Is(err, errs.ErrNotFound) {
			if _, gerr := p.dst.GetRunInfo(p.ctx, jr.Remote); errors.Is(gerr, errs.ErrNotFound) {
				return rr, true
			}
		}
		return fail(err)
	}
	if jr.Verify && !p.dry {
		jr.Verify = false // every key was just compared with the destination
	}
	return rr, false
}

func (p *pusher) unchanged() RunState {
	if p.dry {
		return RunSynced
	}
	return RunUnchanged
}

// changed marks a known run as having something sent.
func (p *pusher) changed(rr *RunReport) {
	switch rr.State {
	case RunUnchanged:
		rr.State = RunUpdated
	case RunSynced:
		rr.State = RunPending
	}
}

// remoteTags is the run's tags as the destination gets them: sync tags
// dropped, mlflow.parentRunId rewritten to the remote parent. parentLost is
// a parent that is not in the tree (its id is kept).
func (p *pusher) remoteTags(r *entities.Run) (map[string]string, bool, error) {
	out := make(map[string]string, len(r.Data.Tags))
	for k, v := range r.Data.Tags {
		if strings.HasPrefix(k, tagPrefix) {
			continue
		}
		out[k] = v
	}
	pid, ok := out[entities.TagParentRunID]
	if !ok || pid == "" {
		return out, false, nil
	}
	if p.local[pid] == nil {
		return out, true, nil
	}
	jp := p.j.Runs[pid] // the parent's content may have failed: its id is enough
	switch {
	case jp != nil && jp.Remote != "":
		out[entities.TagParentRunID] = jp.Remote
	case p.dry:
		out[entities.TagParentRunID] = "(remote id of " + pid + ")"
	default:
		return nil, false, fmt.Errorf("its parent run %s is not on the destination (it failed to push)", pid)
	}
	return out, false, nil
}

// findOrCreate finds the run on the destination by its source tag, or
// creates it there with the tag. A CreateRun that fails is looked up
// again: its response may have been lost after the server committed it.
func (p *pusher) findOrCreate(remoteExp string, r *entities.Run) (found entities.RunInfo, adopted bool, err error) {
	found, ok, err := p.findRemote(remoteExp, r.Info.RunID)
	if err != nil || ok {
		return found, ok, err
	}
	o := store.CreateRunOptions{ExperimentID: remoteExp, UserID: r.Info.UserID, StartTime: r.Info.StartTime,
		RunName: r.Info.RunName, Tags: []entities.RunTag{{Key: TagSourceRunID, Value: r.Info.RunID}, {Key: TagSource, Value: p.j.Source}}}
	created, cerr := p.dst.CreateRun(p.ctx, o)
	p.rep.Requests++
	if cerr == nil {
		return created.Info, false, nil
	}
	if found, ok, err = p.findRemote(remoteExp, r.Info.RunID); err == nil && ok {
		return found, true, nil
	}
	return entities.RunInfo{}, false, cerr
}

// findRemote is the remote run whose TagSourceRunID is localID, deleted
// ones included; of several (two trees holding copies of one run pushed at
// once) the smallest id, as every push picks.
func (p *pusher) findRemote(remoteExp, localID string) (entities.RunInfo, bool, error) {
	if err := validate.RunID(localID); err != nil {
		return entities.RunInfo{}, false, err
	}
	filter := fmt.Sprintf("tags.`%s` = '%s'", TagSourceRunID, localID)
	runs, _, err := p.dst.SearchRuns(p.ctx, []string{remoteExp}, filter, entities.ViewAll, 100, nil, "")
	if err != nil {
		return entities.RunInfo{}, false, err
	}
	var best entities.RunInfo
	ok := false
	for _, r := range runs {
		if r.Data.Tags[TagSourceRunID] != localID {
			continue
		}
		if !ok || r.Info.RunID < best.RunID {
			best, ok = r.Info, true
		}
	}
	if !ok {
		// A pulled run has the server's id and no source tag.
		info, err := p.dst.GetRunInfo(p.ctx, localID)
		switch {
		case err == nil && info.ExperimentID == remoteExp:
			return info, true, nil
		case err != nil && !errors.Is(err, errs.ErrNotFound) && !errors.Is(err, errs.ErrInvalidParameter):
			return entities.RunInfo{}, false, err
		}
	}
	return best, ok, nil
}

// pushContent sends what the destination lacks of a run: params, tags,
// metrics, deleted tags, inputs and outputs, artifacts, then its info.
func (p *pusher) pushContent(r *entities.Run, tags map[string]string, parentLost bool, jr *runEntry, rr *RunReport) error {
	b := &batcher{p: p, jr: jr, rr: rr, open: map[string]*keyState{}, links: p.modelPoints[r.Info.RunID]}
	if jr.Params == nil {
		jr.Params = map[string]string{}
	}
	if jr.Tags == nil {
		jr.Tags = map[string]string{}
	}
	if jr.Metrics == nil {
		jr.Metrics = map[string]*watermark{}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Data.Params)) {
		v := r.Data.Params[k]
		d := digest(v)
		if jr.Params[k] == d {
			continue
		}
		if utf8.RuneCountInString(v) > validate.MaxParamValueLength {
			b.loss(LossParamTruncated, 1)
		}
		if err := b.param(k, v, d); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		v := tags[k]
		d := digest(v)
		if jr.Tags[k] == d {
			continue
		}
		if utf8.RuneCountInString(v) > validate.MaxTagValueLength {
			b.loss(LossTagTruncated, 1)
		}
		if k == entities.TagParentRunID && parentLost {
			b.loss(LossParentMissing, 1)
		}
		if err := b.tag(k, v, d); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Data.Metrics)) {
		if err := p.pushMetric(b, r.Info.RunID, k, jr); err != nil {
			return err
		}
	}
	if err := b.flush(); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(jr.Tags)) {
		if _, ok := tags[k]; ok {
			continue
		}
		p.changed(rr)
		rr.TagsDeleted++
		if p.dry {
			continue
		}
		if err := p.dst.DeleteTag(p.ctx, jr.Remote, k); err != nil && !errors.Is(err, errs.ErrNotFound) {
			return err
		}
		p.rep.Requests++
		delete(jr.Tags, k)
	}
	if err := p.pushInputs(r, jr, rr); err != nil {
		return err
	}
	if err := p.pushRunArtifacts(r, jr, rr); err != nil {
		return err
	}
	want := infoEntry{Status: r.Info.Status.String(), EndTime: r.Info.EndTime, Name: r.Info.RunName}
	if jr.Info == nil || !sameInfo(*jr.Info, want) {
		p.changed(rr)
		if !p.dry {
			if _, err := p.dst.UpdateRunInfo(p.ctx, jr.Remote, r.Info.Status, r.Info.EndTime, r.Info.RunName); err != nil {
				return err
			}
			p.rep.Requests++
			jr.Info = &want
		}
	}
	return nil
}

// pushInputs sends the run's dataset inputs when they changed since the
// last push (the server keeps one row per dataset and run, so a repeat is
// harmless), then its model inputs and outputs.
func (p *pusher) pushInputs(r *entities.Run, jr *runEntry, rr *RunReport) error {
	if ds := r.Inputs.DatasetInputs; len(ds) > 0 {
		data, err := json.Marshal(ds)
		if err != nil {
			return err
		}
		if d := digest(string(data)); jr.Inputs != d {
			p.changed(rr)
			rr.Datasets += len(ds)
			if !p.dry {
				if err := p.dst.LogInputs(p.ctx, jr.Remote, ds, nil); err != nil {
					return err
				}
				p.rep.Requests++
				jr.Inputs = d
			}
		}
	}
	return p.pushModelLinks(r, jr, rr)
}

// lose counts n values of kind k lost for the run, in this push's report
// and the journal's totals.
func (p *pusher) lose(rr *RunReport, jr *runEntry, k LossKind, n int64) {
	if rr.Lossy == nil {
		rr.Lossy = map[LossKind]int64{}
	}
	rr.Lossy[k] += n
	p.rep.addLoss(k, n)
	if !p.dry {
		if jr.Lossy == nil {
			jr.Lossy = map[LossKind]int64{}
		}
		jr.Lossy[k] += n
	}
}

func sameInfo(a, b infoEntry) bool {
	if a.Status != b.Status || a.Name != b.Name || (a.EndTime == nil) != (b.EndTime == nil) {
		return false
	}
	return a.EndTime == nil || *a.EndTime == *b.EndTime
}

// mirrorDeletions deletes on the destination what was deleted locally,
// after everything else: runs, then experiments (a server deletes an
// experiment's runs with it). A run or experiment with a failure is left.
func (p *pusher) mirrorDeletions() {
	reports := map[string]*RunReport{}
	for i := range p.rep.Runs {
		reports[p.rep.Runs[i].RunID] = &p.rep.Runs[i]
	}
	failedIn := map[string]bool{}
	for _, r := range p.order {
		id := r.Info.RunID
		jr, rr := p.j.Runs[id], reports[id]
		if p.runFailed[id] {
			failedIn[r.Info.ExperimentID] = true
			continue
		}
		if r.Info.LifecycleStage != entities.StageDeleted || (jr != nil && jr.Deleted) {
			continue
		}
		if je := p.j.Experiments[r.Info.ExperimentID]; je != nil && je.Deleted {
			continue
		}
		p.changed(rr)
		rr.Deleted = true
		if p.dry || jr == nil {
			continue
		}
		if err := p.dst.DeleteRun(p.ctx, jr.Remote); err != nil {
			rr.State, rr.Error, rr.Deleted = RunFailed, "deleting it: "+errText(err), false
			failedIn[r.Info.ExperimentID] = true
			continue
		}
		p.rep.Requests++
		jr.Deleted = true
	}
	for _, x := range p.exps {
		je := p.j.Experiments[x.ExperimentID]
		if x.LifecycleStage != entities.StageDeleted || p.expFailed[x.ExperimentID] != nil || failedIn[x.ExperimentID] {
			continue
		}
		if je != nil && je.Deleted {
			continue
		}
		p.rep.ExperimentsDeleted++
		if p.dry || je == nil {
			continue
		}
		if err := p.dst.DeleteExperiment(p.ctx, je.Remote); err != nil && !errors.Is(err, errs.ErrNotFound) {
			p.rep.ExperimentsDeleted--
			p.rep.Failures = append(p.rep.Failures, Failure{What: "experiment " + x.ExperimentID, Error: "deleting it: " + errText(err)})
			continue
		}
		p.rep.Requests++
		je.Deleted = true
	}
}

// errText is an error's message without the "mlruns: " prefix, one line.
func errText(err error) string {
	return strings.ReplaceAll(strings.TrimPrefix(err.Error(), "mlruns: "), "\n", " ")
}
