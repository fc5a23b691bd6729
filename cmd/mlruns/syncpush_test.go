package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
)

// The progress line on a fake terminal: drawn at once, redrawn in place
// at most every progressEvery (a shorter line blanks the rest of the
// longer one), cleared to an empty line.
func TestSyncProgress_Draws(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(1_700_000_000, 0)
	s := &syncProgress{w: &b, now: func() time.Time { return now }}
	s.update(mlsync.Progress{Runs: 12, RunsDone: 0})
	first := "\rsync: 0/12 run(s), 0 point(s), 0 B of artifacts"
	require.Equal(t, first, b.String())

	now = now.Add(progressEvery / 2)
	s.update(mlsync.Progress{Runs: 12, RunsDone: 1, Points: 1000})
	require.Equal(t, first, b.String(), "not redrawn within progressEvery")

	now = now.Add(progressEvery)
	s.update(mlsync.Progress{Runs: 12, RunsDone: 11, Points: 123456, ArtifactBytes: 3_100_000})
	second := "\rsync: 11/12 run(s), 123456 point(s), 3.1 MB of artifacts"
	require.Equal(t, first+second, b.String())

	now = now.Add(progressEvery)
	s.update(mlsync.Progress{Runs: 12, RunsDone: 12})
	third := "\rsync: 12/12 run(s), 0 point(s), 0 B of artifacts"
	pad := strings.Repeat(" ", len(second)-len(third))
	require.Equal(t, first+second+third+pad, b.String())

	s.clear()
	require.True(t, strings.HasSuffix(b.String(), "\r"+strings.Repeat(" ", len(third)-1)+"\r"), "%q", b.String())
	n := b.Len()
	s.clear()
	require.Equal(t, n, b.Len(), "nothing to clear twice")
}

func TestSyncProgress_NotInPipesOrJSON(t *testing.T) {
	for _, tc := range []struct {
		name   string
		asJSON bool
	}{{"pipe", false}, {"json", true}} {
		t.Run(tc.name, func(t *testing.T) {
			require.Nil(t, newSyncProgress(&bytes.Buffer{}, tc.asJSON))
		})
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {999, "999 B"}, {1000, "1.0 kB"}, {1_500_000, "1.5 MB"}, {2_000_000_000, "2.0 GB"}, {7e15, "7.0 PB"}, {7e18, "7000.0 PB"},
	} {
		require.Equal(t, tc.want, byteSize(tc.n), "%d", tc.n)
	}
}

func TestCLI_SyncPush_JobsFollowUsage(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	_, err := filestore.Open(root, nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"jobs zero", []string{"--jobs", "0"}, "--jobs must be at least 1"},
		{"jobs negative", []string{"--jobs", "-3"}, "--jobs must be at least 1"},
		{"jobs not a number", []string{"--jobs", "many"}, "jobs"},
		{"interval zero", []string{"--follow", "--interval", "0s"}, "--interval must be a positive duration"},
		{"interval negative", []string{"--follow", "--interval", "-1s"}, "--interval must be a positive duration"},
		{"follow a dry run", []string{"--follow", "--dry-run"}, "--follow and --dry-run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), append([]string{"--root", root, "sync", "push", "--to", "http://127.0.0.1:1"}, tc.args...), &out, &errOut)
			require.Equal(t, 2, code, errOut.String())
			require.Contains(t, errOut.String(), tc.want)
		})
	}
}

// endingWriter is stdout that ends a run, with one more point, when the
// first round's line is printed: the run is RUNNING for round 1 and
// finished for the next, whatever the machine's speed.
type endingWriter struct {
	bytes.Buffer
	s     store.Store
	runID string
	err   error
	ended bool
}

func (w *endingWriter) Write(b []byte) (int, error) {
	if !w.ended && bytes.Contains(b, []byte("round 1, ")) {
		w.ended = true
		ctx := context.Background()
		w.err = w.s.LogMetric(ctx, w.runID, entities.Metric{Key: "loss", Value: 0.5, Timestamp: 2, Step: 1})
		if w.err == nil {
			end := int64(3)
			_, w.err = w.s.UpdateRunInfo(ctx, w.runID, entities.StatusFinished, &end, "")
		}
	}
	return w.Buffer.Write(b)
}

// --follow against a real server: a run that is RUNNING when it starts
// and is ended after the first round takes a second round, each round
// that sent something prints its line, and the command exits 0 by itself.
func TestCLI_SyncPush_Follow(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	ctx := context.Background()
	live, err := s.CreateRun(ctx, store.CreateRunOptions{ExperimentID: "0", RunName: "live"})
	require.NoError(t, err)
	require.NoError(t, s.LogMetric(ctx, live.Info.RunID, entities.Metric{Key: "loss", Value: 1, Timestamp: 1, Step: 0}))
	out := &endingWriter{s: s, runID: live.Info.RunID}
	var errOut bytes.Buffer
	code := run(t.Context(), []string{"--root", root, "sync", "push", "--to", srv.URL, "--follow", "--interval", "100ms", "--jobs", "2"}, out, &errOut)
	require.NoError(t, out.err)
	require.Equal(t, 0, code, "%s%s", out.String(), errOut.String())
	require.Regexp(t, `round 1, \d\d:\d\d:\d\d, 1 live run\(s\): pushed to `+srv.URL+`: 1 experiment\(s\) \(0 created\), 1 run\(s\) \(1 created, 0 adopted, 0 updated, 0 unchanged, 0 failed\), 0 param\(s\), 1 tag\(s\), 1 point\(s\)`, out.String())
	require.Regexp(t, `round 2, \d\d:\d\d:\d\d, 0 live run\(s\): pushed to `+srv.URL+`: 1 experiment\(s\) \(0 created\), 1 run\(s\) \(0 created, 0 adopted, 1 updated, 0 unchanged, 0 failed\), 0 param\(s\), 0 tag\(s\), 1 point\(s\)`, out.String())
	require.Contains(t, out.String(), "followed 2 round(s): every selected run is finished and on "+srv.URL)
	require.NotContains(t, errOut.String(), "\r", "no progress line off a terminal")
}
