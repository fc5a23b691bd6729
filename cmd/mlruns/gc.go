package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/age"
	"github.com/mlruns-go/mlruns/internal/progress"
)

// cmdGC is `mlflow gc` for a file store: it permanently deletes runs,
// logged models and experiments in the deleted lifecycle stage, with
// Python's flags and Python's one line per removed item, so scripts written
// for `mlflow gc` read our output too.
func init() {
	register(command{name: "gc", order: 70, run: cmdGC,
		summary: "permanently delete deleted runs, logged models and experiments (mlflow gc)"})
}

func cmdGC(e *env, args []string) error {
	fs := newFlagSet(e, "gc", "gc [--older-than 1d2h3m4s] [--run-ids ID,...] [--experiment-ids ID,...] [--logged-model-ids ID,...] [--dry-run]")
	olderThan := fs.String("older-than", "", "only what was deleted at least this long ago: #d#h#m#s, fractions allowed (1d2h3m4s, 1.5d)")
	runIDs := fs.String("run-ids", "", "comma-separated runs to delete (each must be deleted); default: every deleted run")
	expIDs := fs.String("experiment-ids", "", "comma-separated experiments to delete with their runs (each must be deleted); default: every deleted experiment")
	modelIDs := fs.String("logged-model-ids", "", "comma-separated logged models to delete (each must be deleted); default: every deleted logged model")
	dryRun := fs.Bool("dry-run", false, "list what would be deleted and delete nothing")
	_, err := fs.parseArgs(args, 0)
	if err != nil {
		return err
	}
	age, err := parseOlderThan(*olderThan)
	if err != nil {
		return err
	}
	s, err := openExisting(e)
	if err != nil {
		return err
	}
	var bar *progress.Bar
	opts := filestore.GCOptions{
		OlderThan:      age,
		RunIDs:         splitIDs(*runIDs),
		ExperimentIDs:  splitIDs(*expIDs),
		LoggedModelIDs: splitIDs(*modelIDs),
		DryRun:         *dryRun,
		Progress: func(done, total int, _ filestore.GCItem) {
			if bar == nil {
				bar = progress.New(e.stderr, int64(total), "gc")
			}
			bar.Add(1)
		},
	}
	res, gcErr := s.GC(e.ctx, opts)
	if bar != nil {
		bar.Finish()
	}
	verb := "has been"
	if *dryRun {
		verb = "would be"
	}
	for _, it := range res.Items {
		fmt.Fprintf(e.stdout, "%s with ID %s %s permanently deleted.\n", gcNoun(it.Kind), it.ID, verb)
	}
	for _, it := range res.Items {
		if it.ArtifactsKept != "" {
			fmt.Fprintf(e.stderr, "mlruns: warning: kept the artifacts of %s %s: %s\n", it.Kind, it.ID, it.ArtifactsKept)
		}
	}
	if gcErr != nil {
		return exitError{code: 1, msg: gcErrorLine(gcErr, len(res.Items) > 0 && !*dryRun)}
	}
	fmt.Fprintln(e.stdout, gcSummary(res, *dryRun))
	return nil
}

// gcNoun is how mlflow gc names each kind in its lines.
func gcNoun(k filestore.GCKind) string {
	switch k {
	case filestore.GCRun:
		return "Run"
	case filestore.GCLoggedModel:
		return "Logged model"
	}
	return "Experiment"
}

func gcSummary(res filestore.GCResult, dryRun bool) string {
	if len(res.Items) == 0 {
		return "gc: nothing to delete"
	}
	counts := fmt.Sprintf("%s, %s and %s",
		plural(res.Count(filestore.GCRun), "run"),
		plural(res.Count(filestore.GCLoggedModel), "logged model"),
		plural(res.Count(filestore.GCExperiment), "experiment"))
	if dryRun {
		return "gc: would permanently delete " + counts + " (dry run: nothing deleted)"
	}
	return "gc: permanently deleted " + counts
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// gcErrorLine is errorLine with hints that fit gc: the generic ones speak
// of restoring, which is the opposite of what gc needs.
func gcErrorLine(err error, partial bool) string {
	hint := ""
	switch {
	case errors.Is(err, errs.ErrInvalidPath):
		hint = "gc removes nothing through symlinks or outside the store; move or remove it by hand"
	case errors.Is(err, errs.ErrInvalidState):
		hint = "only deleted runs, logged models and experiments can be permanently deleted; delete it first ('mlruns runs delete', 'mlruns experiments delete') or leave it out"
	case errors.Is(err, errs.ErrNotFound):
		hint = "check the id with 'mlruns runs list --view deleted'"
	case errors.Is(err, errs.ErrInvalidParameter) && strings.Contains(errorMessage(err), "older than"):
		hint = "leave it out or give a shorter --older-than"
	case errors.Is(err, errs.ErrCorrupt):
		hint = "run 'mlruns fsck' to see what is damaged"
	default:
		return errorLine(err)
	}
	line := withHint(err, hint)
	if partial {
		line += " (the items listed above were deleted before the error)"
	}
	return line
}

// splitIDs splits a comma-separated list as mlflow gc does: an empty value
// is no list at all; empty ids in a list stay, and are refused later.
func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// parseOlderThan is age.Parse with its errors as usage errors.
func parseOlderThan(s string) (time.Duration, error) {
	d, err := age.Parse(s)
	if err != nil {
		return 0, usageError{"--older-than: " + strings.TrimPrefix(err.Error(), "mlruns: ")}
	}
	return d, nil
}

// openExisting opens the store at the root, refusing a root that does not
// exist: gc and fsck must not create an empty store where a path was
// mistyped.
func openExisting(e *env) (*filestore.Store, error) {
	if e.server != "" {
		return e.openLocal() // the error saying so
	}
	err := filestore.CheckRoot(e.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, exitError{code: 1, msg: fmt.Sprintf("no mlruns folder at %s; check --root or MLFLOW_TRACKING_URI", e.root)}
	}
	if err != nil {
		return nil, err
	}
	return e.openLocal()
}
