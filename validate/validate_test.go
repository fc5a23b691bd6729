package validate_test

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/validate"
)

// requireInvalid asserts err is a *validate.Error for field, of kind.
func requireInvalid(t *testing.T, err error, kind error, field string) *validate.Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kind)
	var ve *validate.Error
	require.ErrorAs(t, err, &ve)
	require.Equal(t, field, ve.Field)
	require.True(t, strings.HasPrefix(err.Error(), "mlruns: "), err.Error())
	require.Equal(t, errs.CodeInvalidParameterValue, errs.Code(err))
	return ve
}

func TestKeyName_Accept(t *testing.T) {
	for _, key := range []string{
		"a", "a/b", "a.b", "a b", "a:b", "ключ", "名前", "é", "٣", "ⅷ", "½", " a", "a ",
		"a-b_c", "x.y/z 1:2", "..a/b"[2:], "a..b", "a/.b", "a/b.", "ǅ", "ʰ", "𝟘", "𝒜",
		"A_Z", strings.Repeat("k", 250),
	} {
		t.Run(key, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.Contains(key, ":") {
				// MLflow's Windows alphabet has no ':' (TestKeyName_Windows)
				require.Error(t, validate.MetricName(key))
				require.Error(t, validate.ParamName(key))
				require.Error(t, validate.TagName(key))
				return
			}
			require.NoError(t, validate.MetricName(key))
			require.NoError(t, validate.ParamName(key))
			require.NoError(t, validate.TagName(key))
		})
	}
}

func TestKeyName_RejectCharacters(t *testing.T) {
	for _, key := range []string{
		"a\n", // accepted by MLflow < 3 (re.match + $); 3.18 uses re.fullmatch
		"a\nb", "a\tb", `a\b`, "a@b", "a$b", "a'b", `a"b`, "a%b", "e\u0301", "😀",
		"a\x00b", "a\u00a0b", "a\u2028", "\xff", "a,b", "a;b", "a*b", "a?b",
	} {
		t.Run(key, func(t *testing.T) {
			requireInvalid(t, validate.MetricName(key), errs.ErrInvalidParameter, "name")
			requireInvalid(t, validate.ParamName(key), errs.ErrInvalidParameter, "key")
			ve := requireInvalid(t, validate.TagName(key), errs.ErrInvalidParameter, "key")
			require.Equal(t, key, ve.Value)
			require.False(t, errors.Is(ve, errs.ErrInvalidPath))
		})
	}
}

func TestKeyName_RejectPath(t *testing.T) {
	for _, tc := range []struct{ key, norm string }{
		{"a//b", "a/b"}, {"/a", "/a"}, {"a/", "a"}, {"../a", "../a"}, {"a/../b", "b"},
		{"./a", "a"}, {".", "."}, {"..", ".."}, {"...", "..."}, {"", "."},
		{"a/./b", "a/b"}, {"..foo", "..foo"}, {"//a", "//a"}, {"///a", "/a"},
		{"a/..", "."}, {"/", "/"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			ve := requireInvalid(t, validate.MetricName(tc.key), errs.ErrInvalidPath, "name")
			require.Contains(t, ve.Rule, "would resolve to '"+tc.norm+"'")
			requireInvalid(t, validate.ParamName(tc.key), errs.ErrInvalidPath, "key")
		})
	}
}

func TestKeyName_Windows(t *testing.T) {
	require.NoError(t, validate.KeyName("key", "a:b", false))
	ve := requireInvalid(t, validate.KeyName("key", "a:b", true), errs.ErrInvalidParameter, "key")
	require.NotContains(t, ve.Rule, "colon")
	require.NoError(t, validate.KeyName("key", "a b/c", true))
}

func TestIsWordRune(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want bool
	}{
		{'a', true}, {'_', true}, {'0', true}, {'é', true}, {'٣', true}, {'ⅷ', true},
		{'½', true}, {'漢', true}, {'ʰ', true}, {'-', false}, {' ', false},
		{'\u0301', false}, {'\u0e31', false}, {'😀', false}, {'$', false}, {'\u00a0', false},
	} {
		require.Equal(t, tc.want, validate.IsWordRune(tc.r), "%U", tc.r)
	}
}

