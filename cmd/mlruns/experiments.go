package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/search"
	"github.com/mlruns-go/mlruns/store"
)

func init() {
	register(command{name: "experiments", order: 10, subs: experimentSubcommands,
		summary: "list, create, rename, delete and restore experiments"})
}

var experimentSubcommands = []subcommand{
	{"list", "list experiments (table, --json, --csv)", cmdExperimentsList},
	{"create", "create an experiment and print its id", cmdExperimentsCreate},
	{"rename", "rename an active experiment", cmdExperimentsRename},
	{"delete", "delete an experiment and its runs (moves it to .trash)", cmdExperimentsDelete},
	{"restore", "restore a deleted experiment and its runs", cmdExperimentsRestore},
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
func resolveExperiment(e *env, s store.Store, idOrName string) (entities.Experiment, error) {
	exp, err := s.GetExperiment(e.ctx, idOrName)
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

// openExperimentArg parses a command whose first argument names an
// experiment by id or name, opens the store and finds the experiment.
func openExperimentArg(e *env, fs *flagSet, args []string, n int) ([]string, store.Store, entities.Experiment, error) {
	pos, err := fs.parseArgs(args, n)
	if err != nil {
		return nil, nil, entities.Experiment{}, err
	}
	s, err := e.open()
	if err != nil {
		return nil, nil, entities.Experiment{}, err
	}
	exp, err := resolveExperiment(e, s, pos[0])
	return pos, s, exp, err
}

func cmdExperimentsRename(e *env, args []string) error {
	fs := newFlagSet(e, "experiments rename", "experiments rename ID_OR_NAME NEW_NAME")
	pos, s, exp, err := openExperimentArg(e, fs, args, 2)
	if err != nil {
		return err
	}
	if err := s.RenameExperiment(e.ctx, exp.ExperimentID, pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Renamed experiment %s from %q to %q\n", exp.ExperimentID, exp.Name, pos[1])
	return nil
}

func cmdExperimentsDelete(e *env, args []string) error { return experimentStage(e, args, moveDelete) }

func cmdExperimentsRestore(e *env, args []string) error { return experimentStage(e, args, moveRestore) }

// experimentStage deletes or restores one experiment, with its runs.
func experimentStage(e *env, args []string, m stageMove) error {
	fs := newFlagSet(e, "experiments "+m.verb, "experiments "+m.verb+" ID_OR_NAME")
	_, s, exp, err := openExperimentArg(e, fs, args, 1)
	if err != nil {
		return err
	}
	return m.apply(e, "Experiment", exp.ExperimentID, exp.Name, exp.LifecycleStage,
		m.pick(s.DeleteExperiment, s.RestoreExperiment), " and its runs")
}
