"""The Python side of parity_interop_test.go (issue 15): MLflow's own calls
for each scenario, each into a fresh store.

Usage: python parity.py BASE SCENARIO...
Each scenario writes BASE/py-<scenario>/mlruns and may return what it saw
(error messages, file lines); the script prints {scenario: result} as JSON.
The Go test makes the same calls into BASE/go-<scenario>/mlruns.
"""
import json
import os
import sys

import numpy as np

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Dataset, Metric, Param, RunTag
from mlflow.tracking import fluent

ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID",
       "MLFLOW_ENABLE_ASYNC_LOGGING", "MLFLOW_RUN_ID")
MISSING_RUN = "0123456789abcdef0123456789abcdef"


def reset(root):
    """Fresh fluent state on a fresh store, as a new process would have."""
    while mlflow.active_run():
        mlflow.end_run()
    for name in ENV:
        os.environ.pop(name, None)
    fluent._active_experiment_id = None
    mlflow.set_tracking_uri(root)


def message(fn):
    """The error fn raises, as text ("" when it succeeds)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the text is what we compare
        return str(e)
    return ""


def timestamp_zero(root):
    with mlflow.start_run(run_name="fluent"):
        mlflow.log_metric("m", 1, timestamp=0)
        mlflow.log_metrics({"a": 1, "b": 2}, step=2, timestamp=0)
        mlflow.log_metric("plain", 3)
    c = MlflowClient()
    run_id = c.create_run("0", run_name="client").info.run_id
    c.log_metric(run_id, "m", 1, timestamp=0)
    c.log_batch(run_id, metrics=[Metric("b", 2, 0, 0), Metric("b", 3, 0, 1)])
    c.log_metric(run_id, "plain", 4)
    c.set_terminated(run_id)


def batches(root):
    with mlflow.start_run(run_name="fluent"):
        mlflow.log_metrics({f"m{i:04d}": i * 0.5 for i in range(2500)}, step=0, timestamp=1000)
        mlflow.log_metrics({f"k{i:04d}": float(i) for i in range(1001)}, step=1, timestamp=2000)
        mlflow.log_metrics({f"k{i:04d}": -float(i) for i in range(1001)}, step=0, timestamp=3000)
        mlflow.log_params({f"p{i:03d}": i for i in range(250)})
        mlflow.set_tags({f"t{i:03d}": f"v{i}" for i in range(150)})
    c = MlflowClient()
    run_id = c.create_run("0", run_name="client").info.run_id
    c.log_batch(
        run_id,
        metrics=[Metric(f"c{i % 10}", i / 7, i, (i * 37) % 150) for i in range(1500)],
        params=[Param(f"p{i:03d}", str(i)) for i in range(150)],
        tags=[RunTag(f"t{i:03d}", f"v{i}") for i in range(120)],
    )
    c.set_terminated(run_id)


TRAIN = dict(name="train", digest="abc123", source_type="local",
             source='{"uri": "/data/train.csv"}', schema='{"mlflow_colspec": []}',
             profile='{"num_rows": 3}')
EVAL = dict(name="eval", digest="def456", source_type="http",
            source='{"url": "https://example.com/eval"}')


def metric_inputs(root):
    c = MlflowClient()
    model_id = c.create_logged_model(experiment_id="0", name="model").model_id
    train, ev = Dataset(**TRAIN), Dataset(**EVAL)
    with mlflow.start_run(run_name="fluent"):
        mlflow.log_metric("acc", 0.5, step=0, timestamp=10, dataset=train, model_id=model_id)
        mlflow.log_metric("acc", 0.6, step=1, timestamp=11, dataset=train)
        mlflow.log_metric("loss", 0.1, timestamp=12, model_id=model_id)
        mlflow.log_metrics({"f1": 0.3, "f2": 0.4}, step=2, timestamp=13, dataset=ev)
        mlflow.log_metrics({"f1": 0.35}, step=3, timestamp=14, dataset=ev)
    run_id = c.create_run("0", run_name="client").info.run_id
    c.log_metric(run_id, "acc", 0.7, timestamp=20, step=0, model_id=model_id,
                 dataset_name="train", dataset_digest="abc123")
    c.set_terminated(run_id)


def bad_datasets(root):
    """A dataset reference a metric line cannot hold: what Python writes
    and whether its own reader takes it back."""
    c = MlflowClient()
    out = {}
    for case, name, digest in (("space", "a b", "d1"), ("empty_digest", "ds", "")):
        with mlflow.start_run(run_name=case) as run:
            err = message(lambda: mlflow.log_metric(
                "m", 1, timestamp=7, dataset=Dataset(name=name, digest=digest, source_type="local",
                                                     source="{}")))
        run_dir = os.path.join(root, "0", run.info.run_id)
        with open(os.path.join(run_dir, "metrics", "m")) as f:
            line = f.read()
        out[case] = {
            "log_error": err,
            "line": line,
            "inputs_recorded": os.path.isdir(os.path.join(run_dir, "inputs")),
            "read_error": message(lambda: c.get_run(run.info.run_id)),
        }
    return out


def end_running(root):
    mlflow.start_run(run_name="a")
    mlflow.end_run(status="RUNNING")
    mlflow.start_run(run_name="b")  # no nested=True: "a" is no longer active
    mlflow.end_run()
    c = MlflowClient()
    run_id = c.create_run("0", run_name="c").info.run_id
    c.set_terminated(run_id, "RUNNING")
    mlflow.start_run(run_name="parent")
    mlflow.start_run(run_name="child", nested=True)
    mlflow.end_run()
    mlflow.end_run()


def nested_end(root):
    """Python's `with` block of a parent around an unended nested child:
    its exit ends the innermost run (the child), the parent stays RUNNING
    and active."""
    c = MlflowClient()
    with mlflow.start_run(run_name="parent") as parent:
        child = mlflow.start_run(run_name="child", nested=True)
    active = mlflow.active_run()
    return {
        "parent": c.get_run(parent.info.run_id).info.status,
        "child": c.get_run(child.info.run_id).info.status,
        "parent_still_active": active is not None and active.info.run_id == parent.info.run_id,
    }


def str_params(root):
    with mlflow.start_run(run_name="str"):
        for key, value in (
            ("list_int", [64, 32]),
            ("dict_int", {"a": 1, "b": 2}),
            ("list_str", ["x", "y"]),
            ("bool", True),
            ("none", None),
            ("float", 0.1),
            ("float32", np.float32(0.1)),
            ("big", 1e16),
            ("list_any", [1, "a", None]),
            ("dict_any", {"k": [1]}),
        ):
            mlflow.log_param(key, value)


def async_env(value):
    def scenario(root):
        os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = value
        mlflow.start_run(run_name="async")
        err = message(lambda: mlflow.log_metric("x", 1, timestamp=5))
        mlflow.end_run()
        return {"log_error": err}
    return scenario


ASYNC_VALUES = {"true": "true", "TRUE": "TRUE", "1": "1", "false": "false", "0": "0",
                "yes": "yes", "empty": "", "space_true": " true"}


def errors(root):
    c = MlflowClient()
    out = {}
    os.environ["MLFLOW_EXPERIMENT_ID"] = "999"
    out["experiment_999"] = message(mlflow.start_run)
    del os.environ["MLFLOW_EXPERIMENT_ID"]
    deleted = c.create_run("0").info.run_id
    c.delete_run(deleted)
    out["deleted_metric"] = message(lambda: c.log_metric(deleted, "m", 1))
    out["deleted_tag"] = message(lambda: c.set_tag(deleted, "t", "v"))
    out["deleted_batch_param"] = message(lambda: c.log_batch(deleted, params=[Param("p", "v")]))
    for k in ("deleted_metric", "deleted_tag", "deleted_batch_param"):
        out[k] = out[k].replace(deleted, "<deleted>")
    out["missing_metric"] = message(lambda: c.log_metric(MISSING_RUN, "m", 1))
    live = c.create_run("0").info.run_id
    out["empty_metric_key"] = message(lambda: c.log_batch(live, metrics=[Metric("", 1, 0, 0)]))
    out["empty_param_key"] = message(lambda: c.log_batch(live, params=[Param("", "v")]))
    out["empty_tag_key"] = message(lambda: c.log_batch(live, tags=[RunTag("", "v")]))
    return out


SCENARIOS = {
    "timestamp_zero": timestamp_zero,
    "batches": batches,
    "metric_inputs": metric_inputs,
    "bad_datasets": bad_datasets,
    "end_running": end_running,
    "nested_end": nested_end,
    "str_params": str_params,
    "errors": errors,
}
SCENARIOS.update({"async_" + k: async_env(v) for k, v in ASYNC_VALUES.items()})


def main():
    base = sys.argv[1]
    results = {}
    for name in sys.argv[2:]:
        root = os.path.join(base, "py-" + name, "mlruns")
        reset(root)
        results[name] = SCENARIOS[name](root)
        reset(root)
    print(json.dumps(results))


main()
