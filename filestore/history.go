package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"path/filepath"

	"github.com/mlruns-go/mlruns/downsample"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/search"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// metricFile checks a run id and metric key as get_metric_history does and
// returns the metric's file (which may not exist).
func (s *Store) metricFile(runID, key string) (string, error) {
	if err := validate.RunID(runID); err != nil {
		return "", err
	}
	if err := validate.MetricName(key); err != nil {
		return "", err
	}
	if err := checkKey(key); err != nil {
		return "", err
	}
	dir, err := s.runDir(runID)
	if err != nil {
		return "", err
	}
	if _, err := readRunInfo(dir); err != nil {
		return "", err
	}
	return filepath.Join(dir, layout.MetricsDir, filepath.FromSlash(key)), nil
}

// MetricHistoryIter streams a metric's history in file order in bounded
// memory: the file is read a block at a time and, on more than one CPU,
// the next blocks are parsed on other cores while the loop body runs (see
// layout.ScanMetricHistory). A metric never logged yields nothing. An error
// (bad run, corrupt line, cancelled context) is yielded once, last.
func (s *Store) MetricHistoryIter(ctx context.Context, runID, key string) iter.Seq2[entities.Metric, error] {
	return func(yield func(entities.Metric, error) bool) {
		p, err := s.metricFile(runID, key)
		if err != nil {
			yield(entities.Metric{}, err)
			return
		}
		fh, _, err := openRegular(p, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			yield(entities.Metric{}, fmt.Errorf("filestore: read metric: %w", err))
			return
		}
		defer fh.Close()
		n := 0
		var ctxErr error
		broke := false
		err = layout.ScanMetricHistory(lockedReader{fh}, key, func(m entities.Metric) bool {
			if n&1023 == 0 {
				if ctxErr = ctx.Err(); ctxErr != nil {
					return false
				}
			}
			n++
			if !yield(m, nil) {
				broke = true
				return false
			}
			return true
		})
		switch {
		case broke:
		case ctxErr != nil:
			yield(entities.Metric{}, ctxErr)
		case err != nil:
			yield(entities.Metric{}, withMetricPath(err, p))
		}
	}
}

// GetMetricHistoryPage returns one page of a metric's history, as
// FileStore.get_metric_history(run_id, key, max_results, page_token):
// maxResults <= 0 returns everything from the token's offset with no next
// token; otherwise the next token is "" on the last page. Only the lines up
// to the end of the page (and one more, to know whether a next page exists)
// are parsed.
func (s *Store) GetMetricHistoryPage(ctx context.Context, runID, key string, maxResults int, pageToken string) ([]entities.Metric, string, error) {
	off, err := search.ParsePageToken(pageToken)
	if err != nil {
		return nil, "", err
	}
	out := []entities.Metric{}
	i := 0
	for m, err := range s.MetricHistoryIter(ctx, runID, key) {
		if err != nil {
			return nil, "", err
		}
		if maxResults > 0 && i == off+maxResults {
			return out, search.PageToken(off + maxResults), nil
		}
		if i >= off {
			out = append(out, m)
		}
		i++
	}
	return out, "", nil
}

// GetMetricHistoryDownsampled returns at most maxPoints values of a
// metric's history chosen by the method (see package downsample); a
// history that fits is returned whole (maxPoints <= 0: all of it). It
// reads the file twice, counting and then choosing (downsample.Read), so
// memory stays bounded by maxPoints and one or two buckets of points
// however long the history.
func (s *Store) GetMetricHistoryDownsampled(ctx context.Context, runID, key string, maxPoints int, method downsample.Method) ([]entities.Metric, error) {
	return downsample.Read(func() iter.Seq2[entities.Metric, error] { return s.MetricHistoryIter(ctx, runID, key) }, method, maxPoints)
}

// MetricFileStamp is the stamp of a run's metric file; a metric never
// logged is errs.ErrNotFound.
func (s *Store) MetricFileStamp(ctx context.Context, runID, key string) (store.MetricStamp, error) {
	if err := ctx.Err(); err != nil {
		return store.MetricStamp{}, err
	}
	p, err := s.metricFile(runID, key)
	if err != nil {
		return store.MetricStamp{}, err
	}
	fh, st, err := openRegular(p, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return store.MetricStamp{}, errs.New(errs.ErrNotFound, fmt.Sprintf("metric %q of run %s was never logged", key, runID))
	}
	if err != nil {
		return store.MetricStamp{}, fmt.Errorf("filestore: stat metric: %w", err)
	}
	fh.Close()
	return store.MetricStamp{Size: st.Size, MTime: st.Mtime, Ino: st.Ino}, nil
}

var _ store.MetricStamper = (*Store)(nil)
