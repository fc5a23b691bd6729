package mlsync_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
)

// liveRun starts a RUNNING run in the tree and a goroutine that logs
// batches of points to it, then ends it; wait waits for the goroutine.
func liveRun(t *testing.T, s store.Store, exp string, batches int) (id string, wait func()) {
	t.Helper()
	ctx := context.Background()
	r, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: exp, StartTime: 1_700_000_000_000, RunName: "live"})
	require.NoError(t, err)
	id = r.Info.RunID
	var wg sync.WaitGroup
	var logErr error
	wg.Go(func() {
		for i := range int64(batches) {
			var ms []entities.Metric
			for j := range int64(50) {
				step := i*50 + j
				ms = append(ms, entities.Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: 1_700_000_000_000 + step, Step: step})
			}
			if logErr = s.LogBatch(ctx, id, ms, nil, nil); logErr != nil {
				return
			}
			time.Sleep(15 * time.Millisecond)
		}
		end := int64(1_700_000_100_000)
		_, logErr = s.UpdateRunInfo(ctx, id, entities.StatusFinished, &end, "")
	})
	return id, func() {
		wg.Wait()
		require.NoError(t, logErr)
	}
}

// A run logged to while Follow pushes arrives whole, finished, and Follow
// returns by itself once it is.
func TestFollow_LiveRun_ArrivesWhole(t *testing.T) {
	f := newFileSetup(t)
	id, wait := liveRun(t, f.tr.s, f.tr.expA, 20)
	var rounds []*mlsync.Report
	rep, err := mlsync.Follow(context.Background(), f.tr.s, f.dst, f.opts, mlsync.FollowOptions{
		Interval: 20 * time.Millisecond,
		Round:    func(n int, rep *mlsync.Report, err error) { require.NoError(t, err); rounds = append(rounds, rep) },
	})
	wait()
	require.NoError(t, err)
	require.True(t, rep.Complete())
	require.Zero(t, rep.Live)
	require.Greater(t, len(rounds), 1, "the live run took several rounds")
	require.Equal(t, 1, rounds[0].Live)
	var points int64
	for _, r := range rounds {
		for _, rr := range r.Runs {
			if rr.RunID == id {
				points += rr.Points
			}
		}
	}
	require.Equal(t, int64(20*50), points, "each point sent once")
	requireMirrored(t, f.tr.s, f.dstFS, exact, false)
}

// Follow ends when Stop is closed, after the round under way, and at
// once when ctx is cancelled; a RUNNING run alone never ends it.
func TestFollow_StopAndCancel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cancel  bool
		wantErr error
	}{
		{"stop", false, nil},
		{"cancel", true, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFileSetup(t)
			_, err := f.tr.s.CreateRun(context.Background(), store.CreateRunOptions{ExperimentID: f.tr.expA, RunName: "crashed"})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop := make(chan struct{})
			rounds := 0
			rep, err := mlsync.Follow(ctx, f.tr.s, f.dst, f.opts, mlsync.FollowOptions{
				Interval: time.Millisecond, Stop: stop,
				Round: func(n int, rep *mlsync.Report, err error) {
					rounds = n
					if n == 3 {
						if tc.cancel {
							cancel()
						} else {
							close(stop)
						}
					}
				},
			})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, 3, rounds)
			require.Equal(t, 1, rep.Live)
			requireMirrored(t, f.tr.s, f.dstFS, exact, false)
		})
	}
}

func TestFollow_InvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    func(*mlsync.Options, *mlsync.FollowOptions)
	}{
		{"dry run", func(o *mlsync.Options, _ *mlsync.FollowOptions) { o.DryRun = true }},
		{"negative interval", func(_ *mlsync.Options, fo *mlsync.FollowOptions) { fo.Interval = -time.Second }},
		{"negative jobs", func(o *mlsync.Options, _ *mlsync.FollowOptions) { o.Jobs = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFileSetup(t)
			o, fo := f.opts, mlsync.FollowOptions{}
			tc.o(&o, &fo)
			_, err := mlsync.Follow(context.Background(), f.tr.s, f.dst, o, fo)
			require.ErrorIs(t, err, errs.ErrInvalidParameter)
			require.Zero(t, f.dst.total())
		})
	}
}
