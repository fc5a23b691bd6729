package layout_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/internal/testkit"
	"github.com/mlruns-go/mlruns/layout"
)

func TestAppendMetricLine_Golden(t *testing.T) {
	cases := []struct {
		name string
		m    entities.Metric
		want string
	}{
		{"3 fields", entities.Metric{Key: "loss", Value: 0.5, Timestamp: 1700000002000}, "1700000002000 0.5 0\n"},
		{"step", entities.Metric{Key: "loss", Value: 0.25, Timestamp: 1700000003000, Step: 1}, "1700000003000 0.25 1\n"},
		{"integral", entities.Metric{Value: 1, Timestamp: 1700000003000, Step: 1}, "1700000003000 1.0 1\n"},
		{"nan", entities.Metric{Value: math.NaN(), Timestamp: 10, Step: -3}, "10 nan -3\n"},
		{"dataset", entities.Metric{Value: 0.5, Timestamp: 2000, Step: 3, DatasetName: "iris", DatasetDigest: "abc123", ModelID: "m-1"}, "2000 0.5 3 iris abc123\n"},
		{"half dataset", entities.Metric{Value: 0.5, Timestamp: 2000, Step: 3, DatasetName: "iris"}, "2000 0.5 3\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, string(layout.AppendMetricLine(nil, tc.m)))
		})
	}
}

func TestAppendModelMetricLine_Golden(t *testing.T) {
	m := entities.Metric{Key: "acc", Value: 0.5, Timestamp: 2000, Step: 3, DatasetName: "iris", DatasetDigest: "abc123"}
	require.Equal(t, "2000 0.5 3 R iris abc123\n", string(layout.AppendModelMetricLine(nil, m, "R")))
	m = entities.Metric{Key: "acc", Value: 0.25, Timestamp: 2001, Step: 4}
	require.Equal(t, "2001 0.25 4 R\n", string(layout.AppendModelMetricLine(nil, m, "R")))
}

func TestAppendMetricLine_NoAllocs(t *testing.T) {
	m := entities.Metric{Key: "loss", Value: 0.30000000000000004, Timestamp: 1700000002000, Step: 12}
	buf := make([]byte, 0, 128)
	require.Zero(t, testing.AllocsPerRun(100, func() { buf = layout.AppendMetricLine(buf[:0], m) }))
}

func TestParseMetricLine_Table(t *testing.T) {
	cases := []struct {
		name   string
		line   string
		want   entities.Metric // Key "k" implied
		fields int             // >0: field-count error with this count
		bad    bool            // value error
	}{
		{name: "3 fields", line: "1700000002000 0.5 0\n", want: entities.Metric{Timestamp: 1700000002000, Value: 0.5}},
		{name: "2 fields", line: "1544000000001 0.5", want: entities.Metric{Timestamp: 1544000000001, Value: 0.5}},
		{name: "5 fields keep the step", line: "2000 0.5 3 iris abc123\n", want: entities.Metric{Timestamp: 2000, Value: 0.5, Step: 3, DatasetName: "iris", DatasetDigest: "abc123"}},
		{name: "5 fields junk step", line: "2000 0.5 x iris abc123", bad: true},
		{name: "crlf", line: "10 1.5 2\r\n", want: entities.Metric{Timestamp: 10, Value: 1.5, Step: 2}},
		{name: "surrounding space", line: "  10 1.5 2 \t", want: entities.Metric{Timestamp: 10, Value: 1.5, Step: 2}},
		{name: "Infinity", line: "10 Infinity 1", want: entities.Metric{Timestamp: 10, Value: math.Inf(1), Step: 1}},
		{name: "underscores", line: "1_0 1_0.5 +1", want: entities.Metric{Timestamp: 10, Value: 10.5, Step: 1}},
		{name: "tab inside field edge", line: "10 1.0\t 1", want: entities.Metric{Timestamp: 10, Value: 1, Step: 1}},
		{name: "unicode dataset", line: "1 2 3 データ d", want: entities.Metric{Timestamp: 1, Value: 2, Step: 3, DatasetName: "データ", DatasetDigest: "d"}},
		{name: "4 fields", line: "10 1.0 1 x\n", fields: 4},
		{name: "6 fields", line: "10 1.0 1 a b c", fields: 6},
		{name: "blank", line: "\n", fields: 1},
		{name: "one", line: "10", fields: 1},
		{name: "double space", line: "10  1.0 1", fields: 4},
		{name: "dataset with space", line: "1 2 3 my data d", fields: 6},
		{name: "float ts", line: "1.0 1.0 1", bad: true},
		{name: "junk value", line: "10 abc 1", bad: true},
		{name: "junk step", line: "10 1.0 x", bad: true},
		{name: "empty value", line: "10  1", bad: true},
		{name: "ts beyond int64", line: "99999999999999999999 1.0 1", bad: true},
		{name: "bom", line: "\ufeff10 1.0 1", bad: true},
		{name: "invalid utf8", line: "10 1.0 1 \xff d", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := layout.ParseMetricLine("k", []byte(tc.line))
			if tc.fields == 0 && !tc.bad {
				require.NoError(t, err)
				tc.want.Key = "k"
				requireSameMetric(t, tc.want, m)
				return
			}
			require.ErrorIs(t, err, errs.ErrCorrupt)
			var ce *layout.CorruptionError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, "k", ce.Key)
			require.Equal(t, tc.fields, ce.Fields)
		})
	}
}

