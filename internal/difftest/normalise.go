package difftest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Tree is a normalised mlruns tree: every folder (Dirs, sorted) and every
// file's bytes (Files), by slash-separated path relative to the root.
// Empty folders count: both stores must create the same folders.
type Tree struct {
	Dirs  []string
	Files map[string]string
}

// Placeholders the normaliser substitutes.
const (
	RootPlaceholder = "ROOT"
	TimePlaceholder = "T"
)

var timeLine = regexp.MustCompile(`(?m)^(creation_time|last_update_time|deleted_time): [0-9]+$`)

// Normalise reads the tree under root, written by the workload whose
// executor reported res, and replaces what two correct stores cannot
// agree on:
//
//   - experiment ids (slot n >= 1) by EXP<n>, run ids by RUN<n>, in paths
//     and in file contents; the Default experiment keeps "0";
//   - input folder names, md5(source_id + run_id), by
//     "md5(<source_id>+RUN<n>)" when the hash checks out;
//   - the absolute root by ROOT;
//   - the values of creation_time, last_update_time and deleted_time lines
//     of meta.yaml files, and start_time of runs created without one, by T;
//   - a generated run name, in its run's meta.yaml run_name line and its
//     tags/mlflow.runName file, by NAME<n>.
//
// Nothing else changes: YAML quoting, float text, key order must match.
func Normalise(root string, res Result) (Tree, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return Tree{}, err
	}
	var repl []string // old, new pairs for strings.Replacer
	idName := map[string]string{}
	runSlot := map[string]int{}
	for n, id := range res.Runs {
		if id != "" {
			idName[id] = "RUN" + strconv.Itoa(n)
			runSlot[id] = n
			repl = append(repl, id, idName[id])
		}
	}
	for n, id := range res.Experiments {
		if n > 0 && id != "" {
			idName[id] = "EXP" + strconv.Itoa(n)
			repl = append(repl, id, idName[id])
		}
	}
	// The root as a file URI (FileStore's artifact root) and as a path; on
	// Windows the URI is file:///C:/... and becomes file://ROOT, the form
	// of a Unix root.
	repl = append([]string{root, RootPlaceholder}, repl...)
	if runtime.GOOS == "windows" {
		repl = append([]string{"file:///" + filepath.ToSlash(root), "file://" + RootPlaceholder}, repl...)
	}
	replacer := strings.NewReplacer(repl...)

	t := Tree{Files: map[string]string{}}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		norm := make([]string, len(parts))
		for i, c := range parts {
			norm[i] = c
			if v, ok := idName[c]; ok {
				norm[i] = v
				continue
			}
			// <run>/inputs/<md5(source_id + run_id)>
			if i >= 2 && parts[i-1] == "inputs" {
				if n, ok := runSlot[parts[i-2]]; ok {
					norm[i] = inputName(filepath.Join(root, filepath.Join(parts[:i+1]...)), c, parts[i-2], n, replacer)
				}
			}
		}
		key := strings.Join(norm, "/")
		if d.IsDir() {
			t.Dirs = append(t.Dirs, key)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		t.Files[key] = normaliseContent(parts, string(data), res, runSlot, replacer)
		return nil
	})
	if err != nil {
		return Tree{}, fmt.Errorf("difftest: normalise %s: %w", root, err)
	}
	sort.Strings(t.Dirs)
	return t, nil
}

func inputName(dir, name, runID string, n int, replacer *strings.Replacer) string {
	data, err := os.ReadFile(filepath.Join(dir, "meta.yaml"))
	if err != nil {
		return name
	}
	m := regexp.MustCompile(`(?m)^source_id: (.*)$`).FindStringSubmatch(string(data))
	if m == nil {
		return name
	}
	src := strings.Trim(m[1], "'")
	sum := md5.Sum([]byte(src + runID))
	if hex.EncodeToString(sum[:]) != name {
		return name
	}
	return "md5(" + replacer.Replace(src) + "+RUN" + strconv.Itoa(n) + ")"
}

func normaliseContent(parts []string, data string, res Result, runSlot map[string]int, replacer *strings.Replacer) string {
	last := parts[len(parts)-1]
	// The run a file belongs to: <exp>/<run>/... or .trash/<exp>/<run>/...
	runN := -1
	off := 0
	if parts[0] == ".trash" {
		off = 1
	}
	if len(parts) > off+2 {
		if n, ok := runSlot[parts[off+1]]; ok {
			runN = n
		}
	}
	if last == "meta.yaml" {
		data = timeLine.ReplaceAllString(data, "$1: "+TimePlaceholder)
		if runN >= 0 && len(parts) == off+3 {
			if runN < len(res.StartTimeNow) && res.StartTimeNow[runN] {
				data = regexp.MustCompile(`(?m)^start_time: [0-9]+$`).ReplaceAllString(data, "start_time: "+TimePlaceholder)
			}
			if g := nameOf(res, runN); g != "" {
				data = strings.Replace(data, "\nrun_name: "+g+"\n", "\nrun_name: NAME"+strconv.Itoa(runN)+"\n", 1)
			}
		}
	}
	if runN >= 0 && len(parts) == off+4 && parts[off+2] == "tags" && last == "mlflow.runName" {
		if g := nameOf(res, runN); g != "" && data == g {
			data = "NAME" + strconv.Itoa(runN)
		}
	}
	return replacer.Replace(data)
}

func nameOf(res Result, n int) string {
	if n < len(res.RunNames) {
		return res.RunNames[n]
	}
	return ""
}

// NormaliseLines applies id and root substitution (not times) to dump
// lines, then sorts them.
func NormaliseLines(lines []string, root string, res Result) []string {
	var repl []string
	for n, id := range res.Runs {
		if id != "" {
			repl = append(repl, id, "RUN"+strconv.Itoa(n))
		}
	}
	for n, id := range res.Experiments {
		if n > 0 && id != "" {
			repl = append(repl, id, "EXP"+strconv.Itoa(n))
		}
	}
	if abs, err := filepath.Abs(root); err == nil {
		repl = append([]string{abs, RootPlaceholder}, repl...)
	}
	r := strings.NewReplacer(repl...)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = r.Replace(l)
	}
	sort.Strings(out)
	return out
}

var dumpTime = regexp.MustCompile(`^(exp \S+ (?:creation_time|last_update_time))=[0-9]+$`)
var dumpStart = regexp.MustCompile(`^run (RUN([0-9]+)) start_time=[0-9]+$`)
var dumpName = regexp.MustCompile(`^run (RUN([0-9]+)) (run_name=|tag "mlflow\.runName"=)"(.*)"$`)

// NormaliseDumpTimes replaces clock readings and generated names in
// id-normalised dump lines, so dumps of trees written by different stores
// compare. res is the result of the workload that wrote the tree.
func NormaliseDumpTimes(lines []string, res Result) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		l = dumpTime.ReplaceAllString(l, "$1="+TimePlaceholder)
		if m := dumpStart.FindStringSubmatch(l); m != nil {
			if n, _ := strconv.Atoi(m[2]); n < len(res.StartTimeNow) && res.StartTimeNow[n] {
				l = "run " + m[1] + " start_time=" + TimePlaceholder
			}
		}
		if m := dumpName.FindStringSubmatch(l); m != nil {
			if n, _ := strconv.Atoi(m[2]); nameOf(res, n) != "" && nameOf(res, n) == m[4] {
				l = "run " + m[1] + " " + m[3] + `"NAME` + m[2] + `"`
			}
		}
		out[i] = l
	}
	sort.Strings(out)
	return out
}
