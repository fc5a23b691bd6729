package dataset

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/validate"
)

// maxRows is digest_utils.MAX_ROWS: the digest hashes the first rows only.
const maxRows = 10000

type columnKind int

const (
	noKind columnKind = iota
	float64Kind
	int64Kind
	stringKind
	boolKind
)

// Column is one named column of a table. Make one with Float64s, Int64s,
// Strings or Bools.
type Column struct {
	name   string
	kind   columnKind
	floats []float64
	ints   []int64
	strs   []string
	bools  []bool
}

// Float64s is a column of float64 (pandas dtype float64; a NaN is a missing
// value).
func Float64s(name string, values []float64) Column {
	return Column{name: name, kind: float64Kind, floats: values}
}

// Int64s is a column of int64 (pandas dtype int64).
func Int64s(name string, values []int64) Column {
	return Column{name: name, kind: int64Kind, ints: values}
}

// Strings is a column of text (pandas 3's default string dtype, "str").
func Strings(name string, values []string) Column {
	return Column{name: name, kind: stringKind, strs: values}
}

// Bools is a column of booleans (pandas dtype bool).
func Bools(name string, values []bool) Column {
	return Column{name: name, kind: boolKind, bools: values}
}

func (c Column) len() int {
	switch c.kind {
	case float64Kind:
		return len(c.floats)
	case int64Kind:
		return len(c.ints)
	case stringKind:
		return len(c.strs)
	}
	return len(c.bools)
}

// hash is hash_array of row r of the column.
func (c Column) hash(r int) uint64 {
	switch c.kind {
	case float64Kind:
		return hashFloat64(c.floats[r])
	case int64Kind:
		return hashInt64(c.ints[r])
	}
	return hashString(c.strs[r])
}

// colSpec is the column's ColSpec as mlflow.types.utils._infer_schema
// infers it from the DataFrame: a float column with a NaN is not required.
func (c Column) colSpec() ColSpec {
	switch c.kind {
	case float64Kind:
		return ColSpec{Name: c.name, Type: Double, Optional: slices.ContainsFunc(c.floats, func(f float64) bool { return f != f })}
	case int64Kind:
		return ColSpec{Name: c.name, Type: Long}
	case stringKind:
		return ColSpec{Name: c.name, Type: String}
	}
	return ColSpec{Name: c.name, Type: Boolean}
}

// Table is a table of records held in memory: the PandasDataset that
// mlflow.data.from_pandas(df, source, targets, name, digest, predictions)
// makes of a DataFrame with these columns in this order, under pandas 3.1
// (the pandas of the pinned Python MLflow).
//
// The digest is compute_pandas_digest's: MD5, cut to 8 hex digits, of
// pandas.util.hash_pandas_object of the first 10000 rows of the string and
// number columns (bool columns do not count; with both kinds present the
// columns are hashed in sorted name order, as pandas' Index.union sorts),
// then the row count as int64 and every column name. The row hashes are
// SipHash-2-4 for text and the bits for numbers (every NaN one value,
// -0.0 as 0.0, as pandas 3 has it; pandas before 3 hashed the raw bits).
// The record has the schema {"mlflow_colspec": [...]} (double, long,
// string, boolean; a float column with a NaN is not required) and the
// profile {"num_rows", "num_elements"}.
//
// The columns must all have the same length, and unique names; there must
// be at least one. Targets and Predictions must name one of them.
func Table(src Source, columns []Column, opts ...Option) (entities.Dataset, error) {
	o, err := collect("Table", []string{"Targets", "Predictions"}, opts)
	if err != nil {
		return entities.Dataset{}, err
	}
	if src.typ == "" {
		return entities.Dataset{}, &validate.Error{Field: "source", Rule: "must be made by HTTP, URI or Code"}
	}
	rows, err := checkColumns(columns)
	if err != nil {
		return entities.Dataset{}, err
	}
	for _, f := range []struct {
		field string
		col   *string
	}{{"targets", o.targets}, {"predictions", o.predictions}} {
		if f.col != nil && !slices.ContainsFunc(columns, func(c Column) bool { return c.name == *f.col }) {
			return entities.Dataset{}, &validate.Error{Field: f.field, Value: *f.col,
				Rule: "The specified pandas DataFrame does not contain the specified " + f.field + " column '" + *f.col + "'."}
		}
	}
	specs := make([]ColSpec, len(columns))
	for i, c := range columns {
		specs[i] = c.colSpec()
	}
	cols, err := schemaValue(specs)
	if err != nil {
		return entities.Dataset{}, err
	}
	schema := dumps(object{{"mlflow_colspec", cols}})
	profile := dumps(object{{"num_rows", rows}, {"num_elements", rows * len(columns)}})
	ds := entities.Dataset{Name: o.nameOr(), SourceType: src.typ, Source: src.json, Schema: &schema, Profile: &profile}
	if o.digest != nil {
		ds.Digest = *o.digest
	} else {
		ds.Digest = pandasDigest(columns, rows)
	}
	return ds, nil
}

// checkColumns returns the row count of well-formed columns.
func checkColumns(columns []Column) (int, error) {
	if len(columns) == 0 {
		return 0, &validate.Error{Field: "columns", Rule: "must hold at least one column"}
	}
	rows := columns[0].len()
	seen := make(map[string]bool, len(columns))
	for i, c := range columns {
		field := "columns[" + strconv.Itoa(i) + "]"
		if c.kind == noKind {
			return 0, &validate.Error{Field: field, Rule: "must be made by Float64s, Int64s, Strings or Bools"}
		}
		if err := validate.UTF8(field+".name", c.name); err != nil {
			return 0, err
		}
		if seen[c.name] {
			return 0, &validate.Error{Field: field + ".name", Value: c.name, Rule: "is the name of an earlier column"}
		}
		seen[c.name] = true
		if c.len() != rows {
			return 0, &validate.Error{Field: field, Value: c.name,
				Rule: "has " + strconv.Itoa(c.len()) + " rows, and column 0 has " + strconv.Itoa(rows)}
		}
		for r, s := range c.strs {
			if err := validate.UTF8(field+"["+strconv.Itoa(r)+"]", s); err != nil {
				return 0, err
			}
		}
	}
	return rows, nil
}

// pandasDigest is compute_pandas_digest of the DataFrame of columns.
func pandasDigest(columns []Column, rows int) string {
	var text, numbers []Column
	for _, c := range columns {
		switch c.kind {
		case stringKind:
			text = append(text, c)
		case float64Kind, int64Kind:
			numbers = append(numbers, c)
		}
	}
	// string_columns.union(numeric_columns): Index.union sorts, unless one
	// side is empty. Python compares str by code point, which for valid
	// UTF-8 is the byte order of strings.Compare. (With no rows every column counts as a string column,
	// but then no row is hashed and the order does not matter.)
	hashed := append(text, numbers...)
	if len(text) > 0 && len(numbers) > 0 {
		slices.SortFunc(hashed, func(a, b Column) int { return strings.Compare(a.name, b.name) })
	}
	trimmed := min(rows, maxRows)
	buf := make([]byte, 0, 8*trimmed+8)
	for r := range trimmed {
		c := newCombiner(len(hashed) + 1)
		for _, col := range hashed {
			c.add(col.hash(r))
		}
		c.add(hashInt64(int64(r))) // the RangeIndex
		buf = binary.LittleEndian.AppendUint64(buf, c.sum())
	}
	buf = binary.LittleEndian.AppendUint64(buf, uint64(rows))
	h := md5.New()
	h.Write(buf)
	for _, c := range columns {
		h.Write([]byte(c.name))
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}
