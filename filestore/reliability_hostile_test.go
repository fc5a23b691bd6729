package filestore_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/testkit"
)

var hostileStrings = map[string]string{
	"empty":        "",
	"nul":          "a\x00b",
	"dotdot":       "..",
	"dotdot slash": "../../outside",
	"absolute":     "/etc/passwd",
	"long":         strings.Repeat("x", 1000),
	"invalid utf8": "\xff\xfe\xfd",
	"backslash":    `..\..\x`,
	"newline":      "a\nb",
	"trailing sep": "a/",
}

var sentinels = []error{errs.ErrInvalidParameter, errs.ErrNotFound, errs.ErrAlreadyExists,
	errs.ErrInvalidState, errs.ErrCorrupt, errs.ErrInvalidPath, errs.ErrInternal, errs.ErrNotSupported}

func requireTyped(t *testing.T, err error, msg string) {
	t.Helper()
	require.Error(t, err, msg)
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("%s: untyped error %v", msg, err)
}

// TestStore_HostileInput calls every public method with hostile strings in
// each id, name and key position: no panic, and an error that is one of
// errs' sentinels (or, where the string is a legal value, success), and
// nothing is written outside the root.
func TestStore_HostileInput(t *testing.T) {
	s, root := newStore(t, nil)
	exp, err := s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
	r := newRun(t, s, exp)
	run := r.Info.RunID
	m := func(k string) entities.Metric { return entities.Metric{Key: k, Value: 1, Timestamp: 1} }
	calls := []struct {
		name string
		fn   func(h string) error
		ok   bool // a legal value for some hostile strings
	}{
		{"CreateExperiment name", func(h string) error { _, err := s.CreateExperiment(ctx, h, "", nil); return err }, true},
		{"CreateExperiment artifact location", func(h string) error { _, err := s.CreateExperiment(ctx, "al"+fmt.Sprint(len(h)), h, nil); return err }, true},
		{"CreateExperiment tag", func(h string) error {
			_, err := s.CreateExperiment(ctx, "t"+fmt.Sprint(len(h)), "", []entities.ExperimentTag{{Key: h, Value: "v"}})
			return err
		}, false},
		{"GetExperiment", func(h string) error { _, err := s.GetExperiment(ctx, h); return err }, false},
		{"GetExperimentByName", func(h string) error { _, err := s.GetExperimentByName(ctx, h); return err }, true},
		{"RenameExperiment id", func(h string) error { return s.RenameExperiment(ctx, h, "x") }, false},
		{"RenameExperiment name", func(h string) error { return s.RenameExperiment(ctx, exp, h) }, true},
		{"DeleteExperiment", func(h string) error { return s.DeleteExperiment(ctx, h) }, false},
		{"RestoreExperiment", func(h string) error { return s.RestoreExperiment(ctx, h) }, false},
		{"SetExperimentTag id", func(h string) error { return s.SetExperimentTag(ctx, h, "k", "v") }, false},
		{"SetExperimentTag key", func(h string) error { return s.SetExperimentTag(ctx, exp, h, "v") }, false},
		{"DeleteExperimentTag id", func(h string) error { return s.DeleteExperimentTag(ctx, h, "k") }, false},
		{"DeleteExperimentTag key", func(h string) error { return s.DeleteExperimentTag(ctx, exp, h) }, false},
		{"CreateRun experiment", func(h string) error {
			_, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: h})
			return err
		}, true}, // "" is the Default experiment
		{"CreateRun tag", func(h string) error {
			_, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, Tags: []entities.RunTag{{Key: h, Value: "v"}}})
			return err
		}, false},
		{"GetRun", func(h string) error { _, err := s.GetRun(ctx, h); return err }, false},
		{"GetRunInfo", func(h string) error { _, err := s.GetRunInfo(ctx, h); return err }, false},
		{"ArtifactURI", func(h string) error { _, err := s.ArtifactURI(ctx, h); return err }, false},
		{"ListRunInfos", func(h string) error { _, _, err := s.ListRunInfos(ctx, h, entities.ViewAll); return err }, false},
		{"ListRuns", func(h string) error { _, _, err := s.ListRuns(ctx, h, entities.ViewAll); return err }, false},
		{"LogMetric run", func(h string) error { return s.LogMetric(ctx, h, m("k")) }, false},
		{"LogMetric key", func(h string) error { return s.LogMetric(ctx, run, m(h)) }, false},
		{"LogParam run", func(h string) error { return s.LogParam(ctx, h, "k", "v") }, false},
		{"LogParam key", func(h string) error { return s.LogParam(ctx, run, h, "v") }, false},
		{"SetTag run", func(h string) error { return s.SetTag(ctx, h, "k", "v") }, false},
		{"SetTag key", func(h string) error { return s.SetTag(ctx, run, h, "v") }, false},
		{"DeleteTag run", func(h string) error { return s.DeleteTag(ctx, h, "k") }, false},
		{"DeleteTag key", func(h string) error { return s.DeleteTag(ctx, run, h) }, false},
		{"LogBatch run", func(h string) error { return s.LogBatch(ctx, h, []entities.Metric{m("k")}, nil, nil) }, false},
		{"LogBatch metric", func(h string) error { return s.LogBatch(ctx, run, []entities.Metric{m(h)}, nil, nil) }, false},
		{"LogBatch param", func(h string) error {
			return s.LogBatch(ctx, run, nil, []entities.Param{{Key: h, Value: "v"}}, nil)
		}, false},
		{"LogBatch tag", func(h string) error {
			return s.LogBatch(ctx, run, nil, nil, []entities.RunTag{{Key: h, Value: "v"}})
		}, false},
		{"GetMetricHistory run", func(h string) error { _, err := s.GetMetricHistory(ctx, h, "k"); return err }, false},
		{"GetMetricHistory key", func(h string) error { _, err := s.GetMetricHistory(ctx, run, h); return err }, false},
		{"UpdateRunInfo", func(h string) error { _, err := s.UpdateRunInfo(ctx, h, entities.StatusFinished, nil, ""); return err }, false},
		{"DeleteRun", func(h string) error { return s.DeleteRun(ctx, h) }, false},
		{"RestoreRun", func(h string) error { return s.RestoreRun(ctx, h) }, false},
		{"LogInputs run", func(h string) error { return s.LogInputs(ctx, h, nil, nil) }, false},
		{"LogInputs model", func(h string) error {
			return s.LogInputs(ctx, run, nil, []entities.ModelInput{{ModelID: h}})
		}, true}, // model ids are opaque to MLflow; only path-unsafe ones are refused
		{"LogInputs dataset", func(h string) error {
			return s.LogInputs(ctx, run, []entities.DatasetInput{{Dataset: entities.Dataset{Name: h, Digest: h, SourceType: h, Source: h}}}, nil)
		}, true},
		{"LogOutputs run", func(h string) error { return s.LogOutputs(ctx, h, nil) }, false},
		{"LogOutputs model", func(h string) error {
			return s.LogOutputs(ctx, run, []entities.ModelOutput{{ModelID: h}})
		}, true},
		{"GetLoggedModel", func(h string) error { _, err := s.GetLoggedModel(ctx, h); return err }, false},
		{"SearchRuns experiment", func(h string) error {
			_, _, err := s.SearchRuns(ctx, []string{h}, "", entities.ViewAll, 10, nil, "")
			return err
		}, true}, // as in MLflow, an id that names no experiment contributes no runs
		{"SearchRuns filter", func(h string) error {
			_, _, err := s.SearchRuns(ctx, []string{exp}, h, entities.ViewAll, 10, nil, "")
			return err
		}, true}, // "" matches everything
		{"SearchRuns filter key", func(h string) error {
			_, _, err := s.SearchRuns(ctx, []string{exp}, "params.`"+h+"` = 'x'", entities.ViewAll, 10, nil, "")
			return err
		}, true}, // a key never logged matches nothing
		{"SearchRuns order", func(h string) error {
			_, _, err := s.SearchRuns(ctx, []string{exp}, "", entities.ViewAll, 10, []string{h}, "")
			return err
		}, false},
		{"SearchRuns token", func(h string) error {
			_, _, err := s.SearchRuns(ctx, []string{exp}, "", entities.ViewAll, 10, nil, h)
			return err
		}, true}, // "" is the first page
		{"SearchExperiments filter", func(h string) error {
			_, _, err := s.SearchExperiments(ctx, entities.ViewAll, 10, h, nil, "")
			return err
		}, true},
		{"GetMetricHistoryPage key", func(h string) error { _, _, err := s.GetMetricHistoryPage(ctx, run, h, 10, ""); return err }, false},
		{"GetMetricHistoryPage token", func(h string) error { _, _, err := s.GetMetricHistoryPage(ctx, run, "k", 10, h); return err }, true},
		{"MetricHistoryIter key", func(h string) error {
			for _, err := range s.MetricHistoryIter(ctx, run, h) {
				if err != nil {
					return err
				}
			}
			return nil
		}, false},
	}
	outside := t.TempDir()
	n := 0
	for _, c := range calls {
		for hn, h := range hostileStrings {
			t.Run(c.name+"/"+hn, func(t *testing.T) {
				var err error
				require.NotPanics(t, func() { err = c.fn(h) })
				n++
				if err == nil && c.ok {
					return
				}
				requireTyped(t, err, c.name)
			})
		}
	}
	ents, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Empty(t, ents)
	require.NoFileExists(t, filepath.Join(filepath.Dir(root), "outside"))
	t.Logf("%d hostile calls", n)
}

