//go:build !windows

package reststore_test

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/procgroup"
	"github.com/mlruns-go/mlruns/internal/pyenv"
)

// startSQLiteServer starts `mlflow server` of the pinned venv over a fresh
// SQLite database (the recipe of MLFLOW-REST.md §8: one worker, no job
// runner, its own process group, stopped in t.Cleanup) and returns its URL.
// internal/interoptest.StartServer serves a file store; a SQL backend is
// what servers run and what the lossy mappings are about.
func startSQLiteServer(t *testing.T) string {
	t.Helper()
	interoptest.Python(t)
	dir := t.TempDir()
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		cmd := exec.Command(pyenv.VenvBin("mlflow"), "server",
			"--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlflow.db"),
			"--artifacts-destination", filepath.Join(dir, "art"),
			"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--workers", "1")
		cmd.Env = pyenv.Env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false")
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out := &procgroup.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			pgid := cmd.Process.Pid
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				<-exited
			}
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		if waitHealthy(url, exited, 90*time.Second) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("mlflow server output:\n%s", out.String())
				}
			})
			return url
		}
		stop()
		lastOut = out.String()
		if !strings.Contains(lastOut, "address already in use") {
			break
		}
	}
	t.Fatalf("mlflow server (sqlite) did not start:\n%s", lastOut)
	return ""
}

func waitHealthy(url string, exited chan struct{}, timeout time.Duration) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case <-exited:
			return false
		default:
		}
		resp, err := client.Get(url + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
	}
	return false
}
