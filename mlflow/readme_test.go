package mlflow_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADME_QuickStartCompiles builds the README's quick start as a
// program (the snippet inside a function with ctx and train defined), so
// the README cannot drift from the API: the file is laid over a package
// path of the module with go build -overlay, nothing is written to the
// tree.
func TestREADME_QuickStartCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain here (the Windows build's tests under Wine); the Linux run checks the README")
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(readme), "## Quick start")
	require.True(t, ok)
	_, code, ok := strings.Cut(after, "```go\n")
	require.True(t, ok)
	code, _, ok = strings.Cut(code, "```")
	require.True(t, ok)
	var imports, body []string
	for _, line := range strings.Split(code, "\n") {
		if strings.HasPrefix(line, "import ") {
			imports = append(imports, line)
		} else {
			body = append(body, line)
		}
	}
	src := "package main\n\n" + strings.Join(imports, "\n") + `
import "context"

func train(int64) float64 { return 0 }

func main() {
	ctx := context.Background()
` + strings.Join(body, "\n") + `
	_, _ = err, runs
}
`
	abs, err := filepath.Abs(filepath.Join("..", "internal", "readmecheck", "main.go"))
	require.NoError(t, err)
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o666))
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{abs: file}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o666))
	cmd := exec.Command("go", "build", "-overlay", filepath.Join(dir, "overlay.json"), "-o", filepath.Join(dir, "quickstart"), "./internal/readmecheck")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the README's quick start does not compile:\n%s\n%s", out, src)
}
