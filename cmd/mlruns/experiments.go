package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/search"
)

func init() {
	register(command{name: "experiments", order: 10, run: cmdExperiments,
		summary: "list, create, rename, delete and restore experiments"})
}

// subcommand is one verb of a command group (`experiments list`).
type subcommand struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

// runGroup dispatches a group's verb. A bare group name is a usage error
// that names the verbs; -h, --help and help print them.
func runGroup(e *env, group string, subs []subcommand, args []string) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	if len(args) == 0 {
		return usageError{fmt.Sprintf("%s: want a subcommand: %s", group, strings.Join(names, ", "))}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stdout, "usage: mlruns %s <subcommand> [flags]\n\nsubcommands:\n", group)
		for _, s := range subs {
			fmt.Fprintf(e.stdout, "  %-9s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(e.stdout, "\nRun 'mlruns %s <subcommand> -h' for its flags.\n", group)
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(e, args[1:])
		}
	}
	return usageError{fmt.Sprintf("%s: unknown subcommand %q (want one of %s)", group, args[0], strings.Join(names, ", "))}
}

var experimentSubcommands = []subcommand{
	{"list", "list experiments (table, --json, --csv)", cmdExperimentsList},
	{"create", "create an experiment and print its id", cmdExperimentsCreate},
	{"rename", "rename an active experiment", cmdExperimentsRename},
	{"delete", "delete an experiment and its runs (moves it to .trash)", cmdExperimentsDelete},
	{"restore", "restore a deleted experiment and its runs", cmdExperimentsRestore},
}

func cmdExperiments(e *env, args []string) error {
	return runGroup(e, "experiments", experimentSubcommands, args)
}

// maxResultsFlag checks --max-results with the store's own limit, so an
// out-of-range value is a usage mistake (exit 2) like a non-numeric one.
func maxResultsFlag(n int, check func(int) (int, error)) error {
	if n < 0 {
		return usageError{fmt.Sprintf("--max-results must be positive, not %d", n)}
	}
	if _, err := check(n); err != nil {
		return usageError{"--max-results: " + strings.TrimPrefix(err.Error(), "mlruns: ")}
	}
	return nil
}

func cmdExperimentsList(e *env, args []string) error {
	fs := newFlagSet(e, "experiments list",
		"experiments list [--view active|deleted|all] [--filter F] [--order-by O]... [--max-results N] [--page-token T] [--json|--csv]")
	view := fs.viewFlag()
	filter := fs.String("filter", "", "MLflow search_experiments filter, e.g. \"name LIKE 'mnist%' AND tags.team = 'vision'\"")
	var orderBy multiFlag
	fs.Var(&orderBy, "order-by", "order_by clause, e.g. \"name ASC\" (repeatable; default creation_time DESC)")
	maxResults := fs.Int("max-results", 0, "experiments per page (default 1000, MLflow's)")
	pageToken := fs.String("page-token", "", "page token printed by a previous listing")
	ff := fs.formatFlags()
	_, format, err := fs.parseArgsFormat(args, 0, ff)
	if err != nil {
		return err
	}
	v, err := parseView(*view)
	if err != nil {
		return err
	}
	if err := maxResultsFlag(*maxResults, search.CheckExperimentsMaxResults); err != nil {
		return err
	}
	s, err := e.open()
	if err != nil {
		return err
	}
	exps, next, err := s.SearchExperiments(e.ctx, v, *maxResults, *filter, orderBy, *pageToken)
	if err != nil {
		return err
	}
	var t *cliout.Table
	if format == cliout.FormatCSV {
		t = experimentsCSV(exps)
	} else {
		t = experimentsTable(exps)
	}
	resp := restjson.SearchExperimentsResponse{Experiments: restjson.FromExperiments(exps), NextPageToken: next}
	if err := cliout.Write(e.stdout, format, t, resp, cliout.TerminalOptions(e.stdout)); err != nil {
		return err
	}
	if next != "" && format != cliout.FormatJSON {
		fmt.Fprintf(e.stderr, "mlruns: more experiments: add --page-token %s\n", next)
	}
	return nil
}

// experimentsTable is what a person reads: times in UTC, tags counted.
func experimentsTable(exps []entities.Experiment) *cliout.Table {
	t := &cliout.Table{Header: []string{"experiment_id", "name", "lifecycle_stage", "artifact_location", "creation_time", "tags"}}
	for _, x := range exps {
		t.Append(x.ExperimentID, x.Name, string(x.LifecycleStage), x.ArtifactLocation,
			formatTimePtr(x.CreationTime), fmt.Sprint(len(x.Tags)))
	}
	return t
}

// experimentsCSV is one flat row per experiment with a column per tag key
// (tags.<key>), times in RFC 3339 with milliseconds.
func experimentsCSV(exps []entities.Experiment) *cliout.Table {
	var keys []string
	for _, x := range exps {
		keys = appendKeys(keys, x.Tags)
	}
	keys = sortedUnique(keys)
	t := &cliout.Table{Header: []string{"experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time"}}
	for _, k := range keys {
		t.Header = append(t.Header, "tags."+k)
	}
	for _, x := range exps {
		row := []string{x.ExperimentID, x.Name, x.ArtifactLocation, string(x.LifecycleStage),
			csvTimePtr(x.CreationTime), csvTimePtr(x.LastUpdateTime)}
		for _, k := range keys {
			row = append(row, x.Tags[k])
		}
		t.Append(row...)
	}
	return t
}

