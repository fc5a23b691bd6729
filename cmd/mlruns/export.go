package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/internal/progress"
	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/store"
)

func init() {
	register(command{name: "export", order: 75, run: cmdExport,
		summary: "write runs, experiments and every metric history to CSV or JSON files in a folder"})
}

// The files of an export, relative to its folder. Histories are
// metrics/<run_id>/<key>.<ext>, a '/' in a key making sub-folders as in
// the store.
const (
	exportRuns        = "runs"
	exportExperiments = "experiments"
	exportMetricsDir  = "metrics"
)

func cmdExport(e *env, args []string) error {
	fs := newFlagSet(e, "export",
		"export --out DIR [--format csv|json] [--experiment-id ID]... [--experiment-name NAME]... [--view active|deleted|all] [--force]")
	out := fs.String("out", "", "folder to write into; created if missing, and it must be empty unless --force")
	formatName := fs.String("format", "csv", "csv (runs like mlflow.search_runs' DataFrame, histories as step,timestamp,value) or json (MLflow REST shapes)")
	exps := fs.experimentFlags("export")
	view := fs.viewFlag()
	force := fs.Bool("force", false, "write into a folder that is not empty, replacing files of the same names (other files stay)")
	_, err := fs.parseArgs(args, 0)
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError{"export: --out DIR is required"}
	}
	var format cliout.Format
	switch strings.ToLower(*formatName) {
	case "csv":
		format = cliout.FormatCSV
	case "json":
		format = cliout.FormatJSON
	default:
		return usageError{fmt.Sprintf("--format must be csv or json, not %q", *formatName)}
	}
	v, err := parseView(*view)
	if err != nil {
		return err
	}
	// Broken runs are left out of a listing and logged (e.open prints
	// them): say so again at the end.
	s, expIDs, err := exps.open(e, v)
	if err != nil {
		return err
	}
	dir, err := exportDir(e.root, *out, *force) // e.root is "" for a server
	if err != nil {
		return err
	}
	defer dir.Close()
	x := &exporter{ctx: e.ctx, s: s, dir: dir, format: format}
	if err := x.experiments(expIDs); err != nil {
		return err
	}
	runs, err := x.runs(expIDs, v)
	if err != nil {
		return err
	}
	histories := 0
	for _, r := range runs {
		histories += len(r.Data.Metrics)
	}
	bar := progress.New(e.stderr, int64(histories), "exporting metric histories")
	for _, r := range runs {
		if err := x.histories(r, bar); err != nil {
			bar.Finish()
			return err
		}
	}
	bar.Finish()
	fmt.Fprintf(e.stdout, "Exported %d run(s) of %d experiment(s), %d metric histories (%d points) to %s\n",
		len(runs), len(expIDs), x.nHistories, x.points, *out)
	if e.warnings.n > 0 {
		fmt.Fprintf(e.stderr, "mlruns: %d warning(s) above: what they name is not in the export; run 'mlruns fsck' to see what is damaged\n", e.warnings.n)
	}
	return nil
}

// exportDir creates or opens the export folder. A folder with files in
// it is refused without force, and a folder inside the store is refused
// always: MLflow would read the export as a broken experiment. Writes go
// through an os.Root, so neither a metric key nor a symlink in the folder
// can put a file outside it.
func exportDir(storeRoot, out string, force bool) (*os.Root, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	if storeRoot != "" && exportWithin(storeRoot, abs) {
		return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"--out %s is inside the store %s; export to a folder outside it", out, storeRoot))
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create the export folder: %w", err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("read the export folder: %w", err)
	}
	if len(entries) > 0 && !force {
		return nil, errs.New(errs.ErrAlreadyExists, fmt.Sprintf(
			"%s is not empty; export to an empty or new folder, or add --force to replace files in it", out))
	}
	return os.OpenRoot(abs)
}

// exportWithin reports whether path is root or below it, symlinks
// resolved as far as the path exists.
func exportWithin(root, p string) bool {
	real := func(p string) string {
		rest := ""
		for {
			if r, err := filepath.EvalSymlinks(p); err == nil {
				return filepath.Join(r, rest)
			}
			parent := filepath.Dir(p)
			if parent == p {
				return filepath.Join(p, rest)
			}
			rest = filepath.Join(filepath.Base(p), rest)
			p = parent
		}
	}
	rel, err := filepath.Rel(real(root), real(p))
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// exporter writes the files of one export.
type exporter struct {
	ctx        context.Context
	s          store.Store
	dir        *os.Root
	format     cliout.Format
	nHistories int
	points     int64
}

func (x *exporter) ext() string {
	if x.format == cliout.FormatJSON {
		return ".json"
	}
	return ".csv"
}

// create opens a file of the export for writing, making its folders.
func (x *exporter) create(rel string) (*os.File, error) {
	if d := path.Dir(rel); d != "." {
		if err := x.dir.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
			return nil, fmt.Errorf("export %s: %w", rel, err)
		}
	}
	f, err := x.dir.OpenFile(filepath.FromSlash(rel), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", rel, err)
	}
	return f, nil
}

