package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/internal/progress"
)

// cmdFsck runs the store's consistency checker (the one every store test
// ends with) and, with --repair, fixes what holds no data: torn metric
// tails, empty metric files, temporary files, empty folders, gc leftovers.
// The exit code says whether problems remain, so scripts and CI can gate
// on it.
func init() {
	register(command{name: "fsck", order: 80, run: cmdFsck,
		summary: "check the store for damage and, with --repair, fix what is safe to fix"})
}

// fsckProblem is one problem in --json output.
type fsckProblem struct {
	Kind       string `json:"kind"`
	Path       string `json:"path"` // relative to the store root
	Detail     string `json:"detail"`
	Repairable bool   `json:"repairable"`
}

// fsckReport is the --json output.
type fsckReport struct {
	Consistent  bool          `json:"consistent"`
	Experiments int           `json:"experiments"`
	Runs        int           `json:"runs"`
	Problems    []fsckProblem `json:"problems"`           // what remains
	Repaired    []fsckProblem `json:"repaired,omitempty"` // with --repair
}

func cmdFsck(e *env, args []string) error {
	fs := newFlagSet(e, "fsck", "fsck [--repair] [--json|--csv]")
	repair := fs.Bool("repair", false, "fix what holds no data (torn metric tails, empty metric files, temporary files, empty folders, gc leftovers)")
	ff := fs.formatFlags()
	_, format, err := fs.parseArgsFormat(args, 0, ff)
	if err != nil {
		return err
	}
	s, err := openExisting(e)
	if err != nil {
		return err
	}
	opts := filestore.CheckOptions{Progress: fsckProgress(e)}
	var fixed []filestore.Problem
	var res filestore.CheckResult
	if *repair {
		fixed, res, err = s.Repair(e.ctx, &opts)
	} else {
		res, err = s.Check(e.ctx, &opts)
	}
	if err != nil {
		return err
	}
	root := s.Root()
	report := fsckReport{Consistent: len(res.Problems) == 0, Experiments: res.Experiments, Runs: res.Runs,
		Problems: fsckProblems(root, res.Problems), Repaired: fsckProblems(root, fixed)}
	if report.Problems == nil {
		report.Problems = []fsckProblem{}
	}
	t := &cliout.Table{Header: []string{"KIND", "PATH", "DETAIL"}}
	if *repair {
		t.Header = append([]string{"STATUS"}, t.Header...)
	}
	for _, p := range report.Repaired {
		t.Append("repaired", p.Kind, p.Path, p.Detail)
	}
	for _, p := range report.Problems {
		if *repair {
			t.Append("remains", p.Kind, p.Path, p.Detail)
		} else {
			t.Append(p.Kind, p.Path, p.Detail)
		}
	}
	if format != cliout.FormatTable || len(t.Rows) > 0 {
		if err := cliout.Write(e.stdout, format, t, report, cliout.TerminalOptions(e.stdout)); err != nil {
			return err
		}
	}
	checked := fmt.Sprintf("%s, %s checked", plural(res.Experiments, "experiment"), plural(res.Runs, "run"))
	if len(res.Problems) == 0 {
		if format == cliout.FormatTable {
			msg := "store is consistent: " + checked
			if len(fixed) > 0 {
				msg = fmt.Sprintf("repaired %s; %s", plural(len(fixed), "problem"), msg)
			}
			fmt.Fprintln(e.stdout, msg)
		}
		return nil
	}
	return exitError{code: 1, msg: fsckRemaining(res.Problems, len(fixed), *repair, checked)}
}

// fsckRemaining is the one line that says what is left and what to do.
func fsckRemaining(probs []filestore.Problem, fixed int, repaired bool, checked string) string {
	repairable := 0
	for _, p := range probs {
		if p.Kind.Repairable() {
			repairable++
		}
	}
	n := plural(len(probs), "problem")
	switch {
	case repaired:
		verb := "remain"
		if len(probs) == 1 {
			verb = "remains"
		}
		return fmt.Sprintf("repaired %s; %s %s that --repair cannot fix (%s): fix them by hand, they may hold data",
			plural(fixed, "problem"), n, verb, checked)
	case repairable == len(probs):
		return fmt.Sprintf("%s found (%s): run 'mlruns fsck --repair' to fix them", n, checked)
	case repairable > 0:
		return fmt.Sprintf("%s found, %d repairable (%s): run 'mlruns fsck --repair', then fix the rest by hand", n, repairable, checked)
	}
	return fmt.Sprintf("%s found, none repairable (%s): fix them by hand, they may hold data", n, checked)
}

// fsckProblems renders problems with paths relative to the root, so the
// output reads the same wherever the store lives.
func fsckProblems(root string, probs []filestore.Problem) []fsckProblem {
	var out []fsckProblem
	for _, p := range probs {
		path := p.Path
		if rel, err := filepath.Rel(root, p.Path); err == nil && !strings.HasPrefix(rel, "..") {
			path = filepath.ToSlash(rel)
		}
		detail := strings.TrimPrefix(p.Err.Error(), "mlruns: ")
		detail = strings.ReplaceAll(detail, root+string(filepath.Separator), "")
		out = append(out, fsckProblem{Kind: p.Kind.String(), Path: path, Detail: detail, Repairable: p.Kind.Repairable()})
	}
	return out
}

// fsckProgress draws a bar per pass over the store on a terminal (Repair
// checks twice: before and after).
func fsckProgress(e *env) func(done, total int) {
	var bar *progress.Bar
	last := 0
	pass := 0
	return func(done, total int) {
		if bar == nil || done < last {
			if bar != nil {
				bar.Finish()
			}
			pass++
			label := "checking"
			if pass > 1 {
				label = "re-checking"
			}
			bar = progress.New(e.stderr, int64(total), label)
			last = 0
		}
		bar.Add(done - last)
		last = done
		if done == total {
			bar.Finish()
		}
	}
}
