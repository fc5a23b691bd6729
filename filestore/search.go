package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/search"
)

// searchWorkers bounds the goroutines that read run folders in parallel.
// Reads are small files, so a few more workers than CPUs keep the disk
// queue busy without flooding the scheduler.
func searchWorkers() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// runNeeds is what a query reads of each run besides meta.yaml: only the
// metric, param and tag files the filter and order_by name, and the inputs
// when a dataset clause is present.
type runNeeds struct {
	metrics, params, tags []string
	inputs                bool
}

func needsOf(f *search.Filter, order []search.OrderBy) runNeeds {
	join := func(a, b []string) []string {
		seen := map[string]bool{}
		var out []string
		for _, k := range append(a, b...) {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
		return out
	}
	return runNeeds{
		metrics: join(f.Keys(search.EntityMetric), search.OrderKeys(order, search.EntityMetric)),
		params:  join(f.Keys(search.EntityParam), search.OrderKeys(order, search.EntityParam)),
		tags:    join(f.Keys(search.EntityTag), search.OrderKeys(order, search.EntityTag)),
		inputs:  len(f.Keys(search.EntityDataset)) > 0,
	}
}

// SearchRuns returns the runs of the experiments that match the filter, in
// order_by order, one page at a time, as MLflow's FileStore.search_runs:
// unknown experiment ids contribute nothing, maxResults 0 means 1000, and
// the next page token is "" on the last page. Each run of the page comes
// with all its data; runs that do not make the page are read only as far
// as the filter and order need (meta.yaml plus the named keys). Runs whose
// files cannot be read are left out and logged.
func (s *Store) SearchRuns(ctx context.Context, experimentIDs []string, filter string, view entities.ViewType,
	maxResults int, orderBy []string, pageToken string) ([]entities.Run, string, error) {
	maxResults, err := search.CheckRunsMaxResults(maxResults)
	if err != nil {
		return nil, "", err
	}
	f, err := search.ParseRunFilter(filter)
	if err != nil {
		return nil, "", err
	}
	order, err := search.ParseRunOrderBy(orderBy)
	if err != nil {
		return nil, "", err
	}
	if _, err := search.ParsePageToken(pageToken); err != nil {
		return nil, "", err
	}
	var dirs []string
	for _, id := range experimentIDs {
		expDir, _, err := s.experimentDir(id, entities.ViewAll)
		if errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrInvalidParameter) {
			continue // Python: an unknown experiment has no runs
		}
		if err != nil {
			return nil, "", err
		}
		ents, err := os.ReadDir(expDir)
		if err != nil {
			return nil, "", fmt.Errorf("filestore: search runs: %w", err)
		}
		for _, de := range ents {
			d := filepath.Join(expDir, de.Name())
			if layout.IsReservedExperimentDir(de.Name()) || !(de.IsDir() || isDir(d)) {
				continue
			}
			dirs = append(dirs, d)
		}
	}
	need := needsOf(f, order)
	matched, err := s.scanRuns(ctx, dirs, func(dir string) (entities.Run, bool, error) {
		run, ok, err := s.readRunPartial(dir, view, need)
		if err != nil || !ok {
			return run, false, err
		}
		return run, f.MatchRun(&run), nil
	})
	if err != nil {
		return nil, "", err
	}
	runs := make([]entities.Run, len(matched))
	dirOf := make(map[string]string, len(matched))
	for i, m := range matched {
		runs[i] = m.run
		dirOf[m.run.Info.RunID] = m.dir
	}
	search.SortRuns(runs, order)
	lo, hi, next, err := search.Page(len(runs), pageToken, maxResults)
	if err != nil {
		return nil, "", err
	}
	pageDirs := make([]string, 0, hi-lo)
	infos := make(map[string]entities.RunInfo, hi-lo)
	for _, r := range runs[lo:hi] {
		d := dirOf[r.Info.RunID]
		pageDirs = append(pageDirs, d)
		infos[d] = r.Info
	}
	full, err := s.scanRuns(ctx, pageDirs, func(dir string) (entities.Run, bool, error) {
		run, err := s.readRun(dir, infos[dir])
		return run, err == nil, err
	})
	if err != nil {
		return nil, "", err
	}
	page := make([]entities.Run, len(full))
	for i, f := range full {
		page[i] = f.run
	}
	return page, next, nil
}

type scanned struct {
	run entities.Run
	dir string
}

