"""Writes script.json, the golden workload (the conformance cases of docs/format.md §17).

script.json is the source of truth and is committed; this file only makes
the long and odd strings readable. Run: python3 make_script.py > script.json
Then refresh the tree: go test ./filestore -run TestGolden -update
"""

import json
import struct

ops = []
exps = ["0"]  # slot names, for readability only
runs = []


def op(kind, **kw):
    d = {"op": kind}
    d.update(kw)
    ops.append(d)
    return d


def exp(name, **kw):
    op("create_experiment", name=name, **kw)
    exps.append(name)
    return len(exps) - 1


def run(e, **kw):
    op("create_run", exp=e, **kw)
    runs.append(kw)
    return len(runs) - 1


def bits(v):
    return "bits:" + struct.pack(">d", v).hex()


def m(key, value, ts=1700000002000, step=0, **kw):
    d = {"key": key, "value": value, "timestamp": ts, "step": step}
    d.update(kw)
    return d


# 3. create run + terminate (the Default experiment "0" exists from bootstrap)
main = exp("golden-main", tags=[["team", "ml"], ["a/b", "c"]])
r = run(main, user_id="alice", start_time=1700000001000, run_name="demo-run")
op("update_run", run=r, status="FINISHED", end_time=1700000008000)

# 4. metric lines, '/' in keys
r4 = run(main, user_id="alice", start_time=1700000001000, run_name="metrics-run")
op("log_batch", run=r4, metrics=[
    m("loss", "0.5", 1700000002000, 0),
    m("loss", "0.25", 1700000003000, 1),
    m("eval/acc", "1.0", 1700000003000, 1),
])

# 5. float formatting table, plus odd bit patterns, steps and timestamps
floats = ["0.1", "1e-07", "nan", "inf", "-inf", "-0.0", "1e+20", "1000000000000000.0",
          "1e+16", "0.0001", "1e-05", "1.2345678901234568e+17", bits(0.1 + 0.2), "5e-324",
          "1000000.0", "0.0", "1.7976931348623157e+308", "2.2250738585072014e-308",
          "bits:fff8000000000000", "bits:7ff0000000000001", "123456789.0", "-1e-07",
          "9007199254740993", "1e22", "1e-300", "3"]
for i, v in enumerate(floats):
    op("log_metric", run=r4, metric=m("floats", v, 1700000004000 + i, i))
op("log_metric", run=r4, metric=m("steps", "1.5", 0, -5))
op("log_metric", run=r4, metric=m("steps", "2.5", 9223372036854775807, 9223372036854775807))
op("log_metric", run=r4, metric=m("steps", "3.5", 1, -9223372036854775808))
# 7. latest-metric ties
for v in ["nan", "5.0"]:
    op("log_metric", run=r4, metric=m("tie1", v, 10, 1))
for v in ["5.0", "nan", "4.0"]:
    op("log_metric", run=r4, metric=m("tie2", v, 10, 1))
# dataset-tagged metric lines (5 fields)
op("log_metric", run=r4, metric=m("ds_metric", "0.75", 2000, 3, dataset_name="iris", dataset_digest="abc123"))
op("log_metric", run=r4, metric=m("ds_metric", "0.5", 2001, 4, dataset_name="iris", dataset_digest=None))
# 11. odd but valid keys
for k in ["a b", "a:b", "a.b", "ключ", "名前", "é", "٣", "ⅷ", " a", "a ", "a\n", "x" * 250]:
    op("log_metric", run=r4, metric=m(k, "1.0"))
# 11./12. invalid metric keys and values
for k in ["a//b", "/a", "a/", "../a", "a/../b", "./a", ".", "..", "...", "", "a\nb", "a\tb",
          "a\\b", "a@b", "a$b", "a/./b", "x" * 251]:
    op("log_metric", run=r4, metric=m(k, "1.0"))
op("log_metric", run=r4, metric=m("neg_ts", "1.0", -1, 0))

