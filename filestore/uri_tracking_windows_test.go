package filestore

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
)

// Tracking URIs in Windows forms, on every system through the win
// parameter: drive letters and UNC paths are paths, file: URIs map as
// url2pathname (nturl2path) maps them, and a file: URI naming a share's
// host is refused, as is_local_uri refuses it on every system.
func TestTrackingPath_WindowsForms(t *testing.T) {
	for _, c := range []struct{ uri, path string }{
		{"file:///C:/x/y", `C:\x\y`},
		{"file://localhost/C:/x", `C:\x`},
		{"file:////server/share/x", `\\server\share\x`},
		{`\\server\share\mlruns`, `\\server\share\mlruns`},
		{`C:\mlruns`, `C:\mlruns`},
		{"c:/mlruns", "c:/mlruns"},
	} {
		got, err := trackingPath(c.uri, true)
		require.NoError(t, err, c.uri)
		require.Equal(t, c.path, got, c.uri)
	}
	_, err := trackingPath("file://server/share/x", true)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	_, err = trackingPath("databricks", true)
	require.ErrorIs(t, err, errs.ErrNotSupported)
}
