package main

import (
	"fmt"

	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/tracking"
)

// cmdSyncPull brings a server's runs into the tree (mlsync.Pull): the
// tree is made when missing, run ids are kept, and a push afterwards sends
// nothing of what was pulled.
func cmdSyncPull(e *env, args []string) error {
	fs := newFlagSet(e, "sync pull",
		"sync pull --from URI [--experiment-id ID | --experiment-name NAME | --run-id ID]... [--no-artifacts] [--json]")
	from := fs.String("from", "", "the tracking server (http:// or https://), or a store folder; required")
	var expIDs, expNames, runIDs multiFlag
	fs.Var(&expIDs, "experiment-id", "pull the runs of the server's experiment with this id (repeatable; default: every run)")
	fs.Var(&expNames, "experiment-name", "pull the runs of the server's experiment with this name (repeatable)")
	fs.Var(&runIDs, "run-id", "pull the server's run with this id (repeatable; its parent runs come too)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	noArtifacts := fs.Bool("no-artifacts", false, "leave the runs' artifacts on the server")
	if _, err := fs.parseArgs(args, 0); err != nil {
		return err
	}
	if *from == "" {
		return usageError{"sync pull: --from URI is required (the tracking server to pull from)"}
	}
	tree, err := e.openLocal()
	if err != nil {
		return err
	}
	defer tree.Close()
	srv, err := tracking.OpenStore(*from, nil)
	if err != nil {
		return err
	}
	defer srv.Close()
	o := mlsync.Options{Root: tree.Root(), Target: *from, NoArtifacts: *noArtifacts,
		Select: mlsync.Selection{ExperimentIDs: expIDs, ExperimentNames: expNames, RunIDs: runIDs}}
	rep, err := mlsync.Pull(e.ctx, srv, tree, o)
	if rep == nil {
		return err
	}
	if werr := printSyncReport(e, rep, *asJSON); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if !rep.Complete() {
		return exitError{code: 1, msg: fmt.Sprintf("sync pull: %d run(s), %d other item(s) and the artifacts of %d run(s) not pulled; run it again to retry what failed",
			rep.Count(mlsync.RunFailed), len(rep.Failures), rep.ArtifactErrors())}
	}
	return nil
}
