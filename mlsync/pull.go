package mlsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// Pull brings the selected runs of src (an MLflow tracking server through
// package reststore) into the tree dst (the file store at o.Root); o.Target
// is src's tracking URI and o.Select names src's experiments and runs.
//
// Pulled runs keep their ids, and Pull records them in the journal of
// o.Target as if they had been pushed from the tree: a push to the same
// server afterwards sends nothing of them, and a run the tree pushed to the
// server (mapped in the journal, or tagged TagSource with this tree) is not
// pulled back. See the package doc for what a pull compares and copies.
func Pull(ctx context.Context, src, dst store.Store, o Options) (*Report, error) {
	if o.Root == "" || o.Target == "" {
		return nil, errs.New(errs.ErrInvalidParameter, "sync: the tree's root and the server are required")
	}
	if src == nil || dst == nil {
		return nil, errs.New(errs.ErrInvalidParameter, "sync: pull needs the server's store and the tree's")
	}
	if o.DryRun {
		return nil, errs.New(errs.ErrInvalidParameter, "sync: pull has no dry run")
	}
	if o.Source == "" {
		o.Source = defaultSource(o.Root)
	}
	unlock, err := lockTarget(ctx, o.Root, o.Target)
	if err != nil {
		return nil, err
	}
	defer unlock()
	j, err := loadJournal(o.Root, o.Target, o.Source)
	if err != nil {
		return nil, err
	}
	// The journal's writes and the artifact helpers are the push's.
	p := &pusher{ctx: ctx, src: dst, dst: src, o: o, j: j,
		rep: &Report{Target: o.Target, Pull: true, Runs: []RunReport{}}}
	p.saved, _ = json.Marshal(j)
	pl := &puller{p: p, ctx: ctx, srv: src, tree: dst, j: j, rep: p.rep,
		localExp: map[string]string{}, localRun: map[string]string{}, expFailed: map[string]error{},
		models: map[string]*entities.LoggedModel{}, modelOK: map[string]bool{}, links: map[string]map[modelPoint]entities.Metric{}}
	if err := p.probe(); err != nil {
		return nil, err
	}
	for id, jr := range j.Runs {
		pl.localRun[jr.Remote] = id
	}
	if err := pl.selectRemote(); err != nil {
		return nil, err
	}
	for _, x := range pl.exps {
		if err := pl.pullExperiment(x); err != nil {
			pl.expFailed[x.ExperimentID] = err
			pl.rep.Failures = append(pl.rep.Failures, Failure{What: "experiment " + x.ExperimentID, Error: errText(err)})
		}
	}
	// Models before the runs: a run's points and links name them.
	if err := pl.listModels(); err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(pl.models)) {
		mr := pl.pullModel(pl.models[id])
		if mr.State != RunFailed {
			pl.modelOK[id] = true
		} else {
			pl.rep.Failures = append(pl.rep.Failures, Failure{What: "logged model " + id, Error: mr.Error})
		}
		pl.rep.Models = append(pl.rep.Models, mr)
		p.save(false)
	}
	for _, r := range pl.order {
		pl.rep.Runs = append(pl.rep.Runs, pl.pullRun(r))
		p.save(false)
	}
	pl.mirrorDeletions()
	if err := p.save(true); err != nil {
		return pl.rep, err
	}
	return pl.rep, ctx.Err()
}

// puller is one Pull. Local ids are the tree's; a pulled run's local id
// is its remote id, except where the run came from this tree.
type puller struct {
	p         *pusher // the journal's saving, the artifact walks
	ctx       context.Context
	srv, tree store.Store
	j         *journal
	rep       *Report
	exps      []entities.Experiment // remote, by id
	order     []*entities.Run       // remote, parents first
	localExp  map[string]string     // remote experiment id -> local
	localRun  map[string]string     // remote run id -> local (the journal's, reversed)
	expFailed map[string]error      // by remote experiment id
	// models is the remote logged models pulled, by id (a pulled model
	// keeps its id); modelOK those the tree holds after their pull.
	models  map[string]*entities.LoggedModel
	modelOK map[string]bool
	// links is, per remote run, its points that are a pulled model's
	// metrics: a server's metric history does not say so, the model's
	// metrics do.
	links map[string]map[modelPoint]entities.Metric
}

