package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/search"
)

// searchWorkers bounds the goroutines that read run folders in parallel.
// Reads are small files in the page cache: the work is syscalls, which
// need a CPU each, so more workers than CPUs only add scheduling; a few
// more than CPUs keep a cold disk's queue busy.
func searchWorkers() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// runRef is where a run folder of a search is.
type runRef struct {
	base    sysfs.Dir // its experiment folder, held open for the search
	name    string    // its name there
	expName string    // the experiment folder's name
	dir     string    // its path, for messages and the path-based readers
	eof     bool      // fastReader.eof for its files
}

// runQuery is what a search reads of each run besides meta.yaml, and in
// which order: each clause of the filter with the file it needs (a metric,
// param or tag file, or the inputs), checked one at a time so that a run
// is read only until a clause rejects it; then, for a run that matches,
// the metric, param and tag keys of order_by.
type runQuery struct {
	keys    []runKey // distinct files to read
	clauses []queryClause
	order   []int // indexes in keys
}

// runKey is one file a query reads; entity is EntityMetric, EntityParam,
// EntityTag or EntityDataset (key "": all the run's inputs).
type runKey struct {
	entity search.Entity
	key    string
}

type queryClause struct {
	key   int            // index in keys; -1 for attributes, in meta.yaml
	match *search.Filter // the one clause
}

func queryOf(f *search.Filter, order []search.OrderBy) runQuery {
	var q runQuery
	index := func(k runKey) int {
		for i, have := range q.keys {
			if have == k {
				return i
			}
		}
		q.keys = append(q.keys, k)
		return len(q.keys) - 1
	}
	// Attributes cost nothing more to check: first, as a run must satisfy
	// every clause whatever their order.
	for _, attrs := range []bool{true, false} {
		for i, c := range f.Clauses {
			if (c.Entity == search.EntityAttribute) != attrs {
				continue
			}
			qc := queryClause{key: -1, match: &search.Filter{Clauses: f.Clauses[i : i+1]}}
			switch c.Entity {
			case search.EntityMetric, search.EntityParam, search.EntityTag:
				qc.key = index(runKey{c.Entity, c.Key})
			case search.EntityDataset:
				qc.key = index(runKey{c.Entity, ""})
			}
			q.clauses = append(q.clauses, qc)
		}
	}
	for _, o := range order {
		switch o.Entity {
		case search.EntityMetric, search.EntityParam, search.EntityTag:
			q.order = append(q.order, index(runKey{o.Entity, o.Key}))
		}
	}
	return q
}

// searchArgs checks a search's arguments with that search's checks, in
// the order MLflow checks them (max_results, the filter, order_by, the
// page token), before any folder is read.
func searchArgs[F, O, B any](maxResults int, checkMax func(int) (int, error), filter string, parseFilter func(string) (F, error),
	orderBy B, parseOrder func(B) (O, error), pageToken string) (n int, f F, order O, err error) {
	if n, err = checkMax(maxResults); err != nil {
		return n, f, order, err
	}
	if f, err = parseFilter(filter); err != nil {
		return n, f, order, err
	}
	if order, err = parseOrder(orderBy); err != nil {
		return n, f, order, err
	}
	_, err = search.ParsePageToken(pageToken)
	return n, f, order, err
}

// SearchRuns returns the runs of the experiments that match the filter, in
// order_by order, one page at a time, as MLflow's FileStore.search_runs:
// unknown experiment ids contribute nothing, maxResults 0 means 1000, and
// the next page token is "" on the last page. Each run of the page comes
// with all its data; runs that do not make the page are read only as far
// as the filter and order need (meta.yaml plus the named keys, and no
// further than the first clause that rejects the run). Runs whose files
// cannot be read are left out and logged.
func (s *Store) SearchRuns(ctx context.Context, experimentIDs []string, filter string, view entities.ViewType,
	maxResults int, orderBy []string, pageToken string) ([]entities.Run, string, error) {
	maxResults, f, order, err := searchArgs(maxResults, search.CheckRunsMaxResults, filter, search.ParseRunFilter,
		orderBy, search.ParseRunOrderBy, pageToken)
	if err != nil {
		return nil, "", err
	}
	r := getFastReader()
	defer putFastReader(r)
	var refs []runRef
	defer func() {
		seen := map[sysfs.Dir]bool{}
		for _, ref := range refs {
			if !seen[ref.base] {
				seen[ref.base] = true
				ref.base.Close()
			}
		}
	}()
	for _, id := range experimentIDs {
		expDir, _, err := s.experimentDir(id, entities.ViewAll)
		if errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrInvalidParameter) {
			continue // Python: an unknown experiment has no runs
		}
		if err != nil {
			return nil, "", err
		}
		more, err := r.listRuns(expDir)
		if err != nil {
			return nil, "", fmt.Errorf("filestore: search runs: %w", err)
		}
		refs = append(refs, more...)
	}
	q := queryOf(f, order)
	cc := s.readCache.ctx()
	matched, err := s.scanRuns(ctx, refs, func(r *fastReader, ref runRef) (entities.Run, bool, error) {
		r.cache = cc
		return s.readRunPartial(r, ref, view, &q)
	})
	if err != nil {
		return nil, "", err
	}
	runs := make([]entities.Run, len(matched))
	refOf := make(map[string]runRef, len(matched))
	for i, m := range matched {
		runs[i] = m.run
		refOf[m.run.Info.RunID] = m.ref
	}
	search.SortRuns(runs, order)
	page, next, err := pageOf(runs, pageToken, maxResults)
	if err != nil {
		return nil, "", err
	}
	// Run ids are unique among matched runs (a run's meta must name its
	// folder and experiment), so each page run has its own folder. What the
	// filter and order read of a run is not read again.
	pageRefs := make([]runRef, 0, len(page))
	partial := make(map[string]*entities.Run, len(page))
	for i := range page {
		id := page[i].Info.RunID
		pageRefs = append(pageRefs, refOf[id])
		partial[id] = &page[i]
	}
	full, err := s.scanRuns(ctx, pageRefs, func(r *fastReader, ref runRef) (entities.Run, bool, error) {
		r.eof = ref.eof
		r.cache = cc
		p := partial[ref.name]
		run, err := s.readRunAt(r, ref.base, ref.name, ref.dir, p.Info, &p.Data)
		return run, err == nil, err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]entities.Run, len(full))
	for i, f := range full {
		out[i] = f.run
	}
	return out, next, nil
}

