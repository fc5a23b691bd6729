package testkit

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Testdata is the module's testdata folder, found by walking up from the
// working directory (a test's is its package folder) to go.mod.
func Testdata(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testkit: no go.mod above the working directory")
		}
		dir = parent
	}
}

// CopyTree copies the folders and regular files of src into dst, empty
// folders included.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o777)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o666)
	})
	if err != nil {
		t.Fatalf("testkit: copy %s: %v", src, err)
	}
}

// CopyFixture copies testdata/<name>/mlruns into a temporary folder and
// makes the empty folders git cannot store (listed in the fixture's
// empty_dirs.txt, if it has one). It returns the copy's root.
func CopyFixture(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(Testdata(t), filepath.FromSlash(name))
	dst := t.TempDir()
	CopyTree(t, filepath.Join(src, "mlruns"), filepath.Join(dst, "mlruns"))
	f, err := os.Open(filepath.Join(src, "empty_dirs.txt"))
	if os.IsNotExist(err) {
		return filepath.Join(dst, "mlruns")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			if err := os.MkdirAll(filepath.Join(dst, filepath.FromSlash(line)), 0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dst, "mlruns")
}