// linkPointOf is a run's point as a model's metric names it, without the
// dataset a server's history does not give.
func linkPointOf(key string, m entities.Metric) modelPoint {
	m.DatasetName, m.DatasetDigest = "", ""
	return modelPointOf(key, m)
}

// selectRemote lists the selected remote runs with their ancestors and
// experiments, parents first, leaving the runs that came from this tree.
func (pl *puller) selectRemote() error {
	exps, runs, err := selectIn(pl.ctx, pl.srv, pl.p.o.Select, func(r *entities.Run) bool { return !pl.fromHere(r) },
		func(*store.SkippedError) {})
	if err != nil {
		return err
	}
	pl.exps = byID(exps)
	pl.order = parentsFirst(runs, nil)
	return nil
}

// fromHere reports a remote run this tree pushed: mapped by the journal to
// a local run of another id, or tagged as this tree's.
func (pl *puller) fromHere(r *entities.Run) bool {
	if local, ok := pl.localRun[r.Info.RunID]; ok && local != r.Info.RunID {
		return true
	}
	return r.Data.Tags[TagSource] == pl.j.Source && r.Data.Tags[TagSourceRunID] != ""
}

// pullExperiment maps a remote experiment to the tree's: the one the
// journal names, else the one of the same name, else a new one. Remote
// changes since the last sync (name, tags, a restore) are applied; local
// changes the remote did not make are kept for the next push.
func (pl *puller) pullExperiment(x entities.Experiment) error {
	ctx, tree := pl.ctx, pl.tree
	var local entities.Experiment
	var je *expEntry
	localID := ""
	for id, e := range pl.j.Experiments {
		if e.Remote == x.ExperimentID {
			if lx, err := tree.GetExperiment(ctx, id); err == nil {
				local, je, localID = lx, e, id
			} else if !errors.Is(err, errs.ErrNotFound) {
				return err
			}
			break
		}
	}
	if je == nil {
		lx, err := tree.GetExperimentByName(ctx, x.Name)
		switch {
		case err == nil:
			if lx.LifecycleStage == entities.StageDeleted && x.LifecycleStage != entities.StageDeleted {
				return errs.New(errs.ErrInvalidState, fmt.Sprintf(
					"the tree's experiment %q (id %s) is deleted: restore it, or rename it, and pull again", x.Name, lx.ExperimentID))
			}
			local, localID = lx, lx.ExperimentID
			pl.rep.ExperimentsMatched++
		case errors.Is(err, errs.ErrNotFound):
			tags := make([]entities.ExperimentTag, 0, len(x.Tags))
			for _, k := range slices.Sorted(maps.Keys(x.Tags)) {
				tags = append(tags, entities.ExperimentTag{Key: k, Value: x.Tags[k]})
			}
			id, err := tree.CreateExperiment(ctx, x.Name, "", tags)
			if err != nil {
				return err
			}
			pl.rep.Requests++
			pl.rep.ExperimentsCreated++
			if local, err = tree.GetExperiment(ctx, id); err != nil {
				return err
			}
			localID = id
		default:
			return err
		}
		je = &expEntry{Remote: x.ExperimentID, Name: x.Name, Tags: map[string]string{}}
		pl.j.Experiments[localID] = je
	} else {
		pl.rep.ExperimentsMatched++
	}
	pl.localExp[x.ExperimentID] = localID
	remoteGone := x.LifecycleStage == entities.StageDeleted
	if !remoteGone && je.Deleted && local.LifecycleStage == entities.StageDeleted {
		if err := tree.RestoreExperiment(ctx, localID); err != nil {
			return err
		}
		pl.rep.Requests++
		pl.rep.ExperimentsRestored++
		je.Deleted = false
	}
	if x.Name != je.Name && local.Name == je.Name {
		if err := tree.RenameExperiment(ctx, localID, x.Name); err != nil {
			return err
		}
		pl.rep.Requests++
		je.Name = x.Name
	} else if x.Name == local.Name {
		je.Name = x.Name
	}
	if je.Tags == nil {
		je.Tags = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(x.Tags)) {
		v := x.Tags[k]
		d := digest(v)
		lv, has := local.Tags[k]
		if has && lv == v {
			je.Tags[k] = d
			continue
		}
		if je.Tags[k] == d {
			continue // unchanged remotely: the local value goes with the next push
		}
		if err := tree.SetExperimentTag(ctx, localID, k, v); err != nil {
			return err
		}
		pl.rep.Requests++
		je.Tags[k] = d
	}
	for _, k := range slices.Sorted(maps.Keys(je.Tags)) {
		if _, ok := x.Tags[k]; ok {
			continue
		}
		if lv, has := local.Tags[k]; has && digest(lv) == je.Tags[k] {
			if err := tree.DeleteExperimentTag(ctx, localID, k); err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}
			pl.rep.Requests++
		}
		delete(je.Tags, k)
	}
	return pl.p.save(true)
}

