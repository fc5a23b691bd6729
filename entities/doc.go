// Package entities holds the plain data types of MLflow's tracking model:
// experiments, runs, metrics, params, tags, datasets, inputs and logged
// models. It does no I/O and knows nothing of files; the layout package
// encodes these types and the filestore package stores them.
//
// Field names follow MLflow's Python entities (mlflow/entities) so that a
// reader of either code base finds the same words. Optional values that
// MLflow stores as None are pointers here.
package entities
