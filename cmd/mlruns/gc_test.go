package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/testkit"
)

// gcTree is a store with everything mlflow gc distinguishes, built by the
// Go store at dir/mlruns, with an experiment whose artifacts live outside
// it in dir/ext. Deletion times are real-time relative, since Python's gc
// compares them with its own clock:
//
//	A (active):  a-active, a-old (deleted 10 days ago), a-young (1 hour ago);
//	             logged models m-old (deleted 10 days ago), m-young (1 hour
//	             ago), m-active
//	B (deleted 5 days ago): b1 (active until then), b2 (deleted 9 days ago)
//	C (deleted 1 hour ago): c1
//	D (active, artifact location dir/ext): d-old (deleted 10 days ago), d-active
//
// Every run has a metric, a param and an artifact file; every model an
// artifact file.
type gcTree struct {
	dir, root string
	ids       map[string]string // name -> run, model or experiment id
}

func newGCTree(t *testing.T, dir string) *gcTree {
	t.Helper()
	now := time.Now()
	clock := now.Add(-12 * 24 * time.Hour)
	tr := &gcTree{dir: dir, root: filepath.Join(dir, "mlruns"), ids: map[string]string{}}
	s, err := filestore.Open(tr.root, &filestore.Options{Now: func() time.Time { return clock }})
	require.NoError(t, err)
	artifact := func(uri, name string) {
		p, err := filestore.LocalPath(uri)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(p, "model"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(p, "model", "weights.bin"), []byte("weights of "+name), 0o644))
	}
	for _, e := range []struct{ name, loc string }{{"A", ""}, {"B", ""}, {"C", ""}, {"D", filepath.Join(dir, "ext")}} {
		id, err := s.CreateExperiment(t.Context(), "gc "+e.name, e.loc, nil)
		require.NoError(t, err)
		tr.ids[e.name] = id
	}
	for _, r := range [][2]string{{"A", "a-active"}, {"A", "a-old"}, {"A", "a-young"}, {"B", "b1"}, {"B", "b2"},
		{"C", "c1"}, {"D", "d-old"}, {"D", "d-active"}} {
		run, err := s.CreateRun(t.Context(), filestore.CreateRunOptions{ExperimentID: tr.ids[r[0]], RunName: r[1], UserID: "gc"})
		require.NoError(t, err)
		id := run.Info.RunID
		require.NoError(t, s.LogMetric(context.Background(), id, entities.Metric{Key: "loss", Value: 0.5, Timestamp: 1, Step: 1}))
		require.NoError(t, s.LogParam(context.Background(), id, "lr", "0.1"))
		artifact(run.Info.ArtifactURI, r[1])
		tr.ids[r[1]] = id
	}
	a, err := s.GetExperiment(context.Background(), tr.ids["A"])
	require.NoError(t, err)
	model := func(name string, deleted bool, updated time.Time) {
		var b [16]byte
		_, err := rand.Read(b[:])
		require.NoError(t, err)
		id := "m-" + hex.EncodeToString(b[:])
		tr.ids[name] = id
		dir := filepath.Join(tr.root, tr.ids["A"], "models", id)
		for _, sub := range []string{"metrics", "params"} {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
		}
		loc := a.ArtifactLocation + "/models/" + id + "/artifacts"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "meta.yaml"), []byte(loggedModelMeta(id, tr.ids["A"], name, loc, deleted, updated)), 0o644))
		artifact(loc, name)
	}
	at := func(ago time.Duration) { clock = now.Add(-ago) }
	day := 24 * time.Hour
	at(10 * day)
	require.NoError(t, s.DeleteRun(t.Context(), tr.ids["a-old"]))
	require.NoError(t, s.DeleteRun(t.Context(), tr.ids["d-old"]))
	model("m-old", true, clock)
	at(9 * day)
	require.NoError(t, s.DeleteRun(t.Context(), tr.ids["b2"]))
	at(5 * day)
	require.NoError(t, s.DeleteExperiment(t.Context(), tr.ids["B"]))
	at(time.Hour)
	require.NoError(t, s.DeleteRun(t.Context(), tr.ids["a-young"]))
	require.NoError(t, s.DeleteExperiment(t.Context(), tr.ids["C"]))
	model("m-young", true, clock)
	model("m-active", false, clock)
	checkStore(t, tr.root)
	return tr
}