func TestParseModelMetricLine_Table(t *testing.T) {
	m, err := layout.ParseModelMetricLine("acc", []byte("2000 0.5 3 R iris abc123\n"))
	require.NoError(t, err)
	requireSameMetric(t, entities.Metric{Key: "acc", Timestamp: 2000, Value: 0.5, Step: 3, RunID: "R", DatasetName: "iris", DatasetDigest: "abc123"}, m)
	m, err = layout.ParseModelMetricLine("acc", []byte(" 2001 0.25 4 R\r\n"))
	require.NoError(t, err)
	requireSameMetric(t, entities.Metric{Key: "acc", Timestamp: 2001, Value: 0.25, Step: 4, RunID: "R"}, m)
	for _, bad := range []string{"2000 0.5 3", "2000 0.5 3 R a", "2000 0.5 x R", "1 2 3 4 5 6 7"} {
		t.Run(bad, func(t *testing.T) {
			_, err := layout.ParseModelMetricLine("acc", []byte(bad))
			require.ErrorIs(t, err, errs.ErrCorrupt)
		})
	}
}

func requireSameMetric(t testing.TB, want, got entities.Metric) {
	t.Helper()
	testkit.SameFloat(t, want.Value, got.Value)
	want.Value, got.Value = 0, 0
	require.Equal(t, want, got)
}

type tsv struct {
	ts, step int64
	v        float64
}

