package fuzz_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/mlruns-go/mlruns/dataset"
	"github.com/mlruns-go/mlruns/errs"
)

// FuzzDatasetURI: any text resolves or is refused with ErrInvalidParameter,
// never a panic; a resolved source's JSON is one key holding the text
// unchanged ("url" for http, "uri" otherwise), and its MetaDataset record
// builds.
func FuzzDatasetURI(f *testing.F) {
	for _, s := range []string{"/tmp/x.csv", "s3://b/k", "https://h/x", "file://remote/x", "https://[::1/x",
		"https://[v1.x]/x", "foo://localhost/x", "C:\\x", " \thttps://h", "dbfs:/x", "é://x", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		src, err := dataset.URI(uri)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalidParameter) {
				t.Fatalf("URI(%q): %v is not ErrInvalidParameter", uri, err)
			}
			return
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(src.JSON()), &m); err != nil {
			t.Fatalf("URI(%q): source JSON %s: %v", uri, src.JSON(), err)
		}
		key := "uri"
		if src.Type() == "http" {
			key = "url"
		}
		if len(m) != 1 || m[key] != uri {
			t.Fatalf("URI(%q): source JSON %s does not hold the text under %q", uri, src.JSON(), key)
		}
		ds, err := dataset.Meta(src)
		if err != nil || len(ds.Digest) != 8 || ds.SourceType != src.Type() {
			t.Fatalf("Meta(URI(%q)) = %+v, %v", uri, ds, err)
		}
	})
}

// FuzzDatasetTable: a table of any shape and content builds or is refused
// with ErrInvalidParameter; a built one has an 8-digit digest and schema
// and profile that are JSON.
func FuzzDatasetTable(f *testing.F) {
	f.Add([]byte("a\x00b"), 3, "x")
	f.Add([]byte{}, 0, "")
	f.Add([]byte("\xff\xfe"), 1, "\xff")
	f.Fuzz(func(t *testing.T, data []byte, rows int, name string) {
		rows = max(0, min(rows, 64))
		var cols []dataset.Column
		for i, b := range data {
			if i >= 6 {
				break
			}
			n := rows
			if b&0x80 != 0 {
				n = int(b & 7) // sometimes another length
			}
			colName := name + string(rune('a'+b%5))
			switch b % 4 {
			case 0:
				v := make([]float64, n)
				for j := range v {
					v[j] = float64(int(b)-j) / 3
				}
				cols = append(cols, dataset.Float64s(colName, v))
			case 1:
				v := make([]int64, n)
				for j := range v {
					v[j] = int64(b) << j
				}
				cols = append(cols, dataset.Int64s(colName, v))
			case 2:
				v := make([]string, n)
				for j := range v {
					v[j] = string(data[:j%len(data)])
				}
				cols = append(cols, dataset.Strings(colName, v))
			default:
				cols = append(cols, dataset.Bools(colName, make([]bool, n)))
			}
		}
		src, err := dataset.URI("s3://b/k")
		if err != nil {
			t.Fatal(err)
		}
		ds, err := dataset.Table(src, cols, dataset.Targets(name+"a"))
		if err != nil {
			if !errors.Is(err, errs.ErrInvalidParameter) {
				t.Fatalf("Table: %v is not ErrInvalidParameter", err)
			}
			return
		}
		if len(ds.Digest) != 8 || ds.Schema == nil || ds.Profile == nil ||
			!json.Valid([]byte(*ds.Schema)) || !json.Valid([]byte(*ds.Profile)) {
			t.Fatalf("Table: bad record %+v", ds)
		}
	})
}

// FuzzDatasetArrays: any shape over any number of values builds or is
// refused with ErrInvalidParameter; a built one's profile is JSON.
func FuzzDatasetArrays(f *testing.F) {
	f.Add(6, 2, 3, -1)
	f.Add(0, 0, math.MaxInt, 4) // a dimension whose product overflows, on 32 and 64 bits
	f.Add(1, -1, 1, 1)
	f.Fuzz(func(t *testing.T, n, d0, d1, d2 int) {
		n = max(0, min(n, 1000))
		shape := []int{d0, d1}
		if d2 >= 0 {
			shape = append(shape, d2)
		}
		src, err := dataset.URI("/x.npy")
		if err != nil {
			t.Fatal(err)
		}
		ds, err := dataset.Arrays(src, dataset.Int64Array(make([]int64, n), shape...),
			dataset.TargetArray(dataset.Float64Array(make([]float64, n))))
		if err != nil {
			if !errors.Is(err, errs.ErrInvalidParameter) {
				t.Fatalf("Arrays(%d, %v): %v is not ErrInvalidParameter", n, shape, err)
			}
			return
		}
		if len(ds.Digest) != 8 || !json.Valid([]byte(*ds.Profile)) || !json.Valid([]byte(*ds.Schema)) {
			t.Fatalf("Arrays(%d, %v): bad record %+v", n, shape, ds)
		}
	})
}
