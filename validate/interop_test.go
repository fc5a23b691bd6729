package validate_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/validate"
)

// Python prints two bitmaps over 0..0x10FFFF: code points the key regex
// accepts (as a one-character key) and code points unassigned (Cn) in its
// Unicode 14 tables.
const unicodeScript = `
import base64, re, sys, unicodedata
pat = re.compile(r"^[/\w.\- :]*$")
n = 0x110000
ok = bytearray(n // 8); cn = bytearray(n // 8)
for cp in range(n):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    ch = chr(cp)
    if pat.fullmatch(ch):
        ok[cp >> 3] |= 1 << (cp & 7)
    if unicodedata.category(ch) == "Cn":
        cn[cp >> 3] |= 1 << (cp & 7)
sys.stdout.write(unicodedata.unidata_version + "\n" + base64.b64encode(ok).decode() + "\n" + base64.b64encode(cn).decode())
`

func TestInterop_KeyRunes_AllCodePoints(t *testing.T) {
	out := strings.Split(string(interoptest.RunCode(t, unicodeScript, nil)), "\n")
	require.Len(t, out, 3)
	pyOK, err := base64.StdEncoding.DecodeString(out[1])
	require.NoError(t, err)
	pyCn, err := base64.StdEncoding.DecodeString(out[2])
	require.NoError(t, err)
	bit := func(b []byte, cp int) bool { return b[cp>>3]&(1<<(cp&7)) != 0 }

	var tolerated []int
	var wrong []string
	for cp := 0; cp <= 0x10FFFF; cp++ {
		if cp >= 0xD800 && cp <= 0xDFFF {
			continue
		}
		s := string(rune(cp))
		// A lone "." or "/" fails the path rule, not the alphabet; compare
		// the alphabet through a prefix.
		goOK := validate.MetricName("a"+s) == nil
		if cp == '/' {
			goOK = true
		}
		if goOK == bit(pyOK, cp) {
			continue
		}
		if bit(pyCn, cp) {
			tolerated = append(tolerated, cp)
		} else {
			wrong = append(wrong, fmt.Sprintf("U+%04X(go=%v)", cp, goOK))
		}
	}
	t.Logf("Python Unicode %s: %d code points differ only because they are unassigned there: %s",
		out[0], len(tolerated), summarize(tolerated))
	require.Empty(t, wrong, "code points where Go and Python disagree though Python knows them")
}

// summarize renders sorted code points as ranges.
func summarize(cps []int) string {
	var out []string
	for i := 0; i < len(cps); {
		j := i
		for j+1 < len(cps) && cps[j+1] == cps[j]+1 {
			j++
		}
		if i == j {
			out = append(out, fmt.Sprintf("U+%04X", cps[i]))
		} else {
			out = append(out, fmt.Sprintf("U+%04X..U+%04X", cps[i], cps[j]))
		}
		i = j + 1
	}
	return strings.Join(out, " ")
}

// differentialScript runs each case through mlflow.utils.validation (and
// file_store's path helpers) and reports accept/reject, the message and the
// returned (possibly truncated) values.
const differentialScript = `
import json, os, sys
from mlflow.exceptions import MlflowException
from mlflow.entities import Metric, Param, RunTag
import mlflow.utils.validation as v
import mlflow.store.tracking.file_store as fs

def run(c):
    a = c["args"]; f = c["fn"]
    os.environ["MLFLOW_TRUNCATE_LONG_VALUES"] = "true" if c.get("truncate") else "false"
    if f == "metric_name": v._validate_metric_name(a[0])
    elif f == "param_name": v._validate_param_name(a[0])
    elif f == "tag_name": v._validate_tag_name(a[0])
    elif f == "run_id": v._validate_run_id(a[0])
    elif f == "experiment_id": v._validate_experiment_id(a[0])
    elif f == "experiment_name": v._validate_experiment_name(a[0])
    elif f == "experiment_tag": v._validate_experiment_tag(a[0], a[1])
    elif f == "logged_model_name": v._validate_logged_model_name(a[0])
    elif f == "artifact_location": v._validate_experiment_artifact_location_length(a[0])
    elif f == "path_component": fs._validate_path_component(a[0], "model_id")
    elif f == "new_trace_id": fs._validate_new_trace_id(a[0])
    elif f == "metric": v._validate_metric(a[0], float(a[1]), a[2], a[3])
    elif f == "param":
        p = v._validate_param(a[0], a[1]); return [p.value]
    elif f == "tag":
        t = v._validate_tag(a[0], a[1]); return [t.value]
    elif f == "batch":
        ms = [Metric(m[0], float(m[1]), m[2], m[3]) for m in a[0]]
        ps = [Param(p[0], p[1]) for p in a[1]]
        ts = [RunTag(t[0], t[1]) for t in a[2]]
        ms, ps, ts = v._validate_batch_log_data(ms, ps, ts)
        v._validate_batch_log_limits(ms, ps, ts)
        v._validate_param_keys_unique(ps)
        return [p.value for p in ps] + [t.value for t in ts]
    else: raise ValueError(f)
    return []

res = []
for c in json.load(sys.stdin):
    try:
        res.append({"ok": True, "ret": run(c)})
    except MlflowException as e:
        res.append({"ok": False, "msg": e.message, "code": e.error_code})
sys.stdout.write(json.dumps(res))
`

