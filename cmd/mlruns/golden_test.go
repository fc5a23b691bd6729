package main

import (
	"path/filepath"
	"testing"

	"github.com/mlruns-go/mlruns/internal/testkit"
)

// checkGolden compares got with testdata/golden/<name> byte for byte, or
// writes it there under -update (testkit.Golden).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", "golden", name), got, "go test ./cmd/mlruns -run Golden -update")
}
