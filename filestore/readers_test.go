package filestore

// An internal test: it holds the fast readers of readers.go to the
// path-based readers they stand in for (readLatestMetrics, readKeyFiles,
// readInputs, readOutputs), which are unexported.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/internal/testkit"
	"github.com/mlruns-go/mlruns/layout"
)

// fastCase plants an odd shape into a run folder. fast tells whether the
// fast readers must take it (true) or hand it to the path-based ones.
type fastCase struct {
	name  string
	plant func(t *testing.T, s *Store, run entities.Run, dir, out string)
	fast  bool
}

func write(t *testing.T, p, data string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o777))
	require.NoError(t, os.WriteFile(p, []byte(data), 0o666))
}

func fastCases() []fastCase {
	bg := context.Background()
	return []fastCase{
		{"plain", func(*testing.T, *Store, entities.Run, string, string) {}, true},
		{"temp names", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			write(t, filepath.Join(dir, "params", layout.TempPrefix+"x"), "half")
			write(t, filepath.Join(dir, "tags", "n", layout.TempPrefix+"y"), "half")
			write(t, filepath.Join(dir, "metrics", layout.TempPrefix+"m"), "1 5.0 0\n") // read: metrics skip none
		}, true},
		{"symlinked files out of the tree", func(t *testing.T, _ *Store, _ entities.Run, dir, out string) {
			write(t, filepath.Join(out, "p"), "outside")
			write(t, filepath.Join(out, "m"), "1 2.0 3\n")
			testkit.Symlink(t, filepath.Join(out, "p"), filepath.Join(dir, "params", "link"))
			testkit.Symlink(t, filepath.Join(out, "m"), filepath.Join(dir, "metrics", "link"))
		}, false}, // refused (LinkOutError), by the path readers
		{"symlinked files in the tree", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			write(t, filepath.Join(dir, "params", "real"), "inside")
			write(t, filepath.Join(dir, "metrics", "real"), "1 2.0 3\n")
			testkit.Symlink(t, "real", filepath.Join(dir, "params", "link"))
			testkit.Symlink(t, "real", filepath.Join(dir, "metrics", "link"))
		}, false}, // followed, by the path readers
		{"empty metric file", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			write(t, filepath.Join(dir, "metrics", "empty"), "")
		}, true},
		{"missing sub folders", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			for _, sub := range []string{"params", "tags", "metrics"} {
				require.NoError(t, os.RemoveAll(filepath.Join(dir, sub)))
			}
		}, true},
		{"many long keys", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			for i := range 300 { // several getdents buffers
				write(t, filepath.Join(dir, "params", fmt.Sprintf("%03d%s", i, strings.Repeat("k", 200))), fmt.Sprint(i))
			}
			write(t, filepath.Join(dir, "params", "a", "b", "c", "d"), "deep")
		}, true},
		{"long metric files", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			for _, n := range []int{4096, 4097, 200_000} { // around the first buffer, and past 1 MiB
				var b strings.Builder
				for i := 0; b.Len() < n; i++ {
					fmt.Fprintf(&b, "%d %d.5 %d\n", i, i, i)
				}
				write(t, filepath.Join(dir, "metrics", fmt.Sprint("len", n)), b.String())
			}
		}, true},
		{"inputs and outputs", func(t *testing.T, s *Store, run entities.Run, _, _ string) {
			ds := func(name string) entities.DatasetInput {
				return entities.DatasetInput{Dataset: entities.Dataset{Name: name, Digest: "d" + name, SourceType: "local", Source: "/x"},
					Tags: []entities.InputTag{{Key: "mlflow.data.context", Value: "train"}}}
			}
			require.NoError(t, s.LogInputs(bg, run.Info.RunID, []entities.DatasetInput{ds("b"), ds("a")},
				[]entities.ModelInput{{ModelID: "m-0123456789abcdef0123456789abcdef"}}))
			require.NoError(t, s.LogOutputs(bg, run.Info.RunID, []entities.ModelOutput{{ModelID: "m-00000000000000000000000000000001", Step: 3}}))
		}, true},
		{"input of a missing dataset", func(t *testing.T, s *Store, run entities.Run, dir, _ string) {
			require.NoError(t, s.LogInputs(bg, run.Info.RunID, []entities.DatasetInput{{Dataset: entities.Dataset{
				Name: "gone", Digest: "g", SourceType: "local", Source: "/x"}}}, nil))
			require.NoError(t, os.RemoveAll(filepath.Join(filepath.Dir(dir), "datasets")))
		}, true},
		// Shapes the fast readers hand over.
		{"dangling symlink param", func(t *testing.T, _ *Store, _ entities.Run, dir, out string) {
			testkit.Symlink(t, filepath.Join(out, "nothing"), filepath.Join(dir, "params", "dl"))
		}, false},
		{"symlinked params folder", func(t *testing.T, _ *Store, _ entities.Run, dir, out string) {
			write(t, filepath.Join(out, "params", "p"), "outside")
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "params")))
			testkit.Symlink(t, filepath.Join(out, "params"), filepath.Join(dir, "params"))
		}, false},
		{"symlinked folder in metrics", func(t *testing.T, _ *Store, _ entities.Run, dir, out string) {
			write(t, filepath.Join(out, "d", "m"), "1 1.0 1\n")
			testkit.Symlink(t, filepath.Join(out, "d"), filepath.Join(dir, "metrics", "d"))
		}, false},
		{"metrics folder is a file", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			testkit.NotOnWindows(t, `the path reader walks the file as the key "."`)
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "metrics")))
			write(t, filepath.Join(dir, "metrics"), "1 1.0 1\n")
		}, false},
		{"corrupt metric", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			write(t, filepath.Join(dir, "metrics", "bad"), "1 1.0 1\nnot a line\n")
		}, false},
		{"input without meta", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			write(t, filepath.Join(dir, "inputs", "junk"), "")
		}, false},
		{"output meta not yaml", func(t *testing.T, _ *Store, _ entities.Run, dir, _ string) {
			write(t, filepath.Join(dir, "outputs", "m-1", "meta.yaml"), "[: x")
		}, false},
	}
}

