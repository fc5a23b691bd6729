package validate

import (
	"strings"
	"testing"
)

// plainPath is a shortcut of pathNotUnique: over every string of up to 7
// characters from {a, ., /}, the shortcut gives the answer of the full
// normpath rule.
func TestPlainPath_AgreesWithNormpath(t *testing.T) {
	alphabet := []byte{'a', '.', '/'}
	var gen func(prefix string, n int)
	count := 0
	gen = func(prefix string, n int) {
		full := func(name string) bool {
			n := normpath(name)
			return n != name || n == "." || strings.HasPrefix(n, "..") || strings.HasPrefix(n, "/")
		}
		if got, want := pathNotUnique(prefix), full(prefix); got != want {
			t.Errorf("pathNotUnique(%q) = %v, normpath rule says %v", prefix, got, want)
		}
		count++
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+string(c), n-1)
		}
	}
	gen("", 7)
	if count < 3000 {
		t.Fatalf("only %d names checked", count)
	}
}