# 9./10. params
r9 = run(main, user_id="bob", start_time=1700000001000, run_name="params-run")
op("log_param", run=r9, key="nested/p", value="multi\nline")
op("log_param", run=r9, key="nested/p", value="multi\nline")  # same value: ok
op("log_param", run=r9, key="nested/p", value="other")  # change: error
op("log_param", run=r9, key="trailing", value="val\n")
op("log_param", run=r9, key="unicode", value="ünïcødé 名前 ключ")
op("log_param", run=r9, key="emoji", value="emoji😀 \U0001F680")
op("log_param", run=r9, key="quotes", value="it's \"quoted\" `x`")
op("log_param", run=r9, key="empty", value="")
op("log_param", run=r9, key="crlf", value="a\r\nb")
op("log_param", run=r9, key="crlf", value="a\r\nb")  # universal newlines: error
op("log_param", run=r9, key="long", value="x" * 6001)  # truncated to 6000
op("log_param", run=r9, key="exact", value="y" * 6000)
op("log_param", run=r9, key="a/./b", value="v")
op("log_param", run=r9, key="x" * 251, value="v")
op("log_batch", run=r9, params=[["b1", "1"], ["b2", "two\nlines"]],
   tags=[["t1", "v1"], ["long_tag", "z" * 8001]])
op("log_batch", run=r9, params=[["dup", "1"], ["dup", "2"]])  # duplicate keys
# Param conflict inside a batch, the conflicting param first: Python writes
# the params before a conflict and we write nothing (deliberate), so only
# this order gives both the same tree.
op("log_batch", run=r9, params=[["b1", "changed"], ["fresh", "1"]],
   metrics=[m("batch_metric", "1.0")])
op("log_batch", run=r9, metrics=[m("bad key!", "1.0")])

# tags, runName via tag
op("set_tag", run=r9, key="note", value="hello\nworld")
op("set_tag", run=r9, key="nested/t/x", value="deep")
op("set_tag", run=r9, key="emoji😀", value="v")
op("set_tag", run=r9, key="k" * 300, value="no length check in set_tag")
op("set_tag", run=r9, key="..", value="bad")
op("delete_tag", run=r9, key="nested/t/x")
op("delete_tag", run=r9, key="nested/t/x")  # missing
op("delete_tag", run=r9, key="never")
op("set_tag", run=r9, key="mlflow.runName", value="renamed-by-tag")
op("log_batch", run=r9, tags=[["mlflow.runName", "renamed-by-batch"]])
op("update_run", run=r9, status="KILLED", end_time=1700000009000, run_name="renamed-by-update")
op("update_run", run=r9, status="FAILED", end_time=0)  # end_time 0 keeps the old one
op("update_run", run=r9, status="RUNNING")
op("delete_tag", run=r9, key="mlflow.runName")

# run names and user ids that need YAML quoting; generated names; nested runs
rq1 = run(main, user_id="yes", start_time=1, run_name="2024-01-01")
rq2 = run(main, user_id="", start_time=2, tags=[["mlflow.runName", " lead"]])
rq3 = run(main, user_id="emoji😀", start_time=3, run_name="same", tags=[["mlflow.runName", "same"]])
run(main, user_id="u", start_time=4, run_name="one", tags=[["mlflow.runName", "two"]])  # error
rgen = run(main, user_id="u")  # generated name, start time now
run(main, user_id="u", parent=rgen, tags=[["mlflow.runName", ""]])  # nested, empty name tag
run(main, user_id="u", start_time=5, parent=rq1, run_name="child of 2024")
op("set_tag", run=rq2, key="mlflow.runName", value="multi\nline name")
op("update_run", run=rq3, status="SCHEDULED", end_time=7)

# 15. run delete / restore
rd = run(main, user_id="carol", start_time=1700000001000, run_name="to-delete")
op("log_metric", run=rd, metric=m("m", "1.0"))
op("delete_run", run=rd)
op("delete_run", run=rd)  # idempotent
op("log_metric", run=rd, metric=m("m", "2.0"))  # deleted run
op("log_param", run=rd, key="p", value="v")
op("set_tag", run=rd, key="t", value="v")
op("delete_tag", run=rd, key="mlflow.runName")
op("update_run", run=rd, status="FINISHED", end_time=5)
op("log_inputs", run=rd, models=["m-00000000000000000000000000000001"])
op("restore_run", run=rd)
op("restore_run", run=rd)
op("log_metric", run=rd, metric=m("m", "3.0"))
op("delete_run", run=rd)  # stays deleted, then the experiment delete/restore revives it

# 16. datasets, inputs, outputs
ds_iris = {"name": "iris", "digest": "abc123", "source_type": "local",
           "source": '{"uri": "iris.csv"}', "tags": [["mlflow.data.context", "train"]]}
ds_full = {"name": "wine quality", "digest": "d" * 36, "source_type": "s3",
           "source": '{"uri": "s3://b/wine.csv"}', "schema": '{"mlflow_colspec": [{"name": "a", "type": "long"}]}',
           "profile": '{"num_rows": 10}',
           "tags": [["mlflow.data.context", "yes"], ["k" * 130, "long key"], ["emoji😀", "tab\there"]]}