// listRuns opens an experiment folder and lists the folders in it that
// may be runs (any but the reserved ones, symlinks followed as isDir
// does), in name order as os.ReadDir. The refs share the folder's
// descriptor, which the caller closes.
func (r *fastReader) listRuns(expDir string) ([]runRef, error) {
	d, err := r.openDir(sysfs.CWD, expDir, true)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: expDir, Err: err}
	}
	ents, err := r.list(d)
	if err != nil {
		d.Close()
		return nil, &fs.PathError{Op: "readdirent", Path: expDir, Err: err}
	}
	slices.SortFunc(ents, func(a, b sysfs.Dirent) int { return strings.Compare(a.Name, b.Name) })
	local := d.Local()
	expName := filepath.Base(expDir)
	refs := make([]runRef, 0, len(ents))
	for _, e := range ents {
		if layout.IsReservedExperimentDir(e.Name) {
			continue
		}
		ref := runRef{base: d, name: e.Name, expName: expName, dir: filepath.Join(expDir, e.Name), eof: local}
		if e.Kind != sysfs.KindDir {
			if st, err := d.StatAt(e.Name, true); err != nil || !st.IsDir() {
				continue
			}
			ref.eof = sysfs.PathLocal(ref.dir) // a symlink may lead to another file system
		}
		refs = append(refs, ref)
	}
	if len(refs) == 0 {
		d.Close()
	}
	return refs, nil
}

type scanned struct {
	run entities.Run
	ref runRef
}

