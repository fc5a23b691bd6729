package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/tracking"
)

// `mlruns sync` brings the runs of a local tree into an MLflow tracking
// server (package mlsync): push sends what is new, status says what is.
func init() {
	register(command{name: "sync", order: 60, subs: syncSubcommands,
		summary: "push runs into an MLflow tracking server, incrementally (push, status)"})
}

var syncSubcommands = []subcommand{
	{"push", "push the tree's runs to a server: only what is new, never a run twice", cmdSyncPush},
	{"status", "what is synced, pending or new for a server, and what was lossy (offline)", cmdSyncStatus},
}

// syncFlags are the flags push and status share.
type syncFlags struct {
	to                       *string
	expIDs, expNames, runIDs multiFlag
	json                     *bool
}

func newSyncFlags(fs *flagSet) *syncFlags {
	f := &syncFlags{to: fs.String("to", "", "the tracking server (http:// or https://), or a store folder; required")}
	fs.Var(&f.expIDs, "experiment-id", "push the runs of this experiment (repeatable; default: every run)")
	fs.Var(&f.expNames, "experiment-name", "push the runs of the experiment with this name (repeatable)")
	fs.Var(&f.runIDs, "run-id", "push this run (repeatable; its parent runs go too)")
	f.json = fs.Bool("json", false, "print the report as JSON")
	return f
}

func (f *syncFlags) options(root string) (mlsync.Options, error) {
	if *f.to == "" {
		return mlsync.Options{}, usageError{"sync: --to URI is required (the tracking server to sync with)"}
	}
	return mlsync.Options{Root: root, Target: *f.to, Select: mlsync.Selection{
		ExperimentIDs: f.expIDs, ExperimentNames: f.expNames, RunIDs: f.runIDs}}, nil
}

func cmdSyncPush(e *env, args []string) error {
	fs := newFlagSet(e, "sync push",
		"sync push --to URI [--experiment-id ID | --experiment-name NAME | --run-id ID]... [--dry-run] [--strict] [--json]")
	f := newSyncFlags(fs)
	dry := fs.Bool("dry-run", false, "say what would be sent, from the tree and the journal; send and write nothing")
	strict := fs.Bool("strict", false, "exit 1 when a value reached the server changed (±inf, -0.0, duplicate points, truncated values)")
	if _, err := fs.parseArgs(args, 0); err != nil {
		return err
	}
	s, err := openExisting(e)
	if err != nil {
		return err
	}
	o, err := f.options(s.Root())
	if err != nil {
		return err
	}
	o.DryRun = *dry
	var rep *mlsync.Report
	if *dry {
		rep, err = mlsync.Push(e.ctx, s, nil, o)
	} else {
		dst, oerr := tracking.OpenStore(o.Target, nil)
		if oerr != nil {
			return oerr
		}
		defer dst.Close()
		rep, err = mlsync.Push(e.ctx, s, dst, o)
	}
	if rep == nil {
		return err
	}
	if werr := printSyncReport(e, rep, *f.json); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if !rep.Complete() {
		return exitError{code: 1, msg: fmt.Sprintf("sync: %d run(s) and %d other item(s) not pushed; run it again to retry what failed",
			rep.Count(mlsync.RunFailed), len(rep.Failures))}
	}
	if *strict && rep.LossyCount() > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("sync: %d value(s) reached the server changed (--strict)", rep.LossyCount())}
	}
	return nil
}

// printSyncReport prints the JSON report, or the failures on stderr and
// the summary line.
func printSyncReport(e *env, rep *mlsync.Report, asJSON bool) error {
	if asJSON {
		return cliout.WriteJSON(e.stdout, rep)
	}
	for _, fl := range rep.Failures {
		fmt.Fprintf(e.stderr, "mlruns: sync: %s: %s\n", fl.What, fl.Error)
	}
	for _, r := range rep.Runs {
		if r.State == mlsync.RunFailed {
			fmt.Fprintf(e.stderr, "mlruns: sync: run %s: %s\n", r.RunID, r.Error)
		}
	}
	_, err := fmt.Fprintln(e.stdout, rep.Summary())
	return err
}

func cmdSyncStatus(e *env, args []string) error {
	fs := newFlagSet(e, "sync status", "sync status --to URI [--experiment-id ID | --experiment-name NAME | --run-id ID]... [--json]")
	f := newSyncFlags(fs)
	if _, err := fs.parseArgs(args, 0); err != nil {
		return err
	}
	s, err := openExisting(e)
	if err != nil {
		return err
	}
	o, err := f.options(s.Root())
	if err != nil {
		return err
	}
	rep, err := mlsync.Status(e.ctx, s, o)
	if err != nil {
		return err
	}
	if *f.json {
		return cliout.WriteJSON(e.stdout, rep)
	}
	t := &cliout.Table{Header: []string{"run_id", "experiment_id", "remote_run_id", "state", "points", "lossy"}}
	for _, r := range rep.Runs {
		t.Append(r.RunID, r.ExperimentID, r.RemoteRunID, string(r.State), fmt.Sprint(r.Points), lossCell(r.Lossy))
	}
	if err := cliout.WriteTable(e.stdout, t, cliout.TerminalOptions(e.stdout)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d synced, %d pending, %d new, %d point(s) to send; %s\n", o.Target,
		rep.Count(mlsync.RunSynced), rep.Count(mlsync.RunPending), rep.Count(mlsync.RunNew), rep.Points(), lossText(rep))
	for _, fl := range rep.Failures {
		fmt.Fprintf(e.stderr, "mlruns: sync: %s: %s\n", fl.What, fl.Error)
	}
	return nil
}

// lossCell is "2 infinity, 1 negative_zero" or "".
func lossCell(m map[mlsync.LossKind]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

func lossText(rep *mlsync.Report) string {
	if rep.LossyCount() == 0 {
		return "nothing lossy pushed"
	}
	return fmt.Sprintf("%d value(s) pushed lossy (%s)", rep.LossyCount(), lossCell(rep.Lossy))
}
