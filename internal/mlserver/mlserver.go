// Package mlserver runs `mlflow server` as a child process on a free port
// of 127.0.0.1, in its own process group (package procgroup), and stops the
// whole group. The interop tests (internal/interoptest, which chooses the
// backend and options) and the benchmark driver (bench) share it; it does
// not import package testing.
package mlserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/internal/procgroup"
)

// Config says how to run the server.
type Config struct {
	// Command runs mlflow's command line: {pyenv.VenvBin("mlflow")}, or
	// {python, "-m", "mlflow"} for another interpreter.
	Command []string
	// Args follow `server --host 127.0.0.1 --port PORT`: the backend,
	// workers and artifact flags.
	Args []string
	// Env is the server's whole environment (pyenv.Env(...)).
	Env []string
	// Dir is its working folder: the server may create ./mlartifacts or
	// ./mlruns there.
	Dir string
	// StartTimeout bounds the wait for GET /health; zero is 120 s.
	StartTimeout time.Duration
}

// Server is a running `mlflow server`.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT, without a trailing slash.
	URL string

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been waited for
	output *procgroup.Buffer
}

// Start runs the server on a free port and waits until GET /health
// answers 200. Another process may take the port between our probe and the
// server's bind, so it tries up to three ports. The error carries the
// server's output.
func Start(cfg Config) (*Server, error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("mlserver: no mlflow command")
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 120 * time.Second
	}
	var lastErr error
	for range 3 {
		s, err := start(cfg)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func start(cfg Config) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := append(append(cfg.Command[1:len(cfg.Command):len(cfg.Command)], "server",
		"--host", "127.0.0.1", "--port", strconv.Itoa(port)), cfg.Args...)
	cmd := exec.Command(cfg.Command[0], args...)
	cmd.Env = cfg.Env
	cmd.Dir = cfg.Dir
	procgroup.Own(cmd)
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd,
		exited: make(chan struct{}), output: &procgroup.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.output, s.output
	if err := procgroup.StartTied(cmd, s.exited); err != nil {
		return nil, err
	}
	if err := s.waitReady(cfg.StartTimeout); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w\n--- mlflow server output ---\n%s", err, s.output.String())
	}
	return s, nil
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls GET /health until it answers 200, the process exits or
// the timeout passes.
func (s *Server) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			if strings.Contains(s.output.String(), "address already in use") {
				return errors.New("address already in use")
			}
			return fmt.Errorf("exited before answering (%v)", s.cmd.ProcessState)
		default:
		}
		resp, err := client.Get(s.URL + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no answer from %s/health within %v", s.URL, timeout)
}

// Stop ends the server's process group: SIGTERM, then SIGKILL after 5 s.
// The uvicorn workers are children of the mlflow process, so signalling
// the group reaches them all; Stop returns once none is left (or 5 s more
// have passed), so the next server's measurements do not share the CPU
// with this one's. Stopping twice is harmless.
func (s *Server) Stop() {
	pgid := s.cmd.Process.Pid
	procgroup.Terminate(pgid)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		procgroup.Kill(pgid)
		<-s.exited
	}
	// A worker may outlive the leader by a moment; make sure the group is gone.
	procgroup.Kill(pgid)
	for deadline := time.Now().Add(5 * time.Second); !procgroup.Gone(pgid) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// PID returns the server's process id, which is also its process group id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Output returns what the server has printed so far.
func (s *Server) Output() string { return s.output.String() }