func TestRunID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"abc", true}, {"a-b", true}, {"m-123", true}, {strings.Repeat("0", 32), true},
		{"a_é", true}, {strings.Repeat("a", 256), true},
		{"-ab", false}, {"_ab", false}, {strings.Repeat("a", 257), false}, {"", false},
		{"éa", false}, {"ab\n", false}, {"a.b", false}, {"a/b", false}, {"..", false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			err := validate.RunID(tc.id)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, errs.ErrInvalidParameter, "run_id")
		})
	}
}

func TestExperimentID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"0", true}, {"x_y", true}, {strings.Repeat("a", 64), true}, {"635645679249659941", true},
		{strings.Repeat("a", 65), false}, {"-1", false}, {"1.5", false}, {"", false},
		{"1\n", false}, {"../0", false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			err := validate.ExperimentID(tc.id)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, errs.ErrInvalidParameter, "experiment_id")
		})
	}
}

func TestMetric(t *testing.T) {
	for _, tc := range []struct {
		name  string
		m     entities.Metric
		field string // "" = accepted
	}{
		{"ok", entities.Metric{Key: "acc", Value: 0.5, Timestamp: 1, Step: 2}, ""},
		{"NaN", entities.Metric{Key: "acc", Value: math.NaN()}, ""},
		{"Inf", entities.Metric{Key: "acc", Value: math.Inf(-1)}, ""},
		{"negative step", entities.Metric{Key: "acc", Step: -5}, ""},
		{"zero timestamp", entities.Metric{Key: "acc", Timestamp: 0}, ""},
		{"negative timestamp", entities.Metric{Key: "acc", Timestamp: -1}, "timestamp"},
		{"bad name", entities.Metric{Key: "a//b", Timestamp: -1}, "name"},
		{"long name", entities.Metric{Key: strings.Repeat("k", 251)}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate.Metric(tc.m)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			kind := errs.ErrInvalidParameter
			if tc.m.Key == "a//b" {
				kind = errs.ErrInvalidPath
			}
			requireInvalid(t, err, kind, tc.field)
		})
	}
}

func TestParam_Truncate(t *testing.T) {
	long := strings.Repeat("é", 6001)
	p, err := validate.Param(entities.Param{Key: "k", Value: long}, true)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("é", 6000), p.Value)

	_, err = validate.Param(entities.Param{Key: "k", Value: long}, false)
	requireInvalid(t, err, errs.ErrInvalidParameter, "value")

	v, err := validate.ParamValue("k", long[:12000], false)
	require.NoError(t, err)
	require.Len(t, []rune(v), 6000)

	_, err = validate.Param(entities.Param{Key: strings.Repeat("k", 251), Value: "v"}, true)
	requireInvalid(t, err, errs.ErrInvalidParameter, "key")
}

func TestTagValue(t *testing.T) {
	v, err := validate.TagValue("k", strings.Repeat("x", 8001), true)
	require.NoError(t, err)
	require.Len(t, v, 8000)
	_, err = validate.TagValue("k", strings.Repeat("x", 8001), false)
	requireInvalid(t, err, errs.ErrInvalidParameter, "value")
	v, err = validate.TagValue("k", "a\n", false)
	require.NoError(t, err)
	require.Equal(t, "a\n", v)
}

func TestRunTag(t *testing.T) {
	tag, err := validate.RunTag(entities.RunTag{Key: "k", Value: strings.Repeat("x", 9000)}, true)
	require.NoError(t, err)
	require.Len(t, tag.Value, 8000)
	_, err = validate.RunTag(entities.RunTag{Key: strings.Repeat("k", 251)}, true)
	requireInvalid(t, err, errs.ErrInvalidParameter, "key")
}