// plantRun makes a store with one run (nested keys, five points a metric)
// and plants c into it.
func plantRun(t *testing.T, c fastCase) (*Store, entities.Run, string) {
	t.Helper()
	bg := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "mlruns"), nil)
	require.NoError(t, err)
	run, err := s.CreateRun(bg, CreateRunOptions{ExperimentID: "0", StartTime: 1})
	require.NoError(t, err)
	var ms []entities.Metric
	for step := range int64(5) {
		ms = append(ms, entities.Metric{Key: "m", Value: float64(step) / 3, Timestamp: 10 - step, Step: step},
			entities.Metric{Key: "a/b", Value: -float64(step), Timestamp: step, Step: 1})
	}
	require.NoError(t, s.LogBatch(bg, run.Info.RunID, ms,
		[]entities.Param{{Key: "p", Value: "v"}, {Key: "x/y/z", Value: "line\nbreak ✓"}},
		[]entities.RunTag{{Key: "t", Value: ""}}))
	dir := filepath.Join(s.root, "0", run.Info.RunID)
	c.plant(t, s, run, dir, t.TempDir())
	return s, run, dir
}

// TestFastReader_MatchesPathReaders: on every shape, each fast reader
// gives what its path-based reader gives, or hands over when the case
// says so; readRunAt (which falls back) always matches.
func TestFastReader_MatchesPathReaders(t *testing.T) {
	for _, c := range fastCases() {
		t.Run(c.name, func(t *testing.T) {
			s, run, dir := plantRun(t, c)
			for _, eof := range []bool{true, false} {
				r := getFastReader()
				r.eof = eof
				fastOK := true

				m, ok := r.latestMetrics(sysfs.CWD, dir, nil)
				wantM, err := s.readLatestMetrics(dir, "0")
				if ok {
					require.NoError(t, err)
					require.Equal(t, wantM, m)
				}
				fastOK = fastOK && ok
				for _, sub := range []string{"params", "tags"} {
					kv, ok := r.keyFiles(sysfs.CWD, dir, sub, nil)
					want, err := s.readKeyFiles(filepath.Join(dir, sub))
					if ok {
						require.NoError(t, err)
						require.Equal(t, want, kv, sub)
					}
					fastOK = fastOK && ok
				}
				in, inErr := s.readInputsAt(r, sysfs.CWD, dir, dir)
				wantIn, wantInErr := s.readInputs(dir)
				require.Equal(t, wantInErr, inErr)
				require.Equal(t, wantIn, in)
				out, outErr := s.readOutputsAt(r, sysfs.CWD, dir, dir)
				wantOut, wantOutErr := s.readOutputs(dir)
				require.Equal(t, wantOutErr, outErr)
				require.Equal(t, wantOut, out)
				for _, sub := range []string{layout.InputsDir, layout.OutputsDir} {
					fastOK = fastOK && r.eachMeta(sysfs.CWD, dir, sub, func(string, []byte) bool { return true })
				}
				if c.fast {
					require.True(t, fastOK, "the fast readers must take this shape")
				}

				full, fullErr := s.readRunAt(r, sysfs.CWD, dir, dir, run.Info, nil)
				ref, refErr := s.readRunByPaths(dir, run.Info)
				require.Equal(t, refErr, fullErr)
				require.Equal(t, ref, full)
				putFastReader(r)
			}
		})
	}
}