type pyCase struct {
	Fn       string `json:"fn"`
	Args     []any  `json:"args"`
	Truncate bool   `json:"truncate,omitempty"`
}

type pyResult struct {
	OK   bool     `json:"ok"`
	Msg  string   `json:"msg"`
	Code string   `json:"code"`
	Ret  []string `json:"ret"`
}

// pieces are glued into random keys: every rule's edge in small parts.
var pieces = []string{
	"a", "Z", "0", "9", "_", "-", ".", "/", " ", ":", "\n", "\t", "é", "ß", "٣", "Ⅻ", "½",
	"\u0301", "😀", "漢", "'", `"`, `\`, "%", "$", "@", "\u00a0", "\u2028", "\x1c", "\x00",
	"..", "//", "𝟘", "\u0e31", "ǅ", "ʰ", "?", "#", "\x7f", "\u200b", "\u3000",
}

func randomString(r *rand.Rand) string {
	n := r.IntN(6)
	var b strings.Builder
	for range n {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// goCall runs the Go counterpart of a case.
func goCall(t *testing.T, c pyCase) ([]string, error) {
	s := func(i int) string { return c.Args[i].(string) }
	switch c.Fn {
	case "metric_name":
		return nil, validate.MetricName(s(0))
	case "param_name":
		return nil, validate.ParamName(s(0))
	case "tag_name":
		return nil, validate.TagName(s(0))
	case "run_id":
		return nil, validate.RunID(s(0))
	case "experiment_id":
		return nil, validate.ExperimentID(s(0))
	case "experiment_name":
		return nil, validate.ExperimentName(s(0))
	case "experiment_tag":
		return nil, validate.ExperimentTag(s(0), s(1))
	case "logged_model_name":
		return nil, validate.LoggedModelName(s(0))
	case "artifact_location":
		return nil, validate.ArtifactLocation(s(0), validate.DefaultMaxArtifactLocationLength)
	case "path_component":
		return nil, validate.PathComponent("model_id", s(0))
	case "new_trace_id":
		return nil, validate.NewTraceID(s(0))
	case "metric":
		return nil, validate.Metric(toMetric(c.Args))
	case "param":
		p, err := validate.Param(entities.Param{Key: s(0), Value: s(1)}, c.Truncate)
		return []string{p.Value}, err
	case "tag":
		tg, err := validate.RunTag(entities.RunTag{Key: s(0), Value: s(1)}, c.Truncate)
		return []string{tg.Value}, err
	case "batch":
		var ms []entities.Metric
		for _, m := range c.Args[0].([][]any) {
			ms = append(ms, toMetric(m))
		}
		var ps []entities.Param
		for _, p := range c.Args[1].([][2]string) {
			ps = append(ps, entities.Param{Key: p[0], Value: p[1]})
		}
		var ts []entities.RunTag
		for _, tg := range c.Args[2].([][2]string) {
			ts = append(ts, entities.RunTag{Key: tg[0], Value: tg[1]})
		}
		ps, ts, err := validate.LogBatch(ms, ps, ts, c.Truncate)
		var ret []string
		for _, p := range ps {
			ret = append(ret, p.Value)
		}
		for _, tg := range ts {
			ret = append(ret, tg.Value)
		}
		return ret, err
	}
	t.Fatalf("unknown fn %q", c.Fn)
	return nil, nil
}

// toMetric reads [key, value-as-Python-float-text, timestamp, step].
func toMetric(a []any) entities.Metric {
	v, err := strconv.ParseFloat(a[1].(string), 64)
	if err != nil {
		panic(err)
	}
	return entities.Metric{Key: a[0].(string), Value: v, Timestamp: a[2].(int64), Step: a[3].(int64)}
}

func differentialCases() []pyCase {
	r := rand.New(rand.NewPCG(1, 2))
	var cases []pyCase
	add := func(fn string, args ...any) { cases = append(cases, pyCase{Fn: fn, Args: args}) }
	fixed := []string{
		"a", "a/b", "a.b", "a b", "a:b", "ключ", "名前", "é", "٣", "ⅷ", " a", "a ", "a\n",
		"a//b", "/a", "a/", "../a", "a/../b", "./a", ".", "..", "...", "", "a\nb", "a\tb",
		`a\b`, "a@b", "a$b", "a/./b", "//a", "///a", "a//b\n", "a'b", "it's", "x'y\"z",
		"\x00", "\u0085", "\x1f", " ", "-", "_", "m-0123", "tr-abc", "a.", "a ", ".. ",
		strings.Repeat("k", 250), strings.Repeat("k", 251), strings.Repeat("é", 251),
	}
	for _, k := range fixed {
		for _, fn := range []string{"metric_name", "param_name", "tag_name", "run_id",
			"experiment_id", "experiment_name", "logged_model_name", "path_component", "new_trace_id"} {
			add(fn, k)
		}
	}
	for range 150 {
		k := randomString(r)
		for _, fn := range []string{"metric_name", "run_id", "experiment_id", "experiment_name",
			"logged_model_name", "new_trace_id"} {
			add(fn, k)
		}
	}
	for _, n := range []int{63, 64, 65, 255, 256, 257, 499, 500, 501} {
		for _, fn := range []string{"run_id", "experiment_id", "experiment_name"} {
			add(fn, strings.Repeat("a", n))
			add(fn, "a"+strings.Repeat("é", n-1))
		}
	}
	add("artifact_location", strings.Repeat("a", 2048))
	add("artifact_location", strings.Repeat("é", 2049))

	// Values and truncation.
	for _, trunc := range []bool{false, true} {
		for _, n := range []int{0, 6000, 6001} {
			cases = append(cases, pyCase{Fn: "param", Args: []any{"k", strings.Repeat("😀", n)}, Truncate: trunc})
		}
		for _, n := range []int{8000, 8001} {
			cases = append(cases, pyCase{Fn: "tag", Args: []any{"k", strings.Repeat("é", n)}, Truncate: trunc})
		}
		cases = append(cases,
			pyCase{Fn: "param", Args: []any{strings.Repeat("k", 251), "v"}, Truncate: trunc},
			pyCase{Fn: "tag", Args: []any{strings.Repeat("k", 251), "v"}, Truncate: trunc},
			pyCase{Fn: "param", Args: []any{"a@b", "v"}, Truncate: trunc},
			pyCase{Fn: "tag", Args: []any{"a//b", "v"}, Truncate: trunc})
	}
	for range 40 {
		add("param", randomString(r), randomString(r))
		add("experiment_tag", randomString(r), randomString(r))
	}
	add("experiment_tag", "k", strings.Repeat("v", 20000))
	add("experiment_tag", "k", strings.Repeat("v", 20001))
	add("experiment_tag", strings.Repeat("k", 251), "v")
	for _, v := range []string{`{"type": "duration", "value": " 30d "}`, `{"type": "duration", "value": "30s"}`,
		`{"value": "30d"}`, `30d`, `["30d"]`, `null`, `{"type": "duration"}`, `{"type": "duration", "value": 5}`,
		`{"type": "duration", "value": "` + strings.Repeat("1", 32) + `d"}`} {
		add("experiment_tag", validate.TagTraceArchivalRetention, v)
	}
	for _, v := range []string{`{}`, `{"older_than": null}`, `{"older_than": 5}`, `{"older_than": "12h"}`, `x`} {
		add("experiment_tag", validate.TagTraceArchiveNow, v)
	}

	// Metrics: value text is parsed by both sides.
	for _, v := range []float64{0, 1, -2.5, 1e16, 1.5e-5, 123456789.125, 1e-4, math.NaN(), math.Inf(1), 0.1, 1e22, math.Copysign(0, -1), 5e-324} {
		add("metric", "m", pynum.FormatFloat(v), int64(-1), int64(0))
		add("metric", "m", pynum.FormatFloat(v), int64(7), int64(-3))
	}
	add("metric", "a'b", "1", int64(-5), int64(0))
	add("metric", "a//b", "1", int64(-5), int64(0))
	add("metric", strings.Repeat("k", 251), "1", int64(-5), int64(0))
	add("metric", strings.Repeat("k", 251), "1", int64(5), int64(0))

	// Batches.
	m := func(k string, ts int64) []any { return []any{k, "1.5", ts, int64(0)} }
	many := func(n int) [][]any {
		out := make([][]any, n)
		for i := range out {
			out[i] = m("m", 1)
		}
		return out
	}
	kv := func(prefix string, n int) [][2]string {
		out := make([][2]string, n)
		for i := range out {
			out[i] = [2]string{prefix + strconv.Itoa(i), "v"}
		}
		return out
	}
	badMany := many(1001)
	badMany[5] = m("x", -1)
	for _, trunc := range []bool{false, true} {
		for _, b := range [][3]any{
			{[][]any{m("a", 1)}, [][2]string{{"p", "v"}}, [][2]string{{"t", "v"}}},
			{many(1001), [][2]string{}, [][2]string{}},
			{badMany, [][2]string{}, [][2]string{}},
			{[][]any{}, kv("p", 101), [][2]string{}},
			{[][]any{}, [][2]string{}, kv("t", 101)},
			{many(900), kv("p", 100), kv("t", 1)},
			{[][]any{}, [][2]string{{"a", "1"}, {"b", "1"}, {"a", "2"}, {"a", "3"}, {"it's", "1"}, {"it's", "2"}}, [][2]string{}},
			{[][]any{}, append(kv("p", 100), [2]string{"p0", "x"}), [][2]string{}},
			{[][]any{m("a@b", -1)}, [][2]string{{"a@b", "v"}}, [][2]string{}},
			{[][]any{}, [][2]string{{"ok", "v"}, {"a//b", "v"}}, [][2]string{{"a@b", "v"}}},
			{[][]any{}, [][2]string{{"p", strings.Repeat("v", 6001)}}, [][2]string{{"t", strings.Repeat("v", 8001)}}},
			{[][]any{}, [][2]string{}, [][2]string{{strings.Repeat("t", 251), "v"}}},
			{[][]any{}, [][2]string{{strings.Repeat("p", 251), "v"}}, [][2]string{}},
		} {
			cases = append(cases, pyCase{Fn: "batch", Args: []any{b[0], b[1], b[2]}, Truncate: trunc})
		}
	}
	return cases
}

func TestInterop_Differential(t *testing.T) {
	interoptest.Python(t)
	cases := differentialCases()
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	var got []pyResult
	require.NoError(t, json.Unmarshal(interoptest.RunCode(t, differentialScript, in), &got))
	require.Len(t, got, len(cases))
	rejected := map[string]int{}
	for i, c := range cases {
		py := got[i]
		if !py.OK {
			rejected[c.Fn]++
		}
		ret, err := goCall(t, c)
		desc := fmt.Sprintf("case %d %s %q truncate=%v", i, c.Fn, short(c.Args), c.Truncate)
		if py.OK {
			require.NoError(t, err, desc)
			if len(py.Ret) > 0 {
				require.Equal(t, py.Ret, ret, desc)
			}
			continue
		}
		require.Error(t, err, desc+": Python rejected: "+py.Msg)
		require.Equal(t, "INVALID_PARAMETER_VALUE", py.Code, desc)
		require.Equal(t, "mlruns: "+py.Msg, err.Error(), desc)
	}
	t.Logf("%d cases compared with Python MLflow; rejections per function: %v", len(cases), rejected)
}

func short(args []any) string {
	s := fmt.Sprint(args)
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
