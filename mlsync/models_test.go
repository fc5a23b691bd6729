package mlsync_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/mlsync"
)

func TestPush_LoggedModel_MirroredThenUnchanged(t *testing.T) {
	f := newFileSetup(t)
	ctx := context.Background()
	local := f.tr.addModel(t)
	// A point with a dataset that is no model's metric loses its dataset.
	require.NoError(t, f.tr.s.LogMetric(ctx, f.tr.kids[1], entities.Metric{Key: "acc", Value: 0.5, Timestamp: 1_700_000_095_000, DatasetName: "train", DatasetDigest: "0123abcd"}))
	rep := f.push(t)
	require.Equal(t, map[mlsync.LossKind]int64{mlsync.LossMetricLink: 1}, rep.Lossy)
	require.Len(t, rep.Models, 1)
	require.Equal(t, mlsync.RunCreated, rep.Models[0].State)
	ids := requireMirrored(t, f.tr.s, f.dstFS, exact, false)
	remote := requireModelMirrored(t, f.tr.s, f.dstFS, local, ids)
	out, err := f.dstFS.GetRun(ctx, ids[f.tr.parent])
	require.NoError(t, err)
	require.Equal(t, []entities.ModelOutput{{ModelID: remote, Step: 3}}, out.Outputs.ModelOutputs)
	in, err := f.dstFS.GetRun(ctx, ids[f.tr.kids[0]])
	require.NoError(t, err)
	require.Equal(t, []entities.ModelInput{{ModelID: remote}}, in.Inputs.ModelInputs)

	f.dst.reset()
	rep = f.push(t)
	require.Zero(t, f.dst.total(), "writes of a second push: %v", f.dst.writes)
	require.Empty(t, rep.Lossy)
	require.Equal(t, mlsync.RunUnchanged, rep.Models[0].State)

	// A changed param and tag are sent, nothing else.
	require.NoError(t, f.tr.s.LogLoggedModelParams(ctx, local, map[string]string{"alpha": "0.7"}))
	require.NoError(t, f.tr.s.SetLoggedModelTags(ctx, local, map[string]string{"flavor": "golang"}))
	f.dst.reset()
	rep = f.push(t)
	require.Equal(t, map[string]int{"LogLoggedModelParams": 1, "SetLoggedModelTags": 1}, f.dst.writes)
	require.Equal(t, mlsync.RunUpdated, rep.Models[0].State)
	requireModelMirrored(t, f.tr.s, f.dstFS, local, ids)
}

func TestPush_LoggedModel_LostJournal_AdoptedByTag(t *testing.T) {
	f := newFileSetup(t)
	local := f.tr.addModel(t)
	f.push(t)
	require.NoError(t, os.Remove(mlsync.JournalPath(f.opts.Root, f.opts.Target)))
	f.dst.reset()
	rep := f.push(t)
	require.Equal(t, mlsync.RunAdopted, rep.Models[0].State)
	require.Zero(t, f.dst.writes["CreateLoggedModel"])
	require.Zero(t, f.dst.writes["LogOutputs"], "the output the destination has is not sent again")
	ids := requireMirrored(t, f.tr.s, f.dstFS, exact, false)
	requireModelMirrored(t, f.tr.s, f.dstFS, local, ids)
}

func TestPush_LoggedModel_DryRunCountsIt(t *testing.T) {
	f := newFileSetup(t)
	f.tr.addModel(t)
	o := f.opts
	o.DryRun = true
	rep, err := mlsync.Push(context.Background(), f.tr.s, nil, o)
	require.NoError(t, err)
	require.Len(t, rep.Models, 1)
	require.Equal(t, mlsync.RunNew, rep.Models[0].State)
	require.Empty(t, rep.Lossy)
	require.Zero(t, f.dst.total())
}