func TestExperimentName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Default", true}, {"a/b:c", true}, {"it's", true}, {" x ", true},
		{strings.Repeat("n", 500), true}, {"\u200b", true}, // zero-width space is not whitespace
		{"", false}, {"   ", false}, {"\t\n", false}, {"\u3000", false}, {"\x1c", false},
		{strings.Repeat("n", 501), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate.ExperimentName(tc.name)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, errs.ErrInvalidParameter, "name")
		})
	}
}

func TestExperimentTag(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, field string
	}{
		{"ok", "mlflow.note.content", "hello", ""},
		{"long value ok", "k", strings.Repeat("v", 20000), ""},
		{"value too long", "k", strings.Repeat("v", 20001), "value"},
		{"key too long", strings.Repeat("k", 251), "", "key"},
		{"bad key", "a@b", "", "key"},
		{"retention ok", validate.TagTraceArchivalRetention, `{"type": "duration", "value": " 30d "}`, ""},
		{"retention bad unit", validate.TagTraceArchivalRetention, `{"type": "duration", "value": "30s"}`, "value"},
		{"retention no type", validate.TagTraceArchivalRetention, `{"value": "30d"}`, "value"},
		{"retention not json", validate.TagTraceArchivalRetention, `30d`, "value"},
		{"retention list", validate.TagTraceArchivalRetention, `["30d"]`, "value"},
		{"archive now empty", validate.TagTraceArchiveNow, `{}`, ""},
		{"archive now null", validate.TagTraceArchiveNow, `{"older_than": null}`, ""},
		{"archive now number", validate.TagTraceArchiveNow, `{"older_than": 5}`, "value"},
		{"archive now ok", validate.TagTraceArchiveNow, `{"older_than": "12h"}`, ""},
		{"archive now too long", validate.TagTraceArchiveNow, `{"older_than": "` + strings.Repeat("1", 33) + `d"}`, "value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate.ExperimentTag(tc.key, tc.value)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, errs.ErrInvalidParameter, tc.field)
		})
	}
}

func TestLoggedModelName(t *testing.T) {
	require.NoError(t, validate.LoggedModelName("my-model_1 x"))
	for _, name := range []string{"", "a/b", "a:b", "a.b", "a%b", `a"b`, "a'b"} {
		requireInvalid(t, validate.LoggedModelName(name), errs.ErrInvalidParameter, "name")
	}
}

func TestArtifactLocation(t *testing.T) {
	require.NoError(t, validate.ArtifactLocation(strings.Repeat("a", 2048), validate.DefaultMaxArtifactLocationLength))
	requireInvalid(t, validate.ArtifactLocation(strings.Repeat("a", 2049), validate.DefaultMaxArtifactLocationLength),
		errs.ErrInvalidParameter, "artifact_location")
	require.NoError(t, validate.ArtifactLocation(strings.Repeat("a", 2049), 4096))
	requireInvalid(t, validate.ArtifactLocation("abc", 2), errs.ErrInvalidParameter, "artifact_location")
	requireInvalid(t, validate.ArtifactLocation("a", 0), errs.ErrInvalidParameter, "artifact_location") // as Python's max_length 0
}

func TestPathComponent(t *testing.T) {
	require.NoError(t, validate.PathComponent("model_id", "m-0123"))
	for _, v := range []string{"", ".", "..", ".. ", "a.", "a ", "a/b", "/a"} {
		requireInvalid(t, validate.PathComponent("model_id", v), errs.ErrInvalidPath, "model_id")
	}
	require.NoError(t, validate.NewTraceID("tr-abc"))
	for _, v := range []string{"tr%1", "a?b", "a#b", "a\tb", "a\x7f"} {
		requireInvalid(t, validate.NewTraceID(v), errs.ErrInvalidParameter, "trace_id")
	}
}

func metrics(n int) []entities.Metric {
	out := make([]entities.Metric, n)
	for i := range out {
		out[i] = entities.Metric{Key: "m", Value: float64(i), Timestamp: 1, Step: int64(i)}
	}
	return out
}

func params(n int) []entities.Param {
	out := make([]entities.Param, n)
	for i := range out {
		out[i] = entities.Param{Key: "p" + strings.Repeat("x", i), Value: "v"}
	}
	return out
}

