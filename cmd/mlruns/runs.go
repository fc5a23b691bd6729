package main

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/search"
)

func init() {
	register(command{name: "runs", order: 20, subs: runSubcommands,
		summary: "list, show, compare, delete and restore runs"})
}

var runSubcommands = []subcommand{
	{"list", "search runs with MLflow's filter and order_by (table, --json, --csv)", cmdRunsList},
	{"show", "show one run: info, params, latest metrics, tags, datasets", cmdRunsShow},
	{"compare", "params and latest metrics of runs side by side, differences marked", cmdRunsCompare},
	{"delete", "mark runs deleted", cmdRunsDelete},
	{"restore", "make deleted runs active again", cmdRunsRestore},
}

// The most metrics and params columns the runs table adds on its own
// (besides those the query names) when --columns is not given.
const (
	autoMetricColumns = 3
	autoParamColumns  = 2
)

// dataColumn is a metrics.<key>, params.<key> or tags.<key> column.
type dataColumn struct {
	kind string // "metrics", "params" or "tags"
	key  string
}

func (c dataColumn) header() string { return c.kind + "." + c.key }

// cell is the column's value for a run in a table; "-" when the run does
// not have the key.
func (c dataColumn) cell(r *entities.Run) string {
	switch c.kind {
	case "metrics":
		if m, ok := r.Data.Metrics[c.key]; ok {
			return shortFloat(m.Value)
		}
	case "params":
		if v, ok := r.Data.Params[c.key]; ok {
			return v
		}
	case "tags":
		if v, ok := r.Data.Tags[c.key]; ok {
			return v
		}
	}
	return "-"
}

// parseColumns reads --columns: comma-separated metrics.K, params.K or
// tags.K (the singular prefixes MLflow's filters accept work too).
func parseColumns(s string) ([]dataColumn, error) {
	var cols []dataColumn
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		kind, key, ok := strings.Cut(f, ".")
		switch kind {
		case "metric", "metrics":
			kind = "metrics"
		case "param", "params", "parameter", "parameters":
			kind = "params"
		case "tag", "tags":
			kind = "tags"
		default:
			ok = false
		}
		if !ok || key == "" {
			return nil, usageError{fmt.Sprintf("--columns: %q is not metrics.KEY, params.KEY or tags.KEY", f)}
		}
		cols = append(cols, dataColumn{kind, key})
	}
	return cols, nil
}

