#!/usr/bin/env python
"""Build testdata/malformed/: one small tree per defect, plus cases.json with Python's behaviour.

Usage (the MLflow 3.18.0 interop venv that scripts/test.sh makes from scripts/interop.lock,
~/.cache/mlruns-go/venv-<hash of the lock>; MLRUNS_VENV below is that folder):
  MLFLOW_ALLOW_FILE_STORE=true "$MLRUNS_VENV"/bin/python \
      testdata/malformed/gen/make_malformed.py

1. A base tree is written by the real 3.18.0 FileStore (Default experiment + one experiment
   with one finished run, a metric, a param, a tag) at /tmp/mlruns-malformed/base/mlruns; its
   random experiment id and run id are then replaced everywhere (dir names and file contents)
   by the fixed EXP_ID / RUN_ID below, and its wall-clock times by fixed ones, so the bytes are
   what 3.18.0 writes for those ids.
2. Each case copies the base to testdata/malformed/<case>/mlruns and applies ONE defect.
3. The operation named by the case is run on that tree with 3.18.0's FileStore (store API, not
   the client: the Go store mirrors the store) and the outcome is stored under "python":
   {"ok": <result summary>} or {"exception": "<Class>", "message": "...", "error_code": "..."},
   plus "log" (WARNING+ log records) — paths are shown relative to the tree as <root>.
4. cases.json entries: {"name", "path" (tree dir, relative to testdata/malformed), "defect",
   "op", "id", "want", "python"}. "want" is the Go reader's intended outcome (errs sentinel):
   corrupt=ErrCorrupt, not_found=ErrNotFound, invalid_state=ErrInvalidState, ok_reported = the
   call succeeds and the broken item is left out and reported (warning/problem list), not fatal.
   "want" is policy, chosen here from Python's behaviour; where they differ "why" says so.
Every tree dir also gets empty_dirs.txt (git cannot store empty dirs; tests recreate them).
"""
import json
import logging
import os
import re
import shutil
import sys
import warnings

warnings.filterwarnings("ignore")
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.store.tracking.file_store import FileStore  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)  # testdata/malformed
WORK = "/tmp/mlruns-malformed"
EXP_ID = "123456789012345678"
RUN_ID = "0123456789abcdef0123456789abcdef"
T_FIXED = "1700000000000"


def make_base():
    base = os.path.join(WORK, "base", "mlruns")
    shutil.rmtree(os.path.join(WORK, "base"), ignore_errors=True)
    s = FileStore(base)
    eid = s.create_experiment("malformed-demo")
    r = s.create_run(eid, "alice", 1700000001000, [RunTag("mlflow.runName", "demo-run")], "demo-run")
    rid = r.info.run_id
    s.log_batch(rid, [Metric("loss", 0.5, 1700000002000, 0), Metric("loss", 0.25, 1700000003000, 1)],
                [Param("p", "v")], [RunTag("t", "x")])
    s.update_run_info(rid, 3, 1700000008000, None)  # FINISHED
    # fix ids and wall-clock times
    os.rename(os.path.join(base, eid, rid), os.path.join(base, eid, RUN_ID))
    os.rename(os.path.join(base, eid), os.path.join(base, EXP_ID))
    for d, _, files in os.walk(base):
        for f in files:
            p = os.path.join(d, f)
            with open(p, encoding="utf-8") as fh:
                txt = fh.read()
            new = txt.replace(eid, EXP_ID).replace(rid, RUN_ID)
            if f == "meta.yaml":
                new = re.sub(r"^(creation_time|last_update_time): \d+$",
                             lambda m: m.group(1) + ": " + T_FIXED, new, flags=re.M)
            if new != txt:
                with open(p, "w", encoding="utf-8") as fh:
                    fh.write(new)
    return base


RUN_DIR = EXP_ID + "/" + RUN_ID

# name, defect, ops [(op, id, want, why)], mutate(root)
CASES = []


def case(name, defect, ops):
    def deco(fn):
        CASES.append((name, defect, ops, fn))
        return fn
    return deco


def write(root, rel, data, mode="w"):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, mode, encoding="utf-8", newline="") as f:
        f.write(data)


def edit_meta(root, rel, old, new):
    p = os.path.join(root, rel)
    with open(p, encoding="utf-8") as f:
        txt = f.read()
    assert old in txt, (rel, old)
    with open(p, "w", encoding="utf-8", newline="") as f:
        f.write(txt.replace(old, new))


RUN_META = RUN_DIR + "/meta.yaml"
EXP_META = EXP_ID + "/meta.yaml"
LOSS = RUN_DIR + "/metrics/loss"
GR = ("get_run", RUN_ID)
LR = ("list_runs", EXP_ID)
MH = ("metric_history", [RUN_ID, "loss"])
GE = ("get_experiment", EXP_ID)
LE = ("list_experiments", None)