// remoteFP is what a pull compares to know a remote run changed: its
// info, params, tags, latest metrics and inputs as a listing gives them.
func remoteFP(r *entities.Run) string {
	data, _ := json.Marshal(struct {
		I entities.RunInfo
		D entities.RunData
		N entities.RunInputs
		O entities.RunOutputs
	}{r.Info, r.Data, r.Inputs, r.Outputs})
	return digest(string(data))
}

// pullRun brings one remote run into the tree.
func (pl *puller) pullRun(listed *entities.Run) RunReport {
	info := listed.Info
	localID := info.RunID
	rr := RunReport{RunID: localID, RemoteRunID: info.RunID}
	fail := func(err error) RunReport {
		rr.State, rr.Error = RunFailed, errText(err)
		return rr
	}
	if err := pl.ctx.Err(); err != nil {
		return fail(err)
	}
	if err := pl.expFailed[info.ExperimentID]; err != nil {
		return fail(fmt.Errorf("its experiment was not pulled: %w", err))
	}
	expID := pl.localExp[info.ExperimentID]
	rr.ExperimentID = expID
	fp := remoteFP(listed)
	jr := pl.j.Runs[localID]
	local, err := pl.tree.GetRun(pl.ctx, localID)
	exists := err == nil
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return fail(err)
	}
	if exists && local.Info.ExperimentID != expID {
		return fail(errs.New(errs.ErrInvalidState, fmt.Sprintf(
			"the tree holds run %s in experiment %s, the server in %s (the tree's %s)", localID, local.Info.ExperimentID, info.ExperimentID, expID)))
	}
	if exists && jr != nil && jr.Pulled == fp {
		rr.State = RunUnchanged
		return rr
	}
	// The whole run: a listing leaves inputs out on some servers.
	remote, err := pl.srv.GetRun(pl.ctx, info.RunID)
	if err != nil {
		return fail(err)
	}
	if jr == nil {
		jr = &runEntry{Remote: info.RunID, Experiment: expID, Deleted: info.LifecycleStage == entities.StageDeleted}
	}
	if !exists {
		created, err := pl.tree.CreateRun(pl.ctx, store.CreateRunOptions{RunID: localID, ExperimentID: expID,
			UserID: info.UserID, StartTime: info.StartTime, RunName: info.RunName})
		if err != nil {
			return fail(err)
		}
		pl.rep.Requests++
		local = created
		rr.State = RunCreated
		jr.Deleted = false // the new local run is active until the deletions are mirrored
	} else {
		rr.State = RunUpdated
	}
	pl.j.Runs[localID] = jr
	if local.Info.LifecycleStage == entities.StageDeleted {
		if jr.Deleted && info.LifecycleStage == entities.StageActive {
			// Restored on the server since the last sync.
			if err := pl.tree.RestoreRun(pl.ctx, localID); err != nil {
				return fail(err)
			}
			pl.rep.Requests++
			jr.Deleted, rr.Restored = false, true
		} else {
			// Deleted here and not yet pushed: nothing can be written to it.
			return rr
		}
	}
	infoChanged, err := pl.pullContent(&remote, &local, jr, &rr)
	if err != nil {
		return fail(err)
	}
	jr.Pulled = fp
	if rr.State == RunUpdated && rr.Params+rr.Tags+rr.TagsDeleted == 0 && rr.Points == 0 &&
		rr.Artifacts.Files == 0 && rr.Datasets == 0 && !rr.Restored && !infoChanged {
		rr.State = RunUnchanged
	}
	return rr
}

