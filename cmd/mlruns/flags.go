package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/store"
)

// flagSet is a flag.FlagSet that allows flags after positional arguments
// (`mlruns runs show ID --json`), prints its help on -h and turns parse
// errors into usage errors.
type flagSet struct {
	*flag.FlagSet
	usageLine string // "runs show RUN_ID [--json]"
	stdout    io.Writer
}

func newFlagSet(e *env, name, usageLine string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, usageLine: usageLine, stdout: e.stdout}
}

// parse parses args, flags anywhere, and returns the positional arguments.
// "--" ends flag parsing.
func (f *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(f.stdout, "usage: mlruns %s\n\nflags:\n", f.usageLine)
				f.SetOutput(f.stdout)
				f.PrintDefaults()
				f.SetOutput(io.Discard)
				return nil, err
			}
			return nil, usageError{fmt.Sprintf("%s: %v", f.Name(), err)}
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// Parse stops at the first positional argument or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseArgs is parse followed by exactArgs(n).
func (f *flagSet) parseArgs(args []string, n int) ([]string, error) {
	pos, err := f.parse(args)
	if err != nil {
		return nil, err
	}
	return pos, f.exactArgs(pos, n)
}

// exactArgs checks the number of positional arguments.
func (f *flagSet) exactArgs(pos []string, n int) error {
	if len(pos) != n {
		return usageError{fmt.Sprintf("%s: want %d argument(s), got %d (usage: mlruns %s)", f.Name(), n, len(pos), f.usageLine)}
	}
	return nil
}

// formatFlags are --json and --csv of a listing.
type formatFlags struct{ json, csv *bool }

func (f *flagSet) formatFlags() formatFlags {
	return formatFlags{
		json: f.Bool("json", false, "print JSON in the shape of MLflow's REST API response"),
		csv:  f.Bool("csv", false, "print CSV with a header row"),
	}
}

// parseArgsFormat is parseArgs that also reads the --json/--csv choice.
func (f *flagSet) parseArgsFormat(args []string, n int, ff formatFlags) ([]string, cliout.Format, error) {
	pos, err := f.parseArgs(args, n)
	if err != nil {
		return nil, 0, err
	}
	format, err := ff.format()
	return pos, format, err
}

func (ff formatFlags) format() (cliout.Format, error) {
	f, err := cliout.ParseFormat(*ff.json, *ff.csv)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	return f, nil
}

// viewFlag is --view active|deleted|all.
func (f *flagSet) viewFlag() *string {
	return f.String("view", "active", "which to show: active, deleted or all")
}

func parseView(s string) (entities.ViewType, error) {
	switch strings.ToLower(s) {
	case "active", "active_only":
		return entities.ViewActiveOnly, nil
	case "deleted", "deleted_only":
		return entities.ViewDeletedOnly, nil
	case "all":
		return entities.ViewAll, nil
	}
	return 0, usageError{fmt.Sprintf("--view must be active, deleted or all, not %q", s)}
}

// multiFlag collects a repeatable string flag (--experiment-id A --experiment-id B).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// experimentFlags are --experiment-id and --experiment-name, repeatable:
// the experiments a runs listing or an export covers.
type experimentFlags struct{ ids, names multiFlag }

// experimentFlags adds them; verb says what the command does with them.
func (f *flagSet) experimentFlags(verb string) *experimentFlags {
	x := &experimentFlags{}
	f.Var(&x.ids, "experiment-id", verb+" this experiment (repeatable; default: every experiment of the view)")
	f.Var(&x.names, "experiment-name", verb+" the experiment with this name (repeatable)")
	return x
}

// open opens the store and lists the experiment ids the flags name.
func (x *experimentFlags) open(e *env, v entities.ViewType) (store.Store, []string, error) {
	s, err := e.open()
	if err != nil {
		return nil, nil, err
	}
	ids, err := searchExperimentIDs(e, s, x.ids, x.names, v)
	return s, ids, err
}

// searchExperimentIDs is the experiments a runs listing searches: those
// named by id or name (checked, so a typo is an error rather than an empty
// list), else every experiment of the view. Deleted runs also live in
// active experiments, so --view deleted and all search every experiment.
func searchExperimentIDs(e *env, s store.Store, ids, names []string, v entities.ViewType) ([]string, error) {
	var out []string
	for _, id := range ids {
		exp, err := s.GetExperiment(e.ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, exp.ExperimentID)
	}
	for _, name := range names {
		exp, err := s.GetExperimentByName(e.ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, exp.ExperimentID)
	}
	if len(ids)+len(names) > 0 {
		return sortedUnique(out), nil
	}
	expView := entities.ViewAll
	if v == entities.ViewActiveOnly {
		expView = entities.ViewActiveOnly
	}
	exps, _, err := s.ListExperiments(e.ctx, expView)
	if err != nil {
		return nil, err
	}
	for _, x := range exps {
		out = append(out, x.ExperimentID)
	}
	return out, nil
}