// readRunByPaths is readRun before readers.go: the reference.
func (s *Store) readRunByPaths(dir string, info entities.RunInfo) (entities.Run, error) {
	run := entities.Run{Info: info}
	var err error
	if run.Data.Metrics, err = s.readLatestMetrics(dir, info.ExperimentID); err != nil {
		return run, err
	}
	if run.Data.Params, err = s.readKeyFiles(filepath.Join(dir, layout.ParamsDir)); err != nil {
		return run, err
	}
	if run.Data.Tags, err = s.readKeyFiles(filepath.Join(dir, layout.TagsDir)); err != nil {
		return run, err
	}
	if run.Info.RunName == "" {
		run.Info.RunName = run.Data.Tags[entities.TagRunName]
	}
	if run.Inputs, err = s.readInputs(dir); err != nil {
		return run, err
	}
	if run.Outputs, err = s.readOutputs(dir); err != nil {
		return run, err
	}
	return run, nil
}

// TestStore_SearchRuns_OddShapes: on every shape GetRun and a search give
// the run as the path-based readers read it, and a search skips it when
// they fail; a filter on each key reads the same value (a folder is no
// key).
func TestStore_SearchRuns_OddShapes(t *testing.T) {
	bg := context.Background()
	for _, c := range fastCases() {
		t.Run(c.name, func(t *testing.T) {
			s, run, dir := plantRun(t, c)
			info, err := readRunInfo(dir)
			require.NoError(t, err)
			want, wantErr := s.readRunByPaths(dir, info)
			if got, err := s.GetRun(bg, run.Info.RunID); !errors.Is(err, errs.ErrNotFound) { // a run folder needs metrics/ and params/
				require.Equal(t, wantErr, err)
				require.Equal(t, want, got)
			}
			page, _, err := s.SearchRuns(bg, []string{"0"}, "", entities.ViewActiveOnly, 0, nil, "")
			require.NoError(t, err)
			if wantErr != nil {
				require.Empty(t, page)
				return
			}
			require.Equal(t, []entities.Run{want}, page)
			for k, m := range want.Data.Metrics {
				if checkKey(k) != nil {
					continue // "." from a metrics file in place of the folder: no key a filter can name
				}
				page, _, err := s.SearchRuns(bg, []string{"0"}, fmt.Sprintf("metrics.`%s` = %v", k, m.Value), entities.ViewActiveOnly, 0, nil, "")
				require.NoError(t, err)
				require.Equal(t, []entities.Run{want}, page, k) // filtered keys are not read again
			}
			for k, v := range want.Data.Params {
				if strings.ContainsAny(v, "'\n") {
					continue
				}
				page, _, err := s.SearchRuns(bg, []string{"0"}, fmt.Sprintf("params.`%s` = '%s'", k, v), entities.ViewActiveOnly, 0, nil, "")
				require.NoError(t, err)
				require.Equal(t, []entities.Run{want}, page, k) // filtered keys are not read again
			}
			for _, k := range []string{"a", "x", "x/y", "nothing"} { // folders and a missing key
				for _, f := range []string{"metrics.`%s` > -1e300", "params.`%s` != ''", "tags.`%s` != ''"} {
					page, _, err := s.SearchRuns(bg, []string{"0"}, fmt.Sprintf(f, k), entities.ViewActiveOnly, 0, nil, "")
					require.NoError(t, err)
					require.Empty(t, page, f, k)
				}
			}
		})
	}
}

