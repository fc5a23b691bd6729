// Package interop finds the pinned Python MLflow that interop tests run
// against, and runs Python snippets with it.
//
// Tests call Python(t). When the interpreter is missing, the test is skipped
// with a message, unless MLRUNS_INTEROP=required (set by scripts/test.sh and
// so by CI), in which case the test fails: interop tests cannot silently skip
// where they are meant to run. MLRUNS_INTEROP=off (or go test -short) skips
// them for a fast loop.
package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// MLflowVersion is the Python MLflow release the project is pinned to.
const MLflowVersion = "3.18.0"

// VenvDir returns the folder of the project's venv: $MLRUNS_VENV, else
// <user cache>/mlruns-go/venv-<hash of scripts/interop.lock>, where
// scripts/test.sh makes it. It lives outside the clone so that fresh clones
// reuse it, and is named by the lock so that a changed lock is a new venv.
func VenvDir() string {
	if v := os.Getenv("MLRUNS_VENV"); v != "" {
		return v
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(os.TempDir(), "cache")
	}
	hash, err := lockHash()
	if err != nil {
		return filepath.Join(cache, "mlruns-go", "venv-unknown-lock")
	}
	return filepath.Join(cache, "mlruns-go", "venv-"+hash)
}

// LockFile is the lock of the venv, relative to the module root.
const LockFile = "scripts/interop.lock"

// lockHash is the first 16 hex digits of the SHA-256 of the lock file, as
// scripts/test.sh names the venv. The lock is found by walking up from the
// working directory (a test's is its package folder) to the module root.
func lockHash() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(LockFile)))
		if err == nil {
			sum := sha256.Sum256(data)
			return hex.EncodeToString(sum[:])[:16], nil
		}
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", err
		}
		dir = parent
	}
}

// venvPython is the interpreter of a venv: bin/python, or Scripts\python.exe
// on Windows.
func venvPython(venv string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(venv, "Scripts", "python.exe")
	}
	return filepath.Join(venv, "bin", "python")
}

var (
	once    sync.Once
	pyPath  string
	pyError string
)

func find() {
	py := venvPython(VenvDir())
	if _, err := os.Stat(py); err != nil {
		pyError = "no Python venv at " + VenvDir() + " (run ./scripts/test.sh to create it)"
		return
	}
	out, err := exec.Command(py, "-c", "import mlflow, sys; sys.stdout.write(mlflow.__version__)").CombinedOutput()
	if err != nil {
		pyError = "python in " + VenvDir() + " cannot import mlflow: " + strings.TrimSpace(string(out))
		return
	}
	if v := strings.TrimSpace(string(out)); v != MLflowVersion {
		pyError = "venv has mlflow " + v + ", want " + MLflowVersion
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

// Env returns the environment for Python MLflow: the current one plus
// MLFLOW_ALLOW_FILE_STORE=true (3.13+ refuses file stores without it) and
// no telemetry or warnings noise.
func Env(extra ...string) []string {
	env := append(os.Environ(),
		"MLFLOW_ALLOW_FILE_STORE=true",
		"MLFLOW_DISABLE_TELEMETRY=true",
		"DO_NOT_TRACK=true",
		"PYTHONWARNINGS=ignore",
		"GIT_PYTHON_REFRESH=quiet",
	)
	return append(env, extra...)
}

// Run runs a Python script file with args and returns its stdout; the test
// fails with stderr when the script fails.
func Run(t testing.TB, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	py := Python(t)
	cmd := exec.Command(py, append([]string{script}, args...)...)
	cmd.Env = Env()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python %s %v: %v\n%s", script, args, err, stderr.String())
	}
	return stdout.Bytes()
}

// RunCode runs Python source given as a string (python -c).
func RunCode(t testing.TB, code string, stdin []byte, args ...string) []byte {
	t.Helper()
	py := Python(t)
	cmd := exec.Command(py, append([]string{"-c", code}, args...)...)
	cmd.Env = Env()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python -c: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}

// VenvBin is a program of the venv (mlflow, say): bin/NAME, or
// Scripts\NAME.exe on Windows.
func VenvBin(name string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(VenvDir(), "Scripts", name+".exe")
	}
	return filepath.Join(VenvDir(), "bin", name)
}