// pullContent copies what the tree lacks of a remote run, then records in
// the journal what both sides now hold alike, so a push sends none of it.
// infoChanged reports that the run's status, end time or name was set.
func (pl *puller) pullContent(remote, local *entities.Run, jr *runEntry, rr *RunReport) (infoChanged bool, err error) {
	ctx, id := pl.ctx, local.Info.RunID
	if jr.Params == nil {
		jr.Params = map[string]string{}
	}
	if jr.Tags == nil {
		jr.Tags = map[string]string{}
	}
	if jr.Metrics == nil {
		jr.Metrics = map[string]*watermark{}
	}
	var params []entities.Param
	for _, k := range slices.Sorted(maps.Keys(remote.Data.Params)) {
		v := remote.Data.Params[k]
		lv, has := local.Data.Params[k]
		switch {
		case !has:
			params = append(params, entities.Param{Key: k, Value: v})
		case lv != v:
			return false, errs.New(errs.ErrInvalidState, fmt.Sprintf("param %q is %q on the server and %q in the tree (a param cannot change)", k, v, lv))
		}
		jr.Params[k] = digest(v)
	}
	var tags []entities.RunTag
	for _, k := range slices.Sorted(maps.Keys(remote.Data.Tags)) {
		v := remote.Data.Tags[k]
		if k == entities.TagParentRunID {
			if l, ok := pl.localRun[v]; ok {
				v = l // a parent this tree pushed keeps its local id here
			}
		}
		d := digest(remote.Data.Tags[k])
		lv, has := local.Data.Tags[k]
		if (!has || lv != v) && jr.Tags[k] != d {
			tags = append(tags, entities.RunTag{Key: k, Value: v})
		}
		if !strings.HasPrefix(k, tagPrefix) && (!has || lv == v || jr.Tags[k] != d) {
			jr.Tags[k] = d
		}
	}
	for i := 0; i < max(len(params), len(tags)); i += validate.MaxParamsTagsPerBatch {
		ps := params[min(i, len(params)):min(i+validate.MaxParamsTagsPerBatch, len(params))]
		ts := tags[min(i, len(tags)):min(i+validate.MaxParamsTagsPerBatch, len(tags))]
		if err := pl.tree.LogBatch(ctx, id, nil, ps, ts); err != nil {
			return false, err
		}
		pl.rep.Requests++
		rr.Params += len(ps)
		rr.Tags += len(ts)
	}
	for _, k := range slices.Sorted(maps.Keys(jr.Tags)) {
		if _, ok := remote.Data.Tags[k]; ok {
			continue
		}
		if lv, has := local.Data.Tags[k]; has && digest(lv) == jr.Tags[k] {
			if err := pl.tree.DeleteTag(ctx, id, k); err != nil && !errors.Is(err, errs.ErrNotFound) {
				return false, err
			}
			pl.rep.Requests++
			rr.TagsDeleted++
		}
		delete(jr.Tags, k)
	}
	for _, k := range slices.Sorted(maps.Keys(remote.Data.Metrics)) {
		if err := pl.pullMetric(remote.Info.RunID, id, k, jr, rr); err != nil {
			return false, fmt.Errorf("metric %q: %w", k, err)
		}
	}
	if err := pl.pullInputs(remote, id, jr, rr); err != nil {
		return false, err
	}
	if err := pl.pullArtifacts(remote.Info.RunID, id, jr, rr); err != nil {
		return false, err
	}
	want := infoEntry{Status: remote.Info.Status.String(), EndTime: remote.Info.EndTime, Name: remote.Info.RunName}
	have := infoEntry{Status: local.Info.Status.String(), EndTime: local.Info.EndTime, Name: local.Info.RunName}
	if jr.Info == nil || !sameInfo(*jr.Info, want) {
		if !sameInfo(have, want) {
			if _, err := pl.tree.UpdateRunInfo(ctx, id, remote.Info.Status, remote.Info.EndTime, remote.Info.RunName); err != nil {
				return false, err
			}
			pl.rep.Requests++
			infoChanged = true
		}
		jr.Info = &want
	}
	return infoChanged, nil
}

