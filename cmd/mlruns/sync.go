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
		summary: "push runs into an MLflow tracking server and pull them back, incrementally (push, status, pull)"})
}

var syncSubcommands = []subcommand{
	{"push", "push the tree's runs to a server: only what is new, never a run twice", cmdSyncPush},
	{"status", "what is synced, pending or new for a server, and what was lossy (offline)", cmdSyncStatus},
	{"pull", "bring a server's runs into the tree, keeping their ids (a push afterwards sends nothing)", cmdSyncPull},
}

// syncFlags are the flags push and status share.
type syncFlags struct {
	to                       *string
	expIDs, expNames, runIDs multiFlag
	json                     *bool
	noArtifacts              *bool
}

func newSyncFlags(fs *flagSet) *syncFlags {
	f := &syncFlags{to: fs.String("to", "", "the tracking server (http:// or https://), or a store folder; required")}
	fs.Var(&f.expIDs, "experiment-id", "push the runs of this experiment (repeatable; default: every run)")
	fs.Var(&f.expNames, "experiment-name", "push the runs of the experiment with this name (repeatable)")
	fs.Var(&f.runIDs, "run-id", "push this run (repeatable; its parent runs go too)")
	f.json = fs.Bool("json", false, "print the report as JSON")
	f.noArtifacts = fs.Bool("no-artifacts", false, "leave the runs' and logged models' artifacts out")
	return f
}

func (f *syncFlags) options(root string) (mlsync.Options, error) {
	if *f.to == "" {
		return mlsync.Options{}, usageError{"sync: --to URI is required (the tracking server to sync with)"}
	}
	return mlsync.Options{Root: root, Target: *f.to, NoArtifacts: *f.noArtifacts, Select: mlsync.Selection{
		ExperimentIDs: f.expIDs, ExperimentNames: f.expNames, RunIDs: f.runIDs}}, nil
}

func cmdSyncPush(e *env, args []string) error {
	fs := newFlagSet(e, "sync push",
		"sync push --to URI [--experiment-id ID | --experiment-name NAME | --run-id ID]... [--jobs N] [--follow [--interval D]] [--no-artifacts] [--dry-run] [--verify] [--strict] [--json]")
	f := newSyncFlags(fs)
	dry := fs.Bool("dry-run", false, "say what would be sent, from the tree and the journal; send and write nothing")
	verify := fs.Bool("verify", false, "after the push, read the server back and compare it with the tree; exit 1 on a difference")
	strict := fs.Bool("strict", false, "exit 1 when a value reached the server changed (±inf, -0.0, duplicate points, truncated values)")
	pf := newPushFlags(fs)
	if _, err := fs.parseArgs(args, 0); err != nil {
		return err
	}
	if err := pf.check(*dry); err != nil {
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
	o.DryRun, o.Jobs = *dry, *pf.jobs
	var rep *mlsync.Report
	if *dry {
		rep, err = mlsync.Push(e.ctx, s, nil, o)
	} else {
		dst, oerr := tracking.OpenStore(o.Target, nil)
		if oerr != nil {
			return oerr
		}
		defer dst.Close()
		rep, err = pf.push(e, s, dst, o, *f.json)
		if err == nil && *verify {
			diffs, verr := mlsync.Verify(e.ctx, s, dst, o)
			if verr != nil {
				return verr
			}
			rep.Differences = diffs
		}
	}
	if rep == nil {
		return err
	}
	if werr := pf.printReport(e, rep, *f.json); werr != nil {
		return werr
	}
	if err != nil {
		return pf.pushError(err)
	}
	if *verify && !*dry && !*f.json && len(rep.Differences) == 0 {
		fmt.Fprintf(e.stdout, "verified: %s holds the tree's %d run(s) but for what was reported lossy\n", o.Target, len(rep.Runs))
	}
	if !rep.Complete() {
		return exitError{code: 1, msg: fmt.Sprintf("sync: %d run(s), %d other item(s) and the artifacts of %d run(s) or model(s) not pushed; run it again to retry what failed",
			rep.Count(mlsync.RunFailed), len(rep.Failures), rep.ArtifactErrors())}
	}
	if n := len(rep.Differences); n > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("sync: --verify: the server differs from the tree in %d place(s)", n)}
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
	verb := "pushed"
	if rep.Pull {
		verb = "pulled"
	}
	for _, fl := range rep.Failures {
		fmt.Fprintf(e.stderr, "mlruns: sync: %s: %s\n", fl.What, fl.Error)
	}
	for _, r := range rep.Runs {
		if r.State == mlsync.RunFailed {
			fmt.Fprintf(e.stderr, "mlruns: sync: run %s: %s\n", r.RunID, r.Error)
		}
		if r.Artifacts.Error != "" {
			fmt.Fprintf(e.stderr, "mlruns: sync: run %s: artifacts not %s: %s\n", r.RunID, verb, r.Artifacts.Error)
		}
	}
	for _, m := range rep.Models {
		if m.Artifacts.Error != "" {
			fmt.Fprintf(e.stderr, "mlruns: sync: logged model %s: artifacts not %s: %s\n", m.ModelID, verb, m.Artifacts.Error)
		}
	}
	for _, d := range rep.Differences {
		fmt.Fprintf(e.stderr, "mlruns: sync: verify: run %s: %s: tree %s, server %s\n", d.RunID, d.What, d.Local, d.Remote)
	}
	_, err := fmt.Fprintln(e.stdout, rep.Summary())
	return err
}

func cmdSyncStatus(e *env, args []string) error {
	fs := newFlagSet(e, "sync status", "sync status --to URI [--experiment-id ID | --experiment-name NAME | --run-id ID]... [--no-artifacts] [--json]")
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
	files, _ := rep.ArtifactFiles()
	fmt.Fprintf(e.stdout, "%s: %d synced, %d pending, %d new, %d point(s) and %d artifact file(s) to send; %s\n", o.Target,
		rep.Count(mlsync.RunSynced), rep.Count(mlsync.RunPending), rep.Count(mlsync.RunNew), rep.Points(), files, lossText(rep))
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
