package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/validate"
)

// defaultName is Dataset.name when no name is given (mlflow/data/dataset.py).
const defaultName = "dataset"

// Option sets an optional part of a dataset. Name and Digest apply to every
// constructor, Schema to Meta and File, Targets and Predictions to Table,
// TargetArray to Arrays.
type Option func(*options)

type options struct {
	name, digest         *string
	schema               []ColSpec
	targets, predictions *string
	targetArray          *Array
	used                 []string // the options given, by name, for the applicability check
}

// Name names the dataset (Python's name=); without it the name is
// "dataset", as in Python.
func Name(name string) Option {
	return func(o *options) { o.name = &name; o.used = append(o.used, "Name") }
}

// Digest sets the digest instead of computing it (Python's digest=).
func Digest(digest string) Option {
	return func(o *options) { o.digest = &digest; o.used = append(o.used, "Digest") }
}

// Schema gives a metadata-only dataset its column schema (MetaDataset's
// schema=, an mlflow.types.Schema of ColSpecs).
func Schema(cols ...ColSpec) Option {
	return func(o *options) { o.schema = append([]ColSpec{}, cols...); o.used = append(o.used, "Schema") } // non-nil: Schema() is refused
}

// Targets names a table's target column (from_pandas' targets=). MLflow
// does not record it; the column must exist, as Python checks.
func Targets(column string) Option {
	return func(o *options) { o.targets = &column; o.used = append(o.used, "Targets") }
}

// Predictions names a table's predictions column (from_pandas'
// predictions=). MLflow does not record it; the column must exist.
func Predictions(column string) Option {
	return func(o *options) { o.predictions = &column; o.used = append(o.used, "Predictions") }
}

// TargetArray gives an Arrays dataset its targets (from_numpy's targets=).
func TargetArray(targets Array) Option {
	return func(o *options) { o.targetArray = &targets; o.used = append(o.used, "TargetArray") }
}

// collect applies opts and refuses an option the constructor has no use for
// and a name or digest that is empty or not UTF-8.
func collect(constructor string, allowed []string, opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	for _, u := range o.used {
		if u != "Name" && u != "Digest" && !slices.Contains(allowed, u) {
			return o, &validate.Error{Field: u, Value: "", Rule: "option " + u + " does not apply to " + constructor}
		}
	}
	for _, f := range []struct {
		field string
		value *string
	}{{"name", o.name}, {"digest", o.digest}} {
		if f.value == nil {
			continue
		}
		if *f.value == "" {
			return o, &validate.Error{Field: f.field, Value: "", Rule: "must not be empty (leave the option out for the default)"}
		}
		if err := validate.UTF8(f.field, *f.value); err != nil {
			return o, err
		}
	}
	return o, nil
}

func (o options) nameOr() string {
	if o.name != nil {
		return *o.name
	}
	return defaultName
}

// DataType is a column type of mlflow.types.DataType, by the name MLflow
// records.
type DataType string

// The DataTypes a ColSpec may have.
const (
	Boolean  DataType = "boolean"
	Integer  DataType = "integer" // 32-bit
	Long     DataType = "long"    // 64-bit
	Float    DataType = "float"   // 32-bit
	Double   DataType = "double"  // 64-bit
	String   DataType = "string"
	Binary   DataType = "binary"
	Datetime DataType = "datetime"
)

var dataTypes = []DataType{Boolean, Integer, Long, Float, Double, String, Binary, Datetime}

// ColSpec is one column of a schema: mlflow.types.ColSpec(type, name,
// required). An empty Name is an unnamed column (Python's name=None); the
// zero Optional is Python's default required=True.
type ColSpec struct {
	Name     string
	Type     DataType
	Optional bool
}

// schemaValue checks cols by mlflow.types.Schema's rules and returns
// Schema.to_dict().
func schemaValue(cols []ColSpec) ([]any, error) {
	if len(cols) == 0 {
		return nil, &validate.Error{Field: "schema", Rule: "Creating Schema with empty inputs is not allowed."}
	}
	named := cols[0].Name != ""
	out := make([]any, 0, len(cols))
	for i, c := range cols {
		field := "schema[" + strconv.Itoa(i) + "]"
		if !slices.Contains(dataTypes, c.Type) {
			return nil, &validate.Error{Field: field + ".type", Value: string(c.Type), Rule: "not one of MLflow's column types"}
		}
		if err := validate.UTF8(field+".name", c.Name); err != nil {
			return nil, err
		}
		if (c.Name != "") != named {
			return nil, &validate.Error{Field: field + ".name", Value: c.Name,
				Rule: "Creating Schema with a combination of named and unnamed inputs is not allowed."}
		}
		if !named && c.Optional {
			return nil, &validate.Error{Field: field + ".optional", Value: "true",
				Rule: "Creating Schema with unnamed optional inputs is not supported. Please name all inputs or make all inputs required."}
		}
		d := object{{"type", string(c.Type)}}
		if named {
			d = append(d, member{"name", c.Name})
		}
		out = append(out, append(d, member{"required", !c.Optional}))
	}
	return out, nil
}

