package difftest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// Dump reads everything a store holds through the Go API and renders it as
// sorted lines, in exactly the format driver.py's dump mode produces from
// Python's FileStore: every experiment (active and deleted) with its tags,
// every run with its info, latest metrics, full metric histories, params,
// tags, inputs and outputs. Floats are Python repr strings, strings JSON.
//
// An experiment or run the Go store skips as unreadable becomes one
// "UNREADABLE" line, so the rest of the tree still compares.
func Dump(ctx context.Context, s *filestore.Store) ([]string, error) {
	var out []string
	exps, skipped, err := s.ListExperiments(ctx, entities.ViewAll)
	if err != nil {
		return nil, err
	}
	for _, sk := range skipped {
		out = append(out, "UNREADABLE experiment "+sk.Error())
	}
	for _, e := range exps {
		p := "exp " + e.ExperimentID
		out = append(out,
			p+" name="+PyJSON(e.Name),
			p+" artifact_location="+PyJSON(e.ArtifactLocation),
			p+" lifecycle_stage="+string(e.LifecycleStage),
			p+" creation_time="+optInt(e.CreationTime),
			p+" last_update_time="+optInt(e.LastUpdateTime),
		)
		for k, v := range e.Tags {
			out = append(out, p+" tag "+PyJSON(k)+"="+PyJSON(v))
		}
		runs, skipped, err := s.ListRuns(ctx, e.ExperimentID, entities.ViewAll)
		if err != nil {
			return nil, err
		}
		for _, sk := range skipped {
			out = append(out, "UNREADABLE run "+sk.Error())
		}
		for _, r := range runs {
			lines, err := dumpRun(ctx, s, r)
			if err != nil {
				return nil, err
			}
			out = append(out, lines...)
		}
	}
	sort.Strings(out)
	return out, nil
}

func dumpRun(ctx context.Context, s *filestore.Store, r entities.Run) ([]string, error) {
	i := r.Info
	p := "run " + i.RunID
	out := []string{
		p + " experiment_id=" + i.ExperimentID,
		p + " run_name=" + PyJSON(i.RunName),
		p + " user_id=" + PyJSON(i.UserID),
		p + " status=" + i.Status.String(),
		p + " start_time=" + strconv.FormatInt(i.StartTime, 10),
		p + " end_time=" + optInt(i.EndTime),
		p + " artifact_uri=" + PyJSON(i.ArtifactURI),
		p + " lifecycle_stage=" + string(i.LifecycleStage),
	}
	for k, m := range r.Data.Metrics {
		hist, err := s.GetMetricHistory(ctx, i.RunID, k)
		if err != nil {
			return nil, err
		}
		if pyHist, changed := pythonSteps(hist); changed {
			// our one deliberate reading difference: see pythonSteps
			hist = pyHist
			m, _ = entities.LatestMetric(hist)
		}
		out = append(out, p+" metric "+PyJSON(k)+" latest="+metricText(m))
		for n, h := range hist {
			out = append(out, fmt.Sprintf("%s metric %s history[%d]=%s", p, PyJSON(k), n, metricText(h)))
		}
	}
	for k, v := range r.Data.Params {
		out = append(out, p+" param "+PyJSON(k)+"="+PyJSON(v))
	}
	for k, v := range r.Data.Tags {
		out = append(out, p+" tag "+PyJSON(k)+"="+PyJSON(v))
	}
	for _, d := range r.Inputs.DatasetInputs {
		ds := d.Dataset
		tags := make([]string, 0, len(d.Tags))
		for _, t := range d.Tags {
			tags = append(tags, "["+PyJSON(t.Key)+", "+PyJSON(t.Value)+"]")
		}
		sort.Strings(tags) // Python sorts the (key, value) tuples; keys are unique
		out = append(out, fmt.Sprintf("%s input dataset name=%s digest=%s source_type=%s source=%s schema=%s profile=%s tags=[%s]",
			p, PyJSON(ds.Name), PyJSON(ds.Digest), PyJSON(ds.SourceType), PyJSON(ds.Source),
			optStr(ds.Schema), optStr(ds.Profile), strings.Join(tags, ", ")))
	}
	for _, m := range r.Inputs.ModelInputs {
		out = append(out, p+" input model "+PyJSON(m.ModelID))
	}
	for _, m := range r.Outputs.ModelOutputs {
		out = append(out, fmt.Sprintf("%s output model %s step=%d", p, PyJSON(m.ModelID), m.Step))
	}
	return out, nil
}

// pythonSteps renders a history as FileStore 3.18 reads it: step 0 for
// every 5-field (dataset) line, whose stored step Python never parses.
// The Go store keeps the stored step (layout.ParseMetricLine explains why);
// the dumps compare Python's view, so the Go dump shows that view, and the
// latest value is then chosen among those steps as Python does. Our own
// reading of the step is tested against what we wrote in layout and
// against the fixtures.
func pythonSteps(hist []entities.Metric) ([]entities.Metric, bool) {
	var out []entities.Metric
	for i, h := range hist {
		if h.DatasetName != "" && h.DatasetDigest != "" && h.Step != 0 {
			if out == nil {
				out = append([]entities.Metric(nil), hist...)
			}
			out[i].Step = 0
		}
	}
	return out, out != nil
}

func metricText(m entities.Metric) string {
	s := fmt.Sprintf("%d %s %d", m.Timestamp, pynum.FormatFloat(m.Value), m.Step)
	if m.DatasetName != "" || m.DatasetDigest != "" {
		s += " " + PyJSON(m.DatasetName) + " " + PyJSON(m.DatasetDigest)
	}
	return s
}

func optInt(p *int64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatInt(*p, 10)
}

func optStr(p *string) string {
	if p == nil {
		return "null"
	}
	return PyJSON(*p)
}

// PyJSON renders s as Python's json.dumps(s, ensure_ascii=False) does.
func PyJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
