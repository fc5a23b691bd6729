package difftest

import (
	"context"
	"fmt"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
)

// Execute runs ops against a Go store (the file store, or the REST backend
// over a tracking server) the way driver.py runs them against Python's
// FileStore (or the RestStore of an MlflowClient), and reports each op's
// outcome.
func Execute(ctx context.Context, s store.Store, ops []Op) Result {
	r := Result{Experiments: []string{"0"}}
	for _, op := range ops {
		outcome, detail := OutcomeOK, ""
		if err := execOne(ctx, s, op, &r); err == errNoRef {
			outcome = OutcomeNoRef
		} else if err != nil {
			outcome, detail = errs.Code(err), err.Error()
		}
		r.Outcomes = append(r.Outcomes, outcome)
		r.Details = append(r.Details, detail)
	}
	return r
}

var errNoRef = fmt.Errorf("difftest: no such slot")

func slot(ids []string, i int) (string, error) {
	if i < 0 || i >= len(ids) || ids[i] == "" {
		return "", errNoRef
	}
	return ids[i], nil
}

func metricOf(m Metric) (entities.Metric, error) {
	v, err := m.Value.Value()
	if err != nil {
		return entities.Metric{}, err
	}
	out := entities.Metric{Key: m.Key, Value: v, Timestamp: m.Timestamp, Step: m.Step}
	if m.DatasetName != nil && m.DatasetDigest != nil {
		out.DatasetName, out.DatasetDigest = *m.DatasetName, *m.DatasetDigest
	}
	return out, nil
}

func execOne(ctx context.Context, s store.Store, op Op, r *Result) error {
	switch op.Op {
	case OpCreateExperiment:
		r.Experiments = append(r.Experiments, "")
		loc := ""
		if op.ArtifactLocation != nil {
			loc = *op.ArtifactLocation
		}
		var tags []entities.ExperimentTag
		for _, t := range op.Tags {
			tags = append(tags, entities.ExperimentTag{Key: t.Key, Value: t.Value})
		}
		id, err := s.CreateExperiment(ctx, op.Name, loc, tags)
		if err != nil {
			return err
		}
		r.Experiments[len(r.Experiments)-1] = id
		return nil
	case OpCreateRun:
		r.Runs = append(r.Runs, "")
		r.RunNames = append(r.RunNames, "")
		r.StartTimeNow = append(r.StartTimeNow, op.StartTime == nil)
		n := len(r.Runs) - 1
		expID, err := slot(r.Experiments, op.Exp)
		if err != nil {
			return err
		}
		var tags []entities.RunTag
		named := op.RunName != nil && *op.RunName != ""
		for _, t := range op.Tags {
			tags = append(tags, entities.RunTag{Key: t.Key, Value: t.Value})
			if t.Key == entities.TagRunName && t.Value != "" {
				named = true
			}
		}
		if op.Parent != nil {
			pid, err := slot(r.Runs, *op.Parent)
			if err != nil {
				return err
			}
			tags = append(tags, entities.RunTag{Key: entities.TagParentRunID, Value: pid})
		}
		o := store.CreateRunOptions{ExperimentID: expID, UserID: op.UserID, Tags: tags}
		if op.StartTime != nil {
			o.StartTime = *op.StartTime
		}
		if op.RunName != nil {
			o.RunName = *op.RunName
		}
		run, err := s.CreateRun(ctx, o)
		if err != nil {
			return err
		}
		r.Runs[n] = run.Info.RunID
		if !named {
			r.RunNames[n] = run.Info.RunName
		}
		return nil
	}

	if isExperimentOp(op.Op) {
		id, err := slot(r.Experiments, op.Exp)
		if err != nil {
			return err
		}
		switch op.Op {
		case OpRenameExperiment:
			return s.RenameExperiment(ctx, id, op.Name)
		case OpDeleteExperiment:
			return s.DeleteExperiment(ctx, id)
		case OpRestoreExperiment:
			return s.RestoreExperiment(ctx, id)
		case OpSetExperimentTag:
			return s.SetExperimentTag(ctx, id, op.Key, op.Value)
		case OpDeleteExperimentTag:
			return s.DeleteExperimentTag(ctx, id, op.Key)
		}
	}

	runID, err := slot(r.Runs, op.Run)
	if err != nil {
		return err
	}
	switch op.Op {
	case OpUpdateRun:
		st, err := entities.ParseRunStatus(op.Status)
		if err != nil {
			return err
		}
		name := ""
		if op.RunName != nil {
			name = *op.RunName
		}
		_, err = s.UpdateRunInfo(ctx, runID, st, op.EndTime, name)
		return err
	case OpDeleteRun:
		return s.DeleteRun(ctx, runID)
	case OpRestoreRun:
		return s.RestoreRun(ctx, runID)
	case OpLogMetric:
		if op.Metric == nil {
			return fmt.Errorf("difftest: log_metric without metric")
		}
		m, err := metricOf(*op.Metric)
		if err != nil {
			return err
		}
		return s.LogMetric(ctx, runID, m)
	case OpLogBatch:
		var ms []entities.Metric
		for _, m := range op.Metrics {
			em, err := metricOf(m)
			if err != nil {
				return err
			}
			ms = append(ms, em)
		}
		var ps []entities.Param
		for _, p := range op.Params {
			ps = append(ps, entities.Param{Key: p.Key, Value: p.Value})
		}
		var ts []entities.RunTag
		for _, t := range op.Tags {
			ts = append(ts, entities.RunTag{Key: t.Key, Value: t.Value})
		}
		return s.LogBatch(ctx, runID, ms, ps, ts)
	case OpLogParam:
		return s.LogParam(ctx, runID, op.Key, op.Value)
	case OpSetTag:
		return s.SetTag(ctx, runID, op.Key, op.Value)
	case OpDeleteTag:
		return s.DeleteTag(ctx, runID, op.Key)
	case OpLogInputs:
		var ds []entities.DatasetInput
		for _, d := range op.Datasets {
			in := entities.DatasetInput{Dataset: entities.Dataset{
				Name: d.Name, Digest: d.Digest, SourceType: d.SourceType, Source: d.Source,
				Schema: d.Schema, Profile: d.Profile,
			}}
			for _, t := range d.Tags {
				in.Tags = append(in.Tags, entities.InputTag{Key: t.Key, Value: t.Value})
			}
			ds = append(ds, in)
		}
		var ms []entities.ModelInput
		for _, m := range op.Models {
			ms = append(ms, entities.ModelInput{ModelID: m})
		}
		return s.LogInputs(ctx, runID, ds, ms)
	case OpLogOutputs:
		var ms []entities.ModelOutput
		for _, m := range op.Outputs {
			ms = append(ms, entities.ModelOutput{ModelID: m.ModelID, Step: m.Step})
		}
		return s.LogOutputs(ctx, runID, ms)
	}
	return fmt.Errorf("difftest: unknown op %q", op.Op)
}

func isExperimentOp(kind string) bool {
	switch kind {
	case OpRenameExperiment, OpDeleteExperiment, OpRestoreExperiment, OpSetExperimentTag, OpDeleteExperimentTag:
		return true
	}
	return false
}
