package difftest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CompareTrees lists every difference between want and got: folders and
// files present on one side only, and files whose bytes differ (with the
// first differing line of each, quoted). Empty means identical.
func CompareTrees(wantName, gotName string, want, got Tree) []string {
	var diffs []string
	wd, gd := set(want.Dirs), set(got.Dirs)
	for _, d := range want.Dirs {
		if !gd[d] {
			diffs = append(diffs, fmt.Sprintf("dir %q: in %s only", d, wantName))
		}
	}
	for _, d := range got.Dirs {
		if !wd[d] {
			diffs = append(diffs, fmt.Sprintf("dir %q: in %s only", d, gotName))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(want.Files)) {
		g, ok := got.Files[p]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("file %q: in %s only, bytes %q", p, wantName, want.Files[p]))
			continue
		}
		if w := want.Files[p]; w != g {
			diffs = append(diffs, fmt.Sprintf("file %q differs:\n%s", p, ContentDiff(wantName, gotName, w, g)))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(got.Files)) {
		if _, ok := want.Files[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("file %q: in %s only, bytes %q", p, gotName, got.Files[p]))
		}
	}
	return diffs
}

// ContentDiff shows two versions of a file: the whole of both, quoted,
// and the lines that differ.
func ContentDiff(wantName, gotName, want, got string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    %s: %q\n    %s: %q\n", wantName, want, gotName, got)
	wl, gl := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "    line %d: %s %q, %s %q\n", i+1, wantName, w, gotName, g)
		}
	}
	return b.String()
}

// CompareLines lists lines present on one side only (both sorted).
func CompareLines(wantName, gotName string, want, got []string) []string {
	var diffs []string
	wc, gc := count(want), count(got)
	for _, l := range want {
		if gc[l] > 0 {
			gc[l]--
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s only: %s", wantName, l))
	}
	for _, l := range got {
		if wc[l] > 0 {
			wc[l]--
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s only: %s", gotName, l))
	}
	return diffs
}

func count(ls []string) map[string]int {
	m := map[string]int{}
	for _, l := range ls {
		m[l]++
	}
	return m
}

func set(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// ---- golden trees on disk ----

// Manifest describes a golden tree: the MLflow version that wrote it, its
// folders, its files (and where each is stored, since keys may hold bytes a
// checkout cannot: newlines, colons), and the outcome of every op.
type Manifest struct {
	MLflowVersion string          `json:"mlflow_version"`
	Script        string          `json:"script"`
	Outcomes      []OutcomeRecord `json:"outcomes"`
	Dirs          []string        `json:"dirs"`
	Files         []FileRecord    `json:"files"`
}

// OutcomeRecord is one op's outcome in a manifest.
type OutcomeRecord struct {
	Index   int    `json:"index"`
	Op      string `json:"op"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// FileRecord maps a tree path to its stored file under files/.
type FileRecord struct {
	Path     string `json:"path"`
	StoredAs string `json:"stored_as"`
}

// EscapePath percent-encodes every byte of each path component outside
// [A-Za-z0-9._()+-], so any key can be stored in a checkout.
func EscapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, c := range parts {
		var b strings.Builder
		for j := 0; j < len(c); j++ {
			ch := c[j]
			switch {
			case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9',
				ch == '.', ch == '_', ch == '-', ch == '(', ch == ')', ch == '+':
				b.WriteByte(ch)
			default:
				fmt.Fprintf(&b, "%%%02X", ch)
			}
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, "/")
}

// WriteGolden replaces dir with the tree: dir/manifest.json and one file
// per tree file under dir/files/.
func WriteGolden(dir string, m Manifest, t Tree) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	m.Dirs = t.Dirs
	m.Files = nil
	for _, p := range slices.Sorted(maps.Keys(t.Files)) {
		stored := "files/" + EscapePath(p)
		m.Files = append(m.Files, FileRecord{Path: p, StoredAs: stored})
		fp := filepath.Join(dir, filepath.FromSlash(stored))
		if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(fp, []byte(t.Files[p]), 0o644); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), append(data, '\n'), 0o644)
}

// ReadGolden reads what WriteGolden wrote.
func ReadGolden(dir string) (Manifest, Tree, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return m, Tree{}, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, Tree{}, fmt.Errorf("difftest: %s: %w", dir, err)
	}
	t := Tree{Dirs: m.Dirs, Files: map[string]string{}}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.StoredAs)))
		if err != nil {
			return m, t, err
		}
		t.Files[f.Path] = string(b)
	}
	return m, t, nil
}