// autoColumns picks the data columns of the runs table: first the keys the
// query is about (order_by, then filter), always; then the keys most runs of
// the page have (ties by name), up to autoMetricColumns metrics and
// autoParamColumns params, each only if the table still fits (fits), except
// that a table gets at least one data column.
func autoColumns(runs []entities.Run, filter string, orderBy []string, fits func([]dataColumn) bool) []dataColumn {
	var cols []dataColumn
	seen := map[dataColumn]bool{}
	add := func(c dataColumn) {
		if !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	if order, err := search.ParseRunOrderBy(orderBy); err == nil {
		for _, k := range search.OrderKeys(order, search.EntityMetric) {
			add(dataColumn{"metrics", k})
		}
		for _, k := range search.OrderKeys(order, search.EntityParam) {
			add(dataColumn{"params", k})
		}
	}
	if f, err := search.ParseRunFilter(filter); err == nil {
		for _, k := range f.Keys(search.EntityMetric) {
			add(dataColumn{"metrics", k})
		}
		for _, k := range f.Keys(search.EntityParam) {
			add(dataColumn{"params", k})
		}
	}
	metricCount, paramCount := map[string]int{}, map[string]int{}
	for _, r := range runs {
		for k := range r.Data.Metrics {
			metricCount[k]++
		}
		for k := range r.Data.Params {
			paramCount[k]++
		}
	}
	pick := func(kind string, counts map[string]int, limit int) {
		n := 0
		for _, c := range cols {
			if c.kind == kind {
				n++
			}
		}
		keys := appendKeys(nil, counts)
		slices.SortFunc(keys, func(a, b string) int {
			return cmp.Or(counts[b]-counts[a], strings.Compare(a, b))
		})
		for _, k := range keys {
			c := dataColumn{kind, k}
			if n >= limit || seen[c] {
				continue
			}
			if len(cols) == 0 || fits(append(slices.Clip(cols), c)) {
				add(c)
				n++
			}
		}
	}
	pick("metrics", metricCount, autoMetricColumns)
	pick("params", paramCount, autoParamColumns)
	return cols
}

// tableWidth is the width of a table printed without shortening.
func tableWidth(t *cliout.Table) int {
	var widths []int
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	n := 2 * max(0, len(widths)-1)
	for _, w := range widths {
		n += w
	}
	return n
}

func cmdRunsList(e *env, args []string) error {
	fs := newFlagSet(e, "runs list",
		"runs list [--experiment-id ID]... [--experiment-name NAME]... [--filter F] [--order-by O]... "+
			"[--max-results N] [--page-token T] [--view active|deleted|all] [--columns C,...] [--json|--csv]")
	exps := fs.experimentFlags("search")
	var orderBy multiFlag
	filter := fs.String("filter", "", "MLflow search_runs filter, e.g. \"metrics.loss < 0.5 AND params.optimizer = 'adam'\"")
	fs.Var(&orderBy, "order-by", "order_by clause, e.g. \"metrics.loss ASC\" (repeatable; default start_time DESC)")
	maxResults := fs.Int("max-results", 0, "runs per page (default 1000, MLflow's)")
	pageToken := fs.String("page-token", "", "page token printed by a previous listing (next_page_token in --json)")
	view := fs.String("view", "active", "which runs: active, deleted or all (deleted and all also search deleted experiments)")
	columns := fs.String("columns", "", "table columns after the run's info, e.g. metrics.loss,params.lr,tags.team "+
		"(default: the metrics and params the query names, then the most common ones; empty for none)")
	ff := fs.formatFlags()
	_, format, err := fs.parseArgsFormat(args, 0, ff)
	if err != nil {
		return err
	}
	v, err := parseView(*view)
	if err != nil {
		return err
	}
	if err := maxResultsFlag(*maxResults, search.CheckRunsMaxResults); err != nil {
		return err
	}
	var cols []dataColumn
	columnsSet := false
	fs.Visit(func(f *flag.Flag) { columnsSet = columnsSet || f.Name == "columns" })
	if columnsSet {
		if cols, err = parseColumns(*columns); err != nil {
			return err
		}
	}
	s, ids, err := exps.open(e, v)
	if err != nil {
		return err
	}
	runs, next, err := s.SearchRuns(e.ctx, ids, *filter, v, *maxResults, orderBy, *pageToken)
	if err != nil {
		return err
	}
	o := cliout.TerminalOptions(e.stdout)
	var t *cliout.Table
	switch format {
	case cliout.FormatCSV:
		t = runsCSV(runs)
	case cliout.FormatTable:
		withStage := v != entities.ViewActiveOnly
		if !columnsSet {
			cols = autoColumns(runs, *filter, orderBy, func(c []dataColumn) bool {
				return o.Width <= 0 || tableWidth(runsTable(runs, c, withStage)) <= o.Width
			})
		}
		t = runsTable(runs, cols, withStage)
	}
	resp := restjson.SearchRunsResponse{Runs: restjson.FromRuns(runs), NextPageToken: next}
	if err := cliout.Write(e.stdout, format, t, resp, o); err != nil {
		return err
	}
	if next != "" && format != cliout.FormatJSON {
		fmt.Fprintf(e.stderr, "mlruns: more runs: add --page-token %s\n", next)
	}
	return nil
}

// runsTable is the listing a person reads. withStage adds lifecycle_stage
// for --view deleted and all, where both kinds can appear.
func runsTable(runs []entities.Run, cols []dataColumn, withStage bool) *cliout.Table {
	t := &cliout.Table{Header: []string{"run_id", "experiment_id", "run_name", "status"}}
	if withStage {
		t.Header = append(t.Header, "lifecycle_stage")
	}
	t.Header = append(t.Header, "start_time", "duration")
	// a person copies run ids and reads times whole: other columns give
	// up room first
	t.Keep = make([]bool, len(t.Header))
	t.Keep[0], t.Keep[len(t.Header)-2] = true, true
	for _, c := range cols {
		t.Header = append(t.Header, c.header())
	}
	for i := range runs {
		r := &runs[i]
		row := []string{r.Info.RunID, r.Info.ExperimentID, r.Info.RunName, r.Info.Status.String()}
		if withStage {
			row = append(row, string(r.Info.LifecycleStage))
		}
		row = append(row, formatTime(r.Info.StartTime), formatDuration(r.Info.StartTime, r.Info.EndTime))
		for _, c := range cols {
			row = append(row, c.cell(r))
		}
		t.Append(row...)
	}
	return t
}

// runsCSV is mlflow.search_runs' DataFrame as CSV: run_id, experiment_id,
// status, artifact_uri, start_time, end_time, then every metrics.*,
// params.* and tags.* key of the page, sorted; a run without a key has an
// empty cell (pandas writes NaN and None so). Metric values are Python's
// repr, times RFC 3339 in UTC with milliseconds.
func runsCSV(runs []entities.Run) *cliout.Table {
	return keyColumnsTable(runs, []string{"run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"},
		func(i entities.RunInfo) []string {
			return []string{i.RunID, i.ExperimentID, i.Status.String(), i.ArtifactURI, csvTimeOf(i.StartTime), csvTimePtr(i.EndTime)}
		})
}

// keyColumnsTable is one row per run: the info columns, then every metrics.*,
// params.* and tags.* key of the runs, sorted, with the latest metric
// values as Python's repr and an empty cell where a run lacks a key.
func keyColumnsTable(runs []entities.Run, infoHeader []string, info func(entities.RunInfo) []string) *cliout.Table {
	var mk, pk, tk []string
	for _, r := range runs {
		mk = appendKeys(mk, r.Data.Metrics)
		pk = appendKeys(pk, r.Data.Params)
		tk = appendKeys(tk, r.Data.Tags)
	}
	mk, pk, tk = sortedUnique(mk), sortedUnique(pk), sortedUnique(tk)
	t := &cliout.Table{Header: slices.Clone(infoHeader)}
	for _, k := range mk {
		t.Header = append(t.Header, "metrics."+k)
	}
	for _, k := range pk {
		t.Header = append(t.Header, "params."+k)
	}
	for _, k := range tk {
		t.Header = append(t.Header, "tags."+k)
	}
	for _, r := range runs {
		row := info(r.Info)
		for _, k := range mk {
			if m, ok := r.Data.Metrics[k]; ok {
				row = append(row, fullFloat(m.Value))
			} else {
				row = append(row, "")
			}
		}
		for _, k := range pk {
			row = append(row, r.Data.Params[k])
		}
		for _, k := range tk {
			row = append(row, r.Data.Tags[k])
		}
		t.Append(row...)
	}
	return t
}

func cmdRunsShow(e *env, args []string) error {
	fs := newFlagSet(e, "runs show", "runs show RUN_ID [--json|--csv]")
	ff := formatFlags{
		json: fs.Bool("json", false, "print MLflow's GetRun response: {\"run\": {info, data, inputs, outputs}}"),
		csv:  fs.Bool("csv", false, "print the run as one row of 'runs list --csv' (metrics.*, params.*, tags.* columns)"),
	}
	pos, format, err := fs.parseArgsFormat(args, 1, ff)
	if err != nil {
		return err
	}
	s, err := e.open()
	if err != nil {
		return err
	}
	r, err := s.GetRun(e.ctx, pos[0])
	if err != nil {
		return err
	}
	switch format {
	case cliout.FormatJSON:
		return cliout.WriteJSON(e.stdout, restjson.GetRunResponse{Run: restjson.FromRun(r)})
	case cliout.FormatCSV:
		return cliout.WriteCSV(e.stdout, runsCSV([]entities.Run{r}))
	}
	expName := ""
	if exp, err := s.GetExperiment(e.ctx, r.Info.ExperimentID); err == nil {
		expName = exp.Name
	}
	return writeRun(e.stdout, &r, expName, cliout.TerminalOptions(e.stdout))
}

// writeRun prints a run for a person: its info as aligned "field: value"
// lines, then a section per kind of data, each an indented table.
func writeRun(w io.Writer, r *entities.Run, expName string, o cliout.Options) error {
	var b bytes.Buffer
	info := &cliout.Table{}
	field := func(k, v string) { info.Append(k+":", v) }
	field("run_id", r.Info.RunID)
	field("run_name", r.Info.RunName)
	exp := r.Info.ExperimentID
	if expName != "" {
		exp += fmt.Sprintf(" (%s)", expName)
	}
	field("experiment", exp)
	if p, ok := r.Data.Tags[entities.TagParentRunID]; ok {
		field("parent_run_id", p)
	}
	field("status", r.Info.Status.String())
	field("lifecycle_stage", string(r.Info.LifecycleStage))
	field("user_id", r.Info.UserID)
	field("start_time", formatTime(r.Info.StartTime))
	field("end_time", formatTimePtr(r.Info.EndTime))
	field("duration", formatDuration(r.Info.StartTime, r.Info.EndTime))
	field("artifact_uri", r.Info.ArtifactURI)
	// The fields are never shortened to fit the terminal: a run id cut to
	// "5bdb9db951a9…" cannot be copied, and a detail view is read, not
	// scanned; long values wrap.
	full := o
	full.Width = 0
	if err := cliout.WriteTable(&b, info, full); err != nil {
		return err
	}

	params := &cliout.Table{Header: []string{"key", "value"}}
	for _, k := range sortedUnique(appendKeys(nil, r.Data.Params)) {
		params.Append(k, r.Data.Params[k])
	}
	metrics := &cliout.Table{Header: []string{"key", "value", "step", "timestamp"}}
	for _, k := range sortedUnique(appendKeys(nil, r.Data.Metrics)) {
		m := r.Data.Metrics[k]
		metrics.Append(k, fullFloat(m.Value), fmt.Sprint(m.Step), formatTime(m.Timestamp))
	}
	tags := &cliout.Table{Header: []string{"key", "value"}}
	for _, k := range sortedUnique(appendKeys(nil, r.Data.Tags)) {
		tags.Append(k, r.Data.Tags[k])
	}
	datasets := &cliout.Table{Header: []string{"name", "digest", "context", "source_type", "source"}}
	for _, in := range r.Inputs.DatasetInputs {
		context := ""
		for _, t := range in.Tags {
			if t.Key == entities.TagDatasetContext {
				context = t.Value
			}
		}
		d := in.Dataset
		datasets.Append(d.Name, d.Digest, context, d.SourceType, d.Source)
	}
	sections := []section{
		{"params", params},
		{"metrics", metrics},
		{"tags", tags},
		{"datasets", datasets},
	}
	if len(r.Inputs.ModelInputs) > 0 {
		models := &cliout.Table{Header: []string{"model_id"}}
		for _, m := range r.Inputs.ModelInputs {
			models.Append(m.ModelID)
		}
		sections = append(sections, section{"model inputs", models})
	}
	if len(r.Outputs.ModelOutputs) > 0 {
		models := &cliout.Table{Header: []string{"model_id", "step"}}
		for _, m := range r.Outputs.ModelOutputs {
			models.Append(m.ModelID, fmt.Sprint(m.Step))
		}
		sections = append(sections, section{"model outputs", models})
	}
	for _, sec := range sections {
		if len(sec.t.Rows) == 0 {
			fmt.Fprintf(&b, "\n%s: none\n", sec.title)
			continue
		}
		note := ""
		if sec.t == metrics {
			note = ", latest values"
		}
		fmt.Fprintf(&b, "\n%s (%d%s):\n", sec.title, len(sec.t.Rows), note)
		if err := writeIndented(&b, sec.t, o, "  "); err != nil {
			return err
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// section is a titled part of `runs show`.
type section struct {
	title string
	t     *cliout.Table
}

// writeIndented prints a table with every line indented, fitted to the
// width left after the indent.
func writeIndented(w io.Writer, t *cliout.Table, o cliout.Options, indent string) error {
	if o.Width > 0 {
		o.Width = max(1, o.Width-len(indent))
	}
	var b bytes.Buffer
	if err := cliout.WriteTable(&b, t, o); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			io.WriteString(w, indent+line)
		}
	}
	return nil
}

// compareResponse is `runs compare --json`: the runs as GetRun shapes, and
// for each param and metric key the values of the runs in argument order
// (null where a run lacks the key) and whether they differ.
type compareResponse struct {
	Runs    []restjson.Run  `json:"runs"`
	Params  []compareParam  `json:"params"`
	Metrics []compareMetric `json:"metrics"`
}

type compareParam struct {
	Key     string    `json:"key"`
	Values  []*string `json:"values"`
	Differs bool      `json:"differs"`
}

type compareMetric struct {
	Key     string            `json:"key"`
	Values  []*restjson.Float `json:"values"`
	Differs bool              `json:"differs"`
}

func cmdRunsCompare(e *env, args []string) error {
	fs := newFlagSet(e, "runs compare", "runs compare RUN_ID RUN_ID... [--json|--csv]")
	ff := formatFlags{
		json: fs.Bool("json", false, "print {\"runs\": [GetRun run...], \"params\": [{key, values, differs}], "+
			"\"metrics\": [{key, values, differs}]}: values in argument order, null where a run lacks the key"),
		csv: fs.Bool("csv", false, "print the table as CSV: a key column and one column per run id, no marks"),
	}
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usageError{fmt.Sprintf("runs compare: want at least 2 run ids, got %d (usage: mlruns %s)", len(pos), fs.usageLine)}
	}
	format, err := ff.format()
	if err != nil {
		return err
	}
	s, err := e.open()
	if err != nil {
		return err
	}
	runs := make([]entities.Run, len(pos))
	for i, id := range pos {
		if runs[i], err = s.GetRun(e.ctx, id); err != nil {
			return err
		}
	}
	t, resp := compareRuns(runs, format == cliout.FormatCSV)
	return cliout.Write(e.stdout, format, t, resp, cliout.TerminalOptions(e.stdout))
}

// compareRuns builds the compare table and JSON: a row per info field,
// then per param and per metric key (sorted); cells of a param or metric
// row are marked when the runs do not all have the same value, a missing
// key counting as a value ("-"). forCSV writes start times with their
// milliseconds, as the other CSVs do.
func compareRuns(runs []entities.Run, forCSV bool) (*cliout.Table, compareResponse) {
	startTime := formatTime
	if forCSV {
		startTime = csvTimeOf
	}
	t := &cliout.Table{Header: []string{"key"}}
	resp := compareResponse{Runs: restjson.FromRuns(runs), Params: []compareParam{}, Metrics: []compareMetric{}}
	for _, r := range runs {
		t.Header = append(t.Header, r.Info.RunID)
	}
	info := func(key string, f func(r *entities.Run) string) {
		row := []string{key}
		for i := range runs {
			row = append(row, f(&runs[i]))
		}
		t.Append(row...)
	}
	info("run_name", func(r *entities.Run) string { return r.Info.RunName })
	info("experiment_id", func(r *entities.Run) string { return r.Info.ExperimentID })
	info("status", func(r *entities.Run) string { return r.Info.Status.String() })
	info("lifecycle_stage", func(r *entities.Run) string { return string(r.Info.LifecycleStage) })
	info("start_time", func(r *entities.Run) string { return startTime(r.Info.StartTime) })
	info("duration", func(r *entities.Run) string { return formatDuration(r.Info.StartTime, r.Info.EndTime) })

	// data appends a row whose cells are marked when they differ.
	data := func(key string, cells []string) bool {
		differs := slices.ContainsFunc(cells, func(c string) bool { return c != cells[0] })
		t.Append(append([]string{key}, cells...)...)
		for len(t.Marks) < len(t.Rows)-1 {
			t.Marks = append(t.Marks, nil)
		}
		marks := make([]bool, len(cells)+1)
		for i := range cells {
			marks[i+1] = differs
		}
		t.Marks = append(t.Marks, marks)
		return differs
	}
	var pk, mk []string
	for _, r := range runs {
		pk = appendKeys(pk, r.Data.Params)
		mk = appendKeys(mk, r.Data.Metrics)
	}
	for _, k := range sortedUnique(pk) {
		cells := make([]string, len(runs))
		p := compareParam{Key: k, Values: make([]*string, len(runs))}
		for i, r := range runs {
			cells[i] = "-"
			if v, ok := r.Data.Params[k]; ok {
				cells[i] = v
				p.Values[i] = &v
			}
		}
		p.Differs = data("params."+k, cells)
		resp.Params = append(resp.Params, p)
	}
	for _, k := range sortedUnique(mk) {
		cells := make([]string, len(runs))
		m := compareMetric{Key: k, Values: make([]*restjson.Float, len(runs))}
		for i, r := range runs {
			cells[i] = "-"
			if v, ok := r.Data.Metrics[k]; ok {
				// the full repr: a difference in the 10th digit is one
				cells[i] = fullFloat(v.Value)
				f := restjson.Float(v.Value)
				m.Values[i] = &f
			}
		}
		m.Differs = data("metrics."+k, cells)
		resp.Metrics = append(resp.Metrics, m)
	}
	return t, resp
}

func cmdRunsDelete(e *env, args []string) error { return runStage(e, args, moveDelete) }

func cmdRunsRestore(e *env, args []string) error { return runStage(e, args, moveRestore) }

// runStage deletes or restores runs. Every id is checked before anything
// changes, so a typo in the third id leaves the first two alone. A run
// already in the wanted stage is left as it is (its deleted_time, which
// gc goes by, is kept). A run of a deleted experiment cannot be restored
// on its own: it would be an active run in .trash.
func runStage(e *env, args []string, m stageMove) error {
	fs := newFlagSet(e, "runs "+m.verb, "runs "+m.verb+" RUN_ID...")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{fmt.Sprintf("runs %s: want at least 1 run id (usage: mlruns %s)", m.verb, fs.usageLine)}
	}
	pos = unique(pos)
	s, err := e.open()
	if err != nil {
		return err
	}
	infos := make([]entities.RunInfo, len(pos))
	for i, id := range pos {
		if infos[i], err = s.GetRunInfo(e.ctx, id); err != nil {
			return err
		}
		if m.want != entities.StageActive || infos[i].LifecycleStage == m.want {
			continue
		}
		exp, err := s.GetExperiment(e.ctx, infos[i].ExperimentID)
		if err != nil {
			return err
		}
		if exp.LifecycleStage != entities.StageActive {
			return errs.New(errs.ErrInvalidState, fmt.Sprintf(
				"run %s is in deleted experiment %s %q; 'mlruns experiments restore %s' restores it with its runs",
				id, exp.ExperimentID, exp.Name, exp.ExperimentID))
		}
	}
	do := m.pick(s.DeleteRun, s.RestoreRun)
	for _, info := range infos {
		if err := m.apply(e, "Run", info.RunID, info.RunName, info.LifecycleStage, do, ""); err != nil {
			return err
		}
	}
	return nil
}