// pullMetric appends the remote points of one history the tree lacks (a
// point is its timestamp, step and value, as a server tells them apart)
// and, when both now hold the same points, sets the watermark a push
// starts after; otherwise the next push compares the histories first.
func (pl *puller) pullMetric(remoteID, localID, key string, jr *runEntry, rr *RunReport) error {
	// The tree's points, which those the server lacks are taken from, and
	// their fingerprint: the watermark when nothing is appended.
	extra := map[point]int64{}
	ks := newKeyState()
	ks.stamp = stampOf(pl.ctx, pl.tree, localID, key)
	for m, err := range pl.tree.MetricHistoryIter(pl.ctx, localID, key) {
		if err != nil {
			return err
		}
		extra[pl.p.pointOf(m)]++
		ks.add(m)
	}
	appended := rr.Points
	var batch []entities.Metric
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := pl.tree.LogBatch(pl.ctx, localID, batch, nil, nil); err != nil {
			return err
		}
		pl.rep.Requests++
		rr.Points += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	for m, err := range pl.srv.MetricHistoryIter(pl.ctx, remoteID, key) {
		if err != nil {
			return err
		}
		if l, ok := pl.links[remoteID][linkPointOf(key, m)]; ok && m.ModelID == "" {
			m.ModelID, m.DatasetName, m.DatasetDigest = l.ModelID, l.DatasetName, l.DatasetDigest
		}
		linked := m.ModelID != "" && pl.modelOK[m.ModelID]
		// Python's FileStore writes a point with a dataset as a line that
		// it (and so the tree) reads back at step 0.
		stepZero := linked && (m.DatasetName != "" || m.DatasetDigest != "") && m.Step != 0
		pt := pl.p.pointOf(m)
		if stepZero {
			pt.step = 0
		}
		if extra[pt] > 0 {
			extra[pt]--
			continue
		}
		pm := entities.Metric{Key: key, Value: m.Value, Timestamp: m.Timestamp, Step: m.Step}
		switch {
		case linked:
			pm.ModelID, pm.DatasetName, pm.DatasetDigest = m.ModelID, m.DatasetName, m.DatasetDigest
			if stepZero {
				pl.p.lose(rr, jr, LossDatasetStep, 1)
			}
		case m.ModelID != "" || m.DatasetName != "" || m.DatasetDigest != "":
			// Its model is not in the tree: a plain point of the run.
			pl.p.lose(rr, jr, LossModelLink, 1)
		}
		batch = append(batch, pm)
		if len(batch) == validate.MaxMetricsPerBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for _, n := range extra {
		if n > 0 {
			// The tree holds points the server lacks: the next push
			// compares this history with the server's.
			jr.Verify = true
			delete(jr.Metrics, key)
			return nil
		}
	}
	if rr.Points != appended {
		// Appended to: the fingerprint is of the file as it is now.
		ks = newKeyState()
		ks.stamp = stampOf(pl.ctx, pl.tree, localID, key)
		for m, err := range pl.tree.MetricHistoryIter(pl.ctx, localID, key) {
			if err != nil {
				return err
			}
			ks.add(m)
		}
	}
	jr.Metrics[key] = &watermark{N: ks.n, FP: ks.fp(), Stamp: ks.stamp}
	return nil
}

// pullInputs logs the remote run's dataset inputs the tree lacks (by name
// and digest), then its model inputs and outputs (pullModelLinks).
func (pl *puller) pullInputs(remote *entities.Run, id string, jr *runEntry, rr *RunReport) error {
	local, err := pl.tree.GetRun(pl.ctx, id)
	if err != nil {
		return err
	}
	key := func(d entities.DatasetInput) string { return d.Dataset.Name + "\x00" + d.Dataset.Digest }
	haveDS := map[string]bool{}
	for _, d := range local.Inputs.DatasetInputs {
		haveDS[key(d)] = true
	}
	var missing []entities.DatasetInput
	for _, d := range remote.Inputs.DatasetInputs {
		if !haveDS[key(d)] {
			missing = append(missing, d)
			haveDS[key(d)] = true
		}
	}
	if len(missing) > 0 {
		if err := pl.tree.LogInputs(pl.ctx, id, missing, nil); err != nil {
			return err
		}
		pl.rep.Requests++
		rr.Datasets += len(missing)
		if local, err = pl.tree.GetRun(pl.ctx, id); err != nil {
			return err
		}
	}
	if len(local.Inputs.DatasetInputs) == len(remote.Inputs.DatasetInputs) && len(local.Inputs.DatasetInputs) > 0 {
		data, err := json.Marshal(local.Inputs.DatasetInputs)
		if err != nil {
			return err
		}
		jr.Inputs = digest(string(data))
	}
	return pl.pullModelLinks(remote, &local, jr, rr)
}

// pullModelLinks logs the remote run's model inputs and outputs the tree
// lacks, of the models the tree holds (the others are counted as
// LossModelLink), and records them as a push would.
func (pl *puller) pullModelLinks(remote, local *entities.Run, jr *runEntry, rr *RunReport) error {
	id := local.Info.RunID
	var ins []entities.ModelInput
	var outs []entities.ModelOutput
	var lost int64
	for _, m := range remote.Inputs.ModelInputs {
		switch {
		case !pl.modelOK[m.ModelID]:
			lost++
		case !slices.Contains(local.Inputs.ModelInputs, m) && !slices.Contains(ins, m):
			ins = append(ins, m)
		}
	}
	for _, m := range remote.Outputs.ModelOutputs {
		switch {
		case !pl.modelOK[m.ModelID]:
			lost++
		case !slices.Contains(local.Outputs.ModelOutputs, m) && !slices.Contains(outs, m):
			outs = append(outs, m)
		}
	}
	if len(ins) > 0 {
		if err := pl.tree.LogInputs(pl.ctx, id, nil, ins); err != nil {
			return err
		}
		pl.rep.Requests++
		rr.ModelLinks += len(ins)
	}
	if len(outs) > 0 {
		if err := pl.tree.LogOutputs(pl.ctx, id, outs); err != nil {
			return err
		}
		pl.rep.Requests++
		rr.ModelLinks += len(outs)
	}
	if lost > 0 && jr.Models == "" {
		pl.p.lose(rr, jr, LossModelLink, lost)
	}
	if len(ins)+len(outs) > 0 {
		now, err := pl.tree.GetRun(pl.ctx, id)
		if err != nil {
			return err
		}
		local = &now
	}
	// What pushModelLinks compares, when every link is to a model both
	// sides hold under one id.
	var desc []string
	for _, m := range local.Inputs.ModelInputs {
		if !pl.modelOK[m.ModelID] {
			return nil
		}
		desc = append(desc, "in:"+m.ModelID)
	}
	for _, m := range local.Outputs.ModelOutputs {
		if !pl.modelOK[m.ModelID] {
			return nil
		}
		desc = append(desc, fmt.Sprintf("out:%s:%d", m.ModelID, m.Step))
	}
	if len(desc) > 0 {
		jr.Models = digest(strings.Join(desc, "\n"))
	}
	return nil
}

// pullArtifacts downloads the remote run's artifact files the tree lacks
// or holds at another size (a server's listing has sizes, not times or
// hashes), streamed into the tree's repository and hashed on the way.
func (pl *puller) pullArtifacts(remoteID, id string, jr *runEntry, rr *RunReport) error {
	if pl.p.o.NoArtifacts {
		return nil
	}
	if jr.Artifacts == nil {
		jr.Artifacts = map[string]*artEntry{}
	}
	return pl.artifacts(func() (store.Artifacts, error) { return pl.srv.RunArtifacts(pl.ctx, remoteID) },
		func() (store.Artifacts, error) { return pl.tree.RunArtifacts(pl.ctx, id) }, jr.Artifacts, &rr.Artifacts)
}

// artifacts downloads the files of the remote repository the tree's
// lacks; known is the journal's entries, which a push compares. A server
// that serves no artifacts is reported in rep.Error.
func (pl *puller) artifacts(remote, tree func() (store.Artifacts, error), known map[string]*artEntry, rep *ArtifactsReport) error {
	ra, err := remote()
	if err == nil {
		var files []localFile
		if files, err = pl.p.walkArtifacts(ra); err == nil {
			err = pl.download(ra, tree, files, known, rep)
		}
	}
	if errors.Is(err, errs.ErrNotSupported) {
		rep.Error = errText(err)
		return nil
	}
	return err
}

func (pl *puller) download(ra store.Artifacts, tree func() (store.Artifacts, error), files []localFile, known map[string]*artEntry, rep *ArtifactsReport) error {
	if len(files) == 0 {
		return nil
	}
	la, err := tree()
	if err != nil {
		return err
	}
	have, err := pl.p.walkArtifacts(la)
	if err != nil {
		return err
	}
	byPath := map[string]localFile{}
	for _, f := range have {
		byPath[f.path] = f
	}
	for _, f := range files {
		lf, ok := byPath[f.path]
		if e := known[f.path]; ok && e != nil && e.Size == f.size && lf.size == f.size {
			rep.Unchanged++
			continue
		}
		sum, n, err := pl.fetch(ra, la, f.path)
		if err != nil {
			return fmt.Errorf("artifact %s: %w", f.path, err)
		}
		pl.rep.Requests++
		rep.Files++
		rep.Bytes += n
		known[f.path] = &artEntry{Size: n, Hash: sum}
	}
	// The times the tree gave the files, which a push compares.
	now, err := pl.p.walkArtifacts(la)
	if err != nil {
		return err
	}
	for _, f := range now {
		if e := known[f.path]; e != nil && e.MTime == 0 && e.Size == f.size {
			e.MTime = f.mtime
		}
	}
	return nil
}

// fetch streams one file from ra into la, hashing it on the way.
func (pl *puller) fetch(ra, la store.Artifacts, name string) (string, int64, error) {
	r, err := ra.Open(pl.ctx, name)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	if dir := path.Dir(name); dir != "." {
		if err := la.MkdirAll(pl.ctx, dir); err != nil {
			return "", 0, err
		}
	}
	h := &hashingReader{r: r, h: sha256.New()}
	if err := la.Put(pl.ctx, name, h); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.h.Sum(nil)), h.n, nil
}

