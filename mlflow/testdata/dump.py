"""Read a store with Python MLflow and print it normalised as JSON.

Usage: python dump.py ROOT...   (prints {root: dump} for each)
Ids, times, the user, the source name and git tags are normalised away;
random run names become "<random>"; runs are listed sorted, so the dumps
of two trees written in different orders compare equal.
"""
import json
import os
import re
import sys
import time
from urllib.parse import unquote, urlparse

from mlflow import MlflowClient
from mlflow.entities import ViewType

now = time.time() * 1000
RANDOM = re.compile(r"^[a-z]+-[a-z]+-\d{1,4}$")  # randint(0, 1000): up to 1000
DROP = {"mlflow.user", "mlflow.source.name"}


def norm_time(ts):
    return "<now>" if abs(ts - now) < 86400000 else ts


def name_of(run):
    n = run.info.run_name
    return "<random>" if RANDOM.match(n) else n


def artifact_files(uri):
    """Every artifact file of a local artifact URI, with its bytes."""
    base = unquote(urlparse(uri).path) if uri.startswith("file:") else uri
    out = []
    for d, _, files in os.walk(base):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out.append([os.path.relpath(p, base), fh.read().decode("utf-8", "replace")])
    return sorted(out)


def dump(root):
    client = MlflowClient(tracking_uri=root)
    out = []
    for exp in sorted(client.search_experiments(view_type=ViewType.ALL), key=lambda e: e.name):
        runs = client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=50000)
        names = {r.info.run_id: name_of(r) for r in runs}
        dumped = []
        for r in runs:
            tags = {}
            for k, v in r.data.tags.items():
                if k in DROP or k.startswith("mlflow.source.git."):
                    continue
                if k == "mlflow.parentRunId":
                    v = names.get(v, "<unknown parent>")
                if k == "mlflow.runName":
                    v = name_of(r)
                tags[k] = v
            metrics = {}
            for key in r.data.metrics:
                hist = client.get_metric_history(r.info.run_id, key)
                metrics[key] = sorted([m.step, repr(m.value), norm_time(m.timestamp)] for m in hist)
            dumped.append({
                "name": name_of(r),
                "status": r.info.status,
                "stage": r.info.lifecycle_stage,
                "user": "<user>" if r.info.user_id else "",
                "ended": r.info.end_time is not None,
                "params": r.data.params,
                "tags": tags,
                "metrics": metrics,
                "artifacts": artifact_files(r.info.artifact_uri),
                "inputs": sorted(
                    [d.dataset.name, d.dataset.digest, sorted((t.key, t.value) for t in d.tags)]
                    for d in r.inputs.dataset_inputs
                ),
            })
        dumped.sort(key=lambda d: json.dumps(d, sort_keys=True))
        art = exp.artifact_location.replace(root, "<root>").replace(exp.experiment_id, "<id>")
        models = []
        for m in client.search_logged_models(experiment_ids=[exp.experiment_id], max_results=1000):
            artifacts = sorted(a.path for a in client.list_logged_model_artifacts(m.model_id))
            models.append({
                "name": m.name,
                "status": str(m.status),
                "source_run": names.get(m.source_run_id, m.source_run_id),
                "model_type": m.model_type,
                "params": m.params,
                "tags": {k: v for k, v in m.tags.items() if k not in DROP and not k.startswith("mlflow.source.git.")},
                "metrics": sorted([x.key, repr(x.value), x.step, names.get(x.run_id, x.run_id)] for x in m.metrics),
                "artifacts": artifacts,
            })
        models.sort(key=lambda d: json.dumps(d, sort_keys=True))
        out.append({
            "name": exp.name,
            "stage": exp.lifecycle_stage,
            "artifact_location": art,
            "tags": exp.tags,
            "runs": dumped,
            "models": models,
        })
    return out


print(json.dumps({root: dump(root) for root in sys.argv[1:]}, indent=1, sort_keys=True))