@case("empty_run_meta", "run meta.yaml is empty (0 bytes)",
      [GR + ("corrupt", ""), LR + ("ok_reported", "Python aborts the whole listing; Go skips and reports the run")])
def _(root):
    write(root, RUN_META, "")


@case("whitespace_run_meta", "run meta.yaml holds only spaces and newlines",
      [GR + ("corrupt", ""), LR + ("ok_reported", "Python aborts the whole listing")])
def _(root):
    write(root, RUN_META, "  \n\n   \n")


@case("empty_experiment_meta", "experiment meta.yaml is empty",
      [GE + ("corrupt", ""), LE + ("ok_reported", "")])
def _(root):
    write(root, EXP_META, "")


@case("ds_store_in_metrics", "stray .DS_Store (binary junk) in the run's metrics/",
      [GR + ("corrupt", "Python parses every file under metrics/; Go could also skip dotfiles, but must not silently"),
       LR + ("ok_reported", "Python aborts the listing")])
def _(root):
    write(root, RUN_DIR + "/metrics/.DS_Store", "\x00\x00\x00\x01Bud1\x00\x00")


@case("torn_metric_line", "last metric line cut mid-write: '1700000004000 0.5 2' became '17000000'",
      [MH + ("corrupt", "a single field is an invalid line; Go may decide to drop a torn, unterminated last line"),
       GR + ("corrupt", "")])
def _(root):
    write(root, LOSS, "17000000", mode="a")


@case("metric_4_fields", "metric line with 4 fields ('1700000004000 0.5 2 extra')",
      [MH + ("corrupt", ""), GR + ("corrupt", "")])
def _(root):
    write(root, LOSS, "1700000004000 0.5 2 extra\n", mode="a")


@case("blank_line_in_metric", "blank line between two metric lines",
      [MH + ("corrupt", ""), GR + ("corrupt", "")])
def _(root):
    write(root, LOSS, "1700000002000 0.5 0\n\n1700000003000 0.25 1\n")


@case("bad_status", "run meta 'status: 9' (no such RunStatus)",
      [GR + ("corrupt", ""), LR + ("ok_reported", "Python aborts the listing")])
def _(root):
    edit_meta(root, RUN_META, "status: 3\n", "status: 9\n")


@case("unknown_run_lifecycle_stage", "run meta 'lifecycle_stage: archived'",
      [GR + ("corrupt", "Python get_run returns the run with stage 'archived'"), LR + ("ok_reported", "Python aborts the listing")])
def _(root):
    edit_meta(root, RUN_META, "lifecycle_stage: active\n", "lifecycle_stage: archived\n")


@case("unknown_experiment_lifecycle_stage", "experiment meta 'lifecycle_stage: archived'",
      [GE + ("corrupt", "Python returns it with stage 'archived'"),
       LE + ("ok_reported", "Python lists it (view ALL) with stage 'archived'")])
def _(root):
    edit_meta(root, EXP_META, "lifecycle_stage: active\n", "lifecycle_stage: archived\n")


@case("run_experiment_id_mismatch", "run meta experiment_id '0' but run lives in experiment " + EXP_ID,
      [GR + ("invalid_state", ""), LR + ("ok_reported", "Python skips it with a warning")])
def _(root):
    edit_meta(root, RUN_META, "experiment_id: '%s'" % EXP_ID, "experiment_id: '0'")


@case("run_id_mismatch", "run meta run_id differs from the run folder name",
      [GR + ("invalid_state", ""),
       LR + ("ok_reported", "Python aborts the listing ('Invalid parent directory')")])
def _(root):
    edit_meta(root, RUN_META, "run_id: %s" % RUN_ID, "run_id: ffffffffffffffffffffffffffffffff")


@case("run_missing_meta", "run folder without meta.yaml",
      [GR + ("not_found", "Python raises MissingConfigException (INTERNAL_ERROR)"),
       LR + ("ok_reported", "Python skips it silently")])
def _(root):
    os.remove(os.path.join(root, RUN_META))


@case("run_missing_metrics_dir", "run folder without metrics/ (3.8+ lookup requires metrics/, params/, artifacts/)",
      [GR + ("ok_reported", "older trees may lack it; Go reads the run (no metrics) and reports; Python 3.8+ says not found"),
       LR + ("ok_reported", "")])
def _(root):
    shutil.rmtree(os.path.join(root, RUN_DIR, "metrics"))


@case("ipynb_checkpoints_in_root", "'.ipynb_checkpoints' directory (with a checkpoint file) in the tracking root",
      [LE + ("ok_reported", "Python aborts search_experiments with 'Invalid experiment ID'"),
       GR + ("ok_reported", "lookup of a run must still work")])
def _(root):
    write(root, ".ipynb_checkpoints/Untitled-checkpoint.ipynb", "{}\n")