func TestDecodeMetricHistory_Table(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name    string
		data    string
		hist    []tsv
		latest  float64
		errLine int // >0: history fails at this line
	}{
		{name: "17.6 legacy", data: "1544000000001 0.5\n1544000000002 0.7\n1544000000003 0.6 5\n1544000000000 NaN 5\n1544000000004 Infinity 1\n",
			hist: []tsv{{1544000000001, 0, 0.5}, {1544000000002, 0, 0.7}, {1544000000003, 5, 0.6}, {1544000000000, 5, nan}, {1544000000004, 1, math.Inf(1)}}, latest: 0.6},
		{name: "17.7 nan first", data: "10 nan 1\n10 5.0 1\n", hist: []tsv{{10, 1, nan}, {10, 1, 5}}, latest: nan},
		{name: "17.7 nan middle", data: "10 5.0 1\n10 nan 1\n10 4.0 1\n", hist: []tsv{{10, 1, 5}, {10, 1, nan}, {10, 1, 4}}, latest: 5},
		{name: "17.7 nan then greater", data: "10 4.0 1\n10 nan 1\n10 5.0 1\n", hist: []tsv{{10, 1, 4}, {10, 1, nan}, {10, 1, 5}}, latest: 5},
		{name: "higher step wins over nan", data: "10 nan 1\n5 1.0 2\n", hist: []tsv{{10, 1, nan}, {5, 2, 1}}, latest: 1},
		{name: "nan at higher step wins", data: "10 9.0 1\n5 nan 2\n", hist: []tsv{{10, 1, 9}, {5, 2, nan}}, latest: nan},
		{name: "zero tie first wins", data: "1 -0.0 1\n1 0.0 1\n", hist: []tsv{{1, 1, math.Copysign(0, -1)}, {1, 1, 0}}, latest: math.Copysign(0, -1)},
		{name: "17.8 four fields", data: "10 1.0 1 x\n", errLine: 1},
		{name: "5 fields dataset keeps its step", data: "10 1.0 7 ds dg\n11 0.5 2\n", hist: []tsv{{10, 7, 1}, {11, 2, 0.5}}, latest: 1},
		{name: "crlf", data: "1 1.0 1\r\n2 2.0 2\r\n", hist: []tsv{{1, 1, 1}, {2, 2, 2}}, latest: 2},
		{name: "no final newline", data: "1 1.0 1\n2 2.0 2", hist: []tsv{{1, 1, 1}, {2, 2, 2}}, latest: 2},
		{name: "torn last line", data: "1 1.0 1\n2 2.", hist: []tsv{{1, 1, 1}, {2, 0, 2}}, latest: 1},
		{name: "torn utf8 tail dropped", data: "1 1.0 1\n\xe2\x80", hist: []tsv{{1, 1, 1}}, latest: 1},
		{name: "torn surrogate tail dropped", data: "1 1.0 1 d \xed\xa0", hist: []tsv{{1, 1, 1}}, latest: 1},
		{name: "torn 4-byte tail dropped", data: "1 1.0 1\xf0\x9f\x98", hist: []tsv{{1, 1, 1}}, latest: 1},
		{name: "overlong tail is an error", data: "1 1.0 1\n\xe0\x80", errLine: 2},
		{name: "bad 4-byte tail is an error", data: "1 1.0 1\n\xf4\x90", errLine: 2},
		{name: "torn mid number", data: "1 1.0 1\n17000", errLine: 2},
		{name: "blank line in middle", data: "1 1.0 1\n\n2 2.0 2\n", errLine: 2},
		{name: "trailing blank line", data: "1 1.0 1\n\n", errLine: 2},
		{name: "whitespace only", data: "  ", errLine: 1},
		{name: "newline only", data: "\n", errLine: 1},
		{name: "lone cr splits", data: "1 1.0 1\r2 2.0 2\n", hist: []tsv{{1, 1, 1}, {2, 2, 2}}, latest: 2},
		{name: "cr at eof", data: "1 1.0 1\r", hist: []tsv{{1, 1, 1}}, latest: 1},
		{name: "double cr", data: "1 1.0 1\r\r\n", errLine: 2},
		{name: "vt splits", data: "1 1.0 1\v2 2.0 2", hist: []tsv{{1, 1, 1}, {2, 2, 2}}, latest: 2},
		{name: "ff splits", data: "1 1.0 1\f2 2.0 2", hist: []tsv{{1, 1, 1}, {2, 2, 2}}, latest: 2},
		{name: "fs splits", data: "1 1.0 1\x1c2 2.0 2", hist: []tsv{{1, 1, 1}, {2, 2, 2}}, latest: 2},
		{name: "u2028 splits", data: "1 1.0 1\u20282 2.0 2", hist: []tsv{{1, 1, 1}, {2, 2, 2}}, latest: 2},
		{name: "nel splits", data: "1 1.0 1\u00852 2.0 2", hist: []tsv{{1, 1, 1}, {2, 2, 2}}, latest: 2},
		{name: "unit separator does not split", data: "1 1.0 1\x1f2", errLine: 1},
		{name: "unit separator in the step of 5 fields", data: "1 1.0 1\x1f2 2.0 2", errLine: 1},
		{name: "invalid utf8 later", data: "1 1.0 1\n2 2.0 2 \xff x\n", errLine: 2},
		{name: "multi-byte dataset name", data: "1 0.5 3 名前 abc\n2 0.25 4 データ d\u2028", hist: []tsv{{1, 3, 0.5}, {2, 4, 0.25}}, latest: 0.25},
		{name: "bom", data: "\ufeff1 1.0 1\n", errLine: 1},
		{name: "step beats timestamp", data: "100 1.0 1\n1 2.0 2\n50 3.0 1\n", hist: []tsv{{100, 1, 1}, {1, 2, 2}, {50, 1, 3}}, latest: 2},
		{name: "timestamp beats value", data: "1 9.0 1\n2 1.0 1\n", hist: []tsv{{1, 1, 9}, {2, 1, 1}}, latest: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hist, err := layout.DecodeMetricHistory("k", []byte(tc.data))
			latest, lerr := layout.DecodeLatestMetric("k", []byte(tc.data))
			streamed, serr := scanAll(t, tc.data)
			if tc.errLine > 0 {
				require.ErrorIs(t, err, errs.ErrCorrupt)
				require.ErrorIs(t, lerr, errs.ErrCorrupt)
				require.ErrorIs(t, serr, errs.ErrCorrupt)
				var ce *layout.CorruptionError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, tc.errLine, ce.Line)
				return
			}
			require.NoError(t, err)
			require.NoError(t, lerr)
			require.NoError(t, serr)
			require.Len(t, hist, len(tc.hist))
			require.Len(t, streamed, len(tc.hist))
			for i, w := range tc.hist {
				require.Equal(t, "k", hist[i].Key)
				require.Equal(t, w.ts, hist[i].Timestamp, "line %d", i+1)
				require.Equal(t, w.step, hist[i].Step, "line %d", i+1)
				testkit.SameFloat(t, w.v, hist[i].Value)
				requireSameMetric(t, hist[i], streamed[i])
			}
			testkit.SameFloat(t, tc.latest, latest.Value)
			l2, ok := entities.LatestMetric(hist)
			require.True(t, ok)
			requireSameMetric(t, latest, l2)
		})
	}
}