func cmdExperimentsCreate(e *env, args []string) error {
	fs := newFlagSet(e, "experiments create", "experiments create NAME [--artifact-location URI] [--tag KEY=VALUE]...")
	location := fs.String("artifact-location", "", "where the experiment's artifacts go (default <artifact root>/<id>)")
	var tagFlags multiFlag
	fs.Var(&tagFlags, "tag", "experiment tag KEY=VALUE (repeatable)")
	pos, err := fs.parseArgs(args, 1)
	if err != nil {
		return err
	}
	var tags []entities.ExperimentTag
	for _, kv := range tagFlags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usageError{fmt.Sprintf("--tag wants KEY=VALUE, not %q", kv)}
		}
		tags = append(tags, entities.ExperimentTag{Key: k, Value: v})
	}
	s, err := e.open()
	if err != nil {
		return err
	}
	id, err := s.CreateExperiment(e.ctx, pos[0], *location, tags)
	if err != nil {
		return err
	}
	// only the id, so that scripts can capture it
	fmt.Fprintln(e.stdout, id)
	return nil
}

// resolveExperiment finds an experiment by id, or by name when no
// experiment has that id. An id wins over a name that looks like one.
func resolveExperiment(e *env, s *filestore.Store, idOrName string) (entities.Experiment, error) {
	exp, err := s.GetExperiment(idOrName)
	if err == nil {
		return exp, nil
	}
	if !errors.Is(err, errs.ErrNotFound) && !errors.Is(err, errs.ErrInvalidParameter) {
		return exp, err
	}
	exp, err = s.GetExperimentByName(e.ctx, idOrName)
	if errors.Is(err, errs.ErrNotFound) {
		return exp, errs.New(errs.ErrNotFound, fmt.Sprintf("no experiment with id or name %q", idOrName))
	}
	return exp, err
}

func cmdExperimentsRename(e *env, args []string) error {
	fs := newFlagSet(e, "experiments rename", "experiments rename ID_OR_NAME NEW_NAME")
	pos, err := fs.parseArgs(args, 2)
	if err != nil {
		return err
	}
	s, err := e.open()
	if err != nil {
		return err
	}
	exp, err := resolveExperiment(e, s, pos[0])
	if err != nil {
		return err
	}
	if err := s.RenameExperiment(e.ctx, exp.ExperimentID, pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Renamed experiment %s from %q to %q\n", exp.ExperimentID, exp.Name, pos[1])
	return nil
}

// cmdExperimentsDelete and cmdExperimentsRestore are idempotent, like
// MLflow's delete_run: an experiment already in the wanted stage is left
// alone and the line says so, so scripts can repeat them.
func cmdExperimentsDelete(e *env, args []string) error {
	return experimentStage(e, args, "delete", entities.StageDeleted)
}

func cmdExperimentsRestore(e *env, args []string) error {
	return experimentStage(e, args, "restore", entities.StageActive)
}

func experimentStage(e *env, args []string, verb string, want entities.LifecycleStage) error {
	fs := newFlagSet(e, "experiments "+verb, "experiments "+verb+" ID_OR_NAME")
	pos, err := fs.parseArgs(args, 1)
	if err != nil {
		return err
	}
	s, err := e.open()
	if err != nil {
		return err
	}
	exp, err := resolveExperiment(e, s, pos[0])
	if err != nil {
		return err
	}
	if exp.LifecycleStage == want {
		fmt.Fprintf(e.stdout, "Experiment %s %q is already %s; nothing changed\n", exp.ExperimentID, exp.Name, want)
		return nil
	}
	if want == entities.StageDeleted {
		err = s.DeleteExperiment(e.ctx, exp.ExperimentID)
	} else {
		err = s.RestoreExperiment(e.ctx, exp.ExperimentID)
	}
	if err != nil {
		return err
	}
	past := map[entities.LifecycleStage]string{entities.StageDeleted: "Deleted", entities.StageActive: "Restored"}[want]
	fmt.Fprintf(e.stdout, "%s experiment %s %q and its runs\n", past, exp.ExperimentID, exp.Name)
	return nil
}

// Shared formatting of the listings.

// tableTime is how tables show a time: UTC, to the second.
const tableTime = "2006-01-02 15:04:05"

// csvTime keeps the milliseconds and says UTC, for programs.
const csvTime = "2006-01-02T15:04:05.000Z07:00"

func formatTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format(tableTime)
}

func formatTimePtr(ms *int64) string {
	if ms == nil {
		return "-"
	}
	return formatTime(*ms)
}

func csvTimeOf(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(csvTime)
}

func csvTimePtr(ms *int64) string {
	if ms == nil {
		return ""
	}
	return csvTimeOf(*ms)
}

// formatDuration is a run's wall time, short: 850ms, 12.5s, 3m07s, 2h05m,
// 3d04h; "-" while the run has no end time.
func formatDuration(start int64, end *int64) string {
	if end == nil || *end == 0 || start == 0 || *end < start {
		return "-"
	}
	d := time.Duration(*end-start) * time.Millisecond
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", math.Floor(d.Seconds()*10)/10)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// fullFloat is a value as Python MLflow prints it (repr): what show,
// compare and CSV use, so nothing is lost.
func fullFloat(v float64) string { return pynum.FormatFloat(v) }

// shortFloat fits a value in a listing column: Python's repr when short,
// else six significant digits (0.30800000000000005 -> 0.308).
func shortFloat(v float64) string {
	if s := pynum.FormatFloat(v); len(s) <= 10 {
		return s
	}
	return fmt.Sprintf("%.6g", v)
}

func appendKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func sortedUnique(keys []string) []string {
	slices.Sort(keys)
	return slices.Compact(keys)
}
