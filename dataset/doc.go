// Package dataset makes the dataset records a run logs as inputs
// (mlflow.LogInput), so that a Go program does not fill in an
// entities.Dataset by hand: each constructor returns exactly the record
// Python MLflow 3.18 makes of the twin Python object (name, digest, source
// type, source JSON, schema and profile JSON, byte for byte).
//
//   - Meta: a dataset of which only the metadata is logged (MetaDataset),
//     for data at a URL or in a bucket; its digest is MLflow's hash of the
//     description.
//   - File: a local file, a MetaDataset whose digest is a hash of the
//     file's bytes (our rule: MLflow has none for a file's content).
//   - Table: columns of float64, int64, string and bool held in memory, the
//     PandasDataset of the same DataFrame, with pandas' digest.
//   - Arrays: float64 or int64 arrays of any shape (features, and targets),
//     the NumpyDataset of the same numpy arrays.
//
// Sources say where the data came from: HTTP (HTTPDatasetSource), URI
// (MLflow's resolve_dataset_source: local paths, s3, gs, ... URIs) and Code
// (CodeDatasetSource).
//
// The package builds values only: File reads the file it is given, and
// nothing here touches the tracking store.
package dataset
