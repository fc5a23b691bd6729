"""Runs difftest workloads against Python MLflow, and dumps what a store holds.

Usage (JSON on stdin, JSON on stdout):

  driver.py run   {"workloads": [{"root": "/abs/root", "ops": [...]}, ...]}
      -> {"results": [Result, ...]}   (see ops.go: outcomes, details,
         experiments, runs, run_names, start_time_now)
  driver.py dump  {"roots": ["/abs/root", ...]}
      -> {"dumps": [[line, ...], ...]}  (see dump.go for the line format)

A root is a folder (Python's FileStore) or an http(s) tracking URI (a
tracking server; see open_store). Each op calls the store directly with the
arguments MlflowClient would pass.
"""

import json
import os
import math
import struct
import sys
import traceback
import warnings

warnings.simplefilter("ignore")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import (  # noqa: E402
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.tracking.file_store import FileStore  # noqa: E402
from mlflow.utils.time import get_current_time_millis  # noqa: E402

RUN_NAME = "mlflow.runName"
PARENT = "mlflow.parentRunId"


class NoRef(Exception):
    pass


def slot(ids, i):
    if i is None:
        i = 0
    if i < 0 or i >= len(ids) or not ids[i]:
        raise NoRef()
    return ids[i]


def to_float(s):
    if s.startswith("bits:"):
        return struct.unpack(">d", bytes.fromhex(s[5:]))[0]
    return float(s)


def metric(m):
    return Metric(
        key=m["key"],
        value=to_float(m["value"]),
        timestamp=m["timestamp"],
        step=m.get("step", 0),
        dataset_name=m.get("dataset_name") if m.get("dataset_digest") is not None else None,
        dataset_digest=m.get("dataset_digest") if m.get("dataset_name") is not None else None,
    )


def exec_op(store, op, res):
    kind = op["op"]
    exps, runs = res["experiments"], res["runs"]
    if kind == "create_experiment":
        exps.append("")
        tags = [ExperimentTag(k, v) for k, v in op.get("tags") or []]
        exp_id = store.create_experiment(
            op.get("name", ""), op.get("artifact_location"), tags or None
        )
        exps[-1] = exp_id
        return
    if kind == "create_run":
        runs.append("")
        res["run_names"].append("")
        res["start_time_now"].append(op.get("start_time") is None)
        exp_id = slot(exps, op.get("exp"))
        tags = [RunTag(k, v) for k, v in op.get("tags") or []]
        named = bool(op.get("run_name")) or any(t.key == RUN_NAME and t.value for t in tags)
        if op.get("parent") is not None:
            tags.append(RunTag(PARENT, slot(runs, op["parent"])))
        run = store.create_run(
            experiment_id=exp_id,
            user_id=op.get("user_id", ""),
            start_time=op.get("start_time") or get_current_time_millis(),
            tags=tags,
            run_name=op.get("run_name"),
        )
        runs[-1] = run.info.run_id
        if not named:
            res["run_names"][-1] = run.info.run_name
        return
    if kind in (
        "rename_experiment",
        "delete_experiment",
        "restore_experiment",
        "set_experiment_tag",
        "delete_experiment_tag",
    ):
        exp_id = slot(exps, op.get("exp"))
        if kind == "rename_experiment":
            store.rename_experiment(exp_id, op.get("name", ""))
        elif kind == "delete_experiment":
            store.delete_experiment(exp_id)
        elif kind == "restore_experiment":
            store.restore_experiment(exp_id)
        elif kind == "set_experiment_tag":
            store.set_experiment_tag(exp_id, ExperimentTag(op.get("key", ""), op.get("value", "")))
        else:
            store.delete_experiment_tag(exp_id, op.get("key", ""))
        return
    run_id = slot(runs, op.get("run"))
    if kind == "update_run":
        store.update_run_info(
            run_id,
            RunStatus.from_string(op["status"]),
            op.get("end_time"),
            op.get("run_name"),
        )
    elif kind == "delete_run":
        store.delete_run(run_id)
    elif kind == "restore_run":
        store.restore_run(run_id)
    elif kind == "log_metric":
        store.log_metric(run_id, metric(op["metric"]))
    elif kind == "log_batch":
        params = [Param(k, v) for k, v in op.get("params") or []]
        if isinstance(store, FileStore):
            params = conflicts_first(store, run_id, params)
        store.log_batch(
            run_id,
            metrics=[metric(m) for m in op.get("metrics") or []],
            params=params,
            tags=[RunTag(k, v) for k, v in op.get("tags") or []],
        )
    elif kind == "log_param":
        store.log_param(run_id, Param(op.get("key", ""), op.get("value", "")))
    elif kind == "set_tag":
        store.set_tag(run_id, RunTag(op.get("key", ""), op.get("value", "")))
    elif kind == "delete_tag":
        store.delete_tag(run_id, op.get("key", ""))
    elif kind == "log_inputs":
        datasets = [
            DatasetInput(
                dataset=Dataset(
                    name=d["name"],
                    digest=d["digest"],
                    source_type=d["source_type"],
                    source=d["source"],
                    schema=d.get("schema"),
                    profile=d.get("profile"),
                ),
                tags=[InputTag(k, v) for k, v in d.get("tags") or []],
            )
            for d in op.get("datasets") or []
        ]
        models = [LoggedModelInput(m) for m in op.get("models") or []]
        store.log_inputs(run_id, datasets=datasets or None, models=models or None)
    elif kind == "log_outputs":
        store.log_outputs(
            run_id, [LoggedModelOutput(m["model_id"], m["step"]) for m in op.get("outputs") or []]
        )
    else:
        raise ValueError(f"unknown op {kind!r}")


def is_server(root):
    return root.startswith(("http://", "https://"))


def open_store(root):
    """The store a workload runs against.

    For a folder, Python's FileStore. For an http(s) tracking URI, the
    RestStore that MlflowClient(root) calls: its store, not its methods,
    since those rewrite what a store call says (create_run takes user_id
    from the mlflow.user tag, update_run keeps the old end_time) and the Go
    side under test is a store.Store too.
    """
    if is_server(root):
        return MlflowClient(root)._tracking_client.store
    return FileStore(root)


def run_workload(w):
    store = open_store(w["root"])
    res = {
        "outcomes": [],
        "details": [],
        "experiments": ["0"],
        "runs": [],
        "run_names": [],
        "start_time_now": [],
    }
    for op in w["ops"]:
        try:
            exec_op(store, op, res)
            outcome, detail = "ok", ""
        except NoRef:
            outcome, detail = "noref", ""
        except MlflowException as e:
            outcome, detail = e.error_code, f"MlflowException: {e.message}"
        except Exception as e:  # the server answers these with a 500
            outcome = "INTERNAL_ERROR"
            detail = f"{type(e).__name__}: {e}"
        res["outcomes"].append(outcome)
        res["details"].append(detail)
    return res


# ---- dump ----


def q(s):
    return json.dumps(s, ensure_ascii=False)


def num(v):
    return "null" if v is None else str(v)


def fl(v):
    return repr(float(v))


def metric_text(m):
    s = f"{m.timestamp} {fl(m.value)} {m.step}"
    if m.dataset_name is not None or m.dataset_digest is not None:
        s += f" {q(m.dataset_name)} {q(m.dataset_digest)}"
    return s


def dump_root(root):
    if is_server(root):
        return dump_server(root)
    store = FileStore(root)
    exps = store.search_experiments(view_type=ViewType.ALL, max_results=50000)
    ids = [e.experiment_id for e in exps]
    runs = store.search_runs(ids, "", ViewType.ALL, max_results=50000) if ids else []
    return dump_lines(exps, runs, store.get_metric_history)


def all_pages(fetch):
    out, token = [], None
    while True:
        page = fetch(token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def dump_server(uri):
    """Reads a tracking server as dump_root reads a tree, through MlflowClient:
    every experiment and run (paged searches), each run by get_run (its
    inputs and outputs), each full history by get_metric_history."""
    c = MlflowClient(uri)
    exps = all_pages(
        lambda t: c.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=t)
    )
    ids = [e.experiment_id for e in exps]
    found = (
        all_pages(lambda t: c.search_runs(ids, "", ViewType.ALL, max_results=1000, page_token=t))
        if ids
        else []
    )
    runs = [c.get_run(r.info.run_id) for r in found]
    return dump_lines(exps, runs, c.get_metric_history)


def dump_lines(exps, runs, get_metric_history):
    out = []
    for e in exps:
        p = f"exp {e.experiment_id}"
        out.append(f"{p} name={q(e.name)}")
        out.append(f"{p} artifact_location={q(e.artifact_location)}")
        out.append(f"{p} lifecycle_stage={e.lifecycle_stage}")
        out.append(f"{p} creation_time={num(e.creation_time)}")
        out.append(f"{p} last_update_time={num(e.last_update_time)}")
        for k, v in e.tags.items():
            out.append(f"{p} tag {q(k)}={q(v)}")
    for r in runs:
        i = r.info
        p = f"run {i.run_id}"
        out.append(f"{p} experiment_id={i.experiment_id}")
        out.append(f"{p} run_name={q(i.run_name)}")
        out.append(f"{p} user_id={q(i.user_id)}")
        out.append(f"{p} status={i.status}")
        out.append(f"{p} start_time={num(i.start_time)}")
        out.append(f"{p} end_time={num(i.end_time)}")
        out.append(f"{p} artifact_uri={q(i.artifact_uri)}")
        out.append(f"{p} lifecycle_stage={i.lifecycle_stage}")
        for m in r.data._metric_objs:
            out.append(f"{p} metric {q(m.key)} latest={metric_text(m)}")
            hist = get_metric_history(i.run_id, m.key)
            for n, h in enumerate(hist):
                out.append(f"{p} metric {q(m.key)} history[{n}]={metric_text(h)}")
        for k, v in r.data.params.items():
            out.append(f"{p} param {q(k)}={q(v)}")
        for k, v in r.data.tags.items():
            out.append(f"{p} tag {q(k)}={q(v)}")
        for d in r.inputs.dataset_inputs:
            ds = d.dataset
            tags = sorted((t.key, t.value) for t in d.tags)
            out.append(
                f"{p} input dataset name={q(ds.name)} digest={q(ds.digest)} "
                f"source_type={q(ds.source_type)} source={q(ds.source)} "
                f"schema={q(ds.schema)} profile={q(ds.profile)} tags={q(tags)}"
            )
        for m in r.inputs.model_inputs:
            out.append(f"{p} input model {q(m.model_id)}")
        for m in r.outputs.model_outputs if r.outputs else []:
            out.append(f"{p} output model {q(m.model_id)} step={m.step}")
    out.sort()
    return out


def conflicts_first(store, run_id, params):
    """Puts the params that would change a logged value first.

    Python's log_batch writes params in order up to a conflict; the Go store
    checks them all and writes none (deliberate). With the conflicts first,
    Python also writes nothing, and the Go result does not depend on order.
    A server gets the params as the op lists them, from both sides: it is
    one kind of store either way.
    """
    try:
        info = store._get_run_info(run_id)
    except Exception:
        return params

    def conflicts(p):
        try:
            path = store._get_param_path(info.experiment_id, run_id, p.key)
            if not os.path.exists(path):
                return False
            with open(path) as f:  # as _validate_new_param_value reads it
                return f.read() != store._writeable_value(p.value)
        except Exception:
            return False

    return sorted(params, key=lambda p: not conflicts(p))


def main():
    mode = sys.argv[1]
    req = json.load(sys.stdin)
    if mode == "run":
        resp = {"results": [run_workload(w) for w in req["workloads"]]}
    elif mode == "dump":
        dumps = []
        for root in req["roots"]:
            try:
                dumps.append(dump_root(root))
            except Exception as e:
                dumps.append([f"ERROR {type(e).__name__}: {e}", traceback.format_exc()])
        resp = {"dumps": dumps}
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    json.dump(resp, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