// TestStore_SymlinkEscape: symlinks planted in the tree that point outside
// it make writes fail (ErrInvalidPath, or ELOOP for a symlinked metric
// file) and nothing is written outside; symlinks that stay inside are
// followed.
func TestStore_SymlinkEscape(t *testing.T) {
	type setup struct {
		s    *filestore.Store
		root string
		run  entities.Run
		dir  string // the run folder
		out  string // a folder outside the root
	}
	mk := func(t *testing.T) setup {
		s, root := newStore(t, nil)
		r := newRun(t, s, "0")
		return setup{s: s, root: root, run: r, dir: runDir(t, root, r), out: t.TempDir()}
	}
	swap := func(t *testing.T, dir, out string) { // dir becomes a symlink to out
		require.NoError(t, os.RemoveAll(dir))
		testkit.Symlink(t, out, dir)
	}
	cases := []struct {
		name  string
		plant func(t *testing.T, x setup)
		write func(x setup) error
	}{
		{"metrics dir", func(t *testing.T, x setup) { swap(t, filepath.Join(x.dir, "metrics"), x.out) },
			func(x setup) error { return x.s.LogMetric(ctx, x.run.Info.RunID, entities.Metric{Key: "m", Value: 1}) }},
		{"metrics subdir", func(t *testing.T, x setup) {
			testkit.Symlink(t, x.out, filepath.Join(x.dir, "metrics", "a"))
		}, func(x setup) error {
			return x.s.LogMetric(ctx, x.run.Info.RunID, entities.Metric{Key: "a/b", Value: 1})
		}},
		{"params dir", func(t *testing.T, x setup) { swap(t, filepath.Join(x.dir, "params"), x.out) },
			func(x setup) error { return x.s.LogParam(ctx, x.run.Info.RunID, "p", "v") }},
		{"tags dir", func(t *testing.T, x setup) { swap(t, filepath.Join(x.dir, "tags"), x.out) },
			func(x setup) error { return x.s.SetTag(ctx, x.run.Info.RunID, "t", "v") }},
		{"run dir", func(t *testing.T, x setup) {
			require.NoError(t, os.Rename(x.dir, filepath.Join(x.out, "run")))
			testkit.Symlink(t, filepath.Join(x.out, "run"), x.dir)
		}, func(x setup) error { return x.s.LogMetric(ctx, x.run.Info.RunID, entities.Metric{Key: "m", Value: 1}) }},
		{"experiment dir", func(t *testing.T, x setup) {
			exp := filepath.Join(x.root, "0")
			require.NoError(t, os.Rename(exp, filepath.Join(x.out, "0")))
			testkit.Symlink(t, filepath.Join(x.out, "0"), exp)
		}, func(x setup) error {
			_, err := x.s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: "0"})
			return err
		}},
		{"inputs dir", func(t *testing.T, x setup) { testkit.Symlink(t, x.out, filepath.Join(x.dir, "inputs")) },
			func(x setup) error {
				return x.s.LogInputs(ctx, x.run.Info.RunID, nil, []entities.ModelInput{{ModelID: "m-0123456789abcdef0123456789abcdef"}})
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := mk(t)
			c.plant(t, x)
			before := listAll(t, x.out)
			err := c.write(x)
			require.ErrorIs(t, err, errs.ErrInvalidPath)
			after := listAll(t, x.out)
			require.Equal(t, before, after, "nothing written outside the root")
			// Undo the plant so the end-of-test check reads a sane tree.
			require.NoError(t, os.RemoveAll(x.root))
			_, err = filestore.Open(x.root, nil)
			require.NoError(t, err)
		})
	}
	t.Run("metric file", func(t *testing.T) {
		x := mk(t)
		target := filepath.Join(x.out, "victim")
		require.NoError(t, os.WriteFile(target, []byte("1 1.0 1\n"), 0o666))
		testkit.Symlink(t, target, filepath.Join(x.dir, "metrics", "m"))
		require.Error(t, x.s.LogMetric(ctx, x.run.Info.RunID, entities.Metric{Key: "m", Value: 2}))
		require.Equal(t, "1 1.0 1\n", readFile(t, target))
		require.NoError(t, os.Remove(filepath.Join(x.dir, "metrics", "m")))
	})
	t.Run("param file replaced, not followed", func(t *testing.T) {
		x := mk(t)
		target := filepath.Join(x.out, "victim")
		require.NoError(t, os.WriteFile(target, []byte("v"), 0o666))
		testkit.Symlink(t, target, filepath.Join(x.dir, "tags", "t"))
		require.NoError(t, x.s.SetTag(ctx, x.run.Info.RunID, "t", "new"))
		require.Equal(t, "v", readFile(t, target))
		require.Equal(t, "new", readFile(t, filepath.Join(x.dir, "tags", "t")))
	})
	t.Run("symlink inside the root is followed", func(t *testing.T) {
		testkit.NotOnWindows(t, "the test plants symlinks")
		x := mk(t)
		other := filepath.Join(x.root, "0", "elsewhere")
		require.NoError(t, os.Rename(filepath.Join(x.dir, "metrics"), other))
		testkit.Symlink(t, other, filepath.Join(x.dir, "metrics"))
		require.NoError(t, x.s.LogMetric(ctx, x.run.Info.RunID, entities.Metric{Key: "m", Value: 1}))
		require.FileExists(t, filepath.Join(other, "m"))
		require.NoError(t, os.Remove(filepath.Join(x.dir, "metrics")))
		require.NoError(t, os.Rename(other, filepath.Join(x.dir, "metrics")))
	})
	t.Run("root reached through a symlink", func(t *testing.T) {
		real := filepath.Join(t.TempDir(), "real")
		link := filepath.Join(t.TempDir(), "link")
		testkit.Symlink(t, real, link)
		_, err := filestore.Open(link, nil)
		require.Error(t, err) // a dangling link: the target does not exist
		require.NoError(t, os.MkdirAll(real, 0o777))
		s, err := filestore.Open(link, nil)
		require.NoError(t, err)
		id, err := s.CreateExperiment(ctx, "through-link", "", nil)
		require.NoError(t, err)
		r := newRun(t, s, id)
		require.NoError(t, s.LogMetric(ctx, r.Info.RunID, entities.Metric{Key: "m", Value: 1}))
		require.FileExists(t, filepath.Join(real, id, r.Info.RunID, "metrics", "m"))
		mustCheck(t, s)
	})
}