// scanAll reads data one byte per Read, so every line crosses a refill.
func scanAll(t *testing.T, data string) ([]entities.Metric, error) {
	t.Helper()
	s := layout.NewMetricScanner(iotest.OneByteReader(strings.NewReader(data)), "k")
	var out []entities.Metric
	for s.Next() {
		out = append(out, s.Metric())
		require.Equal(t, len(out), s.Line())
	}
	return out, s.Err()
}

func TestDecodeMetricHistory_Empty(t *testing.T) {
	hist, err := layout.DecodeMetricHistory("k", nil)
	require.NoError(t, err)
	require.Empty(t, hist)
	_, err = layout.DecodeLatestMetric("k", nil)
	require.ErrorIs(t, err, errs.ErrCorrupt)
	var ce *layout.CorruptionError
	require.ErrorAs(t, err, &ce)
	require.Zero(t, ce.Line)
	s := layout.NewMetricScanner(strings.NewReader(""), "k")
	require.False(t, s.Next())
	require.NoError(t, s.Err())
}

func TestMetricScanner_LongLine(t *testing.T) {
	long := "1 0.5 0 " + strings.Repeat("d", 200<<10) + " x\n"
	data := "1 1.0 1\n" + long + "2 2.0 2\n"
	s := layout.NewMetricScanner(strings.NewReader(data), "k")
	var got []entities.Metric
	for s.Next() {
		got = append(got, s.Metric())
	}
	require.NoError(t, s.Err())
	require.Len(t, got, 3)
	require.Len(t, got[1].DatasetName, 200<<10)
}

