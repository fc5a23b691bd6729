package filestore_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// artifactCases are (store root, artifact root) pairs in the forms MLflow
// users give: FileStore(root) and the client's FileStore(uri, uri).
var artifactCases = [][2]string{
	{"rel1", ""}, {"./x/../rel2", ""}, {"rel3", "rel3"}, {"file:rel4", "file:rel4"},
	{"ABS/abs5", "ABS/abs5"}, {"file://ABS/abs6", "file://ABS/abs6"}, {"./y/../rel7", "./y/../rel7"},
	{"ABS/sp ace%", ""}, {"ABS/sp ace2%", "ABS/sp ace2%"}, {"rel8", "s3://bucket/path?x=1"},
	{"rel9", "mlflow-artifacts:/prefix"},
}

// TestInterop_ArtifactLocationForms: the Default experiment's
// artifact_location, for every form of store and artifact root, is the
// string Python MLflow writes.
func TestInterop_ArtifactLocationForms(t *testing.T) {
	interoptest.Python(t)
	pyDir, goDir := t.TempDir(), t.TempDir()
	fill := func(dir string, c [2]string) [2]string {
		return [2]string{strings.ReplaceAll(c[0], "ABS", dir), strings.ReplaceAll(c[1], "ABS", dir)}
	}
	var pyCases [][2]string
	for _, c := range artifactCases {
		pyCases = append(pyCases, fill(pyDir, c))
	}
	in, err := json.Marshal(pyCases)
	require.NoError(t, err)
	out := interoptest.RunCode(t, `
import json, os, sys, warnings
warnings.filterwarnings("ignore")
from mlflow.store.tracking.file_store import FileStore
os.chdir(sys.argv[1])
print(json.dumps([FileStore(r, a or None).get_experiment("0").artifact_location for r, a in json.load(sys.stdin)]))
`, in, pyDir)
	var want []string
	require.NoError(t, json.Unmarshal(out, &want))

	wd, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, os.Chdir(goDir))
	defer os.Chdir(wd)
	for i, c := range artifactCases {
		gc := fill(goDir, c)
		s, err := filestore.Open(gc[0], &filestore.Options{ArtifactRoot: gc[1]})
		require.NoError(t, err, c)
		exp, err := s.GetExperiment(ctx, "0")
		require.NoError(t, err)
		require.Equal(t, strings.ReplaceAll(want[i], pyDir, goDir), exp.ArtifactLocation, "root %q artifact root %q", c[0], c[1])
	}
}

func TestLocalPath(t *testing.T) {
	cases := map[string]string{
		"mlruns": "mlruns", "/a/b": "/a/b", "file:///a/b": "/a/b", "file:rel": "rel",
		"file:///a%20b": "/a b", "file://localhost/x": "/x",
	}
	if runtime.GOOS == "windows" { // url2pathname: backslashes (TestURI_WindowsForms has the rest)
		cases = map[string]string{"mlruns": "mlruns", "file:///a/b": `\a\b`, "file:///a%20b": `\a b`, "file://localhost/x": `\x`}
	}
	for in, want := range cases {
		got, err := filestore.LocalPath(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"http://localhost:5000", "https://x", "sqlite:///mlflow.db", "databricks"} {
		_, err := filestore.LocalPath(bad)
		if bad == "databricks" {
			require.NoError(t, err) // a plain relative path
			continue
		}
		require.ErrorIs(t, err, errs.ErrNotSupported, bad)
	}
	require.Equal(t, "file:///a%20b/c%25d", filestore.FileURI(filepath.FromSlash("/a b/c%d")))
}
