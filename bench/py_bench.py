"""Python MLflow side of the benchmark driver (go run ./bench).

usage: python py_bench.py SCENARIO ROOT [ARGS...]

Every scenario goes through MlflowClient (or the fluent API) on a file: URI,
so it exercises Python MLflow 3.18's FileStore as a user would; ROOT may also be
an http:// tracking server URL (the driver's server scenarios R1-R3). Imports,
client construction and run creation are not timed; the script prints one JSON
line {"points": n, "seconds": t, "client_cpu_s": c} timing only the measured
part (c: this process's user+system CPU over it, all threads, where measured).

  log_metric ROOT N               N client.log_metric calls, one point each
  log_batch ROOT BATCHES SIZE     BATCHES client.log_batch calls of SIZE metrics
  async ROOT N                    N mlflow.log_metric(..., synchronous=False),
                                  then mlflow.flush_async_logging()
  log_metric_run URI RUN_ID N     log_metric, log_batch and async on a run made
  log_batch_run URI RUN_ID BATCHES SIZE   by the driver (so that the server's
  async_run URI RUN_ID N          CPU over the call is only the measured work)
  contention ROOT RUN_ID THREADS N
                                  THREADS threads x N log_metric calls on one
                                  run; prints "ready", waits for a line on
                                  stdin, then logs (the driver starts all
                                  processes at once)
  history ROOT RUN_ID KEY         FileStore.get_metric_history (see history())
  search ROOT EXP_ID MAX FILTER ORDER
                                  client.search_runs (points: runs returned)
  coldstart ROOT                  start a run, log one metric, end it (the
                                  driver times the whole process)
  replay ROOT URI RUNS THREADS METRICS PARAMS
                                  re-log the first RUNS runs (by start time)
                                  of the tree ROOT, read with FileStore, into
                                  the server URI: create_run, log_batch of
                                  PARAMS params and tags and of METRICS
                                  points, log_artifacts, set_terminated;
                                  THREADS threads over runs (sync's Y1)
  serve                           read one JSON list [SCENARIO, ARGS...] per
                                  line of stdin and run it, answering one
                                  JSON line each ({"error": ...} on failure),
                                  so the driver pays Python's import once
"""
import concurrent.futures
import json
import os
import sys
import threading
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.store.tracking.file_store import FileStore

TS = 1_700_000_000_000

# The JSON answers go to the real stdout; MLflow's own prints (end_run's
# "View run ... at:" against a server) go to stderr (see main).
RESULTS = sys.stdout


def uri(root):
    if root.startswith(("http://", "https://")):
        return root
    return "file://" + os.path.abspath(root)


def new_run(client):
    exp = client.get_experiment_by_name("bench-py")
    exp_id = exp.experiment_id if exp else client.create_experiment("bench-py")
    return client.create_run(exp_id).info.run_id


class Clock:
    """Wall time and this process's CPU time (all threads) since start."""

    def __init__(self):
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def out(self, points, **extra):
        out(points, time.perf_counter() - self.t0,
            client_cpu_s=time.process_time() - self.c0, **extra)


def out(points, seconds, **extra):
    d = {"points": points, "seconds": seconds}
    d.update(extra)
    json.dump(d, RESULTS)
    RESULTS.write("\n")
    RESULTS.flush()


def log_metric(root, n):
    log_metric_run(root, new_run(MlflowClient(tracking_uri=uri(root))), n)


def log_metric_run(root, run_id, n):
    c = MlflowClient(tracking_uri=uri(root))
    n = int(n)
    clk = Clock()
    for i in range(n):
        c.log_metric(run_id, "loss", 0.5, timestamp=TS + i, step=i)
    clk.out(n)


def log_batch(root, batches, size):
    log_batch_run(root, new_run(MlflowClient(tracking_uri=uri(root))), batches, size)


def log_batch_run(root, run_id, batches, size):
    c = MlflowClient(tracking_uri=uri(root))
    batches, size = int(batches), int(size)
    clk = Clock()
    for b in range(batches):
        ms = [Metric("loss", 0.5, TS + i, b * size + i) for i in range(size)]
        c.log_batch(run_id, metrics=ms)
    clk.out(batches * size)


def log_async(root, n):
    mlflow.set_tracking_uri(uri(root))
    mlflow.set_experiment("bench-py")
    with mlflow.start_run():
        timed_async(int(n))


def async_run(root, run_id, n):
    mlflow.set_tracking_uri(uri(root))
    with mlflow.start_run(run_id=run_id):
        timed_async(int(n))