// scanRuns applies read to every folder with a bounded pool of workers
// and returns the runs it kept, in folder order. It stops at the first
// context cancellation.
func (s *Store) scanRuns(ctx context.Context, dirs []string, read func(dir string) (entities.Run, bool, error)) ([]scanned, error) {
	type result struct {
		run entities.Run
		ok  bool
	}
	results := make([]result, len(dirs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(searchWorkers(), len(dirs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				run, ok, err := read(dirs[i])
				if err != nil {
					s.skip(dirs[i], err)
					continue
				}
				results[i] = result{run, ok}
			}
		}()
	}
feed:
	for i := range dirs {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []scanned
	for i, r := range results {
		if r.ok {
			out = append(out, scanned{r.run, dirs[i]})
		}
	}
	return out, nil
}

// readRunPartial reads a run folder's meta.yaml and, when the run is in
// the view, the parts of its data a query needs. ok is false for folders
// that are not runs and runs outside the view.
func (s *Store) readRunPartial(dir string, view entities.ViewType, need runNeeds) (entities.Run, bool, error) {
	info, err := readRunInfoFast(dir)
	if errors.Is(err, errs.ErrNotFound) {
		return entities.Run{}, false, nil // no meta.yaml: not a run
	}
	if err != nil {
		return entities.Run{}, false, err
	}
	if !view.Includes(info.LifecycleStage) {
		return entities.Run{}, false, nil
	}
	run := entities.Run{Info: info, Data: entities.RunData{
		Metrics: make(map[string]entities.Metric, len(need.metrics)),
		Params:  make(map[string]string, len(need.params)),
		Tags:    make(map[string]string, len(need.tags)),
	}}
	for _, k := range need.metrics {
		m, ok, err := readLatestMetric(dir, k)
		if err != nil {
			return run, false, err
		}
		if ok {
			run.Data.Metrics[k] = m
		}
	}
	if err := readNamedKeys(dir, layout.ParamsDir, need.params, run.Data.Params); err != nil {
		return run, false, err
	}
	if err := readNamedKeys(dir, layout.TagsDir, need.tags, run.Data.Tags); err != nil {
		return run, false, err
	}
	if run.Info.RunName == "" {
		if v, err := os.ReadFile(filepath.Join(dir, layout.TagsDir, entities.TagRunName)); err == nil {
			run.Info.RunName = string(v)
		}
	}
	if need.inputs {
		if run.Inputs, err = s.readInputs(dir); err != nil {
			return run, false, err
		}
	}
	return run, true, nil
}

// keyPath returns the file of a key under a run's sub folder, or "" when
// the key cannot name a file there (such a key was never logged).
func keyPath(dir, sub, key string) string {
	if checkKey(key) != nil {
		return ""
	}
	return filepath.Join(dir, sub, filepath.FromSlash(key))
}

// readNamedKeys reads the param or tag files of the given keys into out;
// missing keys are left out.
func readNamedKeys(dir, sub string, keys []string, out map[string]string) error {
	for _, k := range keys {
		p := keyPath(dir, sub, k)
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			if isAbsent(err) {
				continue
			}
			return fmt.Errorf("filestore: read %s: %w", p, err)
		}
		out[k] = string(data)
	}
	return nil
}

// isAbsent reports errors that mean "no such key": the file is missing, or
// the name is a folder of longer keys (a/b makes folder a).
func isAbsent(err error) bool {
	var pe *fs.PathError
	return errors.Is(err, fs.ErrNotExist) || (errors.As(err, &pe) && isDirErr(pe))
}

func isDirErr(pe *fs.PathError) bool {
	fi, err := os.Stat(pe.Path)
	return err == nil && fi.IsDir()
}

// readLatestMetric reads one metric file and keeps its latest value by
// MLflow's rule without building the history; ok is false when the key was
// never logged (or its file is empty, which MLflow's get_run also leaves
// out). Run metric files are read whole: they are small next to the 64 KiB
// a streaming scanner would allocate per file.
func readLatestMetric(dir, key string) (entities.Metric, bool, error) {
	p := keyPath(dir, layout.MetricsDir, key)
	if p == "" {
		return entities.Metric{}, false, nil
	}
	data, err := readMetricFile(p)
	if err != nil {
		if isAbsent(err) {
			return entities.Metric{}, false, nil
		}
		return entities.Metric{}, false, fmt.Errorf("filestore: read metric: %w", err)
	}
	if len(data) == 0 {
		return entities.Metric{}, false, nil
	}
	m, err := layout.DecodeLatestMetric(key, data)
	if err != nil {
		return entities.Metric{}, false, withMetricPath(err, p, "")
	}
	return m, true, nil
}

// SearchExperiments returns the experiments of the view that match the
// filter, in order_by order (default creation_time DESC, experiment_id
// ASC), one page at a time, as FileStore.search_experiments. maxResults 0
// means 1000. Broken experiments are left out, as ListExperiments does.
func (s *Store) SearchExperiments(ctx context.Context, view entities.ViewType, maxResults int, filter string,
	orderBy []string, pageToken string) ([]entities.Experiment, string, error) {
	maxResults, err := search.CheckExperimentsMaxResults(maxResults)
	if err != nil {
		return nil, "", err
	}
	f, err := search.ParseExperimentFilter(filter)
	if err != nil {
		return nil, "", err
	}
	order, err := search.ParseExperimentOrderBy(orderBy)
	if err != nil {
		return nil, "", err
	}
	if _, err := search.ParsePageToken(pageToken); err != nil {
		return nil, "", err
	}
	exps, _, err := s.ListExperiments(ctx, view)
	if err != nil {
		return nil, "", err
	}
	kept := exps[:0]
	for i := range exps {
		if f.MatchExperiment(&exps[i]) {
			kept = append(kept, exps[i])
		}
	}
	search.SortExperiments(kept, order)
	lo, hi, next, err := search.Page(len(kept), pageToken, maxResults)
	if err != nil {
		return nil, "", err
	}
	return kept[lo:hi], next, nil
}