func TestMetricScanner_ReadError(t *testing.T) {
	boom := errors.New("boom")
	s := layout.NewMetricScanner(iotest.ErrReader(boom), "k")
	require.False(t, s.Next())
	require.ErrorIs(t, s.Err(), boom)
}

func TestDecodeModelMetricHistory(t *testing.T) {
	hist, err := layout.DecodeModelMetricHistory("acc", []byte("2000 0.5 3 R iris abc123\n2001 0.25 4 R\n"))
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, "R", hist[1].RunID)
	require.Equal(t, int64(3), hist[0].Step)
	_, err = layout.DecodeModelMetricHistory("acc", []byte("2000 0.5 3\n"))
	require.ErrorIs(t, err, errs.ErrCorrupt)
}

const beyondInt64 = "99999999999999999999"

// randomMetricFile builds one metric file from valid lines, NaN ties,
// legacy and dataset lines, Windows line ends and the kinds of junk found
// in real trees.
func randomMetricFile(rng *rand.Rand) []byte {
	if rng.IntN(40) == 0 {
		return nil
	}
	var b []byte
	n := 1 + rng.IntN(12)
	bad := rng.IntN(3) == 0 // most files are valid, so history and latest get compared
	vals := []string{"0.5", "nan", "NaN", "-inf", "Infinity", "1.0", "5.0", "4.0", "-0.0", "0.0", "1e500", "1_0.5", "+2"}
	for i := 0; i < n; i++ {
		ts := strconv.Itoa(10 + rng.IntN(3))
		step := strconv.Itoa(rng.IntN(3) - 1)
		var v string
		if rng.IntN(2) == 0 {
			v = vals[rng.IntN(len(vals))]
		} else {
			v = pynum.FormatFloat(math.Float64frombits(rng.Uint64()))
		}
		var line string
		switch rng.IntN(10) {
		case 0:
			line = ts + " " + v
		case 1:
			line = ts + " " + v + " " + step + " ds" + strconv.Itoa(rng.IntN(2)) + " dg"
		case 2:
			line = " " + ts + " " + v + " " + step + "\t"
		default:
			line = ts + " " + v + " " + step
		}
		if bad && rng.IntN(n) == 0 {
			junk := []string{"", " ", "10 1.0 1 x", "abc", "10  1.0 1", "1.0 1.0 1", "10 1.0 x", "\ufeff10 1 1",
				"10 1.0 1 \xff d", "10 1.0 1\x1f", "10 1\x002 1", "17000", "10 1.0 1 a b c", "10 0x1p3 1",
				beyondInt64 + " 1 1", "10 1.0 1 my data d"}
			line = junk[rng.IntN(len(junk))]
		}
		b = append(b, line...)
		switch rng.IntN(12) {
		case 0:
			b = append(b, "\r\n"...)
		case 1:
			b = append(b, '\r')
		case 2:
			b = append(b, "\u2028"...)
		case 3:
			b = append(b, '\v')
		default:
			b = append(b, '\n')
		}
	}
	if rng.IntN(5) == 0 {
		b = b[:len(b)-1] // no final newline (or a torn "\r\n")
	}
	if bad && rng.IntN(4) == 0 {
		b = append(b, '\n') // trailing blank line
	}
	return b
}

