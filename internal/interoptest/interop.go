// Package interop finds the pinned Python MLflow that interop tests run
// against, and runs Python snippets with it.
//
// Tests call Python(t). When the interpreter is missing, the test is skipped
// with a message, unless MLRUNS_INTEROP=required (set by scripts/test.sh and
// so by CI), in which case the test fails: interop tests cannot silently skip
// where they are meant to run. MLRUNS_INTEROP=off (or go test -short) skips
// them for a fast loop.
package interoptest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/mlruns-go/mlruns/internal/pyenv"
)

var (
	once    sync.Once
	pyPath  string
	pyError string
)

func find() {
	py := pyenv.Python(pyenv.VenvDir())
	if _, err := os.Stat(py); err != nil {
		pyError = "no Python venv at " + pyenv.VenvDir() + " (run ./scripts/test.sh to create it)"
		return
	}
	out, err := exec.Command(py, "-c", "import mlflow, sys; sys.stdout.write(mlflow.__version__)").CombinedOutput()
	if err != nil {
		pyError = "python in " + pyenv.VenvDir() + " cannot import mlflow: " + strings.TrimSpace(string(out))
		return
	}
	if v := strings.TrimSpace(string(out)); v != pyenv.MLflowVersion {
		pyError = "venv has mlflow " + v + ", want " + pyenv.MLflowVersion
		return
	}
	pyPath = py
}

// Required reports whether interop tests must run (MLRUNS_INTEROP=required).
func Required() bool { return os.Getenv("MLRUNS_INTEROP") == "required" }

// Off reports whether interop tests are switched off for a fast loop:
// MLRUNS_INTEROP=off, or go test -short (unless they are required).
func Off() bool {
	if Required() {
		return false
	}
	return os.Getenv("MLRUNS_INTEROP") == "off" || testing.Short()
}

// Python returns the venv's interpreter, skipping or failing t when absent,
// and skipping t when interop tests are off.
func Python(t testing.TB) string {
	t.Helper()
	if Off() {
		t.Skip("skipping interop test: MLRUNS_INTEROP=off or -short")
	}
	once.Do(find)
	if pyPath == "" {
		if Required() {
			t.Fatalf("interop test required but Python MLflow is unavailable: %s", pyError)
		}
		t.Skipf("skipping interop test: %s", pyError)
	}
	return pyPath
}

// Run runs a Python script file with args and returns its stdout; the test
// fails with stderr when the script fails.
func Run(t testing.TB, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	return run(t, fmt.Sprintf("python %s %v", script, args), nil, stdin, append([]string{script}, args...))
}

// RunCode runs Python source given as a string (python -c).
func RunCode(t testing.TB, code string, stdin []byte, args ...string) []byte {
	t.Helper()
	return run(t, "python -c", nil, stdin, append([]string{"-c", code}, args...))
}

// RunCodeEnv is RunCode with extra environment variables (NAME=value, after
// ours, so they win), such as a Server's Env.
func RunCodeEnv(t testing.TB, env []string, code string, stdin []byte, args ...string) []byte {
	t.Helper()
	return run(t, "python -c", env, stdin, append([]string{"-c", code}, args...))
}

// run runs the interpreter with pyArgs in Python's environment plus env and
// returns its stdout; on failure the test fails with what (the command as
// the message names it) and stderr.
func run(t testing.TB, what string, env []string, stdin []byte, pyArgs []string) []byte {
	t.Helper()
	py := Python(t)
	cmd := exec.Command(py, pyArgs...)
	cmd.Env = pyenv.Env(env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, stderr.String())
	}
	return stdout.Bytes()
}