def timed_async(n):
    clk = Clock()
    for i in range(n):
        mlflow.log_metric("loss", 0.5, step=i, timestamp=TS + i, synchronous=False)
    mlflow.flush_async_logging()
    clk.out(n)


def contention(root, run_id, threads, n):
    c = MlflowClient(tracking_uri=uri(root))
    threads, n = int(threads), int(n)
    pid = os.getpid()

    def work(t):
        for i in range(n):
            c.log_metric(run_id, "loss", 0.5, timestamp=TS + i, step=pid * 1000 + t)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    print("ready", file=RESULTS, flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out(threads * n, time.perf_counter() - t0)


def history(root, run_id, key):
    # MlflowClient.get_metric_history asks the store for pages of 25,000
    # points and FileStore parses the whole file for every page (quadratic:
    # minutes for 1M lines), so this times the store's one-parse call,
    # max_results=None: Python's best case.
    fs = FileStore(uri(root))
    t0 = time.perf_counter()
    h = fs.get_metric_history(run_id, key, max_results=None)
    out(len(h), time.perf_counter() - t0)


def search(root, exp_id, max_results, filt, order):
    c = MlflowClient(tracking_uri=uri(root))
    t0 = time.perf_counter()
    runs = c.search_runs([exp_id], filt, max_results=int(max_results), order_by=[order])
    out(len(runs), time.perf_counter() - t0, ids=[r.info.run_id for r in runs])


def coldstart(root):
    t0 = time.perf_counter()
    mlflow.set_tracking_uri(uri(root))
    with mlflow.start_run():
        mlflow.log_metric("loss", 0.5)
    out(1, time.perf_counter() - t0)


def replay(root, url, runs, threads, metrics_per, params_per):
    # What a user without mlruns would write to bring a file store into a
    # server: read each run with FileStore, re-log it with MlflowClient.
    # The read is timed, as mlsync.Push's is; the client is made before.
    runs, threads = int(runs), int(threads)
    mper, pper = int(metrics_per), int(params_per)
    from mlflow.utils.file_utils import local_file_uri_to_path
    c = MlflowClient(tracking_uri=url)
    clk = Clock()
    fs = FileStore(uri(root))
    todo = []
    for e in fs.search_experiments(view_type=ViewType.ALL):
        rs = fs.search_runs([e.experiment_id], "", ViewType.ALL,
                            order_by=["attributes.start_time ASC"])
        if not rs:
            continue
        dst = c.get_experiment_by_name(e.name)
        dst_id = dst.experiment_id if dst else c.create_experiment(e.name, tags=e.tags)
        todo += [(dst_id, r) for r in rs]
    todo = todo[:runs]

    def one(item):
        exp_id, r = item
        rid = c.create_run(exp_id, start_time=r.info.start_time,
                           run_name=r.info.run_name).info.run_id
        params = [Param(k, v) for k, v in r.data.params.items()]
        tags = [RunTag(k, v) for k, v in r.data.tags.items()]
        for i in range(0, len(params), pper):
            c.log_batch(rid, params=params[i:i + pper])
        for i in range(0, len(tags), pper):
            c.log_batch(rid, tags=tags[i:i + pper])
        n = 0
        for key in r.data.metrics:
            h = fs.get_metric_history(r.info.run_id, key)
            ms = [Metric(m.key, m.value, m.timestamp, m.step) for m in h]
            for i in range(0, len(ms), mper):
                c.log_batch(rid, metrics=ms[i:i + mper])
            n += len(ms)
        art = local_file_uri_to_path(r.info.artifact_uri)
        if os.path.isdir(art) and os.listdir(art):
            c.log_artifacts(rid, art)
        c.set_terminated(rid, status=r.info.status, end_time=r.info.end_time)
        return n

    if threads > 1:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            points = sum(pool.map(one, todo))
    else:
        points = sum(map(one, todo))
    clk.out(points)


SCENARIOS = {
    "log_metric": log_metric,
    "log_batch": log_batch,
    "async": log_async,
    "log_metric_run": log_metric_run,
    "log_batch_run": log_batch_run,
    "async_run": async_run,
    "contention": contention,
    "history": history,
    "search": search,
    "coldstart": coldstart,
    "replay": replay,
}

def serve():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            SCENARIOS[cmd[0]](*cmd[1:])
        except Exception as e:  # reported to the driver, which stops
            json.dump({"error": "%s: %r" % (type(e).__name__, e)}, RESULTS)
            RESULTS.write("\n")
            RESULTS.flush()


if __name__ == "__main__":
    sys.stdout = sys.stderr
    if sys.argv[1] == "serve":
        serve()
    else:
        SCENARIOS[sys.argv[1]](*sys.argv[2:])