// scanRuns applies read to every run folder with a bounded pool of
// workers, each with its own fastReader, and returns the runs it kept, in
// folder order. It stops at a context cancellation.
func (s *Store) scanRuns(ctx context.Context, refs []runRef, read func(r *fastReader, ref runRef) (entities.Run, bool, error)) ([]scanned, error) {
	type result struct {
		run entities.Run
		ok  bool
	}
	results := make([]result, len(refs))
	var next atomic.Int64 // the next folder to read: no channel hand-off per run
	var wg sync.WaitGroup
	for w := 0; w < min(searchWorkers(), len(refs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := getFastReader()
			defer putFastReader(r)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(refs) {
					return
				}
				run, ok, err := read(r, refs[i])
				if err != nil {
					s.skip(refs[i].dir, err)
					continue
				}
				if ok {
					results[i] = result{run, true}
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []scanned
	for i, res := range results {
		if res.ok {
			out = append(out, scanned{res.run, refs[i]})
		}
	}
	return out, nil
}

// readRunPartial reads a run folder's meta.yaml and, when the run is in
// the view, the files of the query's clauses until one rejects the run,
// then its order keys. ok is true for runs that match; it is false for
// folders that are not runs, runs outside the view and runs that do not
// match.
func (s *Store) readRunPartial(r *fastReader, ref runRef, view entities.ViewType, q *runQuery) (entities.Run, bool, error) {
	r.eof = ref.eof
	info, err := r.runInfo(ref)
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
		Metrics: map[string]entities.Metric{}, Params: map[string]string{}, Tags: map[string]string{},
	}}
	if run.Info.RunName == "" {
		if v, err := r.readFile(ref.base, ref.name+"/"+layout.TagsDir+"/"+entities.TagRunName, false); err == nil {
			run.Info.RunName = string(v)
		}
	}
	var loaded uint64 // keys read, by index (past 64 a key may be read twice)
	load := func(i int) error {
		if i < 64 {
			if loaded&(1<<i) != 0 {
				return nil
			}
			loaded |= 1 << i
		}
		return s.readKey(r, ref, q.keys[i], &run)
	}
	for _, c := range q.clauses {
		if c.key >= 0 {
			if err := load(c.key); err != nil {
				return run, false, err
			}
		}
		if !c.match.MatchRun(&run) {
			return run, false, nil
		}
	}
	for _, i := range q.order {
		if err := load(i); err != nil {
			return run, false, err
		}
	}
	return run, true, nil
}

// readKey reads one key of a run into it; a missing key is left out.
func (s *Store) readKey(r *fastReader, ref runRef, k runKey, run *entities.Run) error {
	switch k.entity {
	case search.EntityMetric:
		m, ok, err := s.latestMetric(r, ref, k.key)
		if ok {
			run.Data.Metrics[k.key] = m
		}
		return err
	case search.EntityParam:
		return s.namedKey(r, ref, layout.ParamsDir, k.key, run.Data.Params)
	case search.EntityTag:
		return s.namedKey(r, ref, layout.TagsDir, k.key, run.Data.Tags)
	case search.EntityDataset:
		var err error
		run.Inputs, err = s.readInputsAt(r, ref.base, ref.name, ref.dir)
		return err
	}
	return nil
}

// keyRel returns the file of a key under a run's sub folder, relative to
// the run's experiment folder, or "" when the key cannot name a file there
// (such a key was never logged).
func keyRel(ref runRef, sub, key string) string {
	if checkKey(key) != nil {
		return ""
	}
	return ref.name + "/" + sub + "/" + key
}

// namedKey reads the param or tag file of key k into out; a missing key
// is left out.
func (s *Store) namedKey(r *fastReader, ref runRef, sub, k string, out map[string]string) error {
	rel := keyRel(ref, sub, k)
	if rel == "" {
		return nil
	}
	e, _, err := r.cachedFile(ref.base, rel, ref.dir+"/"+sub+"/"+k, kindString, false, stringEntry)
	if err != nil {
		if absent(ref.base, rel, err) {
			return nil
		}
		// a symlink (followed only into the tree), a pipe, a read error:
		// the path reader decides
		p := filepath.Join(ref.dir, sub, filepath.FromSlash(k))
		data, err := s.readInside(p, nil)
		if err != nil {
			return fmt.Errorf("filestore: read %s: %w", p, err)
		}
		out[k] = string(data)
		return nil
	}
	out[k] = e.str
	return nil
}

// latestMetric reads one metric file and keeps its latest value by
// MLflow's rule without building the history; ok is false when the key was
// never logged (or its file is empty, which MLflow's get_run also leaves
// out).
func (s *Store) latestMetric(r *fastReader, ref runRef, key string) (entities.Metric, bool, error) {
	rel := keyRel(ref, layout.MetricsDir, key)
	if rel == "" {
		return entities.Metric{}, false, nil
	}
	e, decodeErr, err := r.cachedMetric(ref.base, rel, ref.dir+"/"+layout.MetricsDir+"/"+key, key)
	if err != nil {
		if absent(ref.base, rel, err) {
			return entities.Metric{}, false, nil
		}
		// a symlink (followed only into the tree), a pipe, a read error:
		// the path reader decides
		p := filepath.Join(ref.dir, layout.MetricsDir, filepath.FromSlash(key))
		if err := s.linkInside(p, nil); err != nil {
			return entities.Metric{}, false, err
		}
		data, err := readMetricFile(p)
		if err != nil {
			return entities.Metric{}, false, fmt.Errorf("filestore: read metric: %w", err)
		}
		if len(data) == 0 {
			return entities.Metric{}, false, nil
		}
		m, err := layout.DecodeLatestMetric(key, data)
		if err != nil {
			return entities.Metric{}, false, withMetricPath(err, p)
		}
		return m, true, nil
	}
	if e == nil {
		return entities.Metric{}, false, withMetricPath(decodeErr, filepath.Join(ref.dir, layout.MetricsDir, key))
	}
	if e.metric == nil {
		return entities.Metric{}, false, nil
	}
	return *e.metric, true, nil
}

// SearchExperiments returns the experiments of the view that match the
// filter, in order_by order (default creation_time DESC, experiment_id
// ASC), one page at a time, as FileStore.search_experiments. maxResults 0
// means 1000. Broken experiments are left out, as ListExperiments does.
func (s *Store) SearchExperiments(ctx context.Context, view entities.ViewType, maxResults int, filter string,
	orderBy []string, pageToken string) ([]entities.Experiment, string, error) {
	maxResults, f, order, err := searchArgs(maxResults, search.CheckExperimentsMaxResults, filter, search.ParseExperimentFilter,
		orderBy, search.ParseExperimentOrderBy, pageToken)
	if err != nil {
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
	return pageOf(kept, pageToken, maxResults)
}

// pageOf returns the page of items (sorted) that the token and maxResults
// select, and the next page's token, as SearchUtils.paginate.
func pageOf[T any](items []T, pageToken string, maxResults int) ([]T, string, error) {
	lo, hi, next, err := search.Page(len(items), pageToken, maxResults)
	if err != nil {
		return nil, "", err
	}
	return items[lo:hi], next, nil
}