// loggedModelMeta is a logged model's meta.yaml as Python MLflow 3.18
// writes it (the Go store does not create logged models).
func loggedModelMeta(id, expID, name, loc string, deleted bool, updated time.Time) string {
	stage := "active"
	if deleted {
		stage = "deleted"
	}
	ms := updated.UnixMilli()
	return fmt.Sprintf("artifact_location: %s\ncreation_timestamp: %d\nexperiment_id: '%s'\nlast_updated_timestamp: %d\n"+
		"lifecycle_stage: %s\nmodel_id: %s\nmodel_type: null\nname: %s\nsource_run_id: null\nstatus: 2\nstatus_message: null\n",
		loc, ms, expID, ms, stage, id, name)
}

// normalise replaces the ids in gc's output with <name> and sorts the
// item lines by kind then name (gc orders them by id, which is random).
func (tr *gcTree) normalise(out string) string {
	var pairs []string
	for name, id := range tr.ids {
		pairs = append(pairs, id, "<"+name+">")
	}
	out = strings.NewReplacer(pairs...).Replace(strings.ReplaceAll(out, tr.dir, "<DIR>"))
	lines := strings.SplitAfter(out, "\n")
	rank := func(l string) int {
		for i, p := range []string{"Run ", "Logged model ", "Experiment "} {
			if strings.HasPrefix(l, p) {
				return i
			}
		}
		return 3
	}
	sort.SliceStable(lines, func(i, j int) bool {
		ri, rj := rank(lines[i]), rank(lines[j])
		if ri != rj || ri == 3 {
			return ri < rj
		}
		return lines[i] < lines[j]
	})
	return strings.Join(lines, "")
}

func TestGC_Golden(t *testing.T) {
	cases := []struct {
		name   string
		args   func(tr *gcTree) []string
		code   int
		golden string
	}{
		{"dry run", func(*gcTree) []string { return []string{"--dry-run"} }, 0, "gc_dry_run.txt"},
		{"everything", func(*gcTree) []string { return nil }, 0, "gc_all.txt"},
		{"older than", func(*gcTree) []string { return []string{"--older-than", "2d"} }, 0, "gc_older_than.txt"},
		{"young run", func(tr *gcTree) []string { return []string{"--run-ids", tr.ids["a-young"], "--older-than", "20d"} }, 1, "gc_young_run.txt"},
		{"active run", func(tr *gcTree) []string { return []string{"--run-ids", tr.ids["a-active"]} }, 1, "gc_active_run.txt"},
		{"nothing", func(*gcTree) []string { return []string{"--older-than", "30d"} }, 0, "gc_nothing.txt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newGCTree(t, t.TempDir())
			before := treeSnapshot(t, tr.dir)
			out, errOut, code := invokeCLI(t, tr.root, append([]string{"gc"}, c.args(tr)...)...)
			require.Equal(t, c.code, code, errOut)
			checkGolden(t, c.golden, []byte(tr.normalise(out+"--- exit "+fmt.Sprint(code)+", stderr:\n"+errOut)))
			if code != 0 || c.name == "dry run" || c.name == "nothing" {
				require.Equal(t, before, treeSnapshot(t, tr.dir), "nothing removed")
			} else {
				checkStore(t, tr.root)
			}
		})
	}
}

func TestGC_Errors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unparsable age", []string{"gc", "--older-than", "1x"}, 2, "could not parse any time information"},
		{"units out of order", []string{"gc", "--older-than", "1h1d"}, 2, "could not parse"},
		{"two points", []string{"gc", "--older-than", "1.2.3d"}, 2, "is not a number"},
		{"unknown flag", []string{"gc", "--force"}, 2, "flag provided but not defined"},
		{"argument", []string{"gc", "x"}, 2, "want 0 argument"},
		{"unknown run", []string{"gc", "--run-ids", "fedcba9876543210fedcba9876543210"}, 1, "RESOURCE_DOES_NOT_EXIST"},
		{"unknown experiment", []string{"gc", "--experiment-ids", "42"}, 1, "RESOURCE_DOES_NOT_EXIST"},
		{"empty id in list", []string{"gc", "--run-ids", "fedcba9876543210fedcba9876543210,"}, 1, "INVALID_PARAMETER_VALUE"},
		{"active run", []string{"gc", "--run-ids", damagedRun}, 1, "INVALID_STATE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := testkit.CopyFixture(t, "malformed/base")
			before := treeSnapshot(t, root)
			_, errOut, code := invokeCLI(t, root, c.args...)
			require.Equal(t, c.code, code, errOut)
			require.Contains(t, errOut, c.msg)
			if code == 1 {
				require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %s", errOut)
			}
			require.Equal(t, before, treeSnapshot(t, root))
		})
	}
}

