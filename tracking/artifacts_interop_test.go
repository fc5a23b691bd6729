package tracking_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/tracking"
)

// TestClient_ArtifactListing_Interop: ListArtifacts, ListLoggedModelArtifacts
// and DownloadArtifacts give what Python 3.18's list_artifacts,
// list_logged_model_artifacts and download_artifacts give for the same
// artifacts (logged by Go: LogArtifact(s), LogText, LogModelArtifacts),
// including a write in progress that both hide.
func TestClient_ArtifactListing_Interop(t *testing.T) {
	interoptest.Python(t)
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	c, err := tracking.Open(root, nil)
	require.NoError(t, err)
	run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{RunName: "art"})
	require.NoError(t, err)
	id := run.Info.RunID
	src := t.TempDir()
	write := func(p, data string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o777))
		require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(data), 0o666))
	}
	write("model.bin", "0123456789")
	write("tree/a.txt", "a")
	write("tree/sub/b.txt", "bb")
	require.NoError(t, c.LogArtifact(ctx, id, filepath.Join(src, "model.bin"), ""))
	require.NoError(t, c.LogArtifacts(ctx, id, filepath.Join(src, "tree"), "data"))
	require.NoError(t, c.LogText(ctx, id, "hello", "notes/readme.md"))
	dir, err := c.ArtifactDir(ctx, id)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", ".artifact.uploading.x"), []byte("half"), 0o666))
	m, err := c.CreateLoggedModel(ctx, "0", tracking.CreateLoggedModelOptions{Name: "mm"})
	require.NoError(t, err)
	require.NoError(t, c.LogModelArtifacts(ctx, m.ModelID, filepath.Join(src, "tree"), ""))

	type info struct {
		Path  string `json:"path"`
		IsDir bool   `json:"is_dir"`
		Size  *int64 `json:"file_size"`
	}
	out := interoptest.RunCode(t, `
import json, os, sys
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1])
rid, mid, dst = sys.argv[2], sys.argv[3], sys.argv[4]
enc = lambda fs: [{"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size} for f in fs]
res = {p: enc(c.list_artifacts(rid, p or None)) for p in ["", "data", "data/sub", "model.bin", "missing"]}
res["model"] = enc(c.list_logged_model_artifacts(mid))
res["model/sub"] = enc(c.list_logged_model_artifacts(mid, "sub"))
got = c.download_artifacts(rid, "data", dst)
files = []
for d, _, fs in os.walk(got):
    for f in fs:
        files.append(os.path.relpath(os.path.join(d, f), dst))
res["download"] = [os.path.relpath(got, dst), sorted(files)]
print(json.dumps(res))
`, nil, root, id, m.ModelID, filepath.Join(t.TempDir(), "py"))
	var py map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &py))
	toInfos := func(as []tracking.ArtifactInfo) []info {
		res := []info{}
		for _, a := range as {
			i := info{Path: a.Path, IsDir: a.IsDir}
			if !a.IsDir {
				n := a.FileSize
				i.Size = &n
			}
			res = append(res, i)
		}
		return res
	}
	for _, p := range []string{"", "data", "data/sub", "model.bin", "missing"} {
		got, err := c.ListArtifacts(ctx, id, p)
		require.NoError(t, err)
		var want []info
		require.NoError(t, json.Unmarshal(py[p], &want))
		require.Equal(t, want, toInfos(got), "list %q", p)
	}
	for key, p := range map[string]string{"model": "", "model/sub": "sub"} {
		got, err := c.ListLoggedModelArtifacts(ctx, m.ModelID, p)
		require.NoError(t, err)
		var want []info
		require.NoError(t, json.Unmarshal(py[key], &want))
		require.Equal(t, want, toInfos(got), "model list %q", p)
	}
	dst := t.TempDir()
	local, err := c.DownloadArtifacts(ctx, id, "data", dst)
	require.NoError(t, err)
	var files []string
	require.NoError(t, filepath.WalkDir(local, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dst, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	}))
	rel, _ := filepath.Rel(dst, local)
	var want []json.RawMessage
	require.NoError(t, json.Unmarshal(py["download"], &want))
	var wantRel string
	var wantFiles []string
	require.NoError(t, json.Unmarshal(want[0], &wantRel))
	require.NoError(t, json.Unmarshal(want[1], &wantFiles))
	require.Equal(t, wantRel, filepath.ToSlash(rel))
	require.ElementsMatch(t, wantFiles, files)
	_, err = c.DownloadArtifacts(ctx, id, "missing", dst)
	require.Error(t, err)
}
