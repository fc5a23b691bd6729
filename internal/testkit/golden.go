package testkit

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update is the one -update flag of the module's tests: go test ./...
// -update rewrites every golden file (from Python MLflow where Python
// writes them).
var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them")

// Update reports whether golden files are to be rewritten: -update, or
// MLRUNS_UPDATE_GOLDEN=1 (for a run where flags cannot be passed).
func Update() bool { return *update || os.Getenv("MLRUNS_UPDATE_GOLDEN") == "1" }

// Golden compares got with the golden file at path, or writes it there
// under Update, and fails t with a -want +got diff and the command that
// rewrites it (regen). Review the diff of a rewrite as you would code.
func Golden(t testing.TB, path string, got []byte, regen string) {
	t.Helper()
	if Update() {
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o666); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v; create it with: %s", path, err, regen)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("output differs from %s (-want +got):\n%s\nif the change is intended: %s", path, diff, regen)
	}
}
