"""Write the logged-model meta.yaml golden files as Python MLflow 3.18's
FileStore writes them, for layout's TestEncodeLoggedModelMeta_Golden.

usage: python gen_golden.py OUT_DIR < cases.json

Each case is {"name": file stem, "model": {LoggedModel fields, status as
its int}, "stage": "active" | "deleted" | null}. The dict is built the way
create_logged_model (stage active), finalize_logged_model (no stage) and
delete_logged_model (stage deleted) build it, and written with the same
write_yaml.
"""
import json
import os
import sys

from mlflow.entities import LoggedModel
from mlflow.store.tracking.file_store import FileStore
from mlflow.utils.yaml_utils import write_yaml


def main():
    out = sys.argv[1]
    for case in json.load(sys.stdin):
        model = LoggedModel(**case["model"])
        d = FileStore._make_persisted_model_dict(None, model)
        if case["stage"] is not None:
            d["lifecycle_stage"] = case["stage"]
        write_yaml(out, case["name"] + ".yaml", d, overwrite=True)


if __name__ == "__main__":
    main()
