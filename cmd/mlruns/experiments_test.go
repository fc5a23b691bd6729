package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/storetest"
)

// invokeCLI runs the command line on root, as a user would, and returns
// what it printed and its exit code.
func invokeCLI(t *testing.T, root string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), append([]string{"--root", root}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

// testClock is the store's clock in the listing tree: set before each
// step, so creation and deletion times do not depend on how often the
// store reads the clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// listingTree is a small store with every case the listings show: active
// and deleted experiments and runs, running/finished/failed runs, a child
// run, a dataset input, NaN, a long float repr, a tag with a newline.
type listingTree struct {
	root string
	exp  map[string]string // experiment name -> id
	run  map[string]string // run name -> id
	// ids lists the real ids and their placeholders, in creation order.
	ids []string
}

// The tree's epoch and artifact root: fixed, so outputs are too.
var (
	treeT0           = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	treeArtifactRoot = "file:///srv/mlruns"
)

func newListingTree(t *testing.T) *listingTree {
	t.Helper()
	ctx := t.Context()
	clock := &testClock{t: treeT0}
	tr := &listingTree{root: filepath.Join(t.TempDir(), "mlruns"), exp: map[string]string{}, run: map[string]string{}}
	s, err := filestore.Open(tr.root, &filestore.Options{Now: clock.now, ArtifactRoot: treeArtifactRoot})
	require.NoError(t, err)
	at := func(d time.Duration) int64 { return treeT0.Add(d).UnixMilli() }

	exp := func(name string, d time.Duration, tags ...entities.ExperimentTag) {
		clock.set(treeT0.Add(d))
		id, err := s.CreateExperiment(ctx, name, "", tags)
		require.NoError(t, err)
		tr.exp[name] = id
		// same length as the real 18-digit id, so tables stay aligned
		tr.ids = append(tr.ids, id, fmt.Sprintf("%018d", len(tr.exp)))
	}
	// newRun creates a run with params and metric histories (step i, a
	// second apart) and ends it unless status is RUNNING.
	newRun := func(name, expName string, start, length time.Duration, status entities.RunStatus,
		params map[string]string, metrics map[string][]float64, tags ...entities.RunTag) {
		clock.set(treeT0.Add(start))
		r, err := s.CreateRun(ctx, filestore.CreateRunOptions{
			ExperimentID: tr.exp[expName], UserID: "alice", StartTime: at(start), RunName: name, Tags: tags,
		})
		require.NoError(t, err)
		id := r.Info.RunID
		tr.run[name] = id
		tr.ids = append(tr.ids, id, fmt.Sprintf("r%031d", len(tr.run)))
		var ps []entities.Param
		for k, v := range params {
			ps = append(ps, entities.Param{Key: k, Value: v})
		}
		var ms []entities.Metric
		for k, vs := range metrics {
			for i, v := range vs {
				ms = append(ms, entities.Metric{Key: k, Value: v, Step: int64(i), Timestamp: at(start + time.Duration(i)*time.Second)})
			}
		}
		require.NoError(t, s.LogBatch(ctx, id, ms, ps, nil))
		if status != entities.StatusRunning {
			end := at(start + length)
			_, err := s.UpdateRunInfo(ctx, id, status, &end, "")
			require.NoError(t, err)
		}
	}

	exp("mnist", time.Hour, entities.ExperimentTag{Key: "team", Value: "vision"},
		entities.ExperimentTag{Key: entities.TagNoteContent, Value: "Digits, 28x28."})
	exp("cifar10", 2*time.Hour, entities.ExperimentTag{Key: "team", Value: "vision"})
	exp("scratch", 3*time.Hour)

	newRun("baseline", "mnist", 70*time.Minute, 5*time.Minute+30*time.Second, entities.StatusFinished,
		map[string]string{"lr": "0.01", "batch_size": "64", "optimizer": "sgd"},
		map[string][]float64{"loss": {2.3, 1.1, 0.62, 0.41, 0.30800000000000005}, "accuracy": {0.52, 0.81, 0.9, 0.93, 0.9412}},
		entities.RunTag{Key: "stage", Value: "baseline"},
		entities.RunTag{Key: entities.TagNoteContent, Value: "First try.\nSGD, no schedule."})
	require.NoError(t, s.LogInputs(ctx, tr.run["baseline"], []entities.DatasetInput{{
		Dataset: entities.Dataset{Name: "mnist-train", Digest: "3f2a9c1e", SourceType: "local", Source: `{"uri": "data/mnist.csv"}`},
		Tags:    []entities.InputTag{{Key: entities.TagDatasetContext, Value: "train"}},
	}}, nil))
	newRun("adam", "mnist", 80*time.Minute, 2*time.Minute+5*time.Second, entities.StatusFinished,
		map[string]string{"lr": "0.001", "batch_size": "64", "optimizer": "adam"},
		map[string][]float64{"loss": {1.9, 0.55, 0.21}, "accuracy": {0.7, 0.95, 0.9812}, "val_loss": {0.25}},
		entities.RunTag{Key: "stage", Value: "tuning"})
	newRun("adam-fold-0", "mnist", 81*time.Minute, 45*time.Second+300*time.Millisecond, entities.StatusFailed,
		map[string]string{"fold": "0"}, map[string][]float64{"accuracy": {0.975}},
		entities.RunTag{Key: entities.TagParentRunID, Value: tr.run["adam"]})
	newRun("discarded", "mnist", 85*time.Minute, 800*time.Millisecond, entities.StatusKilled,
		map[string]string{"lr": "1.0"}, map[string][]float64{"loss": {9.5}})
	newRun("crashed", "mnist", 90*time.Minute, 0, entities.StatusRunning,
		map[string]string{"lr": "0.1", "batch_size": "64", "optimizer": "sgd"}, map[string][]float64{"loss": {math.NaN()}})
	newRun("resnet", "cifar10", 130*time.Minute, 62*time.Minute, entities.StatusFinished,
		map[string]string{"lr": "0.1", "batch_size": "128", "optimizer": "sgd"},
		map[string][]float64{"loss": {1.25}, "top1": {0.71}})
	newRun("tmp-run", "scratch", 190*time.Minute, time.Minute, entities.StatusFinished,
		map[string]string{"lr": "0.5"}, nil)

	clock.set(treeT0.Add(4 * time.Hour))
	require.NoError(t, s.DeleteRun(ctx, tr.run["discarded"]))
	clock.set(treeT0.Add(5 * time.Hour))
	require.NoError(t, s.DeleteExperiment(ctx, tr.exp["scratch"]))
	checkStore(t, tr.root)
	return tr
}

// normalise replaces the random ids in a command's output with the
// placeholders, which have the same length so columns stay aligned.
func (tr *listingTree) normalise(out string) []byte {
	return []byte(strings.NewReplacer(tr.ids...).Replace(out))
}

// golden runs a listing, which must succeed quietly, and checks its output.
func (tr *listingTree) golden(t *testing.T, name string, args ...string) {
	t.Helper()
	out, errOut, code := invokeCLI(t, tr.root, args...)
	require.Equal(t, 0, code, errOut)
	require.Empty(t, errOut)
	checkGolden(t, name, tr.normalise(out))
}

// checkStore ends a test that changed a store: the consistency check finds
// nothing.
func checkStore(t *testing.T, root string) {
	t.Helper()
	storetest.CleanRoot(t, root)
}

// maxLineWidth is the widest line of out, in runes.
func maxLineWidth(out string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		n = max(n, utf8.RuneCountInString(l))
	}
	return n
}

