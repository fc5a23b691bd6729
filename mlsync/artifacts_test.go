package mlsync_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/mlsync"
)

func TestPush_Artifacts_OnlyNewOrChangedFiles(t *testing.T) {
	f := newFileSetup(t)
	ctx := context.Background()
	src := f.tr.addArtifacts(t)
	rep := f.push(t)
	files, bytes := rep.ArtifactFiles()
	require.Equal(t, 3, files)
	require.Equal(t, int64(12+17<<16+6), bytes)
	require.Equal(t, 3, f.dst.writes["Put"])
	ids := requireMirrored(t, f.tr.s, f.dstFS, exact, false)
	dst, err := f.dstFS.RunArtifacts(ctx, ids[f.tr.parent])
	require.NoError(t, err)
	require.Equal(t, artifactFiles(t, src), artifactFiles(t, dst))

	f.dst.reset()
	rep = f.push(t)
	require.Zero(t, f.dst.total(), "a second push sends nothing: %v", f.dst.writes)
	require.Equal(t, 3, rep.Runs[0].Artifacts.Unchanged+rep.Runs[1].Artifacts.Unchanged+rep.Runs[2].Artifacts.Unchanged+rep.Runs[3].Artifacts.Unchanged)

	// One file changed, one only touched, one new: two are sent.
	putArtifact(t, src, "notes.txt", "second notes\n")
	dir, err := f.tr.s.ArtifactDir(ctx, f.tr.parent)
	require.NoError(t, err)
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "plots", "loss", "curve.svg"), later, later))
	putArtifact(t, src, "new.txt", "new")
	f.dst.reset()
	rep = f.push(t)
	require.Equal(t, 2, f.dst.writes["Put"], "%v", f.dst.writes)
	files, _ = rep.ArtifactFiles()
	require.Equal(t, 2, files)
	require.Equal(t, artifactFiles(t, src), artifactFiles(t, dst))
	f.dst.reset()
	f.push(t)
	require.Zero(t, f.dst.total(), "the touched file is not hashed into a send again: %v", f.dst.writes)

	// A file removed locally stays on the destination: reported once.
	require.NoError(t, os.Remove(filepath.Join(dir, "new.txt")))
	rep = f.push(t)
	require.Equal(t, map[mlsync.LossKind]int64{mlsync.LossStaleArtifact: 1}, rep.Lossy)
	rep = f.push(t)
	require.Empty(t, rep.Lossy)
}

func TestPush_Artifacts_NoArtifactsLeavesThemOut(t *testing.T) {
	f := newFileSetup(t)
	f.tr.addArtifacts(t)
	f.opts.NoArtifacts = true
	f.push(t)
	require.Zero(t, f.dst.writes["Put"])
}

func TestPush_Artifacts_DryRunCountsThem(t *testing.T) {
	f := newFileSetup(t)
	f.tr.addArtifacts(t)
	o := f.opts
	o.DryRun = true
	rep, err := mlsync.Push(context.Background(), f.tr.s, nil, o)
	require.NoError(t, err)
	files, _ := rep.ArtifactFiles()
	require.Equal(t, 3, files)
	f.push(t)
	st, err := mlsync.Status(context.Background(), f.tr.s, f.opts)
	require.NoError(t, err)
	files, _ = st.ArtifactFiles()
	require.Zero(t, files)
	require.Equal(t, 4, st.Count(mlsync.RunSynced))
}
