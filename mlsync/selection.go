package mlsync

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// selectIn lists what sel names in s (push: the tree; pull: the server):
// the runs with their ancestors (mlflow.parentRunId, transitively; a parent
// s lacks is left), those keep accepts, and the experiments of all of
// them. Broken entities a listing skipped are passed to skipped.
func selectIn(ctx context.Context, s store.Store, sel Selection, keep func(*entities.Run) bool,
	skipped func(*store.SkippedError)) (map[string]entities.Experiment, map[string]*entities.Run, error) {
	exps := map[string]entities.Experiment{}
	runs := map[string]*entities.Run{}
	listExp := func(x entities.Experiment) error {
		exps[x.ExperimentID] = x
		rs, skips, err := s.ListRuns(ctx, x.ExperimentID, entities.ViewAll)
		if err != nil {
			return err
		}
		for _, sk := range skips {
			skipped(sk)
		}
		for i := range rs {
			runs[rs[i].Info.RunID] = &rs[i]
		}
		return nil
	}
	var named []entities.Experiment
	if sel.empty() {
		all, skips, err := s.ListExperiments(ctx, entities.ViewAll)
		if err != nil {
			return nil, nil, err
		}
		for _, sk := range skips {
			skipped(sk)
		}
		named = all
	}
	for _, id := range sel.ExperimentIDs {
		x, err := s.GetExperiment(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		named = append(named, x)
	}
	for _, name := range sel.ExperimentNames {
		x, err := s.GetExperimentByName(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		named = append(named, x)
	}
	for _, x := range named {
		if err := listExp(x); err != nil {
			return nil, nil, err
		}
	}
	for _, id := range sel.RunIDs {
		if runs[id] != nil {
			continue
		}
		r, err := s.GetRun(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		runs[id] = &r
	}
	for queue := slices.Collect(maps.Keys(runs)); len(queue) > 0; {
		id := queue[0]
		queue = queue[1:]
		pid := runs[id].Data.Tags[entities.TagParentRunID]
		if pid == "" || runs[pid] != nil || validate.RunID(pid) != nil {
			continue
		}
		r, err := s.GetRun(ctx, pid)
		if errors.Is(err, errs.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		runs[pid] = &r
		queue = append(queue, pid)
	}
	for id, r := range runs {
		if keep != nil && !keep(r) {
			delete(runs, id)
			continue
		}
		if _, ok := exps[r.Info.ExperimentID]; !ok {
			x, err := s.GetExperiment(ctx, r.Info.ExperimentID)
			if err != nil {
				return nil, nil, err
			}
			exps[x.ExperimentID] = x
		}
	}
	return exps, runs, nil
}

// byID is the experiments sorted by id.
func byID(exps map[string]entities.Experiment) []entities.Experiment {
	return slices.SortedFunc(maps.Values(exps), func(a, b entities.Experiment) int {
		return strings.Compare(a.ExperimentID, b.ExperimentID)
	})
}

// parentsFirst orders runs by start time, then id, each after its parent
// and the runs deps names (nil: none); a cycle is cut where it is met.
func parentsFirst(runs map[string]*entities.Run, deps func(*entities.Run) []string) []*entities.Run {
	byStart := slices.SortedFunc(maps.Values(runs), func(a, b *entities.Run) int {
		if a.Info.StartTime != b.Info.StartTime {
			return cmpInt(a.Info.StartTime, b.Info.StartTime)
		}
		return strings.Compare(a.Info.RunID, b.Info.RunID)
	})
	order := make([]*entities.Run, 0, len(runs))
	placed := map[string]bool{}
	var place func(r *entities.Run)
	place = func(r *entities.Run) {
		if placed[r.Info.RunID] {
			return
		}
		placed[r.Info.RunID] = true
		if parent := runs[r.Data.Tags[entities.TagParentRunID]]; parent != nil {
			place(parent)
		}
		if deps != nil {
			for _, dep := range deps(r) {
				if d := runs[dep]; d != nil {
					place(d)
				}
			}
		}
		order = append(order, r)
	}
	for _, r := range byStart {
		place(r)
	}
	return order
}
