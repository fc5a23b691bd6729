package filestore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/testkit"
)

// badUTF8 are strings no Python str can hold: a byte that starts nothing,
// a truncated sequence, a surrogate encoded as UTF-8 and an overlong NUL.
var badUTF8 = map[string]string{
	"ff":         "a\xffb",
	"truncated":  "ab\xe2\x82",
	"surrogate":  "a\xed\xa0\x80b",
	"overlong":   "a\xc0\x80b",
	"nul and ff": "a\x00\xffb",
}

// TestStore_InvalidUTF8Refused: every string the store would write, through
// every public call that takes one, is refused with ErrInvalidParameter
// when it is not valid UTF-8, and nothing is written: Python MLflow's
// readers (search_experiments, get_run) fail on such bytes for the whole
// listing.
func TestStore_InvalidUTF8Refused(t *testing.T) {
	s, root := newStore(t, nil)
	exp, err := s.CreateExperiment(ctx, "e", "", nil)
	require.NoError(t, err)
	r := newRun(t, s, exp)
	run := r.Info.RunID
	ds := func(f func(d *entities.Dataset, h string)) func(h string) error {
		return func(h string) error {
			d := entities.Dataset{Name: "d", Digest: "dg", SourceType: "local", Source: "s"}
			f(&d, h)
			return s.LogInputs(ctx, run, []entities.DatasetInput{{Dataset: d}}, nil)
		}
	}
	calls := map[string]func(h string) error{
		"CreateExperiment name": func(h string) error { _, err := s.CreateExperiment(ctx, h, "", nil); return err },
		"CreateExperiment artifact location": func(h string) error {
			_, err := s.CreateExperiment(ctx, "al", filepath.Join(t.TempDir(), h), nil)
			return err
		},
		"CreateExperiment tag value": func(h string) error {
			_, err := s.CreateExperiment(ctx, "tv", "", []entities.ExperimentTag{{Key: "k", Value: h}})
			return err
		},
		"RenameExperiment":       func(h string) error { return s.RenameExperiment(ctx, exp, h) },
		"SetExperimentTag value": func(h string) error { return s.SetExperimentTag(ctx, exp, "k", h) },
		"CreateRun name": func(h string) error {
			_, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, RunName: h})
			return err
		},
		"CreateRun user": func(h string) error {
			_, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, UserID: h})
			return err
		},
		"CreateRun tag value": func(h string) error {
			_, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, Tags: []entities.RunTag{{Key: "k", Value: h}}})
			return err
		},
		"CreateRun runName tag": func(h string) error {
			_, err := s.CreateRun(ctx, filestore.CreateRunOptions{ExperimentID: exp, Tags: []entities.RunTag{{Key: entities.TagRunName, Value: h}}})
			return err
		},
		"UpdateRunInfo name":   func(h string) error { _, err := s.UpdateRunInfo(ctx, run, entities.StatusRunning, nil, h); return err },
		"LogParam value":       func(h string) error { return s.LogParam(ctx, run, "p", h) },
		"SetTag value":         func(h string) error { return s.SetTag(ctx, run, "t", h) },
		"SetTag runName":       func(h string) error { return s.SetTag(ctx, run, entities.TagRunName, h) },
		"LogBatch param value": func(h string) error { return s.LogBatch(ctx, run, nil, []entities.Param{{Key: "bp", Value: h}}, nil) },
		"LogBatch tag value":   func(h string) error { return s.LogBatch(ctx, run, nil, nil, []entities.RunTag{{Key: "bt", Value: h}}) },
		"LogMetric dataset name": func(h string) error {
			return s.LogMetric(ctx, run, entities.Metric{Key: "m", Value: 1, Timestamp: 1, DatasetName: h, DatasetDigest: "dg"})
		},
		"LogMetric dataset digest": func(h string) error {
			return s.LogMetric(ctx, run, entities.Metric{Key: "m", Value: 1, Timestamp: 1, DatasetName: "d", DatasetDigest: h})
		},
		"LogBatch metric dataset": func(h string) error {
			return s.LogBatch(ctx, run, []entities.Metric{{Key: "m", Value: 1, Timestamp: 1, DatasetName: h, DatasetDigest: "dg"}}, nil, nil)
		},
		"LogInputs dataset name":        ds(func(d *entities.Dataset, h string) { d.Name = h }),
		"LogInputs dataset digest":      ds(func(d *entities.Dataset, h string) { d.Digest = h }),
		"LogInputs dataset source type": ds(func(d *entities.Dataset, h string) { d.SourceType = h }),
		"LogInputs dataset source":      ds(func(d *entities.Dataset, h string) { d.Source = h }),
		"LogInputs dataset schema":      ds(func(d *entities.Dataset, h string) { d.Schema = &h }),
		"LogInputs dataset profile":     ds(func(d *entities.Dataset, h string) { d.Profile = &h }),
		"LogInputs input tag": func(h string) error {
			return s.LogInputs(ctx, run, []entities.DatasetInput{{Dataset: entities.Dataset{Name: "d", Digest: "dg", SourceType: "local", Source: "s"},
				Tags: []entities.InputTag{{Key: "mlflow.data.context", Value: h}}}}, nil)
		},
		"LogInputs model": func(h string) error { return s.LogInputs(ctx, run, nil, []entities.ModelInput{{ModelID: "m-" + h}}) },
		"LogOutputs model": func(h string) error {
			return s.LogOutputs(ctx, run, []entities.ModelOutput{{ModelID: "m-" + h}})
		},
	}
	before := dumpTree(t, root, nil)
	for name, call := range calls {
		for bn, h := range badUTF8 {
			t.Run(name+"/"+bn, func(t *testing.T) {
				err := call(h)
				require.ErrorIs(t, err, errs.ErrInvalidParameter)
				if !strings.Contains(h, "\x00") { // an id with NUL is refused as a path first
					require.ErrorContains(t, err, "UTF-8")
				}
			})
		}
	}
	require.Equal(t, before, dumpTree(t, root, nil), "nothing written")
}

// TestCheck_InvalidUTF8: Check finds files other writers left with bytes
// Python cannot decode: a param or tag value, a meta.yaml, a key's name.
func TestCheck_InvalidUTF8(t *testing.T) {
	for _, c := range []struct{ name, rel, data string }{
		{"param value", "params/p", "a\xffb"},
		{"tag value", "tags/t", "a\xffb"},
		{"run name tag", "tags/mlflow.runName", "x\xff"},
		{"metric key", "metrics/k\xff", "1 1.0 0\n"},
		{"param key", "params/k\xfe", "v"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !utf8.ValidString(c.rel) {
				testkit.NotOnWindows(t, "a Windows file name is UTF-16: it cannot hold bytes that are not UTF-8")
			}
			s, root := newStore(t, nil)
			r := newRun(t, s, "0")
			p := filepath.Join(root, "0", r.Info.RunID, filepath.FromSlash(c.rel))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o777))
			require.NoError(t, os.WriteFile(p, []byte(c.data), 0o666))
			probsRes, err := s.Check(ctx, nil)
			probs := probsRes.Problems
			require.NoError(t, err)
			found := false
			for _, pr := range probs {
				if pr.Path == p && pr.Kind == filestore.ProblemInvalidUTF8 {
					found = true
				}
			}
			require.True(t, found, "Check must report %s; got %v", p, probs)
			require.NoError(t, os.Remove(p))
		})
	}
}
