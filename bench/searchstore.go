package main

import (
	"context"
	"fmt"
	"math/rand/v2"

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
		run, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: expID, StartTime: int64(1_700_000_000_000 + i)})
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
