package reststore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/faultproxy"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/tracking"
)

// artifactsPy prints what Python's MlflowClient reads of a run's and a
// model's artifacts on the server argv[1]: every listing of the run's tree
// (list_artifacts from the top down), the sha256 of every file it
// downloads (download_artifacts of the whole tree), the listings of the
// paths in argv[4] (comma-separated), and the model's tree
// (list_logged_model_artifacts) with the bytes of its MLmodel.
const artifactsPy = `
import hashlib, json, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
uri, run_id, model_id, extra = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
mlflow.set_tracking_uri(uri)
c = MlflowClient(uri)
def entries(fs):
    return [[f.path, f.is_dir, f.file_size or 0] for f in fs]
def walk(lister, path, out):
    fs = lister(path)
    out[path or ""] = entries(fs)
    for f in fs:
        if f.is_dir:
            walk(lister, f.path, out)
run = {}
walk(lambda p: c.list_artifacts(run_id, p), None, run)
files = {}
with tempfile.TemporaryDirectory() as d:
    local = c.download_artifacts(run_id, "", d)
    for root, _, names in os.walk(local):
        for n in names:
            p = os.path.join(root, n)
            files[os.path.relpath(p, local).replace(os.sep, "/")] = hashlib.sha256(open(p, "rb").read()).hexdigest()
lists = {p: entries(c.list_artifacts(run_id, p)) for p in extra.split(",") if p}
model, mlmodel = {}, ""
if model_id:
    walk(lambda p: c.list_logged_model_artifacts(model_id, p), None, model)
    with tempfile.TemporaryDirectory() as d:
        m = c.get_logged_model(model_id)
        p = mlflow.artifacts.download_artifacts(artifact_uri=m.artifact_location + "/MLmodel", dst_path=d)
        mlmodel = open(p).read()
print(json.dumps({"run": run, "files": files, "lists": lists, "model": model, "mlmodel": mlmodel}, sort_keys=True))
`

// artifactView is what artifactsPy prints.
type artifactView struct {
	Run     map[string][][3]any `json:"run"`
	Files   map[string]string   `json:"files"`
	Lists   map[string][][3]any `json:"lists"`
	Model   map[string][][3]any `json:"model"`
	MLmodel string              `json:"mlmodel"`
}

// goView reads the same through our client.
func goView(t *testing.T, c *tracking.Client, s *reststore.Store, runID, modelID string, extra []string) artifactView {
	t.Helper()
	ctx := context.Background()
	entries := func(fs []tracking.ArtifactInfo) [][3]any {
		out := [][3]any{}
		for _, f := range fs {
			out = append(out, [3]any{f.Path, f.IsDir, float64(f.FileSize)})
		}
		return out
	}
	var walk func(list func(string) ([]tracking.ArtifactInfo, error), p string, out map[string][][3]any)
	walk = func(list func(string) ([]tracking.ArtifactInfo, error), p string, out map[string][][3]any) {
		fs, err := list(p)
		require.NoError(t, err)
		out[p] = entries(fs)
		for _, f := range fs {
			if f.IsDir {
				walk(list, f.Path, out)
			}
		}
	}
	v := artifactView{Run: map[string][][3]any{}, Files: map[string]string{}, Lists: map[string][][3]any{}, Model: map[string][][3]any{}}
	walk(func(p string) ([]tracking.ArtifactInfo, error) { return c.ListArtifacts(ctx, runID, p) }, "", v.Run)
	dst := t.TempDir()
	local, err := c.DownloadArtifacts(ctx, runID, "", dst)
	require.NoError(t, err)
	require.NoError(t, filepath.Walk(local, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		v.Files[filepath.ToSlash(rel)] = fileSHA(t, p)
		return nil
	}))
	for _, p := range extra {
		fs, err := c.ListArtifacts(ctx, runID, p)
		require.NoError(t, err)
		v.Lists[p] = entries(fs)
	}
	if modelID != "" {
		walk(func(p string) ([]tracking.ArtifactInfo, error) { return c.ListLoggedModelArtifacts(ctx, modelID, p) }, "", v.Model)
		a, err := s.ModelArtifacts(ctx, modelID)
		require.NoError(t, err)
		rc, err := a.Open(ctx, "MLmodel")
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		v.MLmodel = string(b)
	}
	return v
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func writeFile(t *testing.T, p, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o777))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o666))
}

