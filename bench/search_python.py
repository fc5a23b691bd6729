"""Python MLflow side of the search and history benchmarks (search_bench_test.go).

usage: python search_python.py search ROOT   (query as JSON on stdin)
       python search_python.py history ROOT  (query as JSON on stdin)

Times FileStore.search_runs / FileStore.get_metric_history on an existing
store (imports and FileStore construction are not timed) and prints one JSON
line: {"seconds": best of "repeat" runs, "ids": [...]} or {"seconds": T,
"count": N}, so the Go benchmark can check it got the same answer.
"""
import json
import sys
import time

from mlflow.entities import ViewType
from mlflow.store.tracking.file_store import FileStore


def main():
    mode, root = sys.argv[1], sys.argv[2]
    q = json.load(sys.stdin)
    fs = FileStore(root)
    best, out = None, {}
    for _ in range(q.get("repeat", 1)):
        t0 = time.perf_counter()
        if mode == "search":
            res = fs.search_runs(q["exp_ids"], q["filter"], ViewType.ACTIVE_ONLY, q["max"], q["order"], None)
            out = {"ids": [r.info.run_id for r in res]}
        else:
            res = fs.get_metric_history(q["run_id"], q["key"])
            out = {"count": len(res)}
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    out["seconds"] = best
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
