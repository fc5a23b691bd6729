package filestore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/testkit"
	"github.com/mlruns-go/mlruns/internal/vfs"
	"github.com/mlruns-go/mlruns/internal/vfs/errorfs"
)

// faultBase is the tree every faulted call starts from.
type faultBase struct {
	root            string
	exp, deletedExp string
	run, deletedRun string
}

var fixedNow = func() time.Time { return time.UnixMilli(1_700_000_000_000) }

func buildFaultBase(t *testing.T) faultBase {
	t.Helper()
	root := filepath.Join(fastTempDir(t), "mlruns")
	s, err := filestore.Open(root, &filestore.Options{Now: fixedNow})
	require.NoError(t, err)
	b := faultBase{root: root}
	b.exp, err = s.CreateExperiment(ctx, "exp", "", []entities.ExperimentTag{{Key: "team", Value: "ml"}})
	require.NoError(t, err)
	r, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: b.exp, RunName: "r", StartTime: 1})
	require.NoError(t, err)
	b.run = r.Info.RunID
	require.NoError(t, s.LogMetric(ctx, b.run, entities.Metric{Key: "m", Value: 1, Timestamp: 1, Step: 1}))
	require.NoError(t, s.LogParam(ctx, b.run, "p", "v"))
	require.NoError(t, s.SetTag(ctx, b.run, "t", "old"))
	rd, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: b.exp, RunName: "rd", StartTime: 1})
	require.NoError(t, err)
	b.deletedRun = rd.Info.RunID
	require.NoError(t, s.DeleteRun(ctx, b.deletedRun))
	b.deletedExp, err = s.CreateExperiment(ctx, "gone", "", nil)
	require.NoError(t, err)
	_, err = s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: b.deletedExp, RunName: "g", StartTime: 1})
	require.NoError(t, err)
	require.NoError(t, s.DeleteExperiment(ctx, b.deletedExp))
	mustCheck(t, s)
	return b
}

type faultCall struct {
	name string
	call func(ctx context.Context, s *filestore.Store, b faultBase) error
}

func faultCalls() []faultCall {
	m := func(k string, v float64, step int64) entities.Metric {
		return entities.Metric{Key: k, Value: v, Timestamp: 2, Step: step}
	}
	return []faultCall{
		{"CreateExperiment", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			_, err := s.CreateExperiment(ctx, "new", "", []entities.ExperimentTag{{Key: "a", Value: "1"}, {Key: "b/c", Value: "2"}})
			return err
		}},
		{"CreateRun", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			_, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: b.exp, RunName: "n", StartTime: 5,
				Tags: []entities.RunTag{{Key: "x", Value: "y"}}})
			return err
		}},
		{"LogMetric/existing", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.LogMetric(ctx, b.run, m("m", 2, 2))
		}},
		{"LogMetric/new key", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.LogMetric(ctx, b.run, m("n/sub", 2, 2))
		}},
		{"LogBatch", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.LogBatch(ctx, b.run, []entities.Metric{m("m", 3, 3), m("k", 1, 1), m("m", 4, 4)},
				[]entities.Param{{Key: "p", Value: "v"}, {Key: "q", Value: "w"}, {Key: "d/e", Value: "f"}},
				[]entities.RunTag{{Key: "t", Value: "new"}, {Key: entities.TagRunName, Value: "renamed"}, {Key: "u", Value: "1"}})
		}},
		{"LogParam", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.LogParam(ctx, b.run, "q", "w")
		}},
		{"SetTag", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.SetTag(ctx, b.run, "t", "new")
		}},
		{"SetTag/runName", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.SetTag(ctx, b.run, entities.TagRunName, "nn")
		}},
		{"DeleteTag", func(ctx context.Context, s *filestore.Store, b faultBase) error { return s.DeleteTag(ctx, b.run, "t") }},
		{"UpdateRunInfo", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			end := int64(9)
			_, err := s.UpdateRunInfo(ctx, b.run, entities.StatusFinished, &end, "renamed")
			return err
		}},
		{"DeleteRun", func(ctx context.Context, s *filestore.Store, b faultBase) error { return s.DeleteRun(ctx, b.run) }},
		{"RestoreRun", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.RestoreRun(ctx, b.deletedRun)
		}},
		{"DeleteExperiment", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.DeleteExperiment(ctx, b.exp)
		}},
		{"RestoreExperiment", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.RestoreExperiment(ctx, b.deletedExp)
		}},
		{"RenameExperiment", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.RenameExperiment(ctx, b.exp, "other")
		}},
		{"SetExperimentTag", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.SetExperimentTag(ctx, b.exp, "team", "x")
		}},
		{"DeleteExperimentTag", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.DeleteExperimentTag(ctx, b.exp, "team")
		}},
		{"LogInputs", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.LogInputs(ctx, b.run, []entities.DatasetInput{
				{Dataset: entities.Dataset{Name: "ds", Digest: "d1", SourceType: "local", Source: "{}"}, Tags: []entities.InputTag{{Key: "mlflow.data.context", Value: "train"}}},
				{Dataset: entities.Dataset{Name: "ds2", Digest: "d2", SourceType: "local", Source: "{}"}},
			}, []entities.ModelInput{{ModelID: "m-0123456789abcdef0123456789abcdef"}})
		}},
		{"LogOutputs", func(ctx context.Context, s *filestore.Store, b faultBase) error {
			return s.LogOutputs(ctx, b.run, []entities.ModelOutput{{ModelID: "m-0123456789abcdef0123456789abcdef", Step: 1}})
		}},
	}
}

