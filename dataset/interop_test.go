package dataset_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/dataset"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/internal/restjson"
)

// twinCase describes one dataset to both sides: the Go constructor builds
// it here, testdata/twin.py builds its Python twin with MLflow 3.18, and
// the records must be equal field by field.
type twinCase struct {
	Kind        string       `json:"kind"` // meta, file, table
	Source      twinSource   `json:"source"`
	Name        *string      `json:"name,omitempty"`
	Digest      *string      `json:"digest,omitempty"`
	Schema      []twinSpec   `json:"schema,omitempty"`
	Columns     []twinColumn `json:"columns,omitempty"`
	Targets     *string      `json:"targets,omitempty"`
	Predictions *string      `json:"predictions,omitempty"`
	Features    *twinArray   `json:"features,omitempty"`
	TargetArray *twinArray   `json:"target_array,omitempty"`
}

type twinArray struct {
	Kind   string `json:"kind"` // float64 (values are the bits), int64
	Values any    `json:"values"`
	Shape  []int  `json:"shape"`
}

func (a twinArray) array() dataset.Array {
	if v, ok := a.Values.([]int64); ok {
		return dataset.Int64Array(v, a.Shape...)
	}
	bits := a.Values.([]uint64)
	fs := make([]float64, len(bits))
	for j, b := range bits {
		fs[j] = math.Float64frombits(b)
	}
	return dataset.Float64Array(fs, a.Shape...)
}

type twinSource struct {
	Kind  string      `json:"kind"` // http, uri, code
	Value string      `json:"value"`
	Tags  [][2]string `json:"tags,omitempty"` // sorted by key
}

type twinSpec struct {
	Name     *string `json:"name,omitempty"`
	Type     string  `json:"type"`
	Required bool    `json:"required"`
}

type twinColumn struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // float64 (values are the bits), int64, string, bool
	Values any    `json:"values"`
}

// twinRecord is what a side records (the fields of mlflow.entities.Dataset),
// or its error.
type twinRecord struct {
	restjson.Dataset
	Error string `json:"error,omitempty"`
}

func (c twinCase) source() (dataset.Source, error) {
	switch c.Source.Kind {
	case "http":
		return dataset.HTTP(c.Source.Value)
	case "uri":
		return dataset.URI(c.Source.Value)
	}
	tags := map[string]string{}
	for _, kv := range c.Source.Tags {
		tags[kv[0]] = kv[1]
	}
	return dataset.Code(tags)
}

// build makes the case's dataset with the package's API.
func (c twinCase) build() (entities.Dataset, error) {
	var opts []dataset.Option
	if c.Name != nil {
		opts = append(opts, dataset.Name(*c.Name))
	}
	if c.Digest != nil {
		opts = append(opts, dataset.Digest(*c.Digest))
	}
	if c.Schema != nil {
		specs := make([]dataset.ColSpec, len(c.Schema))
		for i, s := range c.Schema {
			specs[i] = dataset.ColSpec{Type: dataset.DataType(s.Type), Optional: !s.Required}
			if s.Name != nil {
				specs[i].Name = *s.Name
			}
		}
		opts = append(opts, dataset.Schema(specs...))
	}
	if c.Targets != nil {
		opts = append(opts, dataset.Targets(*c.Targets))
	}
	if c.Predictions != nil {
		opts = append(opts, dataset.Predictions(*c.Predictions))
	}
	if c.TargetArray != nil {
		opts = append(opts, dataset.TargetArray(c.TargetArray.array()))
	}
	switch c.Kind {
	case "file":
		return dataset.File(c.Source.Value, opts...)
	case "arrays":
		src, err := c.source()
		if err != nil {
			return entities.Dataset{}, err
		}
		return dataset.Arrays(src, c.Features.array(), opts...)
	case "table":
		src, err := c.source()
		if err != nil {
			return entities.Dataset{}, err
		}
		cols := make([]dataset.Column, len(c.Columns))
		for i, col := range c.Columns {
			switch v := col.Values.(type) {
			case []uint64:
				fs := make([]float64, len(v))
				for j, b := range v {
					fs[j] = math.Float64frombits(b)
				}
				cols[i] = dataset.Float64s(col.Name, fs)
			case []int64:
				cols[i] = dataset.Int64s(col.Name, v)
			case []string:
				cols[i] = dataset.Strings(col.Name, v)
			case []bool:
				cols[i] = dataset.Bools(col.Name, v)
			}
		}
		return dataset.Table(src, cols, opts...)
	}
	src, err := c.source()
	if err != nil {
		return entities.Dataset{}, err
	}
	return dataset.Meta(src, opts...)
}

