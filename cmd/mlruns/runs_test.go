package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/cliout"
)

func TestRunsList_Golden(t *testing.T) {
	t.Setenv("COLUMNS", "")
	tr := newListingTree(t)
	cases := []struct {
		golden string
		args   []string
	}{
		{"runs_list.txt", []string{"runs", "list"}},
		{"runs_list.json", []string{"runs", "list", "--json"}},
		{"runs_list.csv", []string{"runs", "list", "--csv"}},
		{"runs_list_all.txt", []string{"runs", "list", "--view", "all"}},
		{"runs_list_deleted.csv", []string{"runs", "list", "--view", "deleted", "--csv"}},
		// the keys of the query come first among the data columns
		{"runs_list_query.txt", []string{"runs", "list", "--experiment-name", "mnist",
			"--filter", "metrics.accuracy > 0.9", "--order-by", "params.lr DESC"}},
		{"runs_list_columns.txt", []string{"runs", "list", "--experiment-id", tr.exp["cifar10"],
			"--experiment-name", "mnist", "--columns", "params.optimizer, tags.stage,metric.val_loss"}},
		{"runs_list_no_columns.txt", []string{"runs", "list", "--columns="}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) { tr.golden(t, c.golden, c.args...) })
	}
}

func TestRunsShow_Golden(t *testing.T) {
	t.Setenv("COLUMNS", "")
	tr := newListingTree(t)
	id := tr.run["baseline"]
	tr.golden(t, "runs_show.txt", "runs", "show", id)
	tr.golden(t, "runs_show.json", "runs", "show", id, "--json")
	tr.golden(t, "runs_show.csv", "runs", "show", "--csv", id)
	// a child run, still running: parent, no end time, NaN
	tr.golden(t, "runs_show_running.txt", "runs", "show", tr.run["crashed"])
	tr.golden(t, "runs_show_child.txt", "runs", "show", tr.run["adam-fold-0"])
}

func TestRunsCompare_Golden(t *testing.T) {
	t.Setenv("COLUMNS", "")
	tr := newListingTree(t)
	ids := []string{tr.run["baseline"], tr.run["adam"], tr.run["adam-fold-0"]}
	tr.golden(t, "runs_compare.txt", append([]string{"runs", "compare"}, ids...)...)
	tr.golden(t, "runs_compare.json", append([]string{"runs", "compare", "--json"}, ids...)...)
	tr.golden(t, "runs_compare.csv", append([]string{"runs", "compare", "--csv"}, ids...)...)
}

// A row is marked when its values differ, missing keys included: '*' in
// plain text, bold on a terminal; "differs" in JSON says the same.
func TestRunsCompare_Marks(t *testing.T) {
	t.Setenv("COLUMNS", "")
	tr := newListingTree(t)
	out, errOut, code := invokeCLI(t, tr.root, "runs", "compare", tr.run["baseline"], tr.run["adam"])
	require.Equal(t, 0, code, errOut)
	rows := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		rows[f[0]] = strings.Join(f[1:], " ")
	}
	require.Equal(t, "64 64", rows["params.batch_size"], "same value: no mark")
	require.Equal(t, "0.01* 0.001*", rows["params.lr"])
	require.Equal(t, "-* 0.25*", rows["metrics.val_loss"], "a missing key differs")
	require.Equal(t, "FINISHED FINISHED", rows["status"])

	out, _, code = invokeCLI(t, tr.root, "runs", "compare", "--json", tr.run["baseline"], tr.run["adam"])
	require.Equal(t, 0, code)
	var resp compareResponse
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	require.Len(t, resp.Runs, 2)
	differs := map[string]bool{}
	for _, p := range resp.Params {
		differs["params."+p.Key] = p.Differs
	}
	for _, m := range resp.Metrics {
		differs["metrics."+m.Key] = m.Differs
		if m.Key == "val_loss" {
			require.Nil(t, m.Values[0])
			require.InDelta(t, 0.25, float64(*m.Values[1]), 0)
		}
	}
	require.Equal(t, map[string]bool{"params.batch_size": false, "params.lr": true, "params.optimizer": true,
		"metrics.accuracy": true, "metrics.loss": true, "metrics.val_loss": true}, differs)

	// on a terminal the marked cells are bold instead
	s, err := filestore.Open(tr.root, nil)
	require.NoError(t, err)
	var runs []entities.Run
	for _, name := range []string{"baseline", "adam"} {
		r, err := s.GetRun(t.Context(), tr.run[name])
		require.NoError(t, err)
		runs = append(runs, r)
	}
	tab, _ := compareRuns(runs, false)
	var b bytes.Buffer
	require.NoError(t, cliout.WriteTable(&b, tab, cliout.Options{Color: true}))
	require.Contains(t, b.String(), "\x1b[1m0.01\x1b[0m")
	require.NotContains(t, b.String(), "*")
}