// dumpTree is a canonical dump of a tree: every file with its content, the
// root path replaced, ids made by the call (not in known) named by kind.
// Empty folders are left out: no reader (ours or Python's) sees them, and a
// failed call may leave the parents of a key folder it created.
func dumpTree(t *testing.T, root string, known map[string]bool, otherRoots ...string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := string(data)
		for _, o := range append([]string{root}, otherRoots...) {
			// the root as a file: URI (file:///C:/... on Windows) and as a path
			text = strings.ReplaceAll(text, filestore.FileURI(o), "file://<ROOT>")
			text = strings.ReplaceAll(text, o, "<ROOT>")
		}
		lines = append(lines, rel+" = "+text)
		return nil
	})
	require.NoError(t, err)
	for i, l := range lines {
		lines[i] = newIDs.ReplaceAllStringFunc(l, func(id string) string {
			if known == nil || known[id] {
				return id
			}
			return "<NEW>"
		})
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// fastTempDir is a temporary folder in /dev/shm when there is one (the
// fault tests make thousands of small trees; every fault is injected, so
// the filesystem underneath does not matter), else t.TempDir().
func fastTempDir(t *testing.T) string {
	t.Helper()
	return testkit.FastTempDir(t)
}

var newIDs = regexp.MustCompile(`[0-9a-f]{32}|[1-9][0-9]{17}`)

func idsIn(s string) map[string]bool {
	m := map[string]bool{}
	for _, id := range newIDs.FindAllString(s, -1) {
		m[id] = true
	}
	return m
}

// TestStore_Faults fails operation i of every mutating call, for every i
// until the call succeeds: the error reaches the caller and the tree is the
// old one or the new one, never a mix, and Check is clean. Modes: one
// failed operation (EIO-like, or ENOSPC, which on a write first writes
// half the data), with and without Durable; and a disk that stays bad from
// operation i on, after which the tree need not be old or new (undo cannot
// write either) but every file is whole and Repair leaves Check clean.
func TestStore_Faults(t *testing.T) {
	base := buildFaultBase(t)
	known := idsIn(dumpTree(t, base.root, nil))
	baseDump := dumpTree(t, base.root, known)
	total, calls := 0, 0
	modes := []struct {
		name    string
		err     error
		sticky  bool
		durable bool
	}{
		{"once", nil, false, false},
		{"once/durable", nil, false, true},
		{"enospc", syscall.ENOSPC, false, false},
		{"sticky", syscall.EIO, true, false},
		{"sticky-enospc/durable", syscall.ENOSPC, true, true},
	}
	for _, mode := range modes {
		for _, fc := range faultCalls() {
			t.Run(mode.name+"/"+fc.name, func(t *testing.T) {
				// The new state: the call on a healthy disk.
				newRoot := filepath.Join(fastTempDir(t), "mlruns")
				testkit.CopyTree(t, base.root, newRoot)
				s, err := filestore.Open(newRoot, &filestore.Options{Now: fixedNow, Durable: mode.durable})
				require.NoError(t, err)
				require.NoError(t, fc.call(ctx, s, base))
				newDump := dumpTree(t, newRoot, known, base.root)
				require.NotEqual(t, baseDump, newDump, "the call changes something")

				// A tree left in the old state is reused (copying is the
				// slow part); any other is replaced by a fresh copy.
				var root string
				fresh := true
				for i := 0; ; i++ {
					require.Less(t, i, 500, "the call never succeeds")
					if fresh {
						root = filepath.Join(fastTempDir(t), "mlruns")
						testkit.CopyTree(t, base.root, root)
						fresh = false
					}
					inj := &errorfs.FailAt{N: -1, Err: mode.err}
					s, err := filestore.OpenWithFS(root, &filestore.Options{Now: fixedNow, Durable: mode.durable}, errorfs.WithErrors(vfs.OS, inj))
					require.NoError(t, err)
					inj.Arm(i, mode.sticky)
					err = fc.call(ctx, s, base)
					calls++
					if inj.Injected() == 0 {
						require.NoError(t, err, "no fault injected at op %d", i)
						require.Equal(t, newDump, dumpTree(t, root, known, base.root))
						t.Logf("%d operations, %d faults injected", i, i)
						break
					}
					total++
					require.Error(t, err, "fault at op %d (%s) must reach the caller", i, inj.Last())
					inj.Arm(-1, false)
					got := dumpTree(t, root, known, base.root)
					if !mode.sticky {
						if got != baseDump && got != newDump {
							require.Equal(t, baseDump, got, "fault at op %d (%s): tree is neither old nor new (%v)", i, inj.Last(), err)
						}
						mustCheck(t, s)
						fresh = got != baseDump
						continue
					}
					_, after, rerr := s.Repair(ctx, nil)
					remaining := after.Problems
					require.NoError(t, rerr)
					require.Empty(t, remaining, "fault from op %d (%s): not clean after Repair", i, inj.Last())
					fresh = dumpTree(t, root, known, base.root) != baseDump
				}
			})
		}
	}
	t.Logf("%d faulted calls, %d faults injected", calls, total)
}

// On a disk that refuses every change from the start (full, or read-only),
// a failed call changed nothing, and its error says only why it failed:
// no "(and undoing it failed ...)" about undo steps that had nothing to
// undo.
func TestStore_Faults_NothingToUndo(t *testing.T) {
	for _, e := range []error{syscall.ENOSPC, syscall.EROFS} {
		t.Run(e.Error(), func(t *testing.T) {
			base := buildFaultBase(t)
			known := idsIn(dumpTree(t, base.root, nil))
			want := dumpTree(t, base.root, known)
			inj := &errorfs.FailAt{N: -1, Err: e}
			s, err := filestore.OpenWithFS(base.root, &filestore.Options{Now: fixedNow}, errorfs.WithErrors(vfs.OS, inj))
			require.NoError(t, err)
			inj.Arm(0, true) // every operation from now on fails
			for name, call := range map[string]func() error{
				"SetTag existing":   func() error { return s.SetTag(ctx, base.run, "t", "new") },
				"SetTag new":        func() error { return s.SetTag(ctx, base.run, "fresh", "v") },
				"LogParam new":      func() error { return s.LogParam(ctx, base.run, "fresh", "v") },
				"LogMetric":         func() error { return s.LogMetric(ctx, base.run, entities.Metric{Key: "m", Value: 2, Timestamp: 2}) },
				"LogMetric new key": func() error { return s.LogMetric(ctx, base.run, entities.Metric{Key: "n", Value: 2, Timestamp: 2}) },
				"UpdateRunInfo": func() error {
					_, err := s.UpdateRunInfo(ctx, base.run, entities.StatusFinished, nil, "renamed")
					return err
				},
				"LogBatch": func() error {
					return s.LogBatch(ctx, base.run, []entities.Metric{{Key: "m", Value: 3, Timestamp: 3}},
						[]entities.Param{{Key: "bp", Value: "v"}}, []entities.RunTag{{Key: "t", Value: "b"}})
				},
				"CreateExperiment": func() error { _, err := s.CreateExperiment(ctx, "new-exp", "", nil); return err },
			} {
				err := call()
				require.Error(t, err, name)
				require.NotContains(t, err.Error(), "undoing it failed", name)
				require.NotContains(t, err.Error(), "truncating it back failed", name)
			}
			require.Equal(t, want, dumpTree(t, base.root, known), "nothing changed")
		})
	}
}

// TestStore_Writes_CancelledContext: every mutating call given a cancelled
// context returns its error and writes nothing (a REST backend honours ctx
// the same way; callers can rely on it whatever the backend).
func TestStore_Writes_CancelledContext(t *testing.T) {
	base := buildFaultBase(t)
	known := idsIn(dumpTree(t, base.root, nil))
	baseDump := dumpTree(t, base.root, known)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, fc := range faultCalls() {
		t.Run(fc.name, func(t *testing.T) {
			root := filepath.Join(fastTempDir(t), "mlruns")
			testkit.CopyTree(t, base.root, root)
			s, err := filestore.Open(root, &filestore.Options{Now: fixedNow})
			require.NoError(t, err)
			err = fc.call(cancelled, s, base)
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, baseDump, dumpTree(t, root, known, base.root))
		})
	}
}
