package dataset_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/dataset"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/validate"
)

func mustURI(t *testing.T, uri string) dataset.Source {
	t.Helper()
	src, err := dataset.URI(uri)
	require.NoError(t, err)
	return src
}

// sourceOnly lets a source constructor's error stand in a dataset case.
func sourceOnly(_ dataset.Source, err error) (entities.Dataset, error) {
	return entities.Dataset{}, err
}

// TestConstructors_BadInput_Refused: every refusal is ErrInvalidParameter
// and names the offending field.
func TestConstructors_BadInput_Refused(t *testing.T) {
	s3 := mustURI(t, "s3://b/k")
	x := dataset.Float64s("x", []float64{1, 2})
	cases := []struct {
		name  string
		field string
		build func() (entities.Dataset, error)
	}{
		{"http: not an http URL", "url", func() (entities.Dataset, error) { return sourceOnly(dataset.HTTP("s3://b/k")) }},
		{"http: invalid UTF-8", "url", func() (entities.Dataset, error) { return sourceOnly(dataset.HTTP("https://h/\xff")) }},
		{"uri: no resolver", "uri", func() (entities.Dataset, error) { return sourceOnly(dataset.URI("dbfs:/x")) }},
		{"uri: file URI with a remote host", "uri", func() (entities.Dataset, error) { return sourceOnly(dataset.URI("file://remote/x")) }},
		{"uri: invalid IPv6 host", "uri", func() (entities.Dataset, error) { return sourceOnly(dataset.URI("https://[::1/x")) }},
		{"code: invalid UTF-8 tag value", "tags[k]", func() (entities.Dataset, error) { return sourceOnly(dataset.Code(map[string]string{"k": "\xc3"})) }},
		{"meta: zero source", "source", func() (entities.Dataset, error) { return dataset.Meta(dataset.Source{}) }},
		{"meta: empty name", "name", func() (entities.Dataset, error) { return dataset.Meta(s3, dataset.Name("")) }},
		{"meta: empty digest", "digest", func() (entities.Dataset, error) { return dataset.Meta(s3, dataset.Digest("")) }},
		{"meta: name not UTF-8", "name", func() (entities.Dataset, error) { return dataset.Meta(s3, dataset.Name("\xff")) }},
		{"meta: targets", "Targets", func() (entities.Dataset, error) { return dataset.Meta(s3, dataset.Targets("y")) }},
		{"meta: empty schema", "schema", func() (entities.Dataset, error) { return dataset.Meta(s3, dataset.Schema()) }},
		{"meta: unknown column type", "schema[0].type", func() (entities.Dataset, error) {
			return dataset.Meta(s3, dataset.Schema(dataset.ColSpec{Name: "a", Type: "int"}))
		}},
		{"meta: named and unnamed columns", "schema[1].name", func() (entities.Dataset, error) {
			return dataset.Meta(s3, dataset.Schema(dataset.ColSpec{Name: "a", Type: dataset.Long}, dataset.ColSpec{Type: dataset.Long}))
		}},
		{"meta: unnamed optional column", "schema[0].optional", func() (entities.Dataset, error) {
			return dataset.Meta(s3, dataset.Schema(dataset.ColSpec{Type: dataset.Long, Optional: true}))
		}},
		{"file: a URI", "path", func() (entities.Dataset, error) { return dataset.File("s3://b/k") }},
		{"file: a file URI", "path", func() (entities.Dataset, error) { return dataset.File("file:///etc/hosts") }},
		{"file: a folder", "path", func() (entities.Dataset, error) { return dataset.File(t.TempDir()) }},
		{"file: predictions", "Predictions", func() (entities.Dataset, error) { return dataset.File("x", dataset.Predictions("y")) }},
		{"table: zero source", "source", func() (entities.Dataset, error) { return dataset.Table(dataset.Source{}, []dataset.Column{x}) }},
		{"table: no columns", "columns", func() (entities.Dataset, error) { return dataset.Table(s3, nil) }},
		{"table: zero column", "columns[1]", func() (entities.Dataset, error) { return dataset.Table(s3, []dataset.Column{x, {}}) }},
		{"table: duplicate name", "columns[1].name", func() (entities.Dataset, error) {
			return dataset.Table(s3, []dataset.Column{x, dataset.Int64s("x", []int64{1, 2})})
		}},
		{"table: uneven lengths", "columns[1]", func() (entities.Dataset, error) {
			return dataset.Table(s3, []dataset.Column{x, dataset.Bools("b", []bool{true})})
		}},
		{"table: column name not UTF-8", "columns[0].name", func() (entities.Dataset, error) {
			return dataset.Table(s3, []dataset.Column{dataset.Bools("\xff", nil)})
		}},
		{"table: text not UTF-8", "columns[1][1]", func() (entities.Dataset, error) {
			return dataset.Table(s3, []dataset.Column{x, dataset.Strings("s", []string{"a", "\xe2\x82"})})
		}},
		{"table: missing targets column", "targets", func() (entities.Dataset, error) {
			return dataset.Table(s3, []dataset.Column{x}, dataset.Targets("y"))
		}},
		{"table: missing predictions column", "predictions", func() (entities.Dataset, error) {
			return dataset.Table(s3, []dataset.Column{x}, dataset.Predictions("y"))
		}},
		{"table: schema", "Schema", func() (entities.Dataset, error) {
			return dataset.Table(s3, []dataset.Column{x}, dataset.Schema(dataset.ColSpec{Name: "x", Type: dataset.Double}))
		}},
		{"arrays: zero array", "features", func() (entities.Dataset, error) { return dataset.Arrays(s3, dataset.Array{}) }},
		{"arrays: shape and values disagree", "features.shape", func() (entities.Dataset, error) {
			return dataset.Arrays(s3, dataset.Float64Array([]float64{1, 2, 3}, 2, 2))
		}},
		{"arrays: negative dimension", "targets.shape[1]", func() (entities.Dataset, error) {
			return dataset.Arrays(s3, dataset.Int64Array(nil), dataset.TargetArray(dataset.Int64Array(nil, 0, -1)))
		}},
		{"arrays: overflowing shape", "features.shape", func() (entities.Dataset, error) {
			return dataset.Arrays(s3, dataset.Int64Array(nil, math.MaxInt, math.MaxInt, math.MaxInt, 0))
		}},
		{"arrays: targets column", "Targets", func() (entities.Dataset, error) {
			return dataset.Arrays(s3, dataset.Int64Array(nil), dataset.Targets("y"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.build()
			require.ErrorIs(t, err, errs.ErrInvalidParameter)
			var verr *validate.Error
			require.ErrorAs(t, err, &verr)
			require.Equal(t, c.field, verr.Field)
		})
	}
}

func TestFile_Missing_NotFound(t *testing.T) {
	_, err := dataset.File(filepath.Join(t.TempDir(), "missing.csv"))
	require.ErrorIs(t, err, errs.ErrNotFound)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestFile_Digest_GivenSkipsRead: with Digest the file is not read, so a
// path that does not exist yet can be logged.
func TestFile_Digest_GivenSkipsRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "later.csv")
	ds, err := dataset.File(p, dataset.Digest("v1"))
	require.NoError(t, err)
	require.Equal(t, "v1", ds.Digest)
	require.Equal(t, "local", ds.SourceType)
}

// TestFile_NamedPipe_Refused: a named pipe is refused, not read (which
// would block until a writer comes).
func TestFile_NamedPipe_Refused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no named pipes in the file system on Windows")
	}
	p := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, mkfifo(p))
	_, err := dataset.File(p)
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
}

// TestTable_Options_DoNotChangeDigest: targets and predictions are checked
// but not recorded, as in PandasDataset; Digest replaces the digest only.
func TestTable_Options_DoNotChangeDigest(t *testing.T) {
	s3 := mustURI(t, "s3://b/k")
	cols := []dataset.Column{dataset.Float64s("x", []float64{math.NaN()}), dataset.Int64s("y", []int64{1})}
	plain, err := dataset.Table(s3, cols)
	require.NoError(t, err)
	with, err := dataset.Table(s3, cols, dataset.Targets("y"), dataset.Predictions("x"))
	require.NoError(t, err)
	require.Equal(t, plain, with)
	given, err := dataset.Table(s3, cols, dataset.Digest("mine"))
	require.NoError(t, err)
	require.Equal(t, "mine", given.Digest)
	require.Equal(t, plain.Schema, given.Schema)
	require.False(t, errors.Is(err, errs.ErrInvalidParameter))
}