func listAll(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		b, _ := os.ReadFile(p)
		out = append(out, p+"="+string(b))
		return nil
	}))
	return out
}

// TestStore_FileModes_Everywhere: every file and folder the store creates
// (experiments, runs, datasets, inputs, outputs, rewritten metas) gets the
// mode Python's open() and os.makedirs give under the umask.
func TestStore_FileModes_Everywhere(t *testing.T) {
	s, root := newStore(t, nil)
	exp, err := s.CreateExperiment(ctx, "modes", "", []entities.ExperimentTag{{Key: "a/b", Value: "v"}})
	require.NoError(t, err)
	r := newRun(t, s, exp)
	id := r.Info.RunID
	require.NoError(t, s.LogBatch(ctx, id, []entities.Metric{{Key: "x/y", Value: 1}}, []entities.Param{{Key: "p/q", Value: "v"}}, []entities.RunTag{{Key: "t", Value: "v"}}))
	require.NoError(t, s.LogInputs(ctx, id, []entities.DatasetInput{{Dataset: entities.Dataset{Name: "d", Digest: "1", SourceType: "local", Source: "{}"}}},
		[]entities.ModelInput{{ModelID: "m-0123456789abcdef0123456789abcdef"}}))
	require.NoError(t, s.LogOutputs(ctx, id, []entities.ModelOutput{{ModelID: "m-0123456789abcdef0123456789abcdef", Step: 1}}))
	require.NoError(t, s.DeleteExperiment(ctx, exp))
	require.NoError(t, s.RestoreExperiment(ctx, exp))
	require.NoError(t, s.RenameExperiment(ctx, exp, "modes2"))
	_, err = s.UpdateRunInfo(ctx, id, entities.StatusFinished, nil, "n")
	require.NoError(t, err)
	umask := currentUmask(t)
	files, dirs := 0, 0
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		if d.IsDir() {
			dirs++
			require.Equal(t, os.FileMode(0o777)&^umask, fi.Mode().Perm(), p)
		} else {
			files++
			require.Equal(t, os.FileMode(0o666)&^umask, fi.Mode().Perm(), p)
		}
		return nil
	}))
	require.Greater(t, files, 10)
	require.Greater(t, dirs, 10)
}