func TestGC_ParseOlderThan(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true},
		{"1d2h3m4s", day + 2*time.Hour + 3*time.Minute + 4*time.Second, true},
		{"30d", 30 * day, true},
		{"8h", 8 * time.Hour, true},
		{"2m4s", 2*time.Minute + 4*time.Second, true},
		{"1.5d", 36 * time.Hour, true},
		{"1.2d3h4m5s", 28*time.Hour + 48*time.Minute + 3*time.Hour + 4*time.Minute + 5*time.Second, true},
		{"0.0000001s", 0, true}, // rounded to the microsecond, as timedelta
		{"0s", 0, true},
		{".5h", 30 * time.Minute, true},
		{"100000000d", time.Duration(1<<63 - 1).Truncate(time.Millisecond), true},
		{"d", 0, false},
		{"1", 0, false},
		{"1D", 0, false},
		{"1h1d", 0, false},
		{" 1d", 0, false},
		{"1e3s", 0, false},
		{"-1d", 0, false},
		{"1.2.3d", 0, false},
		{".s", 0, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseOlderThan(c.in)
			if !c.ok {
				require.Error(t, err)
				require.ErrorAs(t, err, new(usageError))
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

// treeSnapshot maps every path under dir to its content ("/" for a
// folder, "-> target" for a symlink).
func treeSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "-> " + target
		case d.IsDir():
			out[rel] = "/"
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(data)
		}
		return nil
	}))
	return out
}

// gcDriver runs `mlflow gc` (the click command itself, in one interpreter:
// starting Python MLflow takes ~6 s a time) for each case on a fresh copy
// of the pristine tree placed at the tree's own path, so artifact
// locations mean what they meant when the tree was written; then it moves
// the result aside and reads every tree our gc left with MlflowClient.
const gcDriver = `
import contextlib, io, json, os, shutil, sys, traceback
cfg = json.load(sys.stdin)
from mlflow.cli import cli
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

def place(src):
    for name in ("mlruns", "ext"):
        dst = os.path.join(cfg["work"], name)
        if os.path.exists(dst):
            shutil.rmtree(dst)
        shutil.copytree(os.path.join(src, name), dst, symlinks=True)

def view(root):
    c = MlflowClient("file://" + root)
    exps = c.search_experiments(view_type=ViewType.ALL)
    runs = c.search_runs([e.experiment_id for e in exps], run_view_type=ViewType.ALL, max_results=1000)
    return {"experiments": sorted(e.experiment_id + " " + e.lifecycle_stage for e in exps),
            "runs": sorted(r.info.run_id + " " + r.info.lifecycle_stage + " " + str(len(r.data.params)) for r in runs)}

out = {"cases": []}
uri = "file://" + os.path.join(cfg["work"], "mlruns")
for case in cfg["cases"]:
    place(cfg["pristine"])
    buf, code, error = io.StringIO(), 0, ""
    with contextlib.redirect_stdout(buf):
        try:
            cli.main(args=["gc", "--backend-store-uri", uri, "--tracking-uri", uri] + (case["args"] or []), standalone_mode=False)
        except SystemExit as e:
            code = e.code or 0
        except Exception as e:
            code, error = 1, repr(e)
    os.makedirs(case["py"])
    for name in ("mlruns", "ext"):
        shutil.move(os.path.join(cfg["work"], name), os.path.join(case["py"], name))
    res = {"code": code, "stdout": buf.getvalue(), "error": error}
    res["py_view"] = view(os.path.join(case["py"], "mlruns"))
    res["go_view"] = view(os.path.join(case["go"], "mlruns"))
    out["cases"].append(res)
json.dump(out, open(cfg["out"], "w"))
`

