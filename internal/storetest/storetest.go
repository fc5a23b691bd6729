// Package storetest is the file store's test kit: a store in a temporary
// folder whose test ends with the consistency check (bbolt's habit of
// checking every test's database on close), and the check itself for
// trees a test opened another way. It imports testing and is used only by
// tests.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlruns-go/mlruns/filestore"
)

// New opens a store at a new root in a temporary folder and returns it
// with the root; when the test ends, Check must find nothing (Clean).
func New(t testing.TB, opts *filestore.Options) (*filestore.Store, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := filestore.Open(root, opts)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", root, err)
	}
	t.Cleanup(func() { Clean(t, s) })
	return s, root
}

// Clean fails t when the consistency check finds a problem in s.
func Clean(t testing.TB, s *filestore.Store) {
	t.Helper()
	res, err := s.Check(context.Background(), nil)
	if err != nil {
		t.Fatalf("storetest: check %s: %v", s.Root(), err)
	}
	for _, p := range res.Problems {
		t.Errorf("storetest: consistency check of %s: %s", s.Root(), p)
	}
}

// CleanRoot is Clean for the store at root, opened for the check.
func CleanRoot(t testing.TB, root string) {
	t.Helper()
	s, err := filestore.Open(root, nil)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", root, err)
	}
	Clean(t, s)
}