// mirrorDeletions deletes in the tree the pulled runs and experiments the
// server has deleted since the last sync, after everything else.
func (pl *puller) mirrorDeletions() {
	byID := map[string]*RunReport{}
	for i := range pl.rep.Runs {
		byID[pl.rep.Runs[i].RemoteRunID] = &pl.rep.Runs[i]
	}
	for _, r := range pl.order {
		rr, jr := byID[r.Info.RunID], pl.j.Runs[r.Info.RunID]
		if rr == nil || rr.State == RunFailed || jr == nil || r.Info.LifecycleStage != entities.StageDeleted || jr.Deleted {
			continue
		}
		if err := pl.tree.DeleteRun(pl.ctx, rr.RunID); err != nil && !errors.Is(err, errs.ErrNotFound) {
			rr.State, rr.Error = RunFailed, "deleting it: "+errText(err)
			continue
		}
		pl.rep.Requests++
		jr.Deleted, rr.Deleted = true, true
	}
	for _, x := range pl.exps {
		localID := pl.localExp[x.ExperimentID]
		je := pl.j.Experiments[localID]
		if je == nil || x.LifecycleStage != entities.StageDeleted || je.Deleted || pl.expFailed[x.ExperimentID] != nil {
			continue
		}
		if err := pl.tree.DeleteExperiment(pl.ctx, localID); err != nil && !errors.Is(err, errs.ErrNotFound) {
			pl.rep.Failures = append(pl.rep.Failures, Failure{What: "experiment " + x.ExperimentID, Error: "deleting it: " + errText(err)})
			continue
		}
		pl.rep.Requests++
		pl.rep.ExperimentsDeleted++
		je.Deleted = true
	}
}

