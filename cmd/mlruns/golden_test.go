package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// update rewrites the golden files instead of comparing with them:
// go test ./cmd/mlruns -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// checkGolden compares got with testdata/golden/<name> byte for byte, or
// writes it there under -update. Review the diff of a rewrite like code.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; create it with: go test ./cmd/mlruns -run Golden -update")
	require.Equal(t, string(want), string(got),
		"output differs from %s; if the change is intended: go test ./cmd/mlruns -run Golden -update", path)
}
