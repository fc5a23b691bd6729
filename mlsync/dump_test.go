package mlsync_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
)

// addRichContent gives the tree what the other helpers leave out: odd
// keys and values, a long history, over-long values, a deleted run.
func (tr *tree) addRichContent(t *testing.T) (lossy map[mlsync.LossKind]int64) {
	t.Helper()
	ctx := context.Background()
	long := make([]entities.Metric, 5000)
	for i := range long {
		long[i] = entities.Metric{Key: "eval/top-1 acc.v2", Value: math.Sin(float64(i)), Timestamp: 1_700_000_200_000 + int64(i), Step: int64(i)}
	}
	for i := 0; i < len(long); i += 1000 {
		require.NoError(t, tr.s.LogBatch(ctx, tr.kids[1], long[i:i+1000], nil, nil))
	}
	require.NoError(t, tr.s.LogBatch(ctx, tr.kids[1], nil,
		[]entities.Param{{Key: "a key/with.dots-and space", Value: "ünïcödé ✓"}, {Key: "huge", Value: strings.Repeat("p", 7000)}},
		[]entities.RunTag{{Key: "multi line", Value: "one\ntwo\n"}, {Key: "huge", Value: strings.Repeat("t", 9000)}}))
	gone, err := tr.s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: tr.expB, RunName: "gone", StartTime: 1_700_000_003_000})
	require.NoError(t, err)
	require.NoError(t, tr.s.LogMetric(ctx, gone.Info.RunID, entities.Metric{Key: "loss", Value: 3, Timestamp: 1_700_000_003_001, Step: 0}))
	require.NoError(t, tr.s.DeleteRun(ctx, gone.Info.RunID))
	// The file store, as Python's, truncates the long values on the way
	// in (a warning): the push has nothing to cut.
	return map[mlsync.LossKind]int64{}
}

// asOnSQLServer is a tree's dump as a SQL-backed server holds it: ±inf as
// ±MaxFloat64, exact duplicate points once, params cut at 6000 and tags at
// 8000 characters; creation times are the push's, so both sides drop them.
func asOnSQLServer(d map[string]any) map[string]any {
	for _, x := range d {
		x := x.(map[string]any)
		for _, r := range x["runs"].(map[string]any) {
			r := r.(map[string]any)
			for k, h := range r["metrics"].(map[string]any) {
				var pts []any
				for _, p := range h.([]any) {
					p := p.([]any)
					switch p[2] {
					case "inf":
						p[2] = math.MaxFloat64
					case "-inf":
						p[2] = -math.MaxFloat64
					}
					if n := len(pts); n > 0 && slices.Equal(pts[n-1].([]any), p) {
						continue
					}
					pts = append(pts, p)
				}
				r["metrics"].(map[string]any)[k] = pts
			}
			cut(r["params"].(map[string]any), 6000)
			cut(r["tags"].(map[string]any), 8000)
		}
		dropCreated(x)
	}
	return d
}

func dropCreated(x map[string]any) {
	for _, m := range x["models"].(map[string]any) {
		delete(m.(map[string]any), "created")
	}
}

func cut(m map[string]any, n int) {
	for k, v := range m {
		if s := v.(string); utf8.RuneCountInString(s) > n {
			m[k] = string([]rune(s)[:n])
		}
	}
}

// TestPush_Server_RichTree_PythonDumps: a tree with every feature the file
// store has, pushed into a server on SQLite and on PostgreSQL; Python's
// MlflowClient reads the server as Python's FileStore reads the tree, but
// for what the push reported lossy.
func TestPush_Server_RichTree_PythonDumps(t *testing.T) {
	for _, backend := range []interoptest.Backend{interoptest.SQLite, interoptest.Postgres} {
		t.Run(string(backend), func(t *testing.T) {
			srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: backend})
			f := newServerSetup(t, srv)
			f.tr.addOddValues(t)
			f.tr.addModelAt(t, 0)
			f.tr.addArtifacts(t)
			want := f.tr.addRichContent(t)
			rep := f.push(t)
			want[mlsync.LossInfinity], want[mlsync.LossNegativeZero], want[mlsync.LossDuplicatePoint] = 2, 1, 1
			require.Equal(t, want, rep.Lossy)
			prefix := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-"
			tree := asOnSQLServer(dump(t, nil, f.tr.root, prefix))
			require.Len(t, tree, 2)
			server := dump(t, srv.Env(), srv.URL, prefix, "by-source")
			for _, x := range server {
				dropCreated(x.(map[string]any))
			}
			require.Equal(t, tree, server)
		})
	}
}