func TestExperimentsList_Golden(t *testing.T) {
	t.Setenv("COLUMNS", "") // no width limit, whatever the terminal running the tests
	tr := newListingTree(t)
	cases := []struct {
		golden string
		args   []string
	}{
		{"experiments_list.txt", []string{"experiments", "list"}},
		{"experiments_list.json", []string{"experiments", "list", "--json"}},
		{"experiments_list.csv", []string{"experiments", "list", "--csv"}},
		{"experiments_list_all.txt", []string{"experiments", "list", "--view", "all"}},
		{"experiments_list_deleted.json", []string{"experiments", "list", "--view", "deleted", "--json"}},
		{"experiments_list_query.txt", []string{"experiments", "list", "--filter", "tags.team = 'vision'", "--order-by", "name ASC"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) { tr.golden(t, c.golden, c.args...) })
	}
}

// --max-results pages through the experiments; the pages together are the
// whole listing, and the table mode points at the next page on stderr.
func TestExperimentsList_Paging(t *testing.T) {
	tr := newListingTree(t)
	full, _, code := invokeCLI(t, tr.root, "experiments", "list", "--view", "all", "--csv")
	require.Equal(t, 0, code)
	out1, hint, code := invokeCLI(t, tr.root, "experiments", "list", "--view", "all", "--csv", "--max-results", "3")
	require.Equal(t, 0, code)
	token := strings.TrimSpace(hint[strings.Index(hint, "--page-token ")+len("--page-token "):])
	out2, hint2, code := invokeCLI(t, tr.root, "experiments", "list", "--view", "all", "--csv", "--max-results", "3", "--page-token", token)
	require.Equal(t, 0, code)
	require.Empty(t, hint2, "the last page has no next page")
	// the header row repeats on each page; the tag columns are those of the page
	require.Len(t, strings.Split(strings.TrimSpace(out1), "\n"), 4)
	require.Len(t, strings.Split(strings.TrimSpace(out2), "\n"), 2)
	require.Len(t, strings.Split(strings.TrimSpace(full), "\n"), 5)
}