// listModels lists the remote logged models of the pulled experiments
// (with runs selected by id, those the pulled runs made, use or logged
// metrics to), leaving those this tree pushed.
func (pl *puller) listModels() error {
	pushed := map[string]bool{}
	for id, jm := range pl.j.Models {
		if jm.Remote != id {
			pushed[jm.Remote] = true
		}
	}
	var exps []entities.Experiment
	for _, x := range pl.exps {
		if pl.expFailed[x.ExperimentID] == nil {
			exps = append(exps, x)
		}
	}
	var selected map[string]*entities.Run
	if len(pl.p.o.Select.RunIDs) > 0 {
		selected = map[string]*entities.Run{}
		for _, r := range pl.order {
			selected[r.Info.RunID] = r
		}
	}
	models, err := listModelsIn(pl.ctx, pl.srv, exps, func(m *entities.LoggedModel) bool {
		return !pushed[m.ModelID] && (m.Tags[TagSource] != pl.j.Source || m.Tags[TagSourceModelID] == "")
	}, selected)
	if err != nil {
		return err
	}
	pl.models = models
	for id, m := range models {
		for _, mm := range m.Metrics {
			pts := pl.links[mm.RunID]
			if pts == nil {
				pts = map[modelPoint]entities.Metric{}
				pl.links[mm.RunID] = pts
			}
			mm.ModelID = id
			pts[linkPointOf(mm.Key, mm)] = mm
		}
	}
	return nil
}

