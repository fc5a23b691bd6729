"""Read stores back with Python MLflow's MlflowClient for
parity_interop_test.go and print them as JSON.

Usage: python parity_dump.py SINCE_MS ROOT...   (prints {root: dump})

Only what cannot agree is normalised: ids (runs and logged models are named
by their names), times from SINCE_MS to now ("<now>": a time outside that
window, such as 0 or a given timestamp, is kept) and the root's path.
Metric histories keep get_metric_history's order, the file's line order.

FileStore.get_metric_history lists all the run's metric files on every call,
which makes reading the history of each of a run's 3500 metrics take
minutes; the dump, which changes nothing, remembers each listing.
"""
import json
import re
import sys
import time

from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.store.tracking.file_store import FileStore

DROP = {"mlflow.user", "mlflow.source.name"}


_listed = {}
_list_run_files = FileStore._get_run_files


def _listed_run_files(self, run_info, resource_type):
    key = (self.root_directory, run_info.run_id, resource_type)
    if key not in _listed:
        _listed[key] = _list_run_files(self, run_info, resource_type)
    return _listed[key]


FileStore._get_run_files = _listed_run_files


def dump(root, since, now):
    def when(ts):
        return "<now>" if ts is not None and since <= ts <= now else ts

    client = MlflowClient(tracking_uri=root)
    exps = sorted(client.search_experiments(view_type=ViewType.ALL), key=lambda e: e.name)
    ids = [e.experiment_id for e in exps]
    models = client.search_logged_models(experiment_ids=ids, max_results=1000)
    model_names = {m.model_id: m.name for m in models}
    runs = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=50000)
    run_names = {r.info.run_id: r.info.run_name for r in runs}

    def named(run_id):
        return run_names.get(run_id, "<unknown run>")

    out_runs = []
    for r in sorted(runs, key=lambda r: r.info.run_name):
        run = client.get_run(r.info.run_id)
        tags = {k: v for k, v in run.data.tags.items()
                if k not in DROP and not k.startswith("mlflow.source.git.")}
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = named(tags["mlflow.parentRunId"])
        history = {
            key: [[m.step, repr(m.value), when(m.timestamp), m.dataset_name, m.dataset_digest]
                  for m in client.get_metric_history(run.info.run_id, key)]
            for key in sorted(run.data.metrics)
        }
        out_runs.append({
            "name": run.info.run_name,
            "status": run.info.status,
            "stage": run.info.lifecycle_stage,
            "user": run.info.user_id,
            "start": when(run.info.start_time),
            "end": when(run.info.end_time),
            "params": run.data.params,
            "tags": tags,
            "metrics": {k: repr(v) for k, v in run.data.metrics.items()},
            "history": history,
            "dataset_inputs": sorted(
                [d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
                 d.dataset.schema, d.dataset.profile, sorted((t.key, t.value) for t in d.tags)]
                for d in run.inputs.dataset_inputs
            ),
            "model_inputs": sorted(model_names.get(m.model_id, m.model_id)
                                   for m in run.inputs.model_inputs),
            "model_outputs": sorted(model_names.get(m.model_id, m.model_id)
                                    for m in run.outputs.model_outputs),
        })
    out_models = []
    for m in sorted(models, key=lambda m: m.name):
        m = client.get_logged_model(m.model_id)
        out_models.append({
            "name": m.name,
            "status": str(m.status),
            "source_run": named(m.source_run_id) if m.source_run_id else None,
            "metrics": sorted(
                [x.key, repr(x.value), x.step, when(x.timestamp), named(x.run_id),
                 x.dataset_name, x.dataset_digest]
                for x in (m.metrics or [])
            ),
        })
    return {
        "experiments": [[e.name, e.lifecycle_stage, e.tags,
                         re.sub(r"^.*/mlruns/", "<root>/", e.artifact_location)] for e in exps],
        "runs": out_runs,
        "models": out_models,
    }


def main():
    since = int(sys.argv[1])
    now = int(time.time() * 1000)
    print(json.dumps({root: dump(root, since, now) for root in sys.argv[2:]}, indent=1,
                     sort_keys=True))


main()
