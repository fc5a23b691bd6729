package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
)

// The search query of S6 and BenchmarkSearchRuns: a metric and a param
// filter and a metric order_by.
const (
	searchFilter = "metrics.m3 > 0.25 AND params.p2 != 'v0'"
	searchOrder  = "metrics.m7 DESC"
)

// makeSearchStore writes runs x metrics x params (5 points per metric) into
// a fresh store under dir, deterministically, and returns the store and the
// experiment id.
func makeSearchStore(dir string, runs, metrics, params int) (*filestore.Store, string, error) {
	s, err := filestore.Open(dir, nil)
	if err != nil {
		return nil, "", err
	}
	ctx := context.Background()
	expID, err := s.CreateExperiment(ctx, "bench", "", nil)
	if err != nil {
		return nil, "", err
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < runs; i++ {
		run, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: expID, StartTime: 1_700_000_000_000 + int64(i)})
		if err != nil {
			return nil, "", err
		}
		ms := make([]entities.Metric, 0, metrics*5)
		for k := 0; k < metrics; k++ {
			for step := 0; step < 5; step++ {
				ms = append(ms, entities.Metric{Key: fmt.Sprintf("m%d", k), Value: r.Float64(), Timestamp: int64(step), Step: int64(step)})
			}
		}
		ps := make([]entities.Param, params)
		for k := range ps {
			ps[k] = entities.Param{Key: fmt.Sprintf("p%d", k), Value: fmt.Sprintf("v%d", r.IntN(4))}
		}
		if err := s.LogBatch(ctx, run.Info.RunID, ms, ps, nil); err != nil {
			return nil, "", err
		}
	}
	return s, expID, nil
}

// readTree reads every file under dir once, so that a search benchmark
// starts from a tree in the page cache whichever side runs first (this VM
// evicts a tree written minutes ago, and the first side to search would
// pay disk reads the other then skips).
func readTree(dir string) error {
	buf := make([]byte, 64<<10)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		for {
			if _, err := f.Read(buf); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
		}
	})
}