// requireTwins builds every case on both sides and compares the records.
func requireTwins(t *testing.T, cases []twinCase) {
	t.Helper()
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	var want []twinRecord
	require.NoError(t, json.Unmarshal(interoptest.Run(t, filepath.Join("testdata", "twin.py"), in), &want))
	require.Len(t, want, len(cases))
	for i, c := range cases {
		ds, err := c.build()
		desc, _ := json.Marshal(c)
		if len(desc) > 300 {
			desc = append(desc[:300], "..."...)
		}
		if want[i].Error != "" {
			require.Error(t, err, "case %d %s: Python refuses it (%s)", i, desc, want[i].Error)
			continue
		}
		require.NoError(t, err, "case %d %s", i, desc)
		got := twinRecord{Dataset: restjson.Dataset{Name: ds.Name, Digest: ds.Digest, SourceType: ds.SourceType,
			Source: ds.Source, Schema: ds.Schema, Profile: ds.Profile}}
		require.Equal(t, want[i], got, "case %d %s", i, desc)
	}
}

func ptr[T any](v T) *T { return &v }

func TestMeta_Interop_MatchesMetaDataset(t *testing.T) {
	named := func(n string) *string { return &n }
	cases := []twinCase{
		{Kind: "meta", Source: twinSource{Kind: "http", Value: "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"}},
		{Kind: "meta", Source: twinSource{Kind: "http", Value: "http://example.com/data.csv"}, Name: ptr("imdb")},
		{Kind: "meta", Source: twinSource{Kind: "http", Value: "https://h/é/😀/\"q\"\\\t\x7f"}, Name: ptr("名前 \n")},
		{Kind: "meta", Source: twinSource{Kind: "http", Value: "https://h/x"}, Digest: ptr("abc")},
		{Kind: "meta", Source: twinSource{Kind: "uri", Value: "s3://bucket/train/part-0.parquet"}, Schema: []twinSpec{
			{Name: named("text"), Type: "string", Required: true}, {Name: named("label"), Type: "long", Required: false},
		}},
		{Kind: "meta", Source: twinSource{Kind: "uri", Value: "/data/train.csv"}, Name: ptr("train"), Schema: []twinSpec{
			{Type: "double", Required: true}, {Type: "binary", Required: true},
		}},
		{Kind: "meta", Source: twinSource{Kind: "uri", Value: "gs://b/k"}, Schema: []twinSpec{
			{Name: named("b"), Type: "boolean", Required: true}, {Name: named("i"), Type: "integer", Required: true},
			{Name: named("f"), Type: "float", Required: true}, {Name: named("d"), Type: "datetime", Required: false},
		}},
		{Kind: "meta", Source: twinSource{Kind: "code"}},
		{Kind: "meta", Source: twinSource{Kind: "code", Tags: [][2]string{
			{"mlflow.source.name", "train.go"}, {"mlflow.source.type", "LOCAL"}, {"mlflow.user", "ünï"},
		}}},
	}
	requireTwins(t, cases)
}