// Every listing fits a narrow terminal (COLUMNS), and the runs table keeps
// at least one metric column, dropping the others that would not fit.
func TestListings_NarrowTerminal(t *testing.T) {
	tr := newListingTree(t)
	cases := []struct {
		width int
		args  []string
	}{
		{100, []string{"runs", "list"}},
		{80, []string{"runs", "list", "--view", "all"}},
		{60, []string{"runs", "show", tr.run["baseline"]}},
		{60, []string{"runs", "compare", tr.run["baseline"], tr.run["adam"], tr.run["adam-fold-0"]}},
		{60, []string{"experiments", "list", "--view", "all"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_%s_%d", c.args[0], c.args[1], c.width), func(t *testing.T) {
			t.Setenv("COLUMNS", "")
			wide, _, code := invokeCLI(t, tr.root, c.args...)
			require.Equal(t, 0, code)
			require.Greater(t, maxLineWidth(wide), c.width, "the case must need shortening")
			t.Setenv("COLUMNS", fmt.Sprint(c.width))
			out, errOut, code := invokeCLI(t, tr.root, c.args...)
			require.Equal(t, 0, code, errOut)
			if c.args[1] == "show" {
				// the fields stay whole (ids are copied from there); the
				// sections below them fit
				fields, sections, _ := strings.Cut(out, "\n\n")
				require.Contains(t, fields, "run_id:           "+tr.run["baseline"]+"\n")
				out = sections
			}
			require.LessOrEqual(t, maxLineWidth(out), c.width, out)
			require.Contains(t, out, "…")
			if c.args[1] == "list" && c.args[0] == "runs" {
				header := strings.SplitN(out, "\n", 2)[0]
				// run ids and start times stay whole; the metric column
				// (its header maybe shortened) is still there
				require.Equal(t, 1, strings.Count(header, "metri"), header)
				require.NotContains(t, header, "param")
				if c.width >= 100 {
					require.Regexp(t, `(?m)^[0-9a-f]{32}  `, out, "whole run ids where they fit")
				}
			}
		})
	}
}

// --json pages carry next_page_token; following it gives, page by page,
// exactly the runs of the unpaged listing, in its order.
func TestRunsList_Paging(t *testing.T) {
	tr := newListingTree(t)
	// runs stay raw: restjson.Float only prints (NaN is "NaN")
	type page struct {
		Runs          []json.RawMessage `json:"runs"`
		NextPageToken string            `json:"next_page_token"`
	}
	list := func(args ...string) page {
		out, errOut, code := invokeCLI(t, tr.root, append([]string{"runs", "list", "--view", "all", "--json",
			"--order-by", "params.lr ASC"}, args...)...)
		require.Equal(t, 0, code, errOut)
		var resp page
		require.NoError(t, json.Unmarshal([]byte(out), &resp))
		return resp
	}
	full := list()
	require.Len(t, full.Runs, 7)
	require.Empty(t, full.NextPageToken)
	var paged []json.RawMessage
	token, pages := "", 0
	for {
		resp := list("--max-results", "2", "--page-token", token)
		pages++
		paged = append(paged, resp.Runs...)
		if resp.NextPageToken == "" {
			break
		}
		token = resp.NextPageToken
	}
	require.Equal(t, 4, pages)
	require.Equal(t, full.Runs, paged)

	// the table mode gives the token on stderr, one line
	out, hint, code := invokeCLI(t, tr.root, "runs", "list", "--max-results", "2")
	require.Equal(t, 0, code)
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 3)
	require.Equal(t, 1, strings.Count(hint, "\n"))
	require.Contains(t, hint, "--page-token ")
}

