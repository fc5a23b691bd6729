"""Dump everything an MLflow tracking URI holds, read through MlflowClient,
as JSON on stdout. Used by filestore's interop tests to compare what Python
MLflow reads from a tree with what the Go store reads.

usage: python dump_client.py TRACKING_URI

Floats are written as Python repr strings ("nan", "-0.0", "1e-07") so NaN
stays comparable and the JSON valid.
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402


def metric_row(m):
    return [m.timestamp, repr(float(m.value)), m.step, m.dataset_name or "", m.dataset_digest or ""]


def main():
    client = MlflowClient(sys.argv[1])
    exps = client.search_experiments(view_type=ViewType.ALL, max_results=50000)
    out = {"experiments": [], "runs": []}
    for e in sorted(exps, key=lambda e: e.experiment_id):
        out["experiments"].append({
            "experiment_id": e.experiment_id,
            "name": e.name,
            "artifact_location": e.artifact_location,
            "lifecycle_stage": e.lifecycle_stage,
            "creation_time": e.creation_time,
            "last_update_time": e.last_update_time,
            "tags": dict(e.tags),
        })
    runs = client.search_runs(
        [e.experiment_id for e in exps], run_view_type=ViewType.ALL, max_results=50000
    )
    for r in sorted(runs, key=lambda r: r.info.run_id):
        i = r.info
        hist = {}
        for key in r.data.metrics:
            hist[key] = [metric_row(m) for m in client.get_metric_history(i.run_id, key)]
        latest = {}
        for key in r.data.metrics:
            # the latest value as the run reports it
            latest[key] = repr(float(r.data.metrics[key]))
        datasets = []
        for d in r.inputs.dataset_inputs:
            ds = d.dataset
            datasets.append({
                "name": ds.name, "digest": ds.digest, "source_type": ds.source_type,
                "source": ds.source, "schema": ds.schema, "profile": ds.profile,
                "tags": {t.key: t.value for t in d.tags},
            })
        datasets.sort(key=lambda d: (d["name"], d["digest"]))
        model_inputs = sorted(m.model_id for m in (r.inputs.model_inputs or []))
        outputs = sorted([o.model_id, o.step] for o in (r.outputs.model_outputs if r.outputs else []))
        out["runs"].append({
            "run_id": i.run_id, "run_name": i.run_name, "experiment_id": i.experiment_id,
            "user_id": i.user_id, "status": i.status, "start_time": i.start_time,
            "end_time": i.end_time, "artifact_uri": i.artifact_uri,
            "lifecycle_stage": i.lifecycle_stage,
            "metrics": latest, "params": dict(r.data.params), "tags": dict(r.data.tags),
            "datasets": datasets, "model_inputs": model_inputs, "model_outputs": outputs,
            "history": hist,
        })
    json.dump(out, sys.stdout, sort_keys=True, ensure_ascii=False)


if __name__ == "__main__":
    main()
