package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/storetest"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/validate"
)

var ctx = context.Background()

// newStore opens a store in a fresh temp dir; the test ends with a
// consistency check of the tree.
func newStore(t *testing.T, opts *filestore.Options) (*filestore.Store, string) {
	t.Helper()
	return storetest.New(t, opts)
}

func mustCheck(t *testing.T, s *filestore.Store) {
	t.Helper()
	storetest.Clean(t, s)
}

func newRun(t *testing.T, s *filestore.Store, expID string) entities.Run {
	t.Helper()
	r, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: expID, UserID: "u", StartTime: 1})
	require.NoError(t, err)
	return r
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func runDir(t *testing.T, root string, r entities.Run) string {
	t.Helper()
	return filepath.Join(root, r.Info.ExperimentID, r.Info.RunID)
}

func TestOpen_Bootstrap(t *testing.T) {
	t.Run("new root gets Default and .trash", func(t *testing.T) {
		s, root := newStore(t, nil)
		require.DirExists(t, filepath.Join(root, ".trash"))
		exp, err := s.GetExperiment(ctx, "0")
		require.NoError(t, err)
		require.Equal(t, "Default", exp.Name)
		require.Equal(t, filestore.FileURI(root)+"/0", exp.ArtifactLocation)
	})
	t.Run("existing empty root gets only .trash", func(t *testing.T) {
		root := t.TempDir()
		s, err := filestore.Open(root, nil)
		require.NoError(t, err)
		require.DirExists(t, filepath.Join(root, ".trash"))
		require.NoDirExists(t, filepath.Join(root, "0"))
		_, err = s.GetExperiment(ctx, "0")
		require.ErrorIs(t, err, errs.ErrNotFound)
	})
	t.Run("file URI", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "m")
		s, err := filestore.Open(filestore.FileURI(root), nil)
		require.NoError(t, err)
		require.Equal(t, root, s.Root())
	})
	t.Run("http URI is not supported", func(t *testing.T) {
		_, err := filestore.Open("http://localhost:5000", nil)
		require.ErrorIs(t, err, errs.ErrNotSupported)
	})
}

func TestStore_CreateExperiment_Errors(t *testing.T) {
	s, _ := newStore(t, nil)
	_, err := s.CreateExperiment(ctx, "taken", "", nil)
	require.NoError(t, err)
	del, err := s.CreateExperiment(ctx, "deleted", "", nil)
	require.NoError(t, err)
	require.NoError(t, s.DeleteExperiment(ctx, del))
	cases := []struct {
		name, exp string
		tags      []entities.ExperimentTag
		want      error
	}{
		{"empty name", "", nil, errs.ErrInvalidParameter},
		{"too long", strings.Repeat("x", 501), nil, errs.ErrInvalidParameter},
		{"duplicate", "taken", nil, errs.ErrAlreadyExists},
		{"duplicate of deleted", "deleted", nil, errs.ErrAlreadyExists},
		{"bad tag key", "ok1", []entities.ExperimentTag{{Key: "a//b", Value: "v"}}, errs.ErrInvalidParameter},
		{"tag key escapes", "ok2", []entities.ExperimentTag{{Key: "../x", Value: "v"}}, errs.ErrInvalidParameter},
		{"single quote", "it's", nil, errs.ErrInvalidParameter},
		{"lone quote", "'", nil, errs.ErrInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _, err := s.ListExperiments(ctx, entities.ViewAll)
			require.NoError(t, err)
			_, err = s.CreateExperiment(ctx, c.exp, "", c.tags)
			require.ErrorIs(t, err, c.want)
			after, _, err := s.ListExperiments(ctx, entities.ViewAll)
			require.NoError(t, err)
			require.Len(t, after, len(before), "nothing created")
		})
	}
}