// logArtifactWorkload logs files, a nested folder, a text, an external
// model and model artifacts through the client, and returns the run and
// model ids and the paths whose listing the views compare.
func logArtifactWorkload(t *testing.T, c *tracking.Client) (runID, modelID string, extra []string) {
	t.Helper()
	ctx := context.Background()
	exp, err := c.CreateExperiment(ctx, "artifacts", "", nil)
	require.NoError(t, err)
	run, err := c.CreateRun(ctx, exp, tracking.CreateRunOptions{})
	require.NoError(t, err)
	runID = run.Info.RunID
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), "alpha\n")
	writeFile(t, filepath.Join(src, "empty.bin"), "")
	writeFile(t, filepath.Join(src, "tree", "b.json"), `{"b": 1}`)
	writeFile(t, filepath.Join(src, "tree", "sub", "deep", "c.csv"), "x,y\n1,2\n")
	writeFile(t, filepath.Join(src, "tree", "with space.txt"), "spaced")
	writeFile(t, filepath.Join(src, "same"), "a file named as its folder")
	require.NoError(t, c.LogArtifact(ctx, runID, filepath.Join(src, "a.txt"), ""))
	require.NoError(t, c.LogArtifact(ctx, runID, filepath.Join(src, "empty.bin"), "bin"))
	require.NoError(t, c.LogArtifact(ctx, runID, filepath.Join(src, "same"), "same"))
	require.NoError(t, c.LogArtifacts(ctx, runID, filepath.Join(src, "tree"), ""))
	require.NoError(t, c.LogArtifacts(ctx, runID, filepath.Join(src, "tree"), "nested/copy"))
	require.NoError(t, c.LogText(ctx, runID, "héllo\nwörld", "notes/summary.md"))
	require.NoError(t, c.LogText(ctx, runID, "replaced", "notes/summary.md"))

	m, err := c.CreateExternalModel(ctx, exp, tracking.CreateLoggedModelOptions{Name: "ext", SourceRunID: runID})
	require.NoError(t, err)
	require.NoError(t, c.LogModelArtifacts(ctx, m.ModelID, filepath.Join(src, "tree"), "extra"))
	// a.txt is a file (lists nothing), same is a folder holding "same",
	// "missing" lists nothing, sub/deep a nested folder.
	return runID, m.ModelID, []string{"a.txt", "same", "same/same", "missing", "sub/deep", "nested/copy/sub"}
}

// Artifacts logged through the server's artifact proxy read the same
// through our client as through Python's MlflowClient: every listing, the
// bytes of every file, the single-file listing rule, the model's MLmodel.
func TestStore_RunArtifacts_ProxyMatchesPython(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	c, err := tracking.Open(srv.URL, nil)
	require.NoError(t, err)
	s, err := reststore.Open(srv.URL, nil)
	require.NoError(t, err)
	runID, modelID, extra := logArtifactWorkload(t, c)

	var py artifactView
	require.NoError(t, json.Unmarshal(interoptest.RunCodeEnv(t, srv.Env(), artifactsPy, nil, srv.URL, runID, modelID, strings.Join(extra, ",")), &py))
	ours := goView(t, c, s, runID, modelID, extra)
	require.Equal(t, py, ours)
	require.Equal(t, [][3]any{}, py.Lists["a.txt"], "Python lists nothing for a file")
	require.NotEmpty(t, py.Files["nested/copy/sub/deep/c.csv"])
	require.Contains(t, py.MLmodel, "model_id: "+modelID)

	ctx := context.Background()
	a, err := s.RunArtifacts(ctx, runID)
	require.NoError(t, err)
	_, err = a.Open(ctx, "nope.txt")
	require.ErrorIs(t, err, errs.ErrNotFound)
	require.ErrorContains(t, err, "No such artifact")
	_, err = a.Open(ctx, "tree-missing/x")
	require.ErrorIs(t, err, errs.ErrNotFound)
	_, err = a.Open(ctx, "sub")
	require.ErrorIs(t, err, errs.ErrNotFound, "a folder is no file")
	require.ErrorIs(t, a.Put(ctx, "../x", strings.NewReader("x")), errs.ErrInvalidPath)
	require.NoError(t, a.MkdirAll(ctx, "only/a/folder"))
	_, err = c.ListArtifacts(ctx, runID, "/abs")
	require.ErrorIs(t, err, errs.ErrInvalidPath)
}