func TestURI_Interop_MatchesResolveDatasetSource(t *testing.T) {
	uris := []string{
		"/tmp/x.csv", "x.csv", "./a/b", "", " ", "file:///tmp/x.csv", "file:/x", "FILE:///x", "file://localhost/x",
		"file://localhost:80/x", "file://127.0.0.1/x", "file://./x", "file://remote/x", "file://user@remote/x",
		"s3://b/k", "S3://b/k", "s3a://b/k", "r2://b/k", "b2://b/k", "gs://b/k", "wasbs://c@a.blob.core.windows.net/p",
		"abfss://c@a.dfs.core.windows.net/p", "ftp://h/x", "sftp://u@h/x", "hdfs://nn:8020/x", "viewfs://c/x",
		"http://h/x", "https://h/x", "HTTPS://H/X", " https://h/x", "\thttps://h/x", "ht\ntp://h/x", "https:x",
		"hf://datasets/x", "dbfs:/x", "/dbfs/x", "runs:/abc/x", "models:/m/1", "mlflow-artifacts:/x", "foo://x",
		"foo:/x", "foo://localhost/x", "foo://LOCALHOST/x", "foo://127.0.0.1x/x", "C:\\data\\x.csv", "c:/x", "1x:/y",
		"a+b.c-d://h/x", "a_b://h/x", ":x", "\\\\server\\share\\x", "https://[::1]/x", "https://[::1/x",
		"https://::1]/x", "https://[v1.x]/x", "https://[vz.x]/x", "https://[1.2.3.4]/x", "file://[::1]/x",
		"foo://[fe80::1%25eth0]/x", "https://bücher.de/x", "s3://b/k?v=1#f", "file://?x", "file://#x", "//h/x",
		"///x", "file:///C:/x", "x://", "x:",
	}
	cases := make([]twinCase, len(uris))
	for i, u := range uris {
		cases[i] = twinCase{Kind: "meta", Source: twinSource{Kind: "uri", Value: u}}
	}
	requireTwins(t, cases)
}

func TestFile_Interop_MatchesMetaDatasetOfLocalSource(t *testing.T) {
	dir := t.TempDir()
	var cases []twinCase
	for i, content := range []string{"", "a,b\n1,2\n", strings.Repeat("x", 100000)} {
		p := filepath.Join(dir, fmt.Sprintf("data %d.csv", i))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		cases = append(cases, twinCase{Kind: "file", Source: twinSource{Kind: "uri", Value: p}})
	}
	cases[1].Name = ptr("train")
	cases[2].Schema = []twinSpec{{Name: ptr("x"), Type: "string", Required: true}}
	cases = append(cases, twinCase{Kind: "file", Source: twinSource{Kind: "uri", Value: cases[0].Source.Value}, Digest: ptr("given")})
	requireTwins(t, cases)
}

func TestTable_Interop_MatchesPandasDataset(t *testing.T) {
	src := twinSource{Kind: "uri", Value: "s3://b/train.parquet"}
	nan := math.Float64bits(math.NaN())
	cases := []twinCase{
		{Kind: "table", Source: src, Columns: []twinColumn{
			{"b", "float64", []uint64{math.Float64bits(1.5), math.Float64bits(math.Copysign(0, -1)), nan}},
			{"a", "int64", []int64{1, 2, 3}},
			{"s", "string", []string{"x", "y", "é"}},
			{"t", "bool", []bool{true, false, true}},
		}},
		{Kind: "table", Source: src, Name: ptr("only bools"), Columns: []twinColumn{{"t", "bool", []bool{true, false}}}},
		{Kind: "table", Source: src, Columns: []twinColumn{{"s", "string", []string{"a", "b", "a", "", "long string over eight bytes"}}}},
		{Kind: "table", Source: src, Columns: []twinColumn{{"n", "int64", []int64{math.MinInt64, -1, 0, math.MaxInt64}}}},
		{Kind: "table", Source: src, Columns: []twinColumn{
			{"x", "float64", []uint64{}}, {"y", "int64", []int64{}}, {"z", "bool", []bool{}},
		}},
		{Kind: "table", Source: src, Columns: []twinColumn{{"s", "string", []string{}}}},
		{Kind: "table", Source: twinSource{Kind: "code", Tags: [][2]string{{"mlflow.source.name", "main.go"}}},
			Columns:     []twinColumn{{"x", "float64", []uint64{0x7ff8000000000001, 0xfff8000000000000, math.Float64bits(math.Inf(-1))}}, {"label", "int64", []int64{0, 1, 0}}},
			Targets:     ptr("label"),
			Predictions: ptr("x"),
			Digest:      ptr("d1")},
		{Kind: "table", Source: twinSource{Kind: "http", Value: "https://h/t.csv"}, Name: ptr("t"), Columns: []twinColumn{
			{"zeta", "string", []string{"a"}}, {"Alpha", "float64", []uint64{0}}, {"alpha", "int64", []int64{7}}, {"é", "string", []string{"b"}},
		}},
	}
	requireTwins(t, cases)
}

