package layout_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
)

const (
	exp = "123456789012345678"
	run = "0123456789abcdef0123456789abcdef"
)

func TestPath_Rel_RoundTrip(t *testing.T) {
	cases := []struct {
		name string
		p    layout.Path
		rel  string
	}{
		{"experiment meta", layout.Path{Kind: layout.KindExperimentMeta, ExperimentID: "0"}, "0/meta.yaml"},
		{"trashed experiment meta", layout.Path{Kind: layout.KindExperimentMeta, Trash: true, ExperimentID: exp}, ".trash/" + exp + "/meta.yaml"},
		{"experiment tag", layout.Path{Kind: layout.KindExperimentTag, ExperimentID: exp, Key: "a/b"}, exp + "/tags/a/b"},
		{"run meta", layout.Path{Kind: layout.KindRunMeta, ExperimentID: exp, RunID: run}, exp + "/" + run + "/meta.yaml"},
		{"metric with slash", layout.Path{Kind: layout.KindMetric, ExperimentID: exp, RunID: run, Key: "loss/train"}, exp + "/" + run + "/metrics/loss/train"},
		{"param", layout.Path{Kind: layout.KindParam, ExperimentID: exp, RunID: run, Key: "lr"}, exp + "/" + run + "/params/lr"},
		{"tag in trash", layout.Path{Kind: layout.KindTag, Trash: true, ExperimentID: exp, RunID: run, Key: "mlflow.runName"}, ".trash/" + exp + "/" + run + "/tags/mlflow.runName"},
		{"artifacts", layout.Path{Kind: layout.KindArtifacts, ExperimentID: exp, RunID: run}, exp + "/" + run + "/artifacts"},
		{"input", layout.Path{Kind: layout.KindInputMeta, ExperimentID: exp, RunID: run, ID: "134417dd76df73478b77e44a392ce412"}, exp + "/" + run + "/inputs/134417dd76df73478b77e44a392ce412/meta.yaml"},
		{"output", layout.Path{Kind: layout.KindOutputMeta, ExperimentID: exp, RunID: run, ID: "m-1"}, exp + "/" + run + "/outputs/m-1/meta.yaml"},
		{"dataset", layout.Path{Kind: layout.KindDatasetMeta, ExperimentID: exp, ID: "65889691a86609276f6fa92515985e9b"}, exp + "/datasets/65889691a86609276f6fa92515985e9b/meta.yaml"},
		{"model", layout.Path{Kind: layout.KindModelMeta, ExperimentID: exp, ID: "m-1"}, exp + "/models/m-1/meta.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.rel, c.p.Rel())
			got, err := layout.ParsePath(c.rel)
			require.NoError(t, err)
			require.Equal(t, c.p, got)
		})
	}
}

func TestParsePath_Invalid(t *testing.T) {
	for _, rel := range []string{
		"", "/0/meta.yaml", "0", "0/", "0//meta.yaml", "./0/meta.yaml", "../0/meta.yaml",
		"0/x.yaml", exp + "/tags", exp + "/tags/", exp + "/datasets/x", exp + "/models/m/metrics/a",
		exp + "/" + run, exp + "/" + run + "/metrics", exp + "/" + run + "/junk/x",
		exp + "/" + run + "/inputs/x", exp + "/" + run + "/metrics/a/../b", ".trash/meta.yaml",
	} {
		t.Run(rel, func(t *testing.T) {
			_, err := layout.ParsePath(rel)
			require.ErrorIs(t, err, errs.ErrInvalidPath)
		})
	}
}

func TestCheckKey(t *testing.T) {
	for _, ok := range []string{"a", "a/b", "a.b", ".hidden", "..a", "a b", "ключ"} {
		require.NoError(t, layout.CheckKey(ok), ok)
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a", "a\x00b"} {
		require.ErrorIs(t, layout.CheckKey(bad), errs.ErrInvalidPath, bad)
	}
}