@case("regular_file_in_root", "regular file 'notes.txt' in the tracking root",
      [LE + ("ok_reported", "Python ignores files silently; Go may ignore without reporting")])
def _(root):
    write(root, "notes.txt", "hello\n")


@case("junk_dir_without_meta", "directory 'junk_dir' (valid experiment-id syntax) without meta.yaml (holds readme.txt) in the root",
      [LE + ("ok_reported", ""), ("get_experiment", "junk_dir", "not_found", "")])
def _(root):
    write(root, "junk_dir/readme.txt", "not an experiment\n")


@case("run_meta_not_yaml", "run meta.yaml is not YAML at all",
      [GR + ("corrupt", ""), LR + ("ok_reported", "Python aborts the listing")])
def _(root):
    write(root, RUN_META, "{{{ this is : not [ yaml\n")


@case("run_meta_yaml_list", "run meta.yaml is a YAML list, not a mapping",
      [GR + ("corrupt", ""), LR + ("ok_reported", "Python aborts the listing")])
def _(root):
    write(root, RUN_META, "- run_id\n- experiment_id\n")


@case("experiment_meta_yaml_list", "experiment meta.yaml is a YAML list",
      [GE + ("corrupt", ""), LE + ("ok_reported", "Python aborts the listing (TypeError)")])
def _(root):
    write(root, EXP_META, "- a\n- b\n")


def run_op(root, op, ident):
    records = []

    class H(logging.Handler):
        def emit(self, rec):
            records.append(rec.getMessage())

    h = H(level=logging.WARNING)
    logging.getLogger().addHandler(h)
    res = {}
    try:
        s = FileStore(root)
        if op == "get_run":
            r = s.get_run(ident)
            res["ok"] = {"run_id": r.info.run_id, "status": r.info.status,
                         "lifecycle_stage": r.info.lifecycle_stage,
                         "metrics": {k: repr(v) for k, v in r.data.metrics.items()}}
        elif op == "list_runs":
            runs = s.search_runs([ident], None, ViewType.ALL, max_results=1000)
            res["ok"] = {"run_ids": sorted(r.info.run_id for r in runs)}
        elif op == "get_experiment":
            e = s.get_experiment(ident)
            res["ok"] = {"experiment_id": e.experiment_id, "name": e.name,
                         "lifecycle_stage": e.lifecycle_stage}
        elif op == "list_experiments":
            es = s.search_experiments(view_type=ViewType.ALL)
            res["ok"] = {"experiment_ids": sorted(e.experiment_id for e in es)}
        elif op == "metric_history":
            ms = s.get_metric_history(ident[0], ident[1])
            res["ok"] = {"history": [[m.timestamp, repr(m.value), m.step] for m in ms]}
        else:
            raise ValueError(op)
    except Exception as e:  # noqa: BLE001
        res["exception"] = type(e).__name__
        res["message"] = str(e).replace(root, "<root>")
        code = getattr(e, "error_code", None)
        if code:
            res["error_code"] = code
    finally:
        logging.getLogger().removeHandler(h)
    if records:
        res["log"] = [m.replace(root, "<root>") for m in records]
    return res


def main():
    base = make_base()
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    entries = []
    # the untouched base tree, for sanity tests
    cases = [("base", "none (control: the unmodified 3.18.0 tree)",
              [GR + ("ok", ""), LR + ("ok", ""), LE + ("ok", ""), MH + ("ok", "")], lambda root: None)]
    cases += CASES
    for name, defect, ops, mutate in cases:
        dst = os.path.join(OUT, name)
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        root = os.path.join(dst, "mlruns")
        shutil.copytree(base, root)
        mutate(root)
        empties = []
        for d, dirs, files in os.walk(root):
            if not dirs and not files:
                empties.append(os.path.relpath(d, dst))
        with open(os.path.join(dst, "empty_dirs.txt"), "w") as f:
            f.write("".join(e + "\n" for e in sorted(empties)))
        for op, ident, want, why in ops:
            # run Python on a scratch copy so the committed tree is never touched
            scratch = os.path.join(WORK, "scratch", "mlruns")
            shutil.rmtree(os.path.dirname(scratch), ignore_errors=True)
            shutil.copytree(root, scratch)
            py = run_op(scratch, op, ident)
            e = {"name": name + "/" + op, "path": name + "/mlruns", "defect": defect, "op": op,
                 "id": ident, "want": want, "python": py}
            if why:
                e["why"] = why
            entries.append(e)
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"mlflow_version": mlflow.__version__, "base_generated_root": base,
                   "experiment_id": EXP_ID, "run_id": RUN_ID, "cases": entries},
                  f, indent=1, ensure_ascii=False)
        f.write("\n")
    for e in entries:
        print("%-45s want=%-13s python=%s" % (e["name"], e["want"],
              json.dumps(e["python"], ensure_ascii=False)[:150]))


if __name__ == "__main__":
    main()