// TestGC_Python runs Python's `mlflow gc` and ours with the same flags on
// copies of one tree: the trees left must be equal (every path and every
// byte, artifacts outside the store included), both must succeed or fail
// alike and report the same deletions, and Python must read our tree.
func TestGC_Python(t *testing.T) {
	interoptest.Python(t)
	base := t.TempDir()
	work := filepath.Join(base, "work")
	tr := newGCTree(t, work)
	pristine := filepath.Join(base, "pristine")
	for _, name := range []string{"mlruns", "ext"} {
		testkit.CopyTree(t, filepath.Join(work, name), filepath.Join(pristine, name))
	}
	id := tr.ids
	cases := []struct {
		name string
		args []string
		ok   bool
	}{
		{"everything", nil, true},
		{"older than 7d", []string{"--older-than", "7d"}, true},
		{"older than 1d2h3m4s", []string{"--older-than", "1d2h3m4s"}, true},
		{"run ids", []string{"--run-ids", id["a-young"]}, true},
		{"old run ids with an age", []string{"--run-ids", id["a-old"] + "," + id["d-old"], "--older-than", "1d"}, true},
		{"experiment ids", []string{"--experiment-ids", id["B"]}, true},
		{"experiment ids with an age", []string{"--experiment-ids", id["B"], "--older-than", "2d"}, true},
		{"logged model and run ids", []string{"--logged-model-ids", id["m-young"], "--run-ids", id["a-young"]}, true},
		// Refusals. Python removes runs one by one in set order and stops at
		// the first refused one; an age that leaves out every experiment
		// makes the refused run the only one it looks at, so it removes
		// nothing, as we do in every case.
		{"active run", []string{"--run-ids", id["a-active"], "--older-than", "30d"}, false},
		{"young run with an age", []string{"--run-ids", id["a-young"], "--older-than", "30d"}, false},
		{"unknown run", []string{"--run-ids", "0123456789abcdef0123456789abcdef", "--older-than", "30d"}, false},
		{"active experiment", []string{"--experiment-ids", id["A"]}, false},
		{"young experiment with an age", []string{"--experiment-ids", id["C"], "--older-than", "1d"}, false},
		{"active logged model", []string{"--logged-model-ids", id["m-active"], "--older-than", "30d"}, false},
	}
	type pyCase struct {
		Args []string `json:"args"`
		Py   string   `json:"py"`
		Go   string   `json:"go"`
	}
	var pyCases []pyCase
	goOut := make([]string, len(cases))
	goCode := make([]int, len(cases))
	for i, c := range cases {
		caseDir := filepath.Join(base, fmt.Sprintf("case%02d", i))
		// ours, on the tree at its own path, then moved aside
		for _, name := range []string{"mlruns", "ext"} {
			require.NoError(t, os.RemoveAll(filepath.Join(work, name)))
			testkit.CopyTree(t, filepath.Join(pristine, name), filepath.Join(work, name))
		}
		var errOut string
		goOut[i], errOut, goCode[i] = invokeCLI(t, tr.root, append([]string{"gc"}, c.args...)...)
		require.Equal(t, c.ok, goCode[i] == 0, "%s: %s", c.name, errOut)
		require.NoError(t, os.MkdirAll(filepath.Join(caseDir, "go"), 0o755))
		for _, name := range []string{"mlruns", "ext"} {
			require.NoError(t, os.Rename(filepath.Join(work, name), filepath.Join(caseDir, "go", name)))
		}
		pyCases = append(pyCases, pyCase{Args: c.args, Py: filepath.Join(caseDir, "py"), Go: filepath.Join(caseDir, "go")})
	}
	script := filepath.Join(base, "gc_driver.py")
	require.NoError(t, os.WriteFile(script, []byte(gcDriver), 0o644))
	resultFile := filepath.Join(base, "result.json")
	cfg, err := json.Marshal(map[string]any{"work": work, "pristine": pristine, "out": resultFile, "cases": pyCases})
	require.NoError(t, err)
	interoptest.Run(t, script, cfg)
	raw, err := os.ReadFile(resultFile)
	require.NoError(t, err)
	var res struct {
		Cases []struct {
			Code   int
			Stdout string
			Error  string
			PyView map[string][]string `json:"py_view"`
			GoView map[string][]string `json:"go_view"`
		}
	}
	require.NoError(t, json.Unmarshal(raw, &res))
	require.Len(t, res.Cases, len(cases))
	removed := func(out string) []string {
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasSuffix(l, " has been permanently deleted.") {
				lines = append(lines, l)
			}
		}
		sort.Strings(lines)
		return lines
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			py := res.Cases[i]
			require.Equal(t, c.ok, py.Code == 0, "python: %s", py.Error)
			require.Equal(t, removed(py.Stdout), removed(goOut[i]), "the same deletions reported")
			if c.ok {
				require.NotEmpty(t, removed(goOut[i]))
			}
			pyTree := treeSnapshot(t, pyCases[i].Py)
			goTree := treeSnapshot(t, pyCases[i].Go)
			require.Equal(t, pyTree, goTree, "the trees gc leaves")
			require.Equal(t, py.PyView, py.GoView, "what Python reads from each tree")
			require.NotEmpty(t, py.GoView["runs"])
		})
	}
}