// TestTable_Interop_RandomTables compares random tables: every column
// kind, NaN payloads, ±0, ±Inf, Unicode text of every length, repeated
// values, column orders, and tables past the 10000 rows the digest reads.
func TestTable_Interop_RandomTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 3))
	src := twinSource{Kind: "uri", Value: "/data/t.csv"}
	var cases []twinCase
	for n := range 40 {
		rows := rng.IntN(30)
		switch n % 10 {
		case 8:
			rows = maxRowsForTest + rng.IntN(50)
		case 9:
			rows = maxRowsForTest - 1 - rng.IntN(3)
		}
		var cols []twinColumn
		for c := range 1 + rng.IntN(5) {
			name := randomText(rng) + fmt.Sprint(c)
			switch rng.IntN(4) {
			case 0:
				v := make([]uint64, rows)
				for i := range v {
					v[i] = randomFloatBits(rng)
				}
				cols = append(cols, twinColumn{name, "float64", v})
			case 1:
				v := make([]int64, rows)
				for i := range v {
					v[i] = int64(rng.Uint64()) >> rng.IntN(64)
				}
				cols = append(cols, twinColumn{name, "int64", v})
			case 2:
				v := make([]string, rows)
				for i := range v {
					v[i] = randomText(rng)
				}
				cols = append(cols, twinColumn{name, "string", v})
			default:
				v := make([]bool, rows)
				for i := range v {
					v[i] = rng.IntN(2) == 0
				}
				cols = append(cols, twinColumn{name, "bool", v})
			}
		}
		cases = append(cases, twinCase{Kind: "table", Source: src, Columns: cols})
	}
	requireTwins(t, cases)
}

func TestArrays_Interop_MatchesNumpyDataset(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 4))
	src := twinSource{Kind: "uri", Value: "/data/x.npy"}
	floats := func(n int) []uint64 {
		v := make([]uint64, n)
		for i := range v {
			v[i] = randomFloatBits(rng)
		}
		return v
	}
	ints := func(n int) []int64 {
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(rng.Uint64()) >> rng.IntN(64)
		}
		return v
	}
	cases := []twinCase{
		{Kind: "arrays", Source: src, Features: &twinArray{"float64", floats(6), []int{2, 3}},
			TargetArray: &twinArray{"int64", []int64{0, 1}, []int{2}}},
		{Kind: "arrays", Source: src, Features: &twinArray{"int64", ints(6), []int{6}}, Name: ptr("x")},
		{Kind: "arrays", Source: src, Features: &twinArray{"float64", []uint64{}, []int{0, 3}}},
		{Kind: "arrays", Source: src, Features: &twinArray{"float64", floats(24), []int{2, 3, 4}}, Digest: ptr("dd")},
		{Kind: "arrays", Source: src, Features: &twinArray{"float64", floats(3*maxRowsForTest + 3), []int{maxRowsForTest + 1, 3}},
			TargetArray: &twinArray{"float64", floats(maxRowsForTest + 1), []int{maxRowsForTest + 1}}},
		{Kind: "arrays", Source: src, Features: &twinArray{"int64", ints(maxRowsForTest - 1), []int{maxRowsForTest - 1, 1}}},
	}
	requireTwins(t, cases)
}

// maxRowsForTest is digest_utils.MAX_ROWS, written out so that the test
// does not take it from the code under test.
const maxRowsForTest = 10000

func randomFloatBits(rng *rand.Rand) uint64 {
	specials := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 1, -1, 0.1, 1e300, 5e-324}
	switch rng.IntN(5) {
	case 0:
		return math.Float64bits(specials[rng.IntN(len(specials))])
	case 1:
		return 0x7ff0000000000001 | rng.Uint64()&0x800fffffffffffff // a NaN of any sign and payload
	}
	return math.Float64bits(rng.NormFloat64() * 1000)
}

func randomText(rng *rand.Rand) string {
	alphabet := []rune("abcXYZ09 _-,\"\\\n\té😀中\u0301\u00a0")
	n := rng.IntN(20)
	if rng.IntN(6) == 0 {
		n = 0
	}
	var b strings.Builder
	for range n {
		b.WriteRune(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}