// TestDecodeMetricHistory_Interop writes ~200 random metric files into a
// run created by Python's FileStore and compares get_metric_history and the
// latest value (get_all_metrics, get_run) with ours: values by bits, NaN
// equal to NaN, and error-or-not.
func TestDecodeMetricHistory_Interop(t *testing.T) {
	interoptest.Python(t)
	rng := rand.New(rand.NewPCG(5, 6))
	files := make([][]byte, 220)
	var in bytes.Buffer
	for i := range files {
		files[i] = randomMetricFile(rng)
		in.WriteString(base64.StdEncoding.EncodeToString(files[i]) + "\n")
	}
	root := t.TempDir()
	out := interoptest.RunCode(t, `
import base64, json, os, struct, sys
from mlflow.store.tracking.file_store import FileStore
store = FileStore(sys.argv[1])
exp = store.create_experiment("e")
run = store.create_run(exp, "u", 0, [], "r")
rid = run.info.run_id
mdir = os.path.join(sys.argv[1], exp, rid, "metrics")
def enc(m):
    return [m.timestamp, "%016x" % struct.unpack("<Q", struct.pack("<d", m.value))[0], m.step, m.dataset_name or "", m.dataset_digest or ""]
for line in sys.stdin:
    path = os.path.join(mdir, "m")
    with open(path, "wb") as f:
        f.write(base64.b64decode(line))
    res = {}
    try:
        res["hist"] = [enc(m) for m in store.get_metric_history(rid, "m")]
    except Exception as e:
        res["hist_err"] = type(e).__name__
    try:
        [m] = store.get_all_metrics(rid)
        res["latest"] = enc(m)
        v = store.get_run(rid).data.metrics["m"]
        assert struct.pack("<d", v) == struct.pack("<d", m.value) or v != v
    except Exception as e:
        res["latest_err"] = type(e).__name__
    print(json.dumps(res))
`, in.Bytes(), root)
	type pyMetric [5]any
	dec := json.NewDecoder(bytes.NewReader(out))
	var nOK, nErr int
	for i, data := range files {
		var res struct {
			Hist      []pyMetric `json:"hist"`
			HistErr   string     `json:"hist_err"`
			Latest    *pyMetric  `json:"latest"`
			LatestErr string     `json:"latest_err"`
		}
		require.NoError(t, dec.Decode(&res), "file %d", i)
		name := fmt.Sprintf("file %d %q", i, data)
		hist, err := layout.DecodeMetricHistory("m", data)
		if bytes.Contains(data, []byte(beyondInt64)) {
			// Known divergence: Python ints are unbounded, ours are int64.
			require.Error(t, err, name)
			continue
		}
		if res.HistErr != "" {
			require.Error(t, err, name)
			nErr++
		} else {
			require.NoError(t, err, name)
			require.Len(t, hist, len(res.Hist), name)
			for j, pm := range res.Hist {
				requirePyMetric(t, pm, hist[j], name)
			}
			nOK++
		}
		hasDataset := false
		for _, pm := range res.Hist {
			hasDataset = hasDataset || pm[3].(string) != ""
		}
		if hasDataset {
			continue // Python's latest uses step 0 for dataset lines; ours the stored step
		}
		latest, lerr := layout.DecodeLatestMetric("m", data)
		if res.LatestErr != "" {
			require.Error(t, lerr, name)
		} else {
			require.NoError(t, lerr, name)
			requirePyMetric(t, *res.Latest, latest, name)
		}
	}
	require.Greater(t, nOK, 50)
	require.Greater(t, nErr, 20)
}

func requirePyMetric(t *testing.T, pm [5]any, m entities.Metric, name string) {
	t.Helper()
	require.Equal(t, pm[0].(float64), float64(m.Timestamp), name)
	bits, err := strconv.ParseUint(pm[1].(string), 16, 64)
	require.NoError(t, err)
	testkit.SameFloat(t, math.Float64frombits(bits), m.Value)
	if pm[3].(string) == "" {
		// For 5-field lines FileStore reports step 0 without reading the
		// field; we keep the stored step (see ParseMetricLine).
		require.Equal(t, pm[2].(float64), float64(m.Step), name)
	}
	require.Equal(t, pm[3].(string), m.DatasetName, name)
	require.Equal(t, pm[4].(string), m.DatasetDigest, name)
}

