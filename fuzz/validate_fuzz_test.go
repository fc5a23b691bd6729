package fuzz_test

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/age"
	"github.com/mlruns-go/mlruns/validate"
)

// FuzzValidateKey checks that a key the validators accept is safe to use as a
// file path under its folder, and that no validator panics.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{
		"a", "a/b", "a//b", "../a", "/a", "a/", ".", "..", "...", "a\n", "a\x00b", "ключ",
		"a:b", " a ", "a/./b", "//a", "é\u0301", "\xff", strings.Repeat("k", 251),
	} {
		f.Add(s)
	}
	const root = "/root/metrics"
	f.Fuzz(func(t *testing.T, s string) {
		// None of these may panic, whatever the input.
		_ = validate.ParamName(s)
		_ = validate.TagName(s)
		_ = validate.RunID(s)
		_ = validate.ExperimentID(s)
		_ = validate.ExperimentName(s)
		_ = validate.ExperimentTag(s, s)
		_ = validate.LoggedModelName(s)
		_ = validate.PathComponent("model_id", s)
		_ = validate.NewTraceID(s)
		_, _ = validate.Param(entities.Param{Key: s, Value: s}, true)
		_ = validate.Metric(entities.Metric{Key: s, Timestamp: -1})
		_ = validate.Batch([]entities.Metric{{Key: s}}, []entities.Param{{Key: s}, {Key: s}}, []entities.RunTag{{Key: s}})

		err := validate.MetricName(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty message")
			}
			return
		}
		if strings.ContainsRune(s, 0) {
			t.Fatalf("accepted key with NUL: %q", s)
		}
		if path.Clean(s) != s {
			t.Fatalf("accepted key %q that path.Clean changes to %q", s, path.Clean(s))
		}
		rel, err := filepath.Rel(root, filepath.Join(root, s))
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Fatalf("accepted key %q resolves outside %s: rel=%q err=%v", s, root, rel, err)
		}
		if validate.ParamName(s) != nil || validate.TagName(s) != nil {
			t.Fatalf("metric, param and tag names disagree on %q", s)
		}
	})
}

// FuzzParseAge: mlflow gc's --older-than grammar. No panic; an accepted
// age is not negative, and FormatAge's text of it reads back within the
// microsecond rounding.
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"", "1d2h3m4s", "1.5d", "8h", "2m4s", "0s", "d", "1..5h", "99999999999999999999d", "1e3s", "-1s", "1h1d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := age.Parse(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseAge(%q) = %v, negative", s, d)
		}
		back, err := age.Parse(age.Format(d))
		if err != nil {
			t.Fatalf("FormatAge(%v) = %q does not parse: %v", d, age.Format(d), err)
		}
		if diff := back - d; diff > time.Microsecond || diff < -time.Microsecond {
			t.Fatalf("ParseAge(%q) = %v, FormatAge %q reads back %v", s, d, age.Format(d), back)
		}
	})
}
