package filestore

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
)

// Windows forms of paths and file: URIs, as MLflow gives them on Windows
// (pathlib's as_uri, url2pathname, get_uri_scheme), checked on every
// system through the helpers' win parameter.
func TestURI_WindowsForms(t *testing.T) {
	for _, c := range []struct{ path, uri string }{
		{`C:\Users\me\mlruns`, "file:///C:/Users/me/mlruns"},
		{`d:\data\sp ace`, "file:///d:/data/sp%20ace"},
		{`\\server\share\mlruns`, "file://server/share/mlruns"},
	} {
		require.Equal(t, c.uri, fileURI(c.path, true), c.path)
	}
	for _, c := range []struct{ uri, path string }{
		{"file:///C:/Users/me/mlruns", `C:\Users\me\mlruns`},
		{"file:///C|/x", `C:\x`},
		{"file:///d:/data/sp%20ace", `d:\data\sp ace`},
		{"file://localhost/C:/x", `C:\x`},
		{`C:\x\y`, `C:\x\y`}, // a drive letter is no scheme
		{"c:/x/y", "c:/x/y"}, // nor in slash form
		{`relative\x`, `relative\x`},
	} {
		got, err := localPath(c.uri, true)
		require.NoError(t, err, c.uri)
		require.Equal(t, c.path, got, c.uri)
	}
	for _, c := range []struct{ uri, path string }{
		{"file:///data/x", "/data/x"},
		{"file://localhost/data/x", "/data/x"},
		{"file://127.0.0.1/data/x", "/data/x"},
		{"file:rel", "rel"},
	} {
		got, err := localPath(c.uri, false)
		require.NoError(t, err, c.uri)
		require.Equal(t, c.path, got, c.uri)
	}
	require.Equal(t, "file:///data/sp%20ace", fileURI("/data/sp ace", false))
	for _, win := range []bool{true, false} {
		_, err := localPath("file://otherhost/data/x", win)
		require.ErrorIs(t, err, errs.ErrInvalidParameter, "another host's file is not local")
		require.ErrorContains(t, err, "is not a valid remote uri")
	}
	// pathlib's joinpath: a rooted path keeps only the drive on Windows
	require.Equal(t, "Z:/abs/x", pathlibJoin("Z:/work/dir", "/abs/x", true))
	require.Equal(t, "Z:/work/dir/rel/../x", pathlibJoin("Z:/work/dir", "rel/./../x", true))
	require.Equal(t, "/abs/x", pathlibJoin("/work/dir", "/abs/x", false))
}
