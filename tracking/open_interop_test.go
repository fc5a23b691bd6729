package tracking_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/tracking"
)

// resolveScript asks MLflow's tracking store registry, in the folder
// argv[1], which builder each tracking URI on stdin gets and, for the file
// store, builds it (FileStore(uri, uri), which refuses a remote file:
// host) and reports its root_directory. Other builders are not called:
// they would reach for a server or a database.
const resolveScript = `
import json, os, sys, warnings
warnings.filterwarnings("ignore")
from mlflow.tracking._tracking_service.utils import _tracking_store_registry
os.chdir(sys.argv[1])
out = []
for u in json.load(sys.stdin):
    try:
        b = _tracking_store_registry.get_store_builder(u)
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)[:160]})
        continue
    r = {"builder": b.__name__}
    if b.__name__ == "_get_file_store":
        try:
            r["root"] = b(u).root_directory
        except Exception as e:
            r["error"] = type(e).__name__ + ": " + str(e)[:160]
    out.append(r)
sys.stdout.write(json.dumps(out))
`

// trackingURIs are tracking URIs in every form MLflow resolves: ABS is an
// absolute temporary folder in slash form (/tmp/x), one per side.
var trackingURIs = []string{
	"mlruns", "./runs", "a/b/../c", "ABS/plain", "Databricks", "databricks-ucx", "C:/drive", "c:\\back",
	"file://ABS/three", "file:ABS/one", "file:///ABS/four", "file://localhostABS/localhost",
	"file://LOCALHOSTABS/upper", "file://localhostfooABS/prefix", "file://127.0.0.1ABS/loopback",
	"file://.ABS/dot", "file:rel", "file://ABS/sp%20ace", "file://ABS/q?x=1#frag",
	"file://otherhost/data/x", "file://user@otherhost/x", "file://otherhost:80/x", "file://[::1]/x", "file://10.0.0.1/x",
	"file:", "file://localhost",
	"databricks", "databricks-uc", "uc", "databricks:", "databricks://profile", "DATABRICKS://p",
	"databricks-uc://p", "uc:http://localhost:8080",
	"http://localhost:5000", "https://mlflow.example.com", "HTTP://h",
	"postgresql://u@h/db", "postgresql+psycopg2://u@h/db", "mysql://h/db", "mysql+pymysql://h/db",
	"sqlite:///mlflow.db", "mssql+pyodbc://h/db", "sqlitefoo://x", "postgresqlx://h", "mysql+a+b://h",
	"postgres://h/db", "s3://bucket/x", "ftp://h/x", "weird+scheme://x", "mlflow-artifacts:/x",
}

// deviations are the URIs where we refuse what Python accepts, with the
// root Python then uses: an upper-case FILE: scheme becomes a relative
// folder named "FILE:" there.
var deviations = map[string]string{"FILE://ABS/upper-scheme": "FILE://ABS/upper-scheme"}

// Every tracking URI is accepted or refused as Python MLflow 3.18 does:
// the file store's URIs open the same folder Python's FileStore does;
// file: URIs Python refuses are ErrInvalidParameter; URIs of Python's other
// backends are ErrNotSupported, as are schemes Python's registry does not
// know, except a misspelt database engine (ErrInvalidParameter, as in
// Python). A refused URI creates nothing.
func TestOpenStore_Interop_MatchesPythonRegistry(t *testing.T) {
	pyDir, goDir := t.TempDir(), t.TempDir()
	uris := append([]string(nil), trackingURIs...)
	for u := range deviations {
		uris = append(uris, u)
	}
	fill := func(s, dir string) string { return strings.ReplaceAll(s, "ABS", filepath.ToSlash(dir)) }
	var pyURIs []string
	for _, u := range uris {
		pyURIs = append(pyURIs, fill(u, pyDir))
	}
	in, err := json.Marshal(pyURIs)
	require.NoError(t, err)
	var py []struct {
		Builder string  `json:"builder"`
		Root    *string `json:"root"`
		Error   string  `json:"error"`
	}
	require.NoError(t, json.Unmarshal(interoptest.RunCode(t, resolveScript, in, pyDir), &py))
	require.Len(t, py, len(uris))

	t.Chdir(goDir)
	for i, u := range uris {
		p, gu := py[i], fill(u, goDir)
		t.Run(u, func(t *testing.T) {
			path, err := filestore.TrackingPath(gu)
			st, openErr := tracking.OpenStore(gu, nil)
			if want, ok := deviations[u]; ok {
				require.Equal(t, "_get_file_store", p.Builder, "Python: %s", p.Error)
				require.NotNil(t, p.Root, "Python: %s", p.Error)
				require.Equal(t, fill(want, pyDir), *p.Root)
				require.ErrorIs(t, err, errs.ErrInvalidParameter)
				require.ErrorIs(t, openErr, errs.ErrInvalidParameter)
				return
			}
			switch {
			case p.Root != nil:
				require.NoError(t, err)
				require.Equal(t, strings.ReplaceAll(*p.Root, filepath.ToSlash(pyDir), filepath.ToSlash(goDir)), path)
				require.NoError(t, openErr)
				abs, err := filepath.Abs(path)
				require.NoError(t, err)
				fst, ok := st.(*filestore.Store)
				require.True(t, ok, "a local URI opens the file store")
				require.Equal(t, abs, fst.Root())
				fi, err := os.Stat(abs)
				require.NoError(t, err)
				require.True(t, fi.IsDir())
				return
			case p.Builder == "_get_file_store", strings.Contains(p.Error, "Invalid database"):
				require.ErrorIs(t, err, errs.ErrInvalidParameter, "Python: %s", p.Error)
				require.ErrorIs(t, openErr, errs.ErrInvalidParameter)
			case p.Builder == "_get_rest_store":
				// a tracking server: the REST backend (no request on open)
				require.ErrorIs(t, err, errs.ErrNotSupported, "not a folder")
				require.NoError(t, openErr)
				_, ok := st.(*reststore.Store)
				require.True(t, ok)
				return
			default: // another backend, or no backend
				require.ErrorIs(t, err, errs.ErrNotSupported, "Python: %s %s", p.Builder, p.Error)
				require.ErrorIs(t, openErr, errs.ErrNotSupported)
				require.NotErrorIs(t, err, errs.ErrInvalidParameter)
			}
			require.Nil(t, st)
		})
	}
	// Refused URIs left nothing behind: only the accepted stores' folders.
	entries, err := os.ReadDir(goDir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.NotContains(t, names, "databricks")
	require.NotContains(t, names, "databricks-uc")
	require.NotContains(t, names, "uc")
}
