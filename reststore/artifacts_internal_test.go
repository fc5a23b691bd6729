package reststore

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/interoptest"
)

// The Content-Type of an upload is Python's _guess_mime_type with
// mimetypes' built-in tables (a MimeTypes() that reads no system file).
func TestContentType_MatchesPython(t *testing.T) {
	names := []string{"a.txt", "a.TXT", "MLmodel", "mlproject", "MLproject", "txt", "x.tar.gz", "x.tgz", "x.TGZ",
		"a.PNG", ".png", "..png", "a..b", "a.svgz", "b.json", "model.pkl", "data.parquet", "noext", "a.Z", "a.z",
		"a.gz", "f.csv.gz", "page.html", "weird.x.yml", "conda.yaml", "img.jpeg", "doc.pdf", "a.tar.bz2", "a.tbz2",
		"archive.zip", "data:text/x,1", "data:x,1", "data:nocomma", "s3:model.bin", "a.webp", "m.onnx", "a.wasm", "café.ipynb"}
	out := interoptest.RunCode(t, `
import json, sys, mimetypes
import mlflow.utils.mime_type_utils as m
m.guess_type = mimetypes.MimeTypes().guess_type
print(json.dumps([m._guess_mime_type(n) for n in json.loads(sys.stdin.read())]))
`, mustJSON(t, names))
	var want []string
	require.NoError(t, json.Unmarshal(out, &want))
	for i, n := range names {
		require.Equal(t, want[i], contentType(n), n)
	}
}

// mlflow-artifacts: URIs resolve to the URLs of MlflowArtifactsRepository
// .resolve_uri, and the port-without-host URI fails as there.
func TestResolveArtifactsURI_MatchesPython(t *testing.T) {
	cases := [][2]string{
		{"mlflow-artifacts:/1/abc/artifacts", "http://127.0.0.1:5000"},
		{"mlflow-artifacts:/1/abc/artifacts", "https://host/prefix/"},
		{"mlflow-artifacts://other:7000/1/x", "http://h:5000/mlflow"},
		{"mlflow-artifacts:///1/x", "http://h:5000"},
		{"mlflow-artifacts:/", "http://h:5000/p"},
		{"mlflow-artifacts:/api/2.0/mlflow-artifacts/artifacts", "http://h:5000/p"},
		{"mlflow-artifacts:1/rel", "http://h:5000"},
		{"mlflow-artifacts:/a//b/", "http://h"},
		{"mlflow-artifacts:/sp%20ace/x", "http://h"},
		{"mlflow-artifacts://5000/x", "http://h"},
		{"mlflow-artifacts://1.5/x", "http://h"},
		{"mlflow-artifacts://host5000/x", "http://h"},
	}
	out := interoptest.RunCode(t, `
import json, sys
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
res = []
for a, t in json.loads(sys.stdin.read()):
    try:
        res.append(MlflowArtifactsRepository.resolve_uri(a, t))
    except Exception as e:
        res.append("error: " + str(e))
print(json.dumps(res))
`, mustJSON(t, cases))
	var want []string
	require.NoError(t, json.Unmarshal(out, &want))
	for i, c := range cases {
		got, err := resolveArtifactsURI(c[0], c[1])
		if strings.HasPrefix(want[i], "error: ") {
			require.ErrorIs(t, err, errs.ErrInvalidParameter, c[0])
			require.ErrorContains(t, err, strings.TrimPrefix(want[i], "error: "))
			continue
		}
		require.NoError(t, err, c[0])
		require.Equal(t, want[i], got, c[0])
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
