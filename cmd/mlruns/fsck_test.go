package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/testkit"
)

// The damage of the fsck tree: a run and an experiment of
// testdata/malformed/base, hurt the ways cases.json and crashes do.
const (
	damagedExp = "123456789012345678"
	damagedRun = "0123456789abcdef0123456789abcdef"
)

// newDamagedTree returns a copy of the malformed base tree with five
// problems Repair fixes (a torn metric tail, an empty metric file, a
// temporary file, a run folder without any file, a gc leftover) and three it
// must leave (a folder that is not an experiment id, a stray file in
// metrics/, a run whose meta.yaml names another run).
func newDamagedTree(t *testing.T) string {
	t.Helper()
	root := testkit.CopyFixture(t, "malformed/base")
	run := filepath.Join(root, damagedExp, damagedRun)
	write := func(p, data string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	appendTo := func(p, data string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString(data)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	appendTo(filepath.Join(run, "metrics", "loss"), "1700000004000 0.1")
	write(filepath.Join(run, "metrics", "empty"), "")
	write(filepath.Join(run, "metrics", ".DS_Store"), "\x00\x00\x00\x01Bud1\x00")
	write(filepath.Join(root, "0", ".mlruns-tmp-00000000deadbeef"), "half a meta")
	require.NoError(t, os.MkdirAll(filepath.Join(root, ".ipynb_checkpoints"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, damagedExp, "abcdefabcdefabcdefabcdefabcdefab", "metrics"), 0o755))
	write(filepath.Join(root, ".mlruns-gc-00000000deadbeef.trash", "meta.yaml"), "run_id: gone\n")
	other := filepath.Join(root, damagedExp, "fedcba9876543210fedcba9876543210")
	for _, sub := range []string{"metrics", "params", "artifacts"} {
		require.NoError(t, os.MkdirAll(filepath.Join(other, sub), 0o755))
	}
	meta, err := os.ReadFile(filepath.Join(run, "meta.yaml"))
	require.NoError(t, err)
	write(filepath.Join(other, "meta.yaml"), string(meta))
	return root
}

// fsckOutput is what a golden file of a table run holds: stdout, then the
// exit code and stderr.
func fsckOutput(stdout, stderr string, code int) []byte {
	return []byte(fmt.Sprintf("%s--- exit %d, stderr:\n%s", stdout, code, stderr))
}

func TestFsck_Golden(t *testing.T) {
	t.Setenv("COLUMNS", "") // tables at their natural width, as in a pipe
	cases := []struct {
		name   string
		args   []string
		golden string
	}{
		{"table", []string{"fsck"}, "fsck_table.txt"},
		{"json", []string{"fsck", "--json"}, "fsck_json.json"},
		{"csv", []string{"fsck", "--csv"}, "fsck_csv.csv"},
		{"repair", []string{"fsck", "--repair"}, "fsck_repair.txt"},
		{"repair json", []string{"fsck", "--repair", "--json"}, "fsck_repair_json.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := newDamagedTree(t)
			out, errOut, code := invokeCLI(t, root, c.args...)
			require.Equal(t, 1, code, "problems remain: exit 1")
			require.Equal(t, 1, strings.Count(errOut, "\n"), "one line on stderr: %s", errOut)
			if strings.HasSuffix(c.golden, ".txt") {
				checkGolden(t, c.golden, fsckOutput(out, errOut, code))
			} else {
				checkGolden(t, c.golden, []byte(out))
			}
			if strings.Contains(c.name, "json") {
				var rep fsckReport
				require.NoError(t, json.Unmarshal([]byte(out), &rep))
				require.False(t, rep.Consistent)
				want := 8 // 5 repairable, 3 not
				if strings.Contains(c.name, "repair") {
					want = 3
					require.Len(t, rep.Repaired, 5)
				}
				require.Len(t, rep.Problems, want)
			}
		})
	}
}

// The exit code says whether problems remain; --repair fixes what holds no
// data and a second fsck agrees.
func TestFsck_ExitCodes(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		root := testkit.CopyFixture(t, "malformed/base")
		out, errOut, code := invokeCLI(t, root, "fsck")
		require.Equal(t, 0, code, errOut)
		require.Empty(t, errOut)
		checkGolden(t, "fsck_clean.txt", []byte(out))
		out, _, code = invokeCLI(t, root, "fsck", "--json")
		require.Equal(t, 0, code)
		require.JSONEq(t, `{"consistent": true, "experiments": 2, "runs": 1, "problems": []}`, out)
	})
	t.Run("repairable only", func(t *testing.T) {
		root := testkit.CopyFixture(t, "malformed/base")
		run := filepath.Join(root, damagedExp, damagedRun)
		require.NoError(t, os.WriteFile(filepath.Join(run, "metrics", "empty"), nil, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(run, ".mlruns-tmp-0000000000000000"), []byte("x"), 0o644))
		_, errOut, code := invokeCLI(t, root, "fsck")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "2 problems found")
		require.Contains(t, errOut, "run 'mlruns fsck --repair'")
		out, errOut, code := invokeCLI(t, root, "fsck", "--repair")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "repaired 2 problems; store is consistent: 2 experiments, 1 run checked")
		_, errOut, code = invokeCLI(t, root, "fsck")
		require.Equal(t, 0, code, errOut)
		checkStore(t, root)
	})
	t.Run("unrepairable remains", func(t *testing.T) {
		root := newDamagedTree(t)
		_, errOut, code := invokeCLI(t, root, "fsck", "--repair")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "repaired 5 problems; 3 problems remain that --repair cannot fix")
		_, errOut, code = invokeCLI(t, root, "fsck")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "3 problems found, none repairable")
		require.NotContains(t, errOut, "--repair")
	})
	for _, c := range []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"fsck", "--fix"}},
		{"argument", []string{"fsck", "extra"}},
		{"json and csv", []string{"fsck", "--json", "--csv"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, code := invokeCLI(t, t.TempDir(), c.args...)
			require.Equal(t, 2, code)
		})
	}
}