// TestStore_LinksOutOfTheTree: one rule for every folder and file of a
// run. A symlinked artifacts folder that leads out of the root is refused
// for writing, as symlinked metrics and tags folders are; a param file
// that is a symlink to a file outside the tree is not read, so a conflict
// error cannot echo that file's content.
func TestStore_LinksOutOfTheTree(t *testing.T) {
	testkit.NotOnWindows(t, "the test plants symlinks")
	t.Run("artifacts folder", func(t *testing.T) {
		s, root := newStore(t, nil)
		r := newRun(t, s, "0")
		outside := t.TempDir()
		art := filepath.Join(root, "0", r.Info.RunID, "artifacts")
		require.NoError(t, os.RemoveAll(art))
		testkit.Symlink(t, outside, art)
		_, err := s.ArtifactDir(ctx, r.Info.RunID)
		var lo *filestore.LinkOutError
		require.ErrorAs(t, err, &lo)
		require.ErrorIs(t, err, errs.ErrInvalidPath)
		require.NoError(t, os.Remove(art))
		require.NoError(t, os.Mkdir(art, 0o777)) // a run folder has one (isRunDir)
		dir, err := s.ArtifactDir(ctx, r.Info.RunID)
		require.NoError(t, err, "a real folder is fine")
		require.DirExists(t, dir)
	})
	t.Run("artifacts folder inside the tree", func(t *testing.T) {
		s, root := newStore(t, nil)
		r := newRun(t, s, "0")
		inside := filepath.Join(root, "0", r.Info.RunID, "elsewhere")
		require.NoError(t, os.MkdirAll(inside, 0o777))
		art := filepath.Join(root, "0", r.Info.RunID, "artifacts")
		require.NoError(t, os.RemoveAll(art))
		testkit.Symlink(t, inside, art)
		_, err := s.ArtifactDir(ctx, r.Info.RunID)
		require.NoError(t, err, "a link that stays in the tree is followed")
		require.NoError(t, os.WriteFile(filepath.Join(inside, "f"), []byte("x"), 0o666)) // not an empty folder for Check
	})
	t.Run("experiment artifact location outside the root", func(t *testing.T) {
		s, _ := newStore(t, nil)
		loc := filepath.Join(t.TempDir(), "artifacts")
		exp, err := s.CreateExperiment(ctx, "ext", loc, nil)
		require.NoError(t, err)
		r := newRun(t, s, exp)
		dir, err := s.ArtifactDir(ctx, r.Info.RunID)
		require.NoError(t, err, "MLflow lets an experiment keep artifacts elsewhere")
		require.Equal(t, filepath.Join(loc, r.Info.RunID, "artifacts"), dir)
		require.NoError(t, os.Remove(dir))
		testkit.Symlink(t, t.TempDir(), dir)
		_, err = s.ArtifactDir(ctx, r.Info.RunID)
		require.ErrorIs(t, err, errs.ErrInvalidPath, "but the run's folder must stay under that location")
	})
	t.Run("param file", func(t *testing.T) {
		s, root := newStore(t, nil)
		r := newRun(t, s, "0")
		secret := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(secret, []byte("hunter2"), 0o600))
		p := filepath.Join(root, "0", r.Info.RunID, "params", "p")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o777))
		testkit.Symlink(t, secret, p)
		err := s.LogParam(ctx, r.Info.RunID, "p", "other")
		require.ErrorIs(t, err, errs.ErrInvalidPath)
		require.NotContains(t, err.Error(), "hunter2", "the file outside is not read")
		_, err = s.GetRun(ctx, r.Info.RunID)
		require.ErrorIs(t, err, errs.ErrInvalidPath)
		require.NotContains(t, err.Error(), "hunter2")
		page, _, err := s.SearchRuns(ctx, []string{"0"}, "params.p = 'hunter2'", entities.ViewAll, 0, nil, "")
		require.NoError(t, err)
		require.Empty(t, page, "a search does not match through the link")
		probsRes, err := s.Check(ctx, nil)
		probs := probsRes.Problems
		require.NoError(t, err)
		require.Len(t, probs, 1)
		require.Equal(t, filestore.ProblemLinkOut, probs[0].Kind)
		require.Equal(t, p, probs[0].Path)
		require.NoError(t, os.Remove(p))
	})
}
