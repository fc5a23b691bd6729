package layout_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/testkit"
	"github.com/mlruns-go/mlruns/layout"
)

const (
	yamlGoldenPath = "testdata/yaml/golden.json"
	yamlGenScript  = "testdata/yaml/gen_golden.py"
)

func rep(s string, n int) string { return strings.Repeat(s, n) }

// words returns "lorem ipsum dolor ..." cut to exactly n characters.
func words(n int) string {
	return rep("lorem ipsum dolor sit amet ", n/27+1)[:n]
}

// yamlStrings are the hand-picked tricky strings; each is checked in every
// placement of yamlPlacements.
var yamlStrings = []struct {
	group  string
	inputs []string
}{
	{"format_4_1", []string{
		"1e3", "1e-07", "nan", "inf", "NaN", "y", "n", "0o17", "a:b", "x,y", "x'y", `dq"x`,
		"123", "0", "1.5", "yes", "true", "null", "~", "", "12:30", "2024-01-01", "a: b",
		"#x", "-", " lead", "trail ",
	}},
	{"format_17_13", []string{
		"ünïcødé 名前", "tab\there", "#hash", "multi\nline", "emoji😀", rep("x", 100) + " " + rep("y", 30),
	}},
	{"indicator_start", []string{
		"#a", ",a", "[a", "]a", "{a", "}a", "&a", "*a", "!a", "|a", ">a", "'a", `"a`, "%a", "@a", "`a",
		"?a", "? a", "?", ":a", ": a", ":", "-a", "- a", "-\ta", "--", "---", "---a", "...", "...a", "..",
		"=a", "<a", "~a", "!", "&", "*", "|", ">", "|-", "!!str", "{}", "[]",
	}},
	{"indicator_middle", []string{
		"a#b", "a #b", "a\t#b", "a,b", "a[b", "a]b", "a{b", "a}b", "a&b", "a*b", "a!b", "a|b", "a>b",
		"a'b", `a"b`, "a%b", "a@b", "a`b", "a?b", "a? b", "a:b", "a: b", "a:\tb", "a-b", "a - b",
		"a ---", "a=b", "a: b: c", "http://x.com/#frag", "file:///tmp/mlruns/0", "s3://bucket/p",
	}},
	{"indicator_end", []string{
		"a#", "a #", "a,", "a[", "a]", "a{", "a}", "a&", "a*", "a!", "a|", "a>", "a'", `a"`, "a%",
		"a@", "a`", "a?", "a:", "a::", "a-", "a=", "a~",
	}},
	{"yaml11_bool_null", []string{
		"Yes", "YES", "yES", "No", "NO", "no", "on", "On", "ON", "off", "Off", "OFF", "True", "TRUE",
		"tRUE", "false", "False", "FALSE", "Null", "NULL", "nULL", "none", "None", "Y", "N", "yes!", "~~",
	}},
	{"yaml11_int", []string{
		"0b101", "-0b1", "+0b_", "0b", "0b2", "017", "08", "0_7", "+1", "-1", "+0", "-0", "1_000",
		"1_000_000", "1__", "_1", "1_", "0_", "0x1F", "0x_", "-0x1f", "0xG", "0X1F", "1:20:30",
		"190:20:30", "1:60", "-1:2", "0:30", "1e3", "1E3", "1e+3", "12e", "0o17", "1,000",
	}},
	{"yaml11_float", []string{
		"1.", "1.5e+3", "1.5e3", "1.5E-3", ".5", "-.5", "+.5", "._5", ".5_", ".e5", "1__.__", "1.2.3",
		"12:30.5", "1:2:3.4", "-.inf", ".Inf", "+.INF", ".inf.", ".nan", ".NaN", ".NAN", "-.nan",
		"inf", "-inf", "Infinity", "1.0e+20", "6.02e23", ".", "-", "+", "1..", "1.5 ",
	}},
	{"yaml11_timestamp_merge_value", []string{
		"2024-1-1", "2024-01-01T12:00:00Z", "2024-01-01 12:00:00.5 +01:00", "2024-01-01t1:00:00",
		"2024-01-01\t12:00:00", "2024-13-45", "20240101", "2024-01-01x", "2024-01-01 ", "<<", "<",
		"<<<", "=", "==", "= ",
	}},
	{"unicode", []string{
		"ünïcødé", "名前", "ключ", "e\u0301", "\u0301a", "Ω≈ç√", "עברית", "٣", "ⅷ", "\u00a0", "a\u00a0b",
		"\u3000", "a\u3000", "\ufeffbom", "a\ufeff", "\ufffd", "\ufffe", "\uffff", "\ue000", "\ud7ff",
		"\U00010000", "😀", "a😀b c", "\U0010FFFF", "👍🏽", "é\u0085",
	}},
	{"control_and_breaks", []string{
		"\x00", "a\x01b", "\x07", "\b", "\x0b", "\x0c", "\r", "\x1b", "\x7f", "\u0080", "\u009f",
		"\u0085", "a\u0085b", "a\u2028b", "a\u2029b", "\u2028", "\u2029 x", "a\r\nb", "a\rb", "\t",
		"a\t", "\ta", "a\tb", "\n", "a\n", "\na", "a\n\nb", "a\n\n\nb", "a \nb", "a\n b", "a\u2028 b",
		"'\n'", "line1\nline2 with 'quotes'", "a\n#b", "a\n- b", "\n\n", " \n ",
	}},
	{"quotes_and_spaces", []string{
		"'", "''", "'a'", `"`, `"a"`, `\`, `a\b`, `C:\path\x`, " ", "  ", "a  b", "a   ", "a\u00a0",
		"a b c", "mlflow.runName", "$HOME", "~user", "~/x", "10%", "x%", "-1-", "--a", "- ", " -",
	}},
	{"long", []string{
		words(60), words(79), words(80), words(81), words(82), words(100), words(120), words(150),
		words(200), rep("x", 60), rep("x", 128), rep("x", 129), rep("x", 200),
		rep("x", 79) + " y", rep("x", 80) + " y", rep("x", 81) + " y", rep("x", 81) + "  y",
		rep("x", 78) + " yy zz", rep("ab ", 60), rep("a  ", 60), rep("a ", 100),
		"#" + words(150), " " + words(150), words(150) + " ", "'" + words(150),
		"\t" + words(150), words(90) + "\n" + words(90), words(90) + "\n\n" + words(20),
		rep("名", 42) + "ab", rep("名", 43), rep("名 ", 60), rep("é", 64), rep("é", 65),
		rep("x", 127), rep("x", 120) + " " + rep("y", 7), rep("word ", 30), rep("😀 ", 40),
		rep("a\u00a0", 60), rep("1 ", 70), rep("x", 90) + "  " + rep("y", 10),
		rep("x", 85) + "\t" + rep(" y", 20), rep("x", 100) + " \"" + rep(" y", 20),
	}},
}

// yamlPlacements put each test string where MLflow may write it: as a
// top-level value, a tag value, a tag key and a list item. Keep in sync
// with PLACEMENTS in testdata/yaml/gen_golden.py.
var yamlPlacements = []struct {
	name string
	doc  func(s string) map[string]any
}{
	{"value", func(s string) map[string]any { return map[string]any{"name": s} }},
	{"nested_value", func(s string) map[string]any { return map[string]any{"tags": map[string]string{"key": s}} }},
	{"nested_key", func(s string) map[string]any { return map[string]any{"tags": map[string]string{s: "v"}} }},
	{"seq_item", func(s string) map[string]any { return map[string]any{"tags": []string{s}} }},
}

// yamlDocuments cover non-string values and document shapes; python is
// the same value as a Python expression for gen_golden.py.
var yamlDocuments = []struct {
	name   string
	value  map[string]any
	python string
}{
	{"empty_root", map[string]any{}, "{}"},
	{"experiment_meta", map[string]any{
		"artifact_location": "file:///data/mlruns/0", "creation_time": int64(1700000001000),
		"experiment_id": "0", "last_update_time": int64(1700000001000), "lifecycle_stage": "active",
		"name": "Default", "tags": map[string]string{"team": "ml", "a/b": "c"}, "trace_location": nil,
		"workspace": "default",
	}, "{'artifact_location': 'file:///data/mlruns/0', 'creation_time': 1700000001000, " +
		"'experiment_id': '0', 'last_update_time': 1700000001000, 'lifecycle_stage': 'active', " +
		"'name': 'Default', 'tags': {'team': 'ml', 'a/b': 'c'}, 'trace_location': None, " +
		"'workspace': 'default'}"},
	{"scalars", map[string]any{"t": true, "f": false, "n": nil, "i": 0, "neg": -1,
		"max": int64(math.MaxInt64), "min": int64(math.MinInt64)},
		"{'t': True, 'f': False, 'n': None, 'i': 0, 'neg': -1, 'max': 2**63-1, 'min': -2**63}"},
	{"floats", map[string]any{"a": 0.1, "b": 1e-7, "c": math.NaN(), "d": math.Inf(1), "e": math.Inf(-1),
		"f": math.Copysign(0, -1), "g": 1e20, "h": 1e15, "i": 1e16, "j": 1e-4, "k": 1e-5,
		"l": 123456789012345678.0, "n": 5e-324, "o": 1e6, "p": math.MaxFloat64,
		"m": 0.30000000000000004, // 0.1 + 0.2 in float64; Go would fold the constant to 0.3
		"q": 0.0, "r": 1.0, "s": -2.5e-300},
		"{'a': 0.1, 'b': 1e-7, 'c': math.nan, 'd': math.inf, 'e': -math.inf, 'f': -0.0, 'g': 1e20, " +
			"'h': 1e15, 'i': 1e16, 'j': 1e-4, 'k': 1e-5, 'l': 123456789012345678.0, 'm': 0.1 + 0.2, " +
			"'n': 5e-324, 'o': 1e6, 'p': 1.7976931348623157e308, 'q': 0.0, 'r': 1.0, 's': -2.5e-300}"},
	{"empty_collections", map[string]any{"a": map[string]any{}, "b": []any{}, "c": []string{},
		"d": map[string]string{}, "e": []any{map[string]any{}, []any{}}},
		"{'a': {}, 'b': [], 'c': [], 'd': {}, 'e': [{}, []]}"},
	{"nested_sequences", map[string]any{"c": []any{"x", map[string]any{"k": "v", "j": []any{1, []any{2, 3}}}, []any{}},
		"s": []string{"a", "yes", "multi\nline", words(100)}},
		"{'c': ['x', {'k': 'v', 'j': [1, [2, 3]]}, []], 's': ['a', 'yes', 'multi\\nline', " +
			strconv.Quote(words(100)) + "]}"},
	{"complex_key_values", map[string]any{rep("x", 129): []any{1, 2}, rep("y", 129): map[string]any{"a": 1, "b": 2},
		"t": map[string]any{rep("z", 129): []string{"a", "b"}}, "u": []any{map[string]any{rep("w", 129): []any{"a"}}}},
		"{'x'*129: [1, 2], 'y'*129: {'a': 1, 'b': 2}, 't': {'z'*129: ['a', 'b']}, 'u': [{'w'*129: ['a']}]}"},
	{"multiline_keys", map[string]any{"a\nb": map[string]any{"c\nd": "e\nf"}, "g\u2028h": []string{"i"}},
		"{'a\\nb': {'c\\nd': 'e\\nf'}, 'g\\u2028h': ['i']}"},
	{"folded_complex_key", map[string]any{rep("word ", 30): words(150), "t": map[string]any{rep("key ", 40): "v"}},
		"{'word '*30: " + strconv.Quote(words(150)) + ", 't': {'key '*40: 'v'}}"},
	{"deep_folding", map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{
		"d": words(150), "e": "#" + words(150), "f": "\t" + words(150), "g": []any{[]any{words(150)}}}}}},
		"{'a': {'b': {'c': {'d': " + strconv.Quote(words(150)) + ", 'e': '#' + " + strconv.Quote(words(150)) +
			", 'f': '\\t' + " + strconv.Quote(words(150)) + ", 'g': [[" + strconv.Quote(words(150)) + "]]}}}}"},
	{"key_order_code_points", map[string]any{"b": 1, "B": 2, "a": 3, "é": 4, "z": 5, "名": 6, "😀": 7, "\ufffd": 8, "_": 9, "1": 10},
		"{'b': 1, 'B': 2, 'a': 3, 'é': 4, 'z': 5, '名': 6, '😀': 7, '\\ufffd': 8, '_': 9, '1': 10}"},
}

type yamlGolden struct {
	Generator string              `json:"generator"`
	Strings   []map[string]string `json:"strings"`
	Documents []struct {
		Name   string `json:"name"`
		Python string `json:"python"`
		YAML   string `json:"yaml"`
	} `json:"documents"`
}

func allYAMLStrings() []string {
	var all []string
	for _, g := range yamlStrings {
		all = append(all, g.inputs...)
	}
	return all
}

// pythonYAMLGolden runs gen_golden.py on the tables (skips without Python).
func pythonYAMLGolden(t *testing.T) ([]byte, yamlGolden) {
	t.Helper()
	type doc struct {
		Name   string `json:"name"`
		Python string `json:"python"`
	}
	req := struct {
		Strings   []string `json:"strings"`
		Documents []doc    `json:"documents"`
	}{Strings: allYAMLStrings()}
	for _, d := range yamlDocuments {
		req.Documents = append(req.Documents, doc{d.name, d.python})
	}
	in, err := json.Marshal(req)
	require.NoError(t, err)
	out := interoptest.Run(t, yamlGenScript, in)
	var g yamlGolden
	require.NoError(t, json.Unmarshal(out, &g))
	return out, g
}

// checkYAMLGolden compares EncodeYAML with g for every table entry.
func checkYAMLGolden(t *testing.T, g yamlGolden) {
	byInput := map[string]map[string]string{}
	for _, c := range g.Strings {
		byInput[c["input"]] = c
	}
	for _, grp := range yamlStrings {
		t.Run(grp.group, func(t *testing.T) {
			for _, s := range grp.inputs {
				want, ok := byInput[s]
				require.True(t, ok, "golden file lacks %q; run with -update", s)
				for _, p := range yamlPlacements {
					t.Run(strconv.Quote(s)+"/"+p.name, func(t *testing.T) {
						require.Equal(t, want[p.name], string(layout.EncodeYAML(p.doc(s))), "input %q", s)
					})
				}
			}
		})
	}
	docs := map[string]string{}
	for _, d := range g.Documents {
		docs[d.Name] = d.YAML
	}
	for _, d := range yamlDocuments {
		t.Run(d.name, func(t *testing.T) {
			want, ok := docs[d.name]
			require.True(t, ok, "golden file lacks document %q; run with -update", d.name)
			require.Equal(t, want, string(layout.EncodeYAML(d.value)))
		})
	}
}

func TestEncodeYAML_Golden(t *testing.T) {
	if testkit.Update() {
		out, _ := pythonYAMLGolden(t)
		require.NoError(t, os.WriteFile(filepath.FromSlash(yamlGoldenPath), out, 0o644))
	}
	data, err := os.ReadFile(filepath.FromSlash(yamlGoldenPath))
	require.NoError(t, err)
	var g yamlGolden
	require.NoError(t, json.Unmarshal(data, &g))
	checkYAMLGolden(t, g)
}

// TestEncodeYAML_GoldenLive recomputes the golden file with the pinned
// PyYAML, so a stale golden file or a drifted PyYAML cannot go unnoticed.
func TestEncodeYAML_GoldenLive(t *testing.T) {
	out, live := pythonYAMLGolden(t)
	checkYAMLGolden(t, live)
	data, err := os.ReadFile(filepath.FromSlash(yamlGoldenPath))
	require.NoError(t, err)
	var want, got any
	require.NoError(t, json.Unmarshal(data, &want))
	require.NoError(t, json.Unmarshal(out, &got))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("golden file %s is stale (-want +got):\n%s\nrun go test ./layout -run TestEncodeYAML_Golden -update", yamlGoldenPath, diff)
	}
}

// randomYAMLString draws from an alphabet biased towards what changes
// libyaml's decisions: indicators, spaces (folding), breaks, controls,
// unprintables and non-BMP characters.
func randomYAMLString(r *rand.Rand) string {
	classes := []string{
		"abcxyzABCXYZ0123456789",
		"-?:,[]{}#&*!|>'\"%@`=<~._+/\\",
		"   ",
		"\n\r",
		"\x00\x01\x07\x08\t\x0b\x0c\x1b\x1f\x7f\u0080\u0085\u009f",
		"éüñ名前ключΩ٣ⅷ\u00a0\u3000",
		"\u0300\u0301\u0308\u036f",
		"😀👍\U00010000\U0010FFFF",
		"\u2028\u2029\ufeff\ufffe\uffff\ufffd\ue000\ud7ff",
		".0123456789eE+-_:",
		"yesnoNullTrue~",
	}
	weights := make([]float64, len(classes))
	total := 0.0
	for i := range weights {
		weights[i] = r.Float64()
		total += weights[i]
	}
	n := r.IntN(9)
	if r.IntN(2) == 0 {
		n = r.IntN(201)
	}
	var b strings.Builder
	for range n {
		x := r.Float64() * total
		i := 0
		for i < len(classes)-1 && x >= weights[i] {
			x -= weights[i]
			i++
		}
		rs := []rune(classes[i])
		b.WriteRune(rs[r.IntN(len(rs))])
	}
	return b.String()
}

// randomYAMLDoc places s at a random spot; deeper spots shift the folding
// column and exercise complex keys inside sequences.
func randomYAMLDoc(r *rand.Rand, s string) map[string]any {
	switch r.IntN(7) {
	case 0, 1, 2, 3:
		return yamlPlacements[r.IntN(len(yamlPlacements))].doc(s)
	case 4:
		return map[string]any{"a": map[string]any{"b": map[string]any{s: s}}}
	case 5:
		return map[string]any{s: []any{s, map[string]any{s: []any{s}}}}
	default:
		return map[string]any{"m": []any{map[string]any{"x": s, s: map[string]any{}}}, s: s}
	}
}

const pyDumpAll = `import json, sys, yaml
docs = json.load(sys.stdin)
json.dump([yaml.dump(d, Dumper=yaml.CSafeDumper, default_flow_style=False,
                     allow_unicode=True, sort_keys=True) for d in docs], sys.stdout)
`

func TestEncodeYAML_RandomDifferential(t *testing.T) {
	interoptest.Python(t)
	const n = 20000
	r := rand.New(rand.NewPCG(20240101, 3180))
	docs := make([]map[string]any, n)
	inputs := make([]string, n)
	for i := range docs {
		inputs[i] = randomYAMLString(r)
		docs[i] = randomYAMLDoc(r, inputs[i])
	}
	in, err := json.Marshal(docs)
	require.NoError(t, err)
	var want []string
	require.NoError(t, json.Unmarshal(interoptest.RunCode(t, pyDumpAll, in), &want))
	require.Len(t, want, n)
	var bad []string
	for i, d := range docs {
		got := string(layout.EncodeYAML(d))
		if got == want[i] {
			continue
		}
		if len(bad) < 10 {
			off := 0
			for off < len(got) && off < len(want[i]) && got[off] == want[i][off] {
				off++
			}
			bad = append(bad, fmt.Sprintf("case %d input %q\n  first difference at byte %d\n  want %q\n  got  %q",
				i, inputs[i], off, want[i], got))
		} else {
			bad = append(bad, "")
		}
	}
	require.Empty(t, bad, "%d of %d cases differ from PyYAML; first ones:\n%s", len(bad), n, strings.Join(bad[:min(len(bad), 10)], "\n"))
	t.Logf("%d random documents byte-identical to PyYAML", n)
}

// TestEncodeYAML_RoundTripYAMLv3 checks that what we write reads back as
// the same string with a typed decoder, as layout's readers do.
func TestEncodeYAML_RoundTripYAMLv3(t *testing.T) {
	inputs := allYAMLStrings()
	r := rand.New(rand.NewPCG(7, 7))
	for range 5000 {
		inputs = append(inputs, randomYAMLString(r))
	}
	for i, s := range inputs {
		out := layout.EncodeYAML(map[string]any{"k": s, "tags": map[string]string{s: s}})
		var got struct {
			K    string            `yaml:"k"`
			Tags map[string]string `yaml:"tags"`
		}
		require.NoError(t, yaml.Unmarshal(out, &got), "case %d %q:\n%s", i, s, out)
		require.Equal(t, s, got.K, "case %d:\n%s", i, out)
		require.Equal(t, map[string]string{s: s}, got.Tags, "case %d:\n%s", i, out)
	}
}

func TestEncodeYAML_InvalidUTF8(t *testing.T) {
	out := layout.EncodeYAML(map[string]any{"k\xff": "a\xc3b\xed\xa0\x80c"})
	require.True(t, utf8.Valid(out))
	require.Equal(t, "k\ufffd: a\ufffdb\ufffdc\n", string(out))
}

func TestEncodeYAML_UnsupportedTypePanics(t *testing.T) {
	for _, v := range []any{int32(1), float32(1), []int{1}, map[string]int{}, struct{}{}} {
		t.Run(fmt.Sprintf("%T", v), func(t *testing.T) {
			require.Panics(t, func() { layout.EncodeYAML(map[string]any{"k": v}) })
		})
	}
}