func TestExperiments_Mutations(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	store := func() *filestore.Store {
		s, err := filestore.Open(root, nil)
		require.NoError(t, err)
		return s
	}

	out, errOut, code := invokeCLI(t, root, "experiments", "create", "speech", "--tag", "team=audio", "--tag", "note=a=b",
		"--artifact-location", "s3://bucket/speech")
	require.Equal(t, 0, code, errOut)
	id := strings.TrimSpace(out)
	exp, err := store().GetExperiment(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "speech", exp.Name)
	require.Equal(t, "s3://bucket/speech", exp.ArtifactLocation)
	require.Equal(t, map[string]string{"team": "audio", "note": "a=b"}, exp.Tags)

	// by name
	out, errOut, code = invokeCLI(t, root, "experiments", "rename", "speech", "speech-v2")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, fmt.Sprintf("Renamed experiment %s from \"speech\" to \"speech-v2\"\n", id), out)
	exp, err = store().GetExperiment(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "speech-v2", exp.Name)

	// by id
	out, errOut, code = invokeCLI(t, root, "experiments", "delete", id)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, fmt.Sprintf("Deleted experiment %s \"speech-v2\" and its runs\n", id), out)
	exp, err = store().GetExperiment(ctx, id)
	require.NoError(t, err)
	require.Equal(t, entities.StageDeleted, exp.LifecycleStage)

	out, _, code = invokeCLI(t, root, "experiments", "delete", "speech-v2")
	require.Equal(t, 0, code)
	require.Contains(t, out, "already deleted; nothing changed")

	out, errOut, code = invokeCLI(t, root, "experiments", "restore", "speech-v2")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, fmt.Sprintf("Restored experiment %s \"speech-v2\" and its runs\n", id), out)
	exp, err = store().GetExperimentByName(ctx, "speech-v2")
	require.NoError(t, err)
	require.Equal(t, entities.StageActive, exp.LifecycleStage)

	out, _, code = invokeCLI(t, root, "experiments", "restore", id)
	require.Equal(t, 0, code)
	require.Contains(t, out, "already active; nothing changed")

	// an experiment whose name is another's id: the id wins
	out, errOut, code = invokeCLI(t, root, "experiments", "create", "0")
	require.Equal(t, 0, code, errOut)
	named0 := strings.TrimSpace(out)
	_, errOut, code = invokeCLI(t, root, "experiments", "rename", "0", "zero")
	require.Equal(t, 0, code, errOut)
	def, err := store().GetExperiment(ctx, "0")
	require.NoError(t, err)
	require.Equal(t, "zero", def.Name)
	exp, err = store().GetExperiment(ctx, named0)
	require.NoError(t, err)
	require.Equal(t, "0", exp.Name)
	checkStore(t, root)
}
