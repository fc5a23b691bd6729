package mlsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/mlsync"
)

func TestVerify_PushedTree_NoDifferences_ThenTheChanges(t *testing.T) {
	f := newFileSetup(t)
	ctx := context.Background()
	f.tr.addArtifacts(t)
	f.tr.addModel(t)
	diffs, err := mlsync.Verify(ctx, f.tr.s, f.dst, f.opts)
	require.NoError(t, err)
	require.Len(t, diffs, 4, "nothing pushed yet: every run: %v", diffs)

	f.push(t)
	diffs, err = mlsync.Verify(ctx, f.tr.s, f.dst, f.opts)
	require.NoError(t, err)
	require.Empty(t, diffs)

	ids := requireMirrored(t, f.tr.s, f.dstFS, exact, false)
	remote := ids[f.tr.kids[0]]
	require.NoError(t, f.dstFS.LogParam(ctx, remote, "extra", "1"))
	require.NoError(t, f.dstFS.LogMetric(ctx, remote, entities.Metric{Key: "loss", Value: 9, Timestamp: 1, Step: 99}))
	require.NoError(t, f.tr.s.SetTag(ctx, f.tr.kids[0], "stage", "eval"))
	a, err := f.tr.s.RunArtifacts(ctx, f.tr.parent)
	require.NoError(t, err)
	putArtifact(t, a, "notes.txt", "longer notes than before\n")
	diffs, err = mlsync.Verify(ctx, f.tr.s, f.dst, f.opts)
	require.NoError(t, err)
	var what []string
	for _, d := range diffs {
		what = append(what, d.What)
	}
	require.ElementsMatch(t, []string{"param extra", "metric loss", "tag stage", "artifact notes.txt"}, what, "%+v", diffs)
}