// A 50 MB file goes up and comes back through the proxy with memory bounded
// far below its size (the bodies are streamed), and Python downloads the
// same bytes.
func TestStore_RunArtifacts_LargeFileStreams(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	c, err := tracking.Open(srv.URL, nil)
	require.NoError(t, err)
	ctx := context.Background()
	run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{})
	require.NoError(t, err)
	const size = 50 << 20
	src := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(src)
	require.NoError(t, err)
	rng := rand.NewChaCha8([32]byte{7})
	_, err = io.CopyN(f, rng, size)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	want := fileSHA(t, src)

	allocs := func(fn func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	up := allocs(func() { require.NoError(t, c.LogArtifact(ctx, run.Info.RunID, src, "data")) })
	require.Less(t, up, uint64(size/8), "upload allocated %d bytes for a %d-byte file", up, size)
	dst := t.TempDir()
	var local string
	down := allocs(func() {
		local, err = c.DownloadArtifacts(ctx, run.Info.RunID, "data/big.bin", dst)
		require.NoError(t, err)
	})
	require.Less(t, down, uint64(size/8), "download allocated %d bytes for a %d-byte file", down, size)
	require.Equal(t, want, fileSHA(t, local))

	out := interoptest.RunCodeEnv(t, srv.Env(), `
import hashlib, sys, tempfile
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
with tempfile.TemporaryDirectory() as d:
    p = c.download_artifacts(sys.argv[2], "data/big.bin", d)
    print(hashlib.sha256(open(p, "rb").read()).hexdigest(), [(f.path, f.file_size) for f in c.list_artifacts(sys.argv[2], "data")])
`, nil, srv.URL, run.Info.RunID)
	require.Equal(t, want+" [('data/big.bin', 52428800)]", strings.TrimSpace(string(out)))

	// A reader that is only an io.Reader is streamed too (chunked).
	a, err := c.Store().RunArtifacts(ctx, run.Info.RunID)
	require.NoError(t, err)
	counted := &countingReader{r: io.LimitReader(rand.NewChaCha8([32]byte{7}), size)}
	up = allocs(func() { require.NoError(t, a.Put(ctx, "data/streamed.bin", counted)) })
	require.Equal(t, int64(size), counted.n)
	require.Less(t, up, uint64(size/8))
	_, err = c.DownloadArtifacts(ctx, run.Info.RunID, "data/streamed.bin", dst)
	require.NoError(t, err)
	require.Equal(t, want, fileSHA(t, filepath.Join(dst, "data", "streamed.bin")))
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A server run with --no-serve-artifacts records local paths: while the
// server's artifact root is not on this machine the calls say where the
// artifacts live; once it is, our client writes the folder as Python does,
// and Python reads what we wrote. An experiment whose artifacts go through
// the (disabled) proxy gets the server's 503 as ErrNotSupported.
func TestStore_RunArtifacts_NoServeArtifacts(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite, NoServeArtifacts: true})
	c, err := tracking.Open(srv.URL, nil)
	require.NoError(t, err)
	ctx := context.Background()
	exp, err := c.CreateExperiment(ctx, "local", "", nil)
	require.NoError(t, err)
	run, err := c.CreateRun(ctx, exp, tracking.CreateRunOptions{})
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(srv.ArtifactRoot))
	err = c.LogText(ctx, run.Info.RunID, "x", "x.txt")
	require.ErrorIs(t, err, errs.ErrNotSupported)
	require.ErrorContains(t, err, "server's filesystem")

	require.NoError(t, os.MkdirAll(srv.ArtifactRoot, 0o777))
	runID, modelID, extra := logArtifactWorkload(t, c)
	s, err := reststore.Open(srv.URL, nil)
	require.NoError(t, err)
	var py artifactView
	require.NoError(t, json.Unmarshal(interoptest.RunCodeEnv(t, srv.Env(), artifactsPy, nil, srv.URL, runID, modelID, strings.Join(extra, ",")), &py))
	require.Equal(t, py, goView(t, c, s, runID, modelID, extra))
	r, err := c.GetRun(ctx, runID)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(strings.TrimPrefix(r.Info.ArtifactURI, "file://"), "a.txt"))

	proxied, err := c.CreateExperiment(ctx, "proxied", "mlflow-artifacts:/proxied", nil)
	require.NoError(t, err)
	pr, err := c.CreateRun(ctx, proxied, tracking.CreateRunOptions{})
	require.NoError(t, err)
	err = c.LogText(ctx, pr.Info.RunID, "x", "x.txt")
	require.ErrorIs(t, err, errs.ErrNotSupported)
	require.ErrorContains(t, err, "Artifact serving is disabled")
	_, err = c.ListArtifacts(ctx, pr.Info.RunID, "")
	require.ErrorIs(t, err, errs.ErrNotSupported)

	s3, err := c.CreateExperiment(ctx, "s3", "s3://bucket/prefix", nil)
	require.NoError(t, err)
	sr, err := c.CreateRun(ctx, s3, tracking.CreateRunOptions{})
	require.NoError(t, err)
	_, err = c.ListArtifacts(ctx, sr.Info.RunID, "")
	require.ErrorIs(t, err, errs.ErrNotSupported)
	require.ErrorContains(t, err, "S3ArtifactRepository")
}