func TestFastReader_List(t *testing.T) {
	dir := t.TempDir()
	want := map[string]bool{}
	for i := range 500 {
		name := fmt.Sprintf("%d-%s", i, strings.Repeat("n", i%250))
		write(t, filepath.Join(dir, name), "")
		want[name] = false
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o777))
	testkit.Symlink(t, "sub", filepath.Join(dir, "link"))
	want["sub"], want["link"] = true, false
	r := &fastReader{buf: make([]byte, 16), dents: make([]byte, 64)} // smaller than one long entry
	d, err := r.openDir(sysfs.CWD, dir, false)
	require.NoError(t, err)
	defer d.Close()
	ents, err := r.list(d)
	require.NoError(t, err)
	got := map[string]bool{}
	for _, e := range ents {
		isDir, err := isDirEntry(d, e)
		require.NoError(t, err)
		got[e.Name] = isDir
		// d_type is DT_UNKNOWN on some file systems: the fallback agrees.
		isDir, err = isDirEntry(d, sysfs.Dirent{Name: e.Name, Kind: sysfs.KindUnknown})
		require.NoError(t, err)
		require.Equal(t, got[e.Name], isDir, e.Name)
	}
	require.Equal(t, want, got)

	_, err = r.openDir(sysfs.CWD, filepath.Join(dir, "link"), false)
	require.Error(t, err, "a symlinked folder is not walked")
	_, err = r.openDir(sysfs.CWD, filepath.Join(dir, "nothing"), false)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestFastReader_ReadFile(t *testing.T) {
	dir := t.TempDir()
	r := &fastReader{buf: make([]byte, 8), dents: make([]byte, 64)}
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 4095, 4096, 4097, 3 << 20} {
		data := strings.Repeat("x", n)
		p := filepath.Join(dir, fmt.Sprint(n))
		write(t, p, data)
		for _, eof := range []bool{true, false} {
			for _, lock := range []bool{true, false} {
				r.eof = eof
				got, err := r.readFile(sysfs.CWD, p, lock)
				require.NoError(t, err)
				require.Equal(t, data, string(got), "%d bytes, eof %v", n, eof)
			}
		}
		got, err := readMetricFile(p)
		require.NoError(t, err)
		require.Equal(t, data, string(got))
	}
	_, err := r.readFile(sysfs.CWD, filepath.Join(dir, "nothing"), false)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = readMetricFile(filepath.Join(dir, "nothing"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = r.readFile(sysfs.CWD, dir, false)
	require.Error(t, err, "a folder is not read as a file")
	require.True(t, absent(sysfs.CWD, dir, err), "a folder is no key")
}

// TestFastReader_ReadFile_WaitsForWriter: a metric read waits while a
// writer holds the exclusive flock of an append.
func TestFastReader_ReadFile_WaitsForWriter(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m")
	write(t, p, "1 1.0 1\n")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, sysfs.Lock(f.Fd(), sysfs.Exclusive))
	done := make(chan string, 2)
	go func() {
		r := getFastReader()
		defer putFastReader(r)
		data, err := r.readFile(sysfs.CWD, p, true)
		if err != nil {
			done <- err.Error()
			return
		}
		done <- string(data)
	}()
	go func() {
		data, err := readMetricFile(p)
		if err != nil {
			done <- err.Error()
			return
		}
		done <- string(data)
	}()
	select {
	case got := <-done:
		t.Fatalf("read %q under the writer's lock", got)
	case <-time.After(100 * time.Millisecond):
	}
	_, err = f.WriteString("2 2.0 2\n")
	require.NoError(t, err)
	require.NoError(t, sysfs.Unlock(f.Fd()))
	for range 2 {
		require.Equal(t, "1 1.0 1\n2 2.0 2\n", <-done)
	}
}

// readFileHead stops at about its limit and hands over the open file
// positioned after what it read; below the limit it reads the whole file.
func TestReadFileHead_Limit(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("1700000000000 0.5 1\n"), 50_000) // 1 MB
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big"), big, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "small"), big[:1000], 0o644))
	r := getFastReader()
	defer putFastReader(r)
	r.eof = true
	data, more, err := r.readFileHead(sysfs.CWD, filepath.Join(dir, "big"), true, nil, streamMetricPast)
	require.NoError(t, err)
	require.NotNil(t, more)
	require.GreaterOrEqual(t, len(data), streamMetricPast)
	require.Less(t, len(data), 2*streamMetricPast, "read well past the limit")
	rest, err := io.ReadAll(more)
	require.NoError(t, err)
	require.NoError(t, more.Close())
	require.Equal(t, big, append(slices.Clone(data), rest...))
	require.Less(t, cap(r.buf), 2*streamMetricPast, "the buffer grew toward the file's size")

	data, more, err = r.readFileHead(sysfs.CWD, filepath.Join(dir, "small"), true, nil, streamMetricPast)
	require.NoError(t, err)
	require.Nil(t, more)
	require.Equal(t, big[:1000], data)
	data, more, err = r.readFileHead(sysfs.CWD, filepath.Join(dir, "big"), false, nil, 0)
	require.NoError(t, err)
	require.Nil(t, more)
	require.Equal(t, big, data)
}
