# Builds the Python twin of each dataset case read from stdin (a JSON list,
# see dataset/interop_test.go) with MLflow 3.18 and writes the fields of
# its mlflow.entities.Dataset, or the error, as a JSON list.
import hashlib
import json
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np
import pandas as pd

import mlflow.data
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.http_dataset_source import HTTPDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, DataType, Schema


def source(s):
    if s["kind"] == "http":
        return HTTPDatasetSource(s["value"])
    if s["kind"] == "uri":
        return resolve_dataset_source(s["value"])
    return CodeDatasetSource(tags=dict(s.get("tags") or []))


def column(c):
    kind, values = c["kind"], c["values"]
    if kind == "float64":
        return pd.Series(np.array(values, dtype=np.uint64).view(np.float64))
    if kind == "int64":
        return pd.Series(np.array(values, dtype=np.int64))
    if kind == "string":
        return pd.Series(values, dtype="str")
    if kind == "bool":
        return pd.Series(np.array(values, dtype=bool))
    raise ValueError(kind)


def array(a):
    dtype = np.int64 if a["kind"] == "int64" else np.uint64
    values = np.array(a["values"], dtype=dtype).reshape(a["shape"])
    return values.view(np.float64) if a["kind"] == "float64" else values


def twin(case):
    src = source(case["source"])
    name, digest = case.get("name"), case.get("digest")
    if case["kind"] == "arrays":
        targets = array(case["target_array"]) if case.get("target_array") else None
        return mlflow.data.from_numpy(
            array(case["features"]), source=src, targets=targets, name=name, digest=digest
        )
    if case["kind"] == "table":
        df = pd.DataFrame({c["name"]: column(c) for c in case["columns"]})
        return mlflow.data.from_pandas(
            df, source=src, name=name, digest=digest,
            targets=case.get("targets"), predictions=case.get("predictions"),
        )
    schema = None
    if case.get("schema"):
        schema = Schema([
            ColSpec(DataType[c["type"]], c.get("name"), required=c["required"])
            for c in case["schema"]
        ])
    if case["kind"] == "file":
        with open(case["source"]["value"], "rb") as f:
            digest = digest or hashlib.sha256(f.read()).hexdigest()[:8]
    return MetaDataset(src, name=name, digest=digest, schema=schema)


out = []
for case in json.load(sys.stdin):
    try:
        e = twin(case)._to_mlflow_entity()
        out.append({
            "name": e.name, "digest": e.digest, "source_type": e.source_type,
            "source": e.source, "schema": e.schema, "profile": e.profile,
        })
    except Exception as exc:
        out.append({"error": f"{type(exc).__name__}: {exc}"})
json.dump(out, sys.stdout)