func TestStore_Experiment_Lifecycle(t *testing.T) {
	s, root := newStore(t, nil)
	id, err := s.CreateExperiment(ctx, "life", "", []entities.ExperimentTag{{Key: "team", Value: "ml"}})
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^[1-9][0-9]{17}$`), id)
	r1 := newRun(t, s, id)
	r2 := newRun(t, s, id)
	require.NoError(t, s.DeleteRun(ctx, r2.Info.RunID))

	require.ErrorIs(t, s.DeleteExperiment(ctx, "0"), errs.ErrInternal)
	require.NoError(t, s.DeleteExperiment(ctx, id))
	require.NoDirExists(t, filepath.Join(root, id))
	require.DirExists(t, filepath.Join(root, ".trash", id))
	exp, err := s.GetExperiment(ctx, id)
	require.NoError(t, err)
	require.Equal(t, entities.StageDeleted, exp.LifecycleStage)
	require.Equal(t, map[string]string{"team": "ml"}, exp.Tags)
	for _, r := range []entities.Run{r1, r2} {
		info, err := s.GetRunInfo(ctx, r.Info.RunID)
		require.NoError(t, err)
		require.Equal(t, entities.StageDeleted, info.LifecycleStage)
		require.NotNil(t, info.DeletedTime)
	}
	_, err = s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: id})
	require.ErrorIs(t, err, errs.ErrInvalidState)
	err = s.RenameExperiment(ctx, id, "new")
	require.ErrorIs(t, err, errs.ErrInvalidState)
	require.Equal(t, "INTERNAL_ERROR", errs.Code(err))
	require.ErrorIs(t, s.SetExperimentTag(ctx, id, "k", "v"), errs.ErrInvalidParameter)
	require.ErrorIs(t, s.DeleteExperiment(ctx, id), errs.ErrNotFound)

	require.NoError(t, s.RestoreExperiment(ctx, id))
	require.ErrorIs(t, s.RestoreExperiment(ctx, id), errs.ErrNotFound)
	for _, r := range []entities.Run{r1, r2} { // restore brings back every deleted run
		info, err := s.GetRunInfo(ctx, r.Info.RunID)
		require.NoError(t, err)
		require.Equal(t, entities.StageActive, info.LifecycleStage)
		require.Nil(t, info.DeletedTime)
		require.NotContains(t, readFile(t, filepath.Join(root, id, r.Info.RunID, "meta.yaml")), "deleted_time")
	}
	require.NoError(t, s.RenameExperiment(ctx, id, "renamed"))
	require.ErrorIs(t, s.RenameExperiment(ctx, id, "renamed"), errs.ErrAlreadyExists)
	got, err := s.GetExperimentByName(ctx, "renamed")
	require.NoError(t, err)
	require.Equal(t, id, got.ExperimentID)
	_, err = s.GetExperimentByName(ctx, "life")
	require.ErrorIs(t, err, errs.ErrNotFound)
	require.NoError(t, s.DeleteExperimentTag(ctx, id, "team"))
	require.ErrorIs(t, s.DeleteExperimentTag(ctx, id, "team"), errs.ErrNotFound)
}

func TestStore_GetExperiment_BadID(t *testing.T) {
	s, _ := newStore(t, nil)
	for _, id := range []string{"", "../0", "-1", "a/b", strings.Repeat("1", 65)} {
		_, err := s.GetExperiment(ctx, id)
		require.ErrorIs(t, err, errs.ErrInvalidParameter, id)
		var ve *validate.Error
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "experiment_id", ve.Field)
	}
	_, err := s.GetExperiment(ctx, "12345")
	require.ErrorIs(t, err, errs.ErrNotFound)
}

func TestStore_CreateRun_Name(t *testing.T) {
	s, _ := newStore(t, nil)
	tag := func(v string) []entities.RunTag { return []entities.RunTag{{Key: entities.TagRunName, Value: v}} }
	cases := []struct {
		name    string
		runName string
		tags    []entities.RunTag
		want    string // "" = random
		err     error
	}{
		{"argument", "a", nil, "a", nil},
		{"tag", "", tag("b"), "b", nil},
		{"both equal", "c", tag("c"), "c", nil},
		{"both differ", "c", tag("d"), "", errs.ErrInvalidParameter},
		{"neither", "", nil, "", nil},
		{"empty tag", "", tag(""), "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := s.CreateRun(ctx, filestore.CreateRunOptions{RunName: c.runName, Tags: c.tags, UserID: "u"})
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
				return
			}
			require.NoError(t, err)
			got, err := s.GetRun(ctx, r.Info.RunID)
			require.NoError(t, err)
			if c.want == "" {
				require.Regexp(t, `^[a-z]+-[a-z]+-\d{1,4}$`, got.Info.RunName)
			} else {
				require.Equal(t, c.want, got.Info.RunName)
			}
			require.Equal(t, got.Info.RunName, got.Data.Tags[entities.TagRunName])
			require.Regexp(t, `^[0-9a-f]{32}$`, got.Info.RunID)
			require.Equal(t, entities.StatusRunning, got.Info.Status)
		})
	}
}

func TestStore_GetRun_Errors(t *testing.T) {
	s, _ := newStore(t, nil)
	_, err := s.GetRun(ctx, "0123456789abcdef0123456789abcdef")
	require.ErrorIs(t, err, errs.ErrNotFound)
	for _, id := range []string{"", "../x", "-ab", "a b", strings.Repeat("a", 257)} {
		_, err := s.GetRun(ctx, id)
		require.ErrorIs(t, err, errs.ErrInvalidParameter, id)
	}
}

func TestStore_LogMetric(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	id := r.Info.RunID
	require.NoError(t, s.LogBatch(ctx, id, []entities.Metric{
		{Key: "loss", Value: 0.5, Timestamp: 1700000002000, Step: 0},
		{Key: "loss", Value: 0.25, Timestamp: 1700000003000, Step: 1},
		{Key: "eval/acc", Value: 1.0, Timestamp: 1700000003000, Step: 1},
	}, nil, nil))
	dir := runDir(t, root, r)
	require.Equal(t, "1700000002000 0.5 0\n1700000003000 0.25 1\n", readFile(t, filepath.Join(dir, "metrics", "loss")))
	require.Equal(t, "1700000003000 1.0 1\n", readFile(t, filepath.Join(dir, "metrics", "eval", "acc")))
	h, err := s.GetMetricHistory(ctx, id, "loss")
	require.NoError(t, err)
	require.Len(t, h, 2)
	require.Equal(t, 0.25, h[1].Value)
	h, err = s.GetMetricHistory(ctx, id, "never")
	require.NoError(t, err)
	require.Empty(t, h)
}

func TestStore_LogMetric_Rejected(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	require.NoError(t, s.LogMetric(ctx, r.Info.RunID, entities.Metric{Key: "a", Value: 1}))
	cases := []struct {
		name string
		m    entities.Metric
		want error
	}{
		{"empty key", entities.Metric{Key: ""}, errs.ErrInvalidParameter},
		{"double slash", entities.Metric{Key: "a//b"}, errs.ErrInvalidParameter},
		{"dot dot", entities.Metric{Key: "../escape"}, errs.ErrInvalidParameter},
		{"absolute", entities.Metric{Key: "/etc/passwd"}, errs.ErrInvalidParameter},
		{"bad char", entities.Metric{Key: "a@b"}, errs.ErrInvalidParameter},
		{"negative timestamp", entities.Metric{Key: "b", Timestamp: -1}, errs.ErrInvalidParameter},
		{"file is a prefix dir", entities.Metric{Key: "a/b"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.LogMetric(ctx, r.Info.RunID, c.m)
			if c.want == nil {
				require.Error(t, err)
			} else {
				require.ErrorIs(t, err, c.want)
			}
		})
	}
	// nothing but metric "a" was written
	ents, err := os.ReadDir(filepath.Join(runDir(t, root, r), "metrics"))
	require.NoError(t, err)
	require.Len(t, ents, 1)
}

func TestStore_Log_DeletedRun(t *testing.T) {
	s, _ := newStore(t, nil)
	r := newRun(t, s, "0")
	id := r.Info.RunID
	require.NoError(t, s.DeleteRun(ctx, id))
	require.NoError(t, s.DeleteRun(ctx, id), "idempotent")
	for name, err := range map[string]error{
		"metric": s.LogMetric(ctx, id, entities.Metric{Key: "m", Value: 1}),
		"param":  s.LogParam(ctx, id, "p", "v"),
		"tag":    s.SetTag(ctx, id, "t", "v"),
		"batch":  s.LogBatch(ctx, id, []entities.Metric{{Key: "m"}}, nil, nil),
		"inputs": s.LogInputs(ctx, id, []entities.DatasetInput{{Dataset: entities.Dataset{Name: "d", Digest: "x"}}}, nil),
	} {
		require.ErrorIs(t, err, errs.ErrInvalidParameter, name)
	}
	_, err := s.UpdateRunInfo(ctx, id, entities.StatusFinished, nil, "")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	got, err := s.GetRun(ctx, id)
	require.NoError(t, err)
	require.Empty(t, got.Data.Metrics)
	require.Empty(t, got.Data.Params)
	require.NoError(t, s.RestoreRun(ctx, id))
	require.NoError(t, s.LogMetric(ctx, id, entities.Metric{Key: "m", Value: 1}))
}

func TestStore_LogParam_Immutable(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	id := r.Info.RunID
	require.NoError(t, s.LogParam(ctx, id, "nested/p", "multi\nline"))
	require.Equal(t, "multi\nline", readFile(t, filepath.Join(runDir(t, root, r), "params", "nested", "p")))
	require.NoError(t, s.LogParam(ctx, id, "nested/p", "multi\nline"), "same value again")
	err := s.LogParam(ctx, id, "nested/p", "other")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.Equal(t, "multi\nline", readFile(t, filepath.Join(runDir(t, root, r), "params", "nested", "p")), "old value kept")
	require.Equal(t, "INVALID_PARAMETER_VALUE", errs.Code(err))
	// a batch with a conflicting param writes nothing at all (Python writes
	// the params before the conflict); its code is INTERNAL_ERROR, as in
	// MLflow's log_batch
	err = s.LogBatch(ctx, id, []entities.Metric{{Key: "m", Value: 1}}, []entities.Param{{Key: "new", Value: "1"}, {Key: "nested/p", Value: "x"}}, nil)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.Equal(t, "INTERNAL_ERROR", errs.Code(err))
	run, err := s.GetRun(ctx, id)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"nested/p": "multi\nline"}, run.Data.Params)
	require.Empty(t, run.Data.Metrics)
}

func TestStore_LogParam_Truncation(t *testing.T) {
	long := strings.Repeat("é", 6001)
	s, _ := newStore(t, nil)
	r := newRun(t, s, "0")
	require.NoError(t, s.LogParam(ctx, r.Info.RunID, "p", long))
	run, err := s.GetRun(ctx, r.Info.RunID)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("é", 6000), run.Data.Params["p"])

	off := false
	s2, _ := newStore(t, &filestore.Options{TruncateLongValues: &off})
	r2 := newRun(t, s2, "0")
	require.ErrorIs(t, s2.LogParam(ctx, r2.Info.RunID, "p", long), errs.ErrInvalidParameter)
}

func TestStore_Tags(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	id := r.Info.RunID
	require.NoError(t, s.SetTag(ctx, id, "t", "v1"))
	require.NoError(t, s.SetTag(ctx, id, "t", "v2\n"))
	require.Equal(t, "v2\n", readFile(t, filepath.Join(runDir(t, root, r), "tags", "t")))
	require.NoError(t, s.SetTag(ctx, id, entities.TagRunName, "renamed"))
	info, err := s.GetRunInfo(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "renamed", info.RunName)
	require.Contains(t, readFile(t, filepath.Join(runDir(t, root, r), "meta.yaml")), "run_name: renamed\n")
	require.NoError(t, s.SetTag(ctx, id, entities.TagRunName, "")) // an empty name keeps the old one
	info, err = s.GetRunInfo(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "renamed", info.RunName)
	require.NoError(t, s.DeleteTag(ctx, id, "t"))
	require.ErrorIs(t, s.DeleteTag(ctx, id, "t"), errs.ErrNotFound)
	require.ErrorIs(t, s.SetTag(ctx, id, "bad//key", "v"), errs.ErrInvalidParameter)
}

func TestStore_RunMeta_DeletedTime(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	meta := filepath.Join(runDir(t, root, r), "meta.yaml")
	require.NotContains(t, readFile(t, meta), "deleted_time", "create_run ends without the key")
	require.NoError(t, s.DeleteRun(ctx, r.Info.RunID))
	require.Regexp(t, `(?m)^deleted_time: \d+$`, readFile(t, meta))
	require.Contains(t, readFile(t, meta), "lifecycle_stage: deleted\n")
	require.NoError(t, s.RestoreRun(ctx, r.Info.RunID))
	require.NotContains(t, readFile(t, meta), "deleted_time")
	end := int64(1700000008000)
	_, err := s.UpdateRunInfo(ctx, r.Info.RunID, entities.StatusFinished, &end, "")
	require.NoError(t, err)
	require.Contains(t, readFile(t, meta), "end_time: 1700000008000\n")
	zero := int64(0) // MLflow ignores a zero end time
	_, err = s.UpdateRunInfo(ctx, r.Info.RunID, entities.StatusFailed, &zero, "")
	require.NoError(t, err)
	require.Contains(t, readFile(t, meta), "end_time: 1700000008000\n")
	require.Contains(t, readFile(t, meta), "status: 4\n")
}

func TestStore_ListRuns_BrokenRunReported(t *testing.T) {
	s, root := newStore(t, nil)
	good := newRun(t, s, "0")
	bad := newRun(t, s, "0")
	badMeta := newRun(t, s, "0")
	// a stray file in metrics/ makes the run unreadable, not the listing
	require.NoError(t, os.WriteFile(filepath.Join(runDir(t, root, bad), "metrics", ".DS_Store"), []byte("\x00\x01junk"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(runDir(t, root, badMeta), "meta.yaml"), nil, 0o644))
	runs, skipped, err := s.ListRuns(ctx, "0", entities.ViewAll)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, good.Info.RunID, runs[0].Info.RunID)
	require.Len(t, skipped, 2)
	for _, sk := range skipped {
		require.ErrorIs(t, sk, errs.ErrCorrupt)
	}
	_, err = s.GetRun(ctx, bad.Info.RunID)
	var ce *layout.CorruptionError
	require.ErrorAs(t, err, &ce)
	probsRes, err := s.Check(ctx, nil)
	probs := probsRes.Problems
	require.NoError(t, err)
	require.Len(t, probs, 2)
	// repair by hand so the cleanup check passes
	require.NoError(t, os.Remove(filepath.Join(runDir(t, root, bad), "metrics", ".DS_Store")))
	require.NoError(t, os.RemoveAll(runDir(t, root, badMeta)))
}

func TestStore_Inputs(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	ds := entities.DatasetInput{
		Dataset: entities.Dataset{Name: "iris", Digest: "abc123", SourceType: "local", Source: `{"uri": "iris.csv"}`},
		Tags:    []entities.InputTag{{Key: entities.TagDatasetContext, Value: "train"}},
	}
	require.NoError(t, s.LogInputs(ctx, r.Info.RunID, []entities.DatasetInput{ds}, []entities.ModelInput{{ModelID: "m-e5641962c7e5467e9a1a0c715a129ecd"}}))
	require.NoError(t, s.LogInputs(ctx, r.Info.RunID, []entities.DatasetInput{ds}, nil), "again: no-op")
	require.FileExists(t, filepath.Join(root, "0", "datasets", "65889691a86609276f6fa92515985e9b", "meta.yaml"))
	run, err := s.GetRun(ctx, r.Info.RunID)
	require.NoError(t, err)
	require.Len(t, run.Inputs.DatasetInputs, 1)
	require.Equal(t, ds.Dataset, run.Inputs.DatasetInputs[0].Dataset)
	require.Equal(t, ds.Tags, run.Inputs.DatasetInputs[0].Tags)
	require.Equal(t, []entities.ModelInput{{ModelID: "m-e5641962c7e5467e9a1a0c715a129ecd"}}, run.Inputs.ModelInputs)
	require.ErrorIs(t, s.LogInputs(ctx, r.Info.RunID, nil, []entities.ModelInput{{ModelID: "../x"}}), errs.ErrInvalidPath)
}

// Many goroutines append to one metric: every line lands once and parses.
func TestStore_LogMetric_Concurrent(t *testing.T) {
	s, _ := newStore(t, nil)
	r := newRun(t, s, "0")
	const writers, points = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < points; i++ {
				require.NoError(t, s.LogMetric(ctx, r.Info.RunID, entities.Metric{Key: "m", Value: float64(i), Timestamp: int64(w), Step: int64(i)}))
			}
		}(w)
	}
	wg.Wait()
	h, err := s.GetMetricHistory(ctx, r.Info.RunID, "m")
	require.NoError(t, err)
	require.Len(t, h, writers*points)
	next := make([]int64, writers)
	for _, m := range h { // each writer's points appear in its own order
		require.Equal(t, next[m.Timestamp], m.Step)
		next[m.Timestamp]++
	}
}

// Goroutines (each with its own Store, as separate processes would be)
// create one name: exactly one experiment, the rest get ErrAlreadyExists.
func TestStore_CreateExperiment_Exclusive(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	_, err := filestore.Open(root, nil)
	require.NoError(t, err)
	requireOneWins(t, 8, errs.ErrAlreadyExists, func(int) error {
		s, err := filestore.Open(root, nil)
		if err == nil {
			_, err = s.CreateExperiment(ctx, "same", "", nil)
		}
		return err
	})
	s, _ := filestore.Open(root, nil)
	requireOneExperimentCreated(t, s)
}

// Concurrent first logs of one param with different values: one wins.
func TestStore_LogParam_ConcurrentOneWins(t *testing.T) {
	s, _ := newStore(t, nil)
	r := newRun(t, s, "0")
	requireOneWins(t, 8, errs.ErrInvalidParameter, func(i int) error {
		return s.LogParam(ctx, r.Info.RunID, "p", fmt.Sprint(i))
	})
}

// requireOneExperimentCreated is the end state of a race to create one
// name, whether goroutines or processes ran it: Default and one more
// experiment, in a tree that checks clean.
func requireOneExperimentCreated(t *testing.T, s *filestore.Store) {
	t.Helper()
	exps, _, err := s.ListExperiments(ctx, entities.ViewAll)
	require.NoError(t, err)
	require.Len(t, exps, 2)
	mustCheck(t, s)
}

// requireOneWins runs n calls at once (call gets its index) and requires
// that exactly one succeeds and each of the others fails with want: the
// contract of every create-or-refuse race.
func requireOneWins(t *testing.T, n int, want error, call func(i int) error) {
	t.Helper()
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errc <- call(i)
		}(i)
	}
	wg.Wait()
	close(errc)
	ok := 0
	for err := range errc {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, want)
		}
	}
	require.Equal(t, 1, ok)
}

func TestStore_FileModes(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	require.NoError(t, s.LogParam(ctx, r.Info.RunID, "p", "v"))
	require.NoError(t, s.LogMetric(ctx, r.Info.RunID, entities.Metric{Key: "m", Value: math.Pi}))
	umask := currentUmask(t)
	for _, p := range []string{"meta.yaml", "params/p", "metrics/m", "tags/mlflow.runName"} {
		fi, err := os.Stat(filepath.Join(runDir(t, root, r), p))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o666)&^umask, fi.Mode().Perm(), p)
	}
	fi, err := os.Stat(filepath.Join(runDir(t, root, r), "metrics"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o777)&^umask, fi.Mode().Perm())
}

// currentUmask learns the umask from a file created with mode 0666.
func currentUmask(t *testing.T) os.FileMode {
	p := filepath.Join(t.TempDir(), "probe")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
	require.NoError(t, err)
	f.Close()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return 0o666 &^ fi.Mode().Perm()
}

func TestStore_SkippedError(t *testing.T) {
	err := &filestore.SkippedError{Path: "x", Err: errs.ErrCorrupt}
	require.True(t, errors.Is(err, errs.ErrCorrupt))
}

// A root that cannot be a store gets one clear error from Open, naming the
// path and what to do, and nothing is created.
func TestOpen_RootNotAFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mlruns")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	cases := []struct {
		name, root, want string
	}{
		{"regular file", file, "is not a folder (it is a regular file); point the root"},
		{"path through a file", filepath.Join(file, "sub"), "a part of the path is a file, not a folder"},
	}
	if runtime.GOOS != "windows" {
		dangling := filepath.Join(dir, "dangling")
		require.NoError(t, os.Symlink(filepath.Join(dir, "nothing"), dangling))
		cases = append(cases, struct{ name, root, want string }{"dangling symlink", dangling, "which does not exist; create that folder"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := filestore.Open(c.root, nil)
			require.ErrorIs(t, err, errs.ErrInvalidParameter)
			require.ErrorContains(t, err, c.root)
			require.ErrorContains(t, err, c.want)
			require.ErrorIs(t, filestore.CheckRoot(c.root), errs.ErrInvalidParameter)
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			require.Equal(t, "x", string(data), "the file is left alone")
			require.NoFileExists(t, filepath.Join(dir, "nothing"))
		})
	}
}

// MLFLOW_TRUNCATE_LONG_VALUES holding a value Python refuses fails only the
// calls that would truncate (Python reads it only for a value over its
// limit), with Python's message; short values log as usual, and nothing is
// written by the refused call.
func TestStore_LogParam_BadTruncateEnv(t *testing.T) {
	t.Setenv("MLFLOW_TRUNCATE_LONG_VALUES", "yes")
	s, _ := newStore(t, nil)
	r := newRun(t, s, "0")
	require.NoError(t, s.LogParam(ctx, r.Info.RunID, "short", "v"))
	long := strings.Repeat("x", 6001)
	for _, call := range []func() error{
		func() error { return s.LogParam(ctx, r.Info.RunID, "long", long) },
		func() error {
			return s.LogBatch(ctx, r.Info.RunID, nil, []entities.Param{{Key: "long", Value: long}}, nil)
		},
	} {
		err := call()
		require.ErrorIs(t, err, errs.ErrInvalidParameter)
		require.EqualError(t, err, "mlruns: MLFLOW_TRUNCATE_LONG_VALUES value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got yes")
	}
	run, err := s.GetRun(ctx, r.Info.RunID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"short": "v"}, run.Data.Params)
	_, err = s.CreateExperiment(ctx, "e", "/tmp/x", nil)
	require.NoError(t, err, "the other variable is unset")
	t.Setenv("MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH", "12.0")
	_, err = s.CreateExperiment(ctx, "f", "/tmp/x", nil)
	require.EqualError(t, err, "mlruns: Failed to convert '12.0' for MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH: invalid literal for int() with base 10: '12.0'")
	_, err = s.CreateExperiment(ctx, "g", "", nil)
	require.NoError(t, err, "read only for a given location, as Python")
}

func TestStore_CreateRun_ChosenID(t *testing.T) {
	s, _ := newStore(t, nil)
	expID, err := s.CreateExperiment(ctx, "other", "", nil)
	require.NoError(t, err)
	const id = "0123456789abcdef0123456789abcdef"
	r, err := s.CreateRun(ctx, filestore.CreateRunOptions{RunID: id, StartTime: 5})
	require.NoError(t, err)
	require.Equal(t, id, r.Info.RunID)
	got, err := s.GetRunInfo(ctx, id)
	require.NoError(t, err)
	require.Equal(t, int64(5), got.StartTime)
	require.Equal(t, "0", got.ExperimentID)
	require.True(t, strings.HasSuffix(got.ArtifactURI, "/"+id+"/artifacts"), got.ArtifactURI)
	cases := []struct {
		name, id, exp string
		err           error
	}{
		{"taken in its experiment", id, "0", errs.ErrAlreadyExists},
		{"taken in another experiment", id, expID, errs.ErrAlreadyExists},
		{"upper case", strings.ToUpper(id), "0", errs.ErrInvalidParameter},
		{"short", id[:31], "0", errs.ErrInvalidParameter},
		{"path", "../" + id[:29], "0", errs.ErrInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.CreateRun(ctx, filestore.CreateRunOptions{RunID: c.id, ExperimentID: c.exp})
			require.ErrorIs(t, err, c.err)
		})
	}
	require.NoError(t, s.DeleteRun(ctx, id))
	_, err = s.CreateRun(ctx, filestore.CreateRunOptions{RunID: id, ExperimentID: expID})
	require.ErrorIs(t, err, errs.ErrAlreadyExists, "a deleted run still holds its id")
}

func TestStore_CreateLoggedModel_ChosenID(t *testing.T) {
	s, _ := newStore(t, nil)
	const id = "m-0123456789abcdef0123456789abcdef"
	m, err := s.CreateLoggedModel(ctx, "0", filestore.CreateLoggedModelOptions{ModelID: id, Name: "net", CreationTime: 1_700_000_000_000})
	require.NoError(t, err)
	require.Equal(t, id, m.ModelID)
	got, err := s.GetLoggedModel(ctx, id)
	require.NoError(t, err)
	require.Equal(t, int64(1_700_000_000_000), got.CreationTimestamp)
	require.True(t, strings.HasSuffix(got.ArtifactLocation, "/models/"+id+"/artifacts"), got.ArtifactLocation)
	for _, c := range []struct {
		name, id string
		err      error
	}{
		{"taken", id, errs.ErrAlreadyExists},
		{"no prefix", id[2:], errs.ErrInvalidParameter},
		{"upper case", "m-" + strings.ToUpper(id[2:]), errs.ErrInvalidParameter},
		{"path", "m-../" + id[6:], errs.ErrInvalidParameter},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.CreateLoggedModel(ctx, "0", filestore.CreateLoggedModelOptions{ModelID: c.id})
			require.ErrorIs(t, err, c.err)
		})
	}
}

func TestStore_MetricFileStamp_ChangesWithTheFile(t *testing.T) {
	s, _ := newStore(t, nil)
	r, err := s.CreateRun(ctx, filestore.CreateRunOptions{})
	require.NoError(t, err)
	id := r.Info.RunID
	_, err = s.MetricFileStamp(ctx, id, "loss")
	require.ErrorIs(t, err, errs.ErrNotFound)
	require.NoError(t, s.LogMetric(ctx, id, entities.Metric{Key: "loss", Value: 1, Timestamp: 1, Step: 0}))
	a, err := s.MetricFileStamp(ctx, id, "loss")
	require.NoError(t, err)
	b, err := s.MetricFileStamp(ctx, id, "loss")
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.NoError(t, s.LogMetric(ctx, id, entities.Metric{Key: "loss", Value: 2, Timestamp: 2, Step: 1}))
	c, err := s.MetricFileStamp(ctx, id, "loss")
	require.NoError(t, err)
	require.Greater(t, c.Size, a.Size)
	_, err = s.MetricFileStamp(ctx, id, "../x")
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
}
