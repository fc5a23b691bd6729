package layout

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// FuzzYAMLEmit checks that any valid UTF-8 string written by encodeYAML as a
// value, as a nested key and as a nested value reads back unchanged with a
// typed yaml.v3 decoder (how layout reads meta.yaml). Byte equality with
// PyYAML is checked by layout's differential tests; this looks for output
// that is not even valid YAML, or that decodes to something else.
func FuzzYAMLEmit(f *testing.F) {
	// Seed with the hand-picked strings of layout's golden table.
	data, err := os.ReadFile(filepath.Join("testdata", "yaml", "golden.json"))
	if err != nil {
		f.Fatal(err)
	}
	var golden struct {
		Strings []struct {
			Input string `json:"input"`
		} `json:"strings"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		f.Fatal(err)
	}
	for _, c := range golden.Strings {
		f.Add(c.Input)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip("encodeYAML replaces invalid UTF-8; Python strings never hold it")
		}
		if len(s) > 256 {
			// Folding repeats every 80 columns and keys change form at 128
			// bytes; longer inputs add nothing but make the
			// minimizer (quadratic in length) stall the fuzzer for minutes.
			t.Skip("longer than 256 bytes")
		}
		out := encodeYAML(map[string]any{"name": s, "tags": map[string]string{s: s}})
		if !utf8.Valid(out) || len(out) < 2 || out[len(out)-1] != '\n' || out[len(out)-2] == '\n' {
			t.Fatalf("output must be UTF-8 ending in exactly one newline: %q", out)
		}
		var got struct {
			Name string            `yaml:"name"`
			Tags map[string]string `yaml:"tags"`
		}
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Fatalf("yaml.v3 cannot read %q: %v", out, err)
		}
		if got.Name != s || len(got.Tags) != 1 || got.Tags[s] != s {
			t.Fatalf("round trip of %q through\n%s\ngave name %q tags %q", s, out, got.Name, got.Tags)
		}
	})
}