// writeFile creates rel and fills it with write.
func (x *exporter) writeFile(rel string, write func(w io.Writer) error) error {
	f, err := x.create(rel)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("export %s: %w", rel, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export %s: %w", rel, err)
	}
	return nil
}

// experiments writes experiments.csv (the columns of `experiments list
// --csv`) or experiments.json (SearchExperiments' response).
func (x *exporter) experiments(ids []string) error {
	exps := make([]entities.Experiment, 0, len(ids))
	for _, id := range ids {
		exp, err := x.s.GetExperiment(x.ctx, id)
		if err != nil {
			return err
		}
		exps = append(exps, exp)
	}
	return x.writeFile(exportExperiments+x.ext(), func(w io.Writer) error {
		if x.format == cliout.FormatJSON {
			return cliout.WriteJSON(w, restjson.SearchExperimentsResponse{Experiments: restjson.FromExperiments(exps)})
		}
		return cliout.WriteCSV(w, experimentsCSV(exps))
	})
}

// runs reads every run of the experiments in the view (MLflow's default
// order: newest first) and writes runs.csv or runs.json.
func (x *exporter) runs(expIDs []string, v entities.ViewType) ([]entities.Run, error) {
	var runs []entities.Run
	token := ""
	for len(expIDs) > 0 {
		page, next, err := x.s.SearchRuns(x.ctx, expIDs, "", v, 1000, nil, token)
		if err != nil {
			return nil, err
		}
		runs = append(runs, page...)
		if next == "" {
			break
		}
		token = next
	}
	err := x.writeFile(exportRuns+x.ext(), func(w io.Writer) error {
		if x.format == cliout.FormatJSON {
			return cliout.WriteJSON(w, restjson.SearchRunsResponse{Runs: restjson.FromRuns(runs)})
		}
		return cliout.WriteCSV(w, exportRunsTable(runs))
	})
	return runs, err
}

// exportRunsTable is one row per run with the columns of
// mlflow.search_runs' DataFrame plus run_name and lifecycle_stage:
// run_id, experiment_id, run_name, status, start_time, end_time,
// artifact_uri, lifecycle_stage, then metrics.*, params.* and tags.*
// sorted by key. Metric values are the latest, as Python's repr (nan and
// inf included); times are RFC 3339 UTC with milliseconds, as `runs list
// --csv`; a run without a key has an empty cell.
func exportRunsTable(runs []entities.Run) *cliout.Table {
	return keyColumnsTable(runs, []string{"run_id", "experiment_id", "run_name", "status", "start_time", "end_time",
		"artifact_uri", "lifecycle_stage"}, func(i entities.RunInfo) []string {
		return []string{i.RunID, i.ExperimentID, i.RunName, i.Status.String(), csvTimeOf(i.StartTime),
			csvTimePtr(i.EndTime), i.ArtifactURI, string(i.LifecycleStage)}
	})
}

// histories streams each metric history of a run to
// metrics/<run_id>/<key>.csv or .json, one point at a time.
func (x *exporter) histories(r entities.Run, bar *progress.Bar) error {
	keys := make([]string, 0, len(r.Data.Metrics))
	for k := range r.Data.Metrics {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := historyOut{format: x.format, runID: r.Info.RunID, emptyOK: true}
	for _, key := range keys {
		rel := exportMetricsDir + "/" + r.Info.RunID + "/" + key + x.ext()
		if !filepath.IsLocal(filepath.FromSlash(rel)) || path.Clean(rel) != rel {
			return errs.New(errs.ErrInvalidPath, fmt.Sprintf("metric %q of run %s cannot be a file name in the export", key, r.Info.RunID))
		}
		err := x.writeFile(rel, func(w io.Writer) error {
			n, err := out.write(w, x.s.MetricHistoryIter(x.ctx, r.Info.RunID, key))
			x.points += n
			return err
		})
		if err != nil {
			return err
		}
		x.nHistories++
		bar.Add(1)
	}
	return nil
}