func TestRuns_DeleteRestore(t *testing.T) {
	tr := newListingTree(t)
	s, err := filestore.Open(tr.root, nil)
	require.NoError(t, err)
	stage := func(name string) entities.LifecycleStage {
		info, err := s.GetRunInfo(context.Background(), tr.run[name])
		require.NoError(t, err)
		return info.LifecycleStage
	}
	deletedAt := func(name string) int64 {
		info, err := s.GetRunInfo(context.Background(), tr.run[name])
		require.NoError(t, err)
		require.NotNil(t, info.DeletedTime)
		return *info.DeletedTime
	}

	out, errOut, code := invokeCLI(t, tr.root, "runs", "delete", tr.run["baseline"], tr.run["adam"])
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Deleted run "+tr.run["baseline"]+" \"baseline\"\nDeleted run "+tr.run["adam"]+" \"adam\"\n", out)
	require.Equal(t, entities.StageDeleted, stage("baseline"))
	require.Equal(t, entities.StageDeleted, stage("adam"))

	// already deleted: left alone, deleted_time kept
	before := deletedAt("discarded")
	out, _, code = invokeCLI(t, tr.root, "runs", "delete", tr.run["discarded"])
	require.Equal(t, 0, code)
	require.Contains(t, out, "already deleted; nothing changed")
	require.Equal(t, before, deletedAt("discarded"))

	// one unknown id: nothing changes
	_, errOut, code = invokeCLI(t, tr.root, "runs", "restore", tr.run["baseline"], "0123456789abcdef0123456789abcdef")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "RESOURCE_DOES_NOT_EXIST")
	require.Equal(t, entities.StageDeleted, stage("baseline"))

	out, errOut, code = invokeCLI(t, tr.root, "runs", "restore", tr.run["baseline"], tr.run["adam"], tr.run["resnet"])
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Restored run "+tr.run["adam"])
	require.Contains(t, out, "Run "+tr.run["resnet"]+" \"resnet\" is already active; nothing changed")
	require.Equal(t, entities.StageActive, stage("baseline"))
	require.Equal(t, entities.StageActive, stage("adam"))

	// a run of a deleted experiment comes back with its experiment only
	_, errOut, code = invokeCLI(t, tr.root, "runs", "restore", tr.run["tmp-run"])
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "INVALID_STATE")
	require.Contains(t, errOut, "mlruns experiments restore "+tr.exp["scratch"])
	require.Equal(t, entities.StageDeleted, stage("tmp-run"))
	checkStore(t, tr.root)
}

