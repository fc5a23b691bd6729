package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mlruns-go/mlruns/internal/pyenv"
)

// Python MLflow, driven as a child process (py_bench.py in the venv).

// findPython returns an interpreter that imports mlflow 3.18: the flag's,
// else the project venv's, else python3 on PATH.
func findPython(flagPy string) (string, string) {
	var cands []string
	if flagPy != "" {
		cands = []string{flagPy}
	} else {
		cands = []string{pyenv.VenvBin("python"), "python3", "python"}
	}
	var why []string
	for _, py := range cands {
		cmd := exec.Command(py, "-c", "import mlflow, sys; sys.stdout.write(mlflow.__version__)")
		cmd.Env = pyenv.Env()
		out, err := cmd.Output()
		switch {
		case err != nil:
			why = append(why, py+": cannot import mlflow")
		case string(out) != pyenv.MLflowVersion:
			why = append(why, py+": mlflow "+string(out))
		default:
			return py, "mlflow " + string(out)
		}
	}
	return "", strings.Join(why, "; ")
}

// dir returns a fresh store path.
func (d *driver) dir(name string) string {
	d.n++
	return filepath.Join(d.tmp, fmt.Sprintf("%s-%d", name, d.n))
}

// py runs one py_bench.py scenario in the server and returns its
// measurement.
func (d *driver) py(args ...string) (result, error) {
	if d.server == nil {
		p := &pyServer{cmd: exec.Command(d.python, d.pyScript, "serve")}
		p.cmd.Env = pyenv.Env()
		p.cmd.Dir = d.tmp
		p.cmd.Stderr = &p.stderr
		var err error
		if p.in, err = p.cmd.StdinPipe(); err != nil {
			return result{}, err
		}
		out, err := p.cmd.StdoutPipe()
		if err != nil {
			return result{}, err
		}
		p.out = bufio.NewReader(out)
		if err := p.cmd.Start(); err != nil {
			return result{}, err
		}
		d.server = p
	}
	p := d.server
	line, _ := json.Marshal(args)
	if _, err := p.in.Write(append(line, '\n')); err != nil {
		return result{}, fmt.Errorf("python %s: %v\n%s", args[0], err, p.stderr.String())
	}
	out, err := p.out.ReadBytes('\n')
	if err != nil {
		return result{}, fmt.Errorf("python %s: %v\n%s", args[0], err, p.stderr.String())
	}
	var r struct {
		result
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, fmt.Errorf("python %s: %v in %q", args[0], err, out)
	}
	if r.Error != "" {
		return result{}, fmt.Errorf("python %s: %s", args[0], r.Error)
	}
	return r.result, nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}
