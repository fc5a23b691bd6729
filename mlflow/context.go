package mlflow

import (
	"bufio"
	"bytes"
	"os"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
)

// Tag keys of the git context, as mlflow/utils/mlflow_tags.py names them.
const (
	TagGitBranch  = "mlflow.source.git.branch"
	TagGitRepoURL = "mlflow.source.git.repoURL"
)

// contextTags are the tags Python's default and git run context providers
// give a new run.
func contextTags() map[string]string {
	tags := map[string]string{
		entities.TagUser:       currentUser(),
		entities.TagSourceName: sourceName(),
		entities.TagSourceType: "LOCAL",
	}
	if wd, err := os.Getwd(); err == nil {
		if g := readGit(wd); g.commit != "" {
			tags[entities.TagGitCommit] = g.commit
			if g.branch != "" {
				tags[TagGitBranch] = g.branch
			}
			if g.repoURL != "" {
				tags[TagGitRepoURL] = g.repoURL
			}
		}
	}
	return tags
}

// currentUser is Python's getpass.getuser: LOGNAME, USER, LNAME, USERNAME,
// then the password database.
func currentUser() string {
	for _, k := range []string{"LOGNAME", "USER", "LNAME", "USERNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// sourceName is mlflow.source.name: Python records sys.argv[0], the
// script; a Go program's twin is os.Args[0], except under `go run`, whose
// binary is a temporary file (.../go-build123/b001/exe/train): there the
// main package's import path names the program (or, for `go run file.go`,
// whose package has none, the binary's base name, the file's name).
func sourceName() string {
	if len(os.Args) == 0 || os.Args[0] == "" {
		return "<console>"
	}
	return sourceNameOf(os.Args[0], mainPackagePath())
}

func sourceNameOf(arg0, mainPath string) string {
	if !isGoRunBinary(arg0) {
		return arg0
	}
	if mainPath != "" && mainPath != "command-line-arguments" {
		return mainPath
	}
	return strings.TrimSuffix(filepath.Base(arg0), ".exe")
}

// isGoRunBinary reports whether path is where `go run` builds: an exe
// folder in a go-build work folder.
func isGoRunBinary(path string) bool {
	dir := filepath.Dir(path)
	if filepath.Base(dir) != "exe" {
		return false
	}
	return strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(dir))), "go-build")
}

func mainPackagePath() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Path
	}
	return ""
}

type gitInfo struct{ commit, branch, repoURL string }

// readGit finds the git work tree holding dir and reads HEAD's commit, its
// branch and the origin URL from .git directly (HEAD, the loose ref, then
// packed-refs; config), so no git binary is needed. Python reads the same
// through GitPython, from the folder of the main file; a Go program's
// binary rarely lives in its work tree, so the working directory is used.
func readGit(dir string) gitInfo {
	gitDir, commonDir := findGitDir(dir)
	if gitDir == "" {
		return gitInfo{}
	}
	head, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return gitInfo{}
	}
	var g gitInfo
	h := strings.TrimSpace(string(head))
	if ref, ok := strings.CutPrefix(h, "ref: "); ok {
		g.branch = strings.TrimPrefix(ref, "refs/heads/")
		g.commit = resolveRef(gitDir, commonDir, ref)
	} else if isHash(h) {
		g.commit = h
	}
	g.repoURL = originURL(filepath.Join(commonDir, "config"))
	return g
}

// findGitDir walks up from dir to a .git folder or a .git file
// ("gitdir: ..." of a linked work tree or submodule), returning the git
// folder and its common folder.
func findGitDir(dir string) (string, string) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", ""
	}
	for {
		p := filepath.Join(dir, ".git")
		if fi, err := os.Stat(p); err == nil {
			gitDir := p
			if !fi.IsDir() {
				b, err := os.ReadFile(p)
				if err != nil {
					return "", ""
				}
				rel, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
				if !ok {
					return "", ""
				}
				if !filepath.IsAbs(rel) {
					rel = filepath.Join(dir, rel)
				}
				gitDir = rel
			}
			common := gitDir
			if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
				c := strings.TrimSpace(string(b))
				if !filepath.IsAbs(c) {
					c = filepath.Join(gitDir, c)
				}
				common = c
			}
			return gitDir, common
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ""
		}
		dir = parent
	}
}

func resolveRef(gitDir, commonDir, ref string) string {
	for i := 0; i < 5; i++ { // symbolic refs, a few levels
		var b []byte
		var err error
		for _, d := range []string{gitDir, commonDir} {
			if b, err = os.ReadFile(filepath.Join(d, filepath.FromSlash(ref))); err == nil {
				break
			}
		}
		if err != nil {
			return packedRef(filepath.Join(commonDir, "packed-refs"), ref)
		}
		v := strings.TrimSpace(string(b))
		next, ok := strings.CutPrefix(v, "ref: ")
		if !ok {
			if isHash(v) {
				return v
			}
			return ""
		}
		ref = next
	}
	return ""
}

func packedRef(path, ref string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if hash, name, ok := strings.Cut(line, " "); ok && name == ref && isHash(hash) {
			return hash
		}
	}
	return ""
}

func originURL(config string) string {
	b, err := os.ReadFile(config)
	if err != nil {
		return ""
	}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			in = line == `[remote "origin"]`
			continue
		}
		if k, v, ok := strings.Cut(line, "="); in && ok && strings.TrimSpace(k) == "url" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func isHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