// pullModel brings one remote logged model into the tree under its id:
// created with its name, type, source run, params, tags and creation
// time, then its artifacts, then finalized as on the server; it is
// recorded in the journal as a push would have, so a push sends none of
// it. Its metrics come with the runs that logged them.
func (pl *puller) pullModel(m *entities.LoggedModel) ModelReport {
	mr := ModelReport{ModelID: m.ModelID, RemoteModelID: m.ModelID}
	fail := func(err error) ModelReport {
		mr.State, mr.Error = RunFailed, errText(err)
		return mr
	}
	if err := pl.expFailed[m.ExperimentID]; err != nil {
		return fail(fmt.Errorf("its experiment was not pulled: %w", err))
	}
	expID := pl.localExp[m.ExperimentID]
	mr.ExperimentID = expID
	ctx, tree := pl.ctx, pl.tree
	source := deref(m.SourceRunID)
	if l, ok := pl.localRun[source]; ok {
		source = l // a run this tree pushed keeps its local id here
	}
	tags := remoteModelTags(m)
	jm := pl.j.Models[m.ModelID]
	local, err := tree.GetLoggedModel(ctx, m.ModelID)
	switch {
	case errors.Is(err, errs.ErrNotFound):
		local, err = tree.CreateLoggedModel(ctx, expID, store.CreateLoggedModelOptions{ModelID: m.ModelID, Name: m.Name,
			SourceRunID: source, ModelType: deref(m.ModelType), Tags: m.Tags, Params: m.Params, CreationTime: m.CreationTimestamp})
		if err != nil {
			return fail(err)
		}
		pl.rep.Requests++
		mr.State, mr.Params, mr.Tags = RunCreated, len(m.Params), len(m.Tags)
	case err != nil:
		return fail(err)
	case local.ExperimentID != expID:
		return fail(errs.New(errs.ErrInvalidState, fmt.Sprintf(
			"the tree holds logged model %s in experiment %s, the server in %s (the tree's %s)", m.ModelID, local.ExperimentID, m.ExperimentID, expID)))
	default:
		mr.State = RunUnchanged
	}
	if jm == nil {
		jm = &modelEntry{Remote: m.ModelID, Experiment: expID}
		pl.j.Models[m.ModelID] = jm
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
		}
	}
	params := map[string]string{}
	for k, v := range m.Params {
		if local.Params[k] != v && jm.Params[k] != digest(v) {
			params[k] = v
		}
		jm.Params[k] = digest(v)
	}
	if len(params) > 0 {
		if err := tree.LogLoggedModelParams(ctx, m.ModelID, params); err != nil {
			return fail(err)
		}
		pl.rep.Requests++
		changed()
		mr.Params += len(params)
	}
	set := map[string]string{}
	for k, v := range m.Tags {
		lv, has := local.Tags[k]
		if (!has || lv != v) && jm.Tags[k] != digest(v) {
			set[k] = v
		}
	}
	for k, v := range tags {
		jm.Tags[k] = digest(v)
	}
	if len(set) > 0 {
		if err := tree.SetLoggedModelTags(ctx, m.ModelID, set); err != nil {
			return fail(err)
		}
		pl.rep.Requests++
		changed()
		mr.Tags += len(set)
	}
	if !pl.p.o.NoArtifacts {
		if jm.Artifacts == nil {
			jm.Artifacts = map[string]*artEntry{}
		}
		before := mr.Artifacts.Files
		err := pl.artifacts(func() (store.Artifacts, error) { return pl.srv.ModelArtifacts(ctx, m.ModelID) },
			func() (store.Artifacts, error) { return tree.ModelArtifacts(ctx, m.ModelID) }, jm.Artifacts, &mr.Artifacts)
		if err != nil {
			return fail(fmt.Errorf("the model's artifacts: %w", err))
		}
		if mr.Artifacts.Files > before {
			changed()
		}
	}
	if m.Status.Finalized() {
		if local.Status != m.Status {
			if _, err := tree.FinalizeLoggedModel(ctx, m.ModelID, m.Status); err != nil {
				return fail(err)
			}
			pl.rep.Requests++
			changed()
			mr.Finalized = true
		}
		jm.Status = m.Status.String()
	}
	return mr
}