// Meta is a dataset of which only the metadata is logged: Python's
// mlflow.data.meta_dataset.MetaDataset(source, name, digest, schema), for a
// file on a web server or in a bucket that the program does not read.
//
// Its digest, unless Digest gives one, is MetaDataset's: the first 8 hex
// digits of the SHA-256 of json.dumps of {"name", "source" (the source's
// JSON), "source_type", "schema" (Schema.to_dict(), or "" without one)}. It
// hashes the description, not the data: two files at the same URL get the
// same digest. The record has the schema as {"mlflow_colspec": [...]} and
// no profile.
func Meta(src Source, opts ...Option) (entities.Dataset, error) {
	o, err := collect("Meta", []string{"Schema"}, opts)
	if err != nil {
		return entities.Dataset{}, err
	}
	return meta(src, o)
}

func meta(src Source, o options) (entities.Dataset, error) {
	if src.typ == "" {
		return entities.Dataset{}, &validate.Error{Field: "source", Rule: "must be made by HTTP, URI or Code"}
	}
	ds := entities.Dataset{Name: o.nameOr(), SourceType: src.typ, Source: src.json}
	var schema any = ""
	if o.schema != nil {
		cols, err := schemaValue(o.schema)
		if err != nil {
			return entities.Dataset{}, err
		}
		schema = cols
		s := dumps(object{{"mlflow_colspec", cols}})
		ds.Schema = &s
	}
	if o.digest != nil {
		ds.Digest = *o.digest
	} else {
		config := object{{"name", ds.Name}, {"source", src.json}, {"source_type", src.typ}, {"schema", schema}}
		sum := sha256.Sum256(appendJSON(nil, config))
		ds.Digest = hex.EncodeToString(sum[:])[:8]
	}
	return ds, nil
}

// File is a dataset read from a local file: a MetaDataset whose source is
// the path (URI's local source: type "local", {"uri": path}, the path as
// given) and whose digest is computed from the file's bytes.
//
// MLflow defines no digest of a file's content (MetaDataset hashes only its
// description), so this digest is ours: the first 8 hex digits of the
// SHA-256 of the file's bytes, as long as MLflow's own digests. The Python
// twin is MetaDataset(LocalArtifactDatasetSource(path), name,
// digest=hashlib.sha256(data).hexdigest()[:8], schema). Digest overrides it
// and then the file is not read.
func File(path string, opts ...Option) (entities.Dataset, error) {
	o, err := collect("File", []string{"Schema"}, opts)
	if err != nil {
		return entities.Dataset{}, err
	}
	src, err := URI(path)
	if err != nil {
		return entities.Dataset{}, err
	}
	if p, _ := urlParse(path); src.typ != "local" || p.scheme == "file" {
		return entities.Dataset{}, &validate.Error{Field: "path", Value: path, Rule: "must be a local file path, not a URI (use Meta with URI for a remote source)"}
	}
	if o.digest == nil {
		d, err := fileDigest(path)
		if err != nil {
			return entities.Dataset{}, err
		}
		o.digest = &d
	}
	return meta(src, o)
}

// fileDigest is the first 8 hex digits of the SHA-256 of the file's bytes.
// Only a regular file is read: a named pipe or a device would block or never
// end (checked before the open, and again on the open file).
func fileDigest(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fileError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", &validate.Error{Field: "path", Value: path, Rule: "must be a regular file"}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fileError(path, err)
	}
	defer f.Close()
	if fi2, err := f.Stat(); err != nil || !os.SameFile(fi, fi2) {
		return "", &validate.Error{Field: "path", Value: path, Rule: "changed while it was opened"}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fileError(path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:8], nil
}

// fileError wraps an I/O error; a missing file is errs.ErrNotFound.
func fileError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mlruns: dataset file %q: %w (%w)", path, errs.ErrNotFound, err)
	}
	return fmt.Errorf("mlruns: dataset file %q: %w", path, err)
}
