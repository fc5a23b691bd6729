package filestore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
)

// The store keeps metric files open between appends. Whatever happens to
// a file or its run behind its back, no point may go into an unlinked file
// or a folder the run left.
func TestStore_HeldFiles(t *testing.T) {
	point := func(step int64) entities.Metric {
		return entities.Metric{Key: "loss", Value: float64(step), Timestamp: 1000 + step, Step: step}
	}
	cases := []struct {
		name string
		// between two appends of "loss" (and a first append of "acc"):
		meddle func(t *testing.T, s *filestore.Store, root string, r entities.Run)
		// where the second "loss" and the "acc" point must be
		want func(root string, r entities.Run) (lossFile, accFile, lossContent string)
	}{
		{"metric file removed", func(t *testing.T, _ *filestore.Store, root string, r entities.Run) {
			require.NoError(t, os.Remove(filepath.Join(root, r.Info.ExperimentID, r.Info.RunID, "metrics", "loss")))
		}, func(root string, r entities.Run) (string, string, string) {
			d := filepath.Join(root, r.Info.ExperimentID, r.Info.RunID, "metrics")
			return filepath.Join(d, "loss"), filepath.Join(d, "acc"), "1001 1.0 1\n"
		}},
		{"metric file replaced by rename", func(t *testing.T, _ *filestore.Store, root string, r entities.Run) {
			d := filepath.Join(root, r.Info.ExperimentID, r.Info.RunID, "metrics")
			require.NoError(t, os.WriteFile(filepath.Join(d, ".new"), []byte("1000 9.0 0\n"), 0o666))
			require.NoError(t, os.Rename(filepath.Join(d, ".new"), filepath.Join(d, "loss")))
		}, func(root string, r entities.Run) (string, string, string) {
			d := filepath.Join(root, r.Info.ExperimentID, r.Info.RunID, "metrics")
			return filepath.Join(d, "loss"), filepath.Join(d, "acc"), "1000 9.0 0\n1001 1.0 1\n"
		}},
		// MLflow before 2.3 moved a deleted experiment to .trash and left
		// its runs active; Python logs to them there.
		{"experiment moved to .trash, runs active", func(t *testing.T, _ *filestore.Store, root string, r entities.Run) {
			require.NoError(t, os.Rename(filepath.Join(root, r.Info.ExperimentID), filepath.Join(root, ".trash", r.Info.ExperimentID)))
		}, func(root string, r entities.Run) (string, string, string) {
			d := filepath.Join(root, ".trash", r.Info.ExperimentID, r.Info.RunID, "metrics")
			return filepath.Join(d, "loss"), filepath.Join(d, "acc"), "1000 0.0 0\n1001 1.0 1\n"
		}},
		{"store closed", func(t *testing.T, s *filestore.Store, _ string, _ entities.Run) {
			require.NoError(t, s.Close())
		}, func(root string, r entities.Run) (string, string, string) {
			d := filepath.Join(root, r.Info.ExperimentID, r.Info.RunID, "metrics")
			return filepath.Join(d, "loss"), filepath.Join(d, "acc"), "1000 0.0 0\n1001 1.0 1\n"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, root := newStore(t, nil)
			expID, err := s.CreateExperiment(ctx, "held", "", nil)
			require.NoError(t, err)
			r := newRun(t, s, expID)
			require.NoError(t, s.LogMetric(ctx, r.Info.RunID, point(0)))
			require.NoError(t, s.LogMetric(ctx, r.Info.RunID, point(0)), "a second append through the held file")
			// one line too many: take it back so the expected contents stay short
			p := filepath.Join(root, r.Info.ExperimentID, r.Info.RunID, "metrics", "loss")
			require.NoError(t, os.WriteFile(p+".tmp", []byte("1000 0.0 0\n"), 0o666))
			require.NoError(t, os.Rename(p+".tmp", p))
			require.NoError(t, s.LogMetric(ctx, r.Info.RunID, point(100)))
			require.Equal(t, "1000 0.0 0\n1100 100.0 100\n", readFile(t, p), "a replaced file is reopened")
			require.NoError(t, os.WriteFile(p+".tmp", []byte("1000 0.0 0\n"), 0o666))
			require.NoError(t, os.Rename(p+".tmp", p))

			c.meddle(t, s, root, r)
			require.NoError(t, s.LogMetric(ctx, r.Info.RunID, point(1)))
			require.NoError(t, s.LogMetric(ctx, r.Info.RunID, entities.Metric{Key: "acc", Value: 0.5, Timestamp: 7, Step: 0}))
			lossFile, accFile, loss := c.want(root, r)
			require.Equal(t, loss, readFile(t, lossFile))
			require.Equal(t, "7 0.5 0\n", readFile(t, accFile))
			if strings.Contains(lossFile, ".trash") {
				_, err := os.Stat(filepath.Join(root, expID))
				require.ErrorIs(t, err, os.ErrNotExist, "no folder made where the experiment was")
				require.NoError(t, os.Rename(filepath.Join(root, ".trash", expID), filepath.Join(root, expID)))
			}
		})
	}
}

// A run deleted by another process (Python rewrites meta.yaml in place)
// refuses points at once, though its metric file is held open.
func TestStore_HeldFiles_RunDeletedElsewhere(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	m := entities.Metric{Key: "loss", Value: 1, Timestamp: 1, Step: 0}
	require.NoError(t, s.LogMetric(ctx, r.Info.RunID, m))
	other, err := filestore.Open(root, nil)
	require.NoError(t, err)
	require.NoError(t, other.DeleteRun(ctx, r.Info.RunID))
	err = s.LogMetric(ctx, r.Info.RunID, m)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.Contains(t, err.Error(), "must be in 'active' lifecycle_stage")
	require.NoError(t, other.RestoreRun(ctx, r.Info.RunID))
	require.NoError(t, s.LogMetric(ctx, r.Info.RunID, m))
	require.Equal(t, "1 1.0 0\n1 1.0 0\n", readFile(t, filepath.Join(root, "0", r.Info.RunID, "metrics", "loss")))
}

// More files than the store holds: the least recently used are closed and
// reopened; every point lands, from many goroutines at once.
func TestStore_HeldFiles_ManyFilesConcurrent(t *testing.T) {
	s, root := newStore(t, nil)
	const runs, keys, points, workers = 3, 70, 20, 6
	var ids []string
	for range runs {
		ids = append(ids, newRun(t, s, "0").Info.RunID)
	}
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range points {
				for k := range keys {
					for _, id := range ids {
						m := entities.Metric{Key: fmt.Sprintf("k%02d", k), Value: float64(w), Timestamp: int64(p), Step: int64(w)}
						if err := s.LogMetric(ctx, id, m); err != nil {
							errc <- err
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	for _, id := range ids {
		for k := range keys {
			data := readFile(t, filepath.Join(root, "0", id, "metrics", fmt.Sprintf("k%02d", k)))
			lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
			require.Len(t, lines, workers*points)
			for _, l := range lines {
				require.Regexp(t, `^\d+ \d\.0 \d$`, l)
			}
		}
	}
}
