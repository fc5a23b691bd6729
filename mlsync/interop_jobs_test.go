package mlsync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/faultproxy"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/tracking"
)

// serverJobsAndFollow pushes with several jobs and follows live runs into
// the SQLite server of TestPush_Server_SQLite.
func serverJobsAndFollow(t *testing.T, srv *interoptest.Server) {
	t.Run("jobs give what one job gives", func(t *testing.T) {
		// Two trees made alike (experiments named after their subtests),
		// one pushed with one job and the other with four, give equal
		// reports but for the ids.
		var reps [2]*mlsync.Report
		var names [2]map[string]string // local id -> run name, to compare the runs
		for i, jobs := range []int{1, 4} {
			t.Run(fmt.Sprintf("jobs=%d", jobs), func(t *testing.T) {
				f := newServerSetup(t, srv) // experiments named after the subtest
				f.tr.addOddValues(t)
				model := f.tr.addModel(t)
				f.tr.addArtifacts(t)
				f.opts.Jobs = jobs
				reps[i] = f.push(t)
				ids := requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
				requireModelMirrored(t, f.tr.s, f.rest, model, ids)
				diffs, err := mlsync.Verify(context.Background(), f.tr.s, f.rest, f.opts)
				require.NoError(t, err)
				require.Empty(t, diffs)
				names[i] = map[string]string{}
				for _, id := range f.tr.all() {
					r, err := f.tr.s.GetRun(context.Background(), id)
					require.NoError(t, err)
					names[i][id] = r.Info.RunName
				}
				f.dst.reset()
				f.push(t)
				require.Zero(t, f.dst.total(), "jobs=%d: the second push sends nothing", jobs)
			})
		}
		norm := func(i int) *mlsync.Report {
			c := comparable(reps[i])
			for j := range c.Runs {
				c.Runs[j].RunID, c.Runs[j].ExperimentID = names[i][c.Runs[j].RunID], ""
			}
			for j := range c.Models {
				c.Models[j].ModelID, c.Models[j].ExperimentID = "", ""
			}
			return c
		}
		require.Equal(t, norm(0), norm(1))
	})

	t.Run("follow a live run", func(t *testing.T) {
		f := newServerSetup(t, srv)
		_, wait := liveRun(t, f.tr.s, f.tr.expA, 15)
		rounds := 0
		rep, err := mlsync.Follow(context.Background(), f.tr.s, f.dst, f.opts, mlsync.FollowOptions{
			Interval: 20 * time.Millisecond,
			Round:    func(n int, _ *mlsync.Report, err error) { rounds = n; require.NoError(t, err) },
		})
		wait()
		require.NoError(t, err)
		require.True(t, rep.Complete())
		require.Greater(t, rounds, 1)
		requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
	})

	// The destination is out of reach (every connection reset, or every
	// LogBatch answered 503) for the first round, then back: the next
	// round catches up, and Follow returns by itself.
	for _, tc := range []struct {
		name  string
		fault faultproxy.Rule
		probe bool // the round fails as a whole (the probe), not run by run
	}{
		{"down for a round", faultproxy.Rule{Fault: faultproxy.Reset(0)}, true},
		{"log-batch refused for a round", faultproxy.Rule{Match: faultproxy.Path("/api/2.0/mlflow/runs/log-batch"), Fault: faultproxy.Refuse(503, "")}, false},
	} {
		t.Run("follow "+tc.name, func(t *testing.T) {
			t.Setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
			proxy, err := faultproxy.New(srv.URL)
			require.NoError(t, err)
			t.Cleanup(proxy.Close)
			f := newServerSetup(t, srv)
			viaProxy, err := tracking.OpenStore(proxy.URL, nil)
			require.NoError(t, err)
			t.Cleanup(func() { viaProxy.Close() })
			o := f.opts
			o.Target = proxy.URL
			in := proxy.Inject(tc.fault)
			var errs []error
			var failed []int
			rep, err := mlsync.Follow(context.Background(), f.tr.s, viaProxy, o, mlsync.FollowOptions{
				Interval: 10 * time.Millisecond,
				Round: func(n int, rep *mlsync.Report, err error) {
					errs = append(errs, err)
					failed = append(failed, rep.Count(mlsync.RunFailed))
					proxy.Clear() // back after the first round
				},
			})
			require.NoError(t, err)
			require.True(t, rep.Complete(), rep.Summary())
			require.Positive(t, proxy.Fired(in))
			require.Len(t, errs, 2, "%v", errs)
			if tc.probe {
				require.Error(t, errs[0])
			} else {
				require.NoError(t, errs[0])
				require.Equal(t, 4, failed[0], fmt.Sprint(failed))
			}
			require.NoError(t, errs[1])
			require.Zero(t, failed[1])
			requireMirrored(t, f.tr.s, f.rest, sqlValue, true)
		})
	}
}