func BenchmarkAppendMetricLine(b *testing.B) {
	m := entities.Metric{Key: "loss", Value: 0.6931471805599453, Timestamp: 1700000002000, Step: 1234}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = layout.AppendMetricLine(buf[:0], m)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkMetricScanner(b *testing.B) {
	gens := []struct {
		name string
		val  func(i int) float64
	}{
		{"values=short", func(i int) float64 { return float64(i%1000) / 8 }},
		{"values=random", func(i int) float64 { return 1 / float64(i+3) }},
	}
	for _, g := range gens {
		b.Run(g.name, func(b *testing.B) {
			var data []byte
			const lines = 100000
			for i := range lines {
				data = layout.AppendMetricLine(data, entities.Metric{Value: g.val(i), Timestamp: 1700000000000 + int64(i), Step: int64(i)})
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			r := bytes.NewReader(data)
			for b.Loop() {
				r.Reset(data)
				s := layout.NewMetricScanner(r, "loss")
				n := 0
				for s.Next() {
					n++
				}
				if s.Err() != nil || n != lines {
					b.Fatal(s.Err(), n)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)*lines/sec, "lines/s")
			b.ReportMetric(sec*1e9/(float64(b.N)*lines), "ns/line")
		})
	}
}

// Files of a MiB and more are parsed on all cores: the result must be the
// streaming scanner's, line for line, and the first bad line in file order
// must be reported with its line number in the whole file.
func TestDecodeMetricHistory_Parallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var buf []byte
	for i := 0; len(buf) < 3<<20; i++ {
		m := entities.Metric{Key: "k", Value: rng.NormFloat64(), Timestamp: int64(i), Step: int64(i % 97)}
		if i%1000 == 0 {
			m.DatasetName, m.DatasetDigest = "名前", "d"
		}
		buf = layout.AppendMetricLine(buf, m)
		if i%5000 == 1 {
			buf = append(buf[:len(buf)-1], "\r\n"...) // Windows line end
		}
		if i == 7 {
			buf[len(buf)-1] = '\r' // a lone CR ends a line too (str.splitlines)
		}
	}
	lines := bytes.Count(buf, []byte{'\n'}) + 1
	got, err := layout.DecodeMetricHistory("k", buf)
	require.NoError(t, err)
	var want []entities.Metric
	s := layout.NewMetricScanner(bytes.NewReader(buf), "k")
	for s.Next() {
		want = append(want, s.Metric())
	}
	require.NoError(t, s.Err())
	require.Len(t, got, lines)
	require.Equal(t, len(want), len(got))
	for i := range want {
		requireSameMetric(t, want[i], got[i])
	}

	corrupt := func(data []byte, line int) {
		off := 0
		for i := 0; i < line; i++ {
			off += bytes.IndexByte(data[off:], '\n') + 1
		}
		data[off] = 'x'
	}
	late := bytes.Clone(buf)
	corrupt(late, lines-6) // in the last chunk: numbered in the whole file
	_, err = layout.DecodeMetricHistory("k", late)
	var ce *layout.CorruptionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, lines-4, ce.Line) // one more line than '\n's before it
	corrupt(late, lines/3)             // and an earlier one: the first in file order wins
	_, err = layout.DecodeMetricHistory("k", late)
	require.ErrorAs(t, err, &ce)
	require.Equal(t, lines/3+2, ce.Line)
}

// A bad field is quoted in an error, but only its start: a 100 MB line
// must not become a 100 MB message.
func TestMetricError_QuotesAnExcerpt(t *testing.T) {
	long := "1 " + strings.Repeat("é", 50_000_000) + " 0\n" // 100 MB
	_, err := layout.DecodeMetricHistory("k", []byte(long))
	require.Error(t, err)
	require.Less(t, len(err.Error()), 300, "the message quotes an excerpt")
	require.Contains(t, err.Error(), "(100000000 bytes)")
	require.True(t, utf8.ValidString(err.Error()), "cut at a character boundary")
	_, err = layout.DecodeMetricHistory("k", []byte("1 abc 0\n"))
	require.ErrorContains(t, err, `could not convert string to float: "abc"`, "short fields whole")
}