op("log_inputs", run=r, datasets=[ds_iris], models=["m-e5641962c7e5467e9a1a0c715a129ecd"])
op("log_inputs", run=r, datasets=[dict(ds_iris, tags=[["mlflow.data.context", "eval"]])])  # no-op
op("log_inputs", run=r4, datasets=[ds_iris, ds_full])
op("log_inputs", run=r4, datasets=[], models=[])
op("log_outputs", run=r, outputs=[{"model_id": "m-e5641962c7e5467e9a1a0c715a129ecd", "step": 7}])
op("log_outputs", run=r4, outputs=[{"model_id": "m-0123456789abcdef0123456789abcdef", "step": 0},
                                   {"model_id": "m-0123456789abcdef0123456789abcdea", "step": -1}])
op("log_outputs", run=r4, outputs=[{"model_id": "../escape", "step": 0}])

# 13. experiment names that need YAML quoting or folding
names = ["yes", "123", "null", "~", "a: b", " lead", "trail ", "ünïcødé 名前", "tab\there", "1e3",
         "-", "#hash", 'dq"x', "multi\nline", "emoji😀", "x" * 100 + " " + "y" * 30,
         "word " * 30, "2024-01-01", "12:30", "0o17", "a:b", "=", "<<", "on", "~x", "'", "it's",
         "a''b", "\u2028sep", "bom\ufeff", "nbsp\u00a0x", "ctrl\x07bell", "*star", "&anchor",
         "!tag", "%pct", "@at", "`tick", "? q", "x" * 130]
for n in names:
    exp(n)
exp("")  # empty name
exp("n" * 501)  # too long
exp("golden-main")  # duplicate
exp("with location", artifact_location="s3://bucket/some/path")
exp("with file location", artifact_location="file:///abs/artifacts?q=1")

# 14. experiment tags, rename, delete, restore
e14 = exp("lifecycle", tags=[["team", "ml"], ["a/b", "c"], ["ключ", "multi\nline"]])
rl1 = run(e14, user_id="u", start_time=10, run_name="active-run")
rl2 = run(e14, user_id="u", start_time=11, run_name="deleted-first")
op("delete_run", run=rl2)
op("set_experiment_tag", exp=e14, key="added", value="later")
op("set_experiment_tag", exp=e14, key="bad//key", value="x")
op("set_experiment_tag", exp=e14, key="t" * 300, value="no length check")
op("delete_experiment_tag", exp=e14, key="added")
op("delete_experiment_tag", exp=e14, key="added")  # missing
op("rename_experiment", exp=e14, name="lifecycle renamed")
op("rename_experiment", exp=e14, name="lifecycle renamed")  # own name: exists
op("rename_experiment", exp=e14, name="golden-main")  # taken
op("rename_experiment", exp=e14, name="")
op("delete_experiment", exp=e14)
op("delete_experiment", exp=e14)  # already deleted
op("delete_experiment", exp=0)  # default
op("rename_experiment", exp=e14, name="rename while deleted")
op("set_experiment_tag", exp=e14, key="k", value="v")
op("delete_experiment_tag", exp=e14, key="team")
run(e14, user_id="u", start_time=12)  # create run in deleted experiment
op("log_metric", run=rl1, metric=m("m", "1.0"))  # run of deleted experiment
op("restore_run", run=rl1)  # restores the run but not the experiment
exp("lifecycle renamed")  # name taken by a deleted experiment
op("restore_experiment", exp=e14)
op("restore_experiment", exp=e14)  # not deleted
op("restore_experiment", exp=main)
op("log_metric", run=rl1, metric=m("m", "2.0"))
op("log_metric", run=rl2, metric=m("m", "2.0"))  # revived by the restore

# deleting an experiment with a run deleted earlier; datasets in a trashed experiment
e2 = exp("delete-me")
rx = run(e2, user_id="u", start_time=20, run_name="x")
op("log_inputs", run=rx, datasets=[ds_iris])
op("delete_experiment", exp=e2)
op("log_inputs", run=rx, datasets=[ds_full])

# the default experiment
r0 = run(0, user_id="default-user", start_time=30, run_name="in-default")
op("set_experiment_tag", exp=0, key="mlflow.note.content", value="default note")
op("log_param", run=r0, key="p", value="v")

# bad refs
op("log_param", run=999, key="p", value="v")
op("set_experiment_tag", exp=999, key="k", value="v")

json.dump(ops, __import__("sys").stdout, ensure_ascii=False, indent=1)
print()
