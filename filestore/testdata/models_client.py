"""Logged models through Python MLflow's MlflowClient, for filestore's
interop tests (models_test.go).

usage: python models_client.py write TRACKING_URI
    Runs the operation sequence of the tests (the Go test runs the same one
    through the Go store) and prints {"experiment_id", "run_id", "models":
    {name: model_id}} as JSON.

usage: python models_client.py read TRACKING_URI < spec.json
    spec is {"get": [model_id, ...], "searches": [search, ...]}, a search
    {"experiment_ids", "filter", "datasets", "max_results", "order_by",
    "page_token"}; prints {"get": [model or {"error": code}],
    "searches": [{"ids": [...], "token": str or null} or {"error": code}]}.

Floats are written as Python repr strings so the JSON stays exact.
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import LoggedModelStatus, Metric  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


def write(client):
    exp = client.create_experiment("models")
    run = client.create_run(exp).info.run_id
    a = client.create_logged_model(
        exp, name="alpha", source_run_id=run, model_type="agent",
        tags={"team": "x", "t/nested": "v"}, params={"lr": "0.1", "p q": "multi\nline"},
    )
    b = client.create_logged_model(exp, name="beta")
    c = client.create_logged_model(exp, name="gamma", tags={"mlflow.model.isExternal": "true"})
    d = client.create_logged_model(exp, name="delta")
    client.log_metric(run, "acc", 0.5, timestamp=1000, step=1, model_id=a.model_id,
                      dataset_name="ds", dataset_digest="dg")
    client.log_metric(run, "acc", 0.7, timestamp=2000, step=2, model_id=a.model_id)
    client.log_metric(run, "acc", 0.9, timestamp=1500, step=1, model_id=b.model_id,
                      dataset_name="ds", dataset_digest="dg")
    client.log_batch(run, metrics=[
        Metric("loss", 0.25, 3000, 0, model_id=b.model_id),
        Metric("loss", 0.125, 3001, 1, model_id=b.model_id),
    ])
    client.finalize_logged_model(a.model_id, LoggedModelStatus.READY)
    client.finalize_logged_model(c.model_id, LoggedModelStatus.FAILED)
    client.set_logged_model_tags(b.model_id, {"stage": "dev"})
    client.delete_logged_model_tag(a.model_id, "team")
    client.log_model_params(b.model_id, {"x": "1"})
    client.log_model_params(b.model_id, {"x": "2"})
    client.delete_logged_model(d.model_id)
    names = {m.name: m.model_id for m in (a, b, c, d)}
    print(json.dumps({"experiment_id": exp, "run_id": run, "models": names}))


def model_json(m):
    metrics = [
        [x.key, repr(float(x.value)), x.timestamp, x.step, x.dataset_name, x.dataset_digest,
         x.run_id, x.model_id]
        for x in (m.metrics or [])
    ]
    metrics.sort(key=lambda r: r[0])  # stable: groups keep their order within a key
    return {
        "model_id": m.model_id, "experiment_id": m.experiment_id, "name": m.name,
        "artifact_location": m.artifact_location,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "model_type": m.model_type, "source_run_id": m.source_run_id,
        "status": str(m.status), "status_message": m.status_message,
        "tags": dict(m.tags), "params": dict(m.params), "metrics": metrics,
    }


def error_code(e):
    return {"error": e.error_code}


def read(client, spec):
    out = {"get": [], "searches": []}
    for mid in spec["get"]:
        try:
            out["get"].append(model_json(client.get_logged_model(mid)))
        except MlflowException as e:
            out["get"].append(error_code(e))
    for q in spec["searches"]:
        try:
            page = client.search_logged_models(
                experiment_ids=q["experiment_ids"], filter_string=q.get("filter") or None,
                datasets=q.get("datasets") or None, max_results=q.get("max_results") or None,
                order_by=q.get("order_by") or None, page_token=q.get("page_token") or None,
            )
            tok = page.token
            if isinstance(tok, bytes):
                tok = tok.decode()
            out["searches"].append({"ids": [m.model_id for m in page], "token": tok})
        except MlflowException as e:
            out["searches"].append(error_code(e))
    print(json.dumps(out))


def main():
    client = MlflowClient(sys.argv[2])
    if sys.argv[1] == "write":
        write(client)
    else:
        read(client, json.load(sys.stdin))


if __name__ == "__main__":
    main()
