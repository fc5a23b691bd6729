// Package pyenv locates the project's locked Python venv (the pinned
// MLflow the interop tests and the benchmark driver run against) and gives
// the environment Python MLflow is run with. It does no testing itself:
// package interoptest builds the test helpers on it.
package pyenv

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"

	"github.com/mlruns-go/mlruns/layout"
)

// MLflowVersion is the Python MLflow release the project is pinned to.
const MLflowVersion = layout.MLflowVersion

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

// Python is the interpreter of a venv: bin/python, or Scripts\python.exe
// on Windows.
func Python(venv string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(venv, "Scripts", "python.exe")
	}
	return filepath.Join(venv, "bin", "python")
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

// VenvBin is a program of the venv (mlflow, say): bin/NAME, or
// Scripts\NAME.exe on Windows.
func VenvBin(name string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(VenvDir(), "Scripts", name+".exe")
	}
	return filepath.Join(VenvDir(), "bin", name)
}