// Mistakes in the command line exit 2 with the usage hint; failures exit 1
// with one line that says what is wrong and what to do.
func TestListings_Errors(t *testing.T) {
	tr := newListingTree(t)
	missing := "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no subcommand", []string{"runs"}, 2, "want a subcommand: list, show, compare, delete, restore"},
		{"unknown subcommand", []string{"experiments", "drop"}, 2, `unknown subcommand "drop"`},
		{"bad view", []string{"experiments", "list", "--view", "gone"}, 2, "--view must be active, deleted or all"},
		{"json and csv", []string{"runs", "list", "--json", "--csv"}, 2, "cannot be used together"},
		{"non-numeric max-results", []string{"runs", "list", "--max-results", "ten"}, 2, "invalid value"},
		{"negative max-results", []string{"experiments", "list", "--max-results", "-1"}, 2, "--max-results must be positive"},
		{"max-results over the limit", []string{"runs", "list", "--max-results", "50001"}, 2, "--max-results"},
		{"unknown flag", []string{"runs", "show", tr.run["adam"], "--yaml"}, 2, "flag provided but not defined"},
		{"show without id", []string{"runs", "show"}, 2, "want 1 argument(s), got 0"},
		{"compare one run", []string{"runs", "compare", tr.run["adam"]}, 2, "want at least 2 run ids"},
		{"delete nothing", []string{"runs", "delete"}, 2, "want at least 1 run id"},
		{"bad column", []string{"runs", "list", "--columns", "loss"}, 2, `"loss" is not metrics.KEY`},
		{"tag without value", []string{"experiments", "create", "x", "--tag", "team"}, 2, "--tag wants KEY=VALUE"},
		{"list with argument", []string{"experiments", "list", "mnist"}, 2, "want 0 argument(s)"},

		{"show missing run", []string{"runs", "show", missing}, 1, "Run '" + missing + "' not found (RESOURCE_DOES_NOT_EXIST); check the id"},
		{"compare missing run", []string{"runs", "compare", tr.run["adam"], missing}, 1, "RESOURCE_DOES_NOT_EXIST"},
		{"delete missing run", []string{"runs", "delete", missing}, 1, "RESOURCE_DOES_NOT_EXIST"},
		{"list missing experiment id", []string{"runs", "list", "--experiment-id", "12345"}, 1, "Could not find experiment with ID 12345 (RESOURCE_DOES_NOT_EXIST)"},
		{"list missing experiment name", []string{"runs", "list", "--experiment-name", "mnits"}, 1, "RESOURCE_DOES_NOT_EXIST"},
		{"bad filter", []string{"runs", "list", "--filter", "metrics.loss <"}, 1, "INVALID_PARAMETER_VALUE"},
		{"bad order-by", []string{"experiments", "list", "--order-by", "size DESC"}, 1, "INVALID_PARAMETER_VALUE"},
		{"bad page token", []string{"runs", "list", "--page-token", "nonsense"}, 1, "INVALID_PARAMETER_VALUE"},
		{"delete missing experiment", []string{"experiments", "delete", "mnits"}, 1, `no experiment with id or name "mnits" (RESOURCE_DOES_NOT_EXIST)`},
		{"create existing experiment", []string{"experiments", "create", "mnist"}, 1, "RESOURCE_ALREADY_EXISTS"},
		{"rename deleted experiment", []string{"experiments", "rename", "scratch", "scratch2"}, 1, "Cannot rename experiment in non-active lifecycle stage"},
		{"restore run of deleted experiment", []string{"runs", "restore", tr.run["tmp-run"]}, 1, "INVALID_STATE); restore it first"},
		{"delete Default", []string{"experiments", "delete", "0"}, 1, "Cannot delete the default experiment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := invokeCLI(t, tr.root, c.args...)
			require.Equal(t, c.code, code, errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, c.msg)
			require.True(t, strings.HasPrefix(errOut, "mlruns: "), errOut)
			if c.code == 1 {
				require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
			}
		})
	}
	checkStore(t, tr.root)
}

// Deleted runs are hidden by default, listed with --view deleted or all,
// and shown by id.
func TestRuns_DeletedRuns(t *testing.T) {
	tr := newListingTree(t)
	id := tr.run["discarded"]
	out, _, code := invokeCLI(t, tr.root, "runs", "list", "--csv")
	require.Equal(t, 0, code)
	require.NotContains(t, out, id)
	out, _, code = invokeCLI(t, tr.root, "runs", "list", "--view", "deleted", "--csv")
	require.Equal(t, 0, code)
	require.Contains(t, out, id)
	require.Contains(t, out, tr.run["tmp-run"], "runs of deleted experiments are searched too")
	out, errOut, code := invokeCLI(t, tr.root, "runs", "show", id)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "lifecycle_stage:  deleted")
}

// -h prints a group's subcommands or a subcommand's flags and exits 0.
func TestListings_Help(t *testing.T) {
	root := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"experiments", "-h"}, "usage: mlruns experiments <subcommand>"},
		{[]string{"runs", "help"}, "compare   params and latest metrics"},
		{[]string{"runs", "list", "-h"}, "-columns string"},
		{[]string{"runs", "compare", "--help"}, "{key, values, differs}"},
		{[]string{"experiments", "create", "-h"}, "-artifact-location"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			out, errOut, code := invokeCLI(t, root, c.args...)
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, c.want)
		})
	}
}