func tags(n int) []entities.RunTag {
	out := make([]entities.RunTag, n)
	for i := range out {
		out[i] = entities.RunTag{Key: "t" + strings.Repeat("x", i), Value: "v"}
	}
	return out
}

func TestBatch(t *testing.T) {
	badMetrics := metrics(1001)
	badMetrics[3].Timestamp = -1
	for _, tc := range []struct {
		name  string
		m     []entities.Metric
		p     []entities.Param
		tg    []entities.RunTag
		field string
	}{
		{"empty", nil, nil, nil, ""},
		{"at limits", metrics(800), params(100), tags(100), ""},
		{"long values truncated", nil, []entities.Param{{Key: "a", Value: strings.Repeat("v", 7000)}},
			[]entities.RunTag{{Key: "b", Value: strings.Repeat("v", 9000)}}, ""},
		{"too many metrics", metrics(1001), nil, nil, "metrics"},
		{"too many params", nil, params(101), nil, "params"},
		{"too many tags", nil, nil, tags(101), "tags"},
		{"too many total", metrics(900), params(100), tags(1), "metrics, params, and tags"},
		// items are checked before limits, as in MLflow
		{"item before limit", badMetrics, nil, nil, "metrics[3].timestamp"},
		{"metric name", []entities.Metric{{Key: "ok"}, {Key: "a@b"}}, nil, nil, "metrics[1].name"},
		{"param key", nil, []entities.Param{{Key: "ok"}, {Key: "a@b"}}, nil, "params[1].key"},
		{"param key length", nil, []entities.Param{{Key: strings.Repeat("k", 251)}}, nil, "params[0].key"},
		{"tag key", nil, nil, []entities.RunTag{{Key: "a@b"}}, "tags[0].key"},
		{"tag key length", nil, nil, []entities.RunTag{{Key: strings.Repeat("k", 251)}}, "tags[0].key"},
		// metrics before params before tags
		{"order", []entities.Metric{{Key: "a@b"}}, []entities.Param{{Key: "a@b"}}, nil, "metrics[0].name"},
		{"duplicates", nil, []entities.Param{{Key: "a"}, {Key: "b"}, {Key: "a"}, {Key: "a"}}, nil, "params"},
		// limits before duplicates
		{"limit before duplicates", nil, append(params(101), entities.Param{Key: "p"}), nil, "params"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate.Batch(tc.m, tc.p, tc.tg)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, errs.ErrInvalidParameter, tc.field)
		})
	}
}

func TestLogBatch_Values(t *testing.T) {
	p, tg, err := validate.LogBatch(nil,
		[]entities.Param{{Key: "a", Value: strings.Repeat("v", 7000)}},
		[]entities.RunTag{{Key: "b", Value: strings.Repeat("v", 9000)}}, true)
	require.NoError(t, err)
	require.Len(t, p[0].Value, 6000)
	require.Len(t, tg[0].Value, 8000)

	_, _, err = validate.LogBatch(nil, nil, []entities.RunTag{{Key: "b", Value: strings.Repeat("v", 9000)}}, false)
	requireInvalid(t, err, errs.ErrInvalidParameter, "tags[0].value")
	_, _, err = validate.LogBatch(nil, []entities.Param{{Key: "a", Value: strings.Repeat("v", 7000)}}, nil, false)
	requireInvalid(t, err, errs.ErrInvalidParameter, "params[0].value")
}

func TestBatch_DuplicateValue(t *testing.T) {
	err := validate.Batch(nil, []entities.Param{{Key: "a"}, {Key: "b"}, {Key: "a"}, {Key: "a"}}, nil)
	ve := requireInvalid(t, err, errs.ErrInvalidParameter, "params")
	require.Equal(t, "['a', 'a']", ve.Value)
}

func TestError_HandBuilt(t *testing.T) {
	err := &validate.Error{Field: "key", Value: "x", Rule: "r"}
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.True(t, strings.HasPrefix(err.Error(), "mlruns: Invalid value"))
}
