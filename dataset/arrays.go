package dataset

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strconv"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/validate"
)

// Array is an n-dimensional array of float64 or int64 (a numpy array of
// dtype float64 or int64), its values in row-major (C) order. Make one with
// Float64Array or Int64Array.
type Array struct {
	shape  []int
	floats []float64
	ints   []int64
	isInt  bool
}

// Float64Array is an array of float64 of the given shape; without a shape
// it is one-dimensional.
func Float64Array(values []float64, shape ...int) Array {
	return Array{shape: shapeOr(shape, len(values)), floats: values}
}

// Int64Array is an array of int64 of the given shape; without a shape it is
// one-dimensional.
func Int64Array(values []int64, shape ...int) Array {
	return Array{shape: shapeOr(shape, len(values)), ints: values, isInt: true}
}

func shapeOr(shape []int, n int) []int {
	if len(shape) == 0 {
		return []int{n}
	}
	return slices.Clone(shape)
}

func (a Array) len() int {
	if a.isInt {
		return len(a.ints)
	}
	return len(a.floats)
}

func (a Array) dtype() string {
	if a.isInt {
		return "int64"
	}
	return "float64"
}

// check refuses an array whose shape does not hold its values.
func (a Array) check(field string) error {
	if a.shape == nil {
		return &validate.Error{Field: field, Rule: "must be made by Float64Array or Int64Array"}
	}
	size := 1
	for i, d := range a.shape {
		if d < 0 {
			return &validate.Error{Field: field + ".shape[" + strconv.Itoa(i) + "]", Value: strconv.Itoa(d), Rule: "must not be negative"}
		}
		if d != 0 && size > math.MaxInt/d {
			size = -1 // the product overflows: numpy refuses such a shape too
			break
		}
		size *= d
	}
	if size != a.len() {
		return &validate.Error{Field: field + ".shape", Value: strconv.Itoa(a.len()) + " values",
			Rule: "the shape's product must be the number of values"}
	}
	return nil
}

// appendHash appends compute_numpy_digest's part of the array: hash_array
// of the first 10000 values of the flattened array, then every dimension
// as int64.
func (a Array) appendHash(b []byte) []byte {
	for i := range min(a.len(), maxRows) {
		var h uint64
		if a.isInt {
			h = hashInt64(a.ints[i])
		} else {
			h = hashFloat64(a.floats[i])
		}
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	for _, d := range a.shape {
		b = binary.LittleEndian.AppendUint64(b, uint64(d))
	}
	return b
}

// tensorSchema is Schema([TensorSpec]).to_json() of the array as
// _infer_schema makes it: the first dimension is variable (-1).
func (a Array) tensorSchema() string {
	shape := make([]any, len(a.shape))
	shape[0] = -1
	for i, d := range a.shape[1:] {
		shape[i+1] = d
	}
	spec := object{{"type", "tensor"}, {"tensor-spec", object{{"dtype", a.dtype()}, {"shape", shape}}}}
	return dumps([]any{spec})
}

func (a Array) profile(prefix string) object {
	shape := make([]any, len(a.shape))
	for i, d := range a.shape {
		shape[i] = d
	}
	return object{{prefix + "_shape", shape}, {prefix + "_size", a.len()}, {prefix + "_nbytes", 8 * a.len()}}
}

// Arrays is a dataset of numpy arrays in memory: the NumpyDataset of
// mlflow.data.from_numpy(features, source, targets, name, digest), with
// targets from TargetArray.
//
// The digest is compute_numpy_digest's: MD5, cut to 8 hex digits, of
// pandas' hash_array of the first 10000 values of each flattened array
// (features, then targets) followed by its dimensions. The record has the
// schema {"mlflow_tensorspec": {"features": ..., "targets": ...}}, each a
// TensorSpec schema's JSON text with a variable first dimension, and the
// profile {"features_shape", "features_size", "features_nbytes"} (and the
// targets' three).
func Arrays(src Source, features Array, opts ...Option) (entities.Dataset, error) {
	o, err := collect("Arrays", []string{"TargetArray"}, opts)
	if err != nil {
		return entities.Dataset{}, err
	}
	if src.typ == "" {
		return entities.Dataset{}, &validate.Error{Field: "source", Rule: "must be made by HTTP, URI or Code"}
	}
	if err := features.check("features"); err != nil {
		return entities.Dataset{}, err
	}
	arrays := []Array{features}
	var targets any // None
	profile := features.profile("features")
	if o.targetArray != nil {
		if err := o.targetArray.check("targets"); err != nil {
			return entities.Dataset{}, err
		}
		arrays = append(arrays, *o.targetArray)
		targets = o.targetArray.tensorSchema()
		profile = append(profile, o.targetArray.profile("targets")...)
	}
	schema := dumps(object{{"mlflow_tensorspec", object{{"features", features.tensorSchema()}, {"targets", targets}}}})
	prof := dumps(profile)
	ds := entities.Dataset{Name: o.nameOr(), SourceType: src.typ, Source: src.json, Schema: &schema, Profile: &prof}
	if o.digest != nil {
		ds.Digest = *o.digest
	} else {
		var b []byte
		for _, a := range arrays {
			b = a.appendHash(b)
		}
		sum := md5.Sum(b)
		ds.Digest = hex.EncodeToString(sum[:])[:8]
	}
	return ds, nil
}