// A connection reset in the middle of an upload: a reader that cannot be
// sent again fails at once with the reset named and is not re-sent; a file
// (an io.Seeker) is re-sent until the retries run out. Either way Python's
// listing shows no partial file; a reset once is recovered by the retry.
func TestStore_RunArtifacts_ResetMidUpload(t *testing.T) {
	srv := interoptest.StartServerWith(t, interoptest.ServerOptions{Backend: interoptest.SQLite})
	proxy, err := faultproxy.New(srv.URL)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	t.Setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
	t.Setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
	c, err := tracking.Open(proxy.URL, nil)
	require.NoError(t, err)
	ctx := context.Background()
	run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{})
	require.NoError(t, err)
	a, err := c.Store().RunArtifacts(ctx, run.Info.RunID)
	require.NoError(t, err)
	const size = 4 << 20
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	upload := func(name string) string {
		return "/api/2.0/mlflow-artifacts/artifacts/0/" + run.Info.RunID + "/artifacts/" + name
	}

	in := proxy.Inject(faultproxy.Rule{Match: faultproxy.Path(upload("stream.bin")), Fault: faultproxy.Reset(1 << 20)})
	err = a.Put(ctx, "stream.bin", io.MultiReader(bytes.NewReader(data)))
	require.Error(t, err)
	require.ErrorContains(t, err, "cannot be sent again")
	require.Equal(t, 1, proxy.Fired(in), "a plain reader is not re-sent")

	src := filepath.Join(t.TempDir(), "file.bin")
	require.NoError(t, os.WriteFile(src, data, 0o666))
	in = proxy.Inject(faultproxy.Rule{Match: faultproxy.Path(upload("file.bin")), Fault: faultproxy.Reset(1 << 20)})
	err = c.LogArtifact(ctx, run.Info.RunID, src, "")
	var terr *reststore.TransportError
	require.ErrorAs(t, err, &terr)
	require.Equal(t, 3, terr.Attempts)
	require.Equal(t, 3, proxy.Fired(in), "a file is re-sent while retries remain")

	listing := func() string {
		return strings.TrimSpace(string(interoptest.RunCodeEnv(t, srv.Env(), `
import os, sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
print([f.path for f in c.list_artifacts(sys.argv[2])])
`, nil, srv.URL, run.Info.RunID)))
	}
	require.Equal(t, "[]", listing())
	entries, err := os.ReadDir(filepath.Join(srv.ArtifactRoot, "0", run.Info.RunID, "artifacts"))
	if err == nil {
		for _, e := range entries {
			t.Errorf("left in the server's artifact folder: %s", e.Name())
		}
	}

	proxy.Clear()
	in = proxy.Inject(faultproxy.Rule{Match: faultproxy.Path(upload("file.bin")), Times: 1, Fault: faultproxy.Reset(1 << 20)})
	require.NoError(t, c.LogArtifact(ctx, run.Info.RunID, src, ""))
	require.Equal(t, 1, proxy.Fired(in))
	require.Equal(t, "['file.bin']", listing())
	rc, err := a.Open(ctx, "file.bin")
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.True(t, bytes.Equal(data, got))
}
