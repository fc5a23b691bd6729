"""Python originals of the Go examples in mlflow/example_test.go.

Usage: python examples.py BASE SCENARIO...
Each scenario runs against its own store, BASE/py-SCENARIO/mlruns, with the
fluent state reset in between, as if each were a new process (one process
keeps the interop test fast). Each function is the MLflow tracking-docs
example the Go twin mirrors.
"""
import os
import sys
import threading

import mlflow


def basic():
    with mlflow.start_run():
        mlflow.log_param("learning_rate", 0.01)
        mlflow.log_metric("accuracy", 0.95)


def steps():
    with mlflow.start_run():
        for epoch in range(3):
            mlflow.log_metric("loss", 1 / (epoch + 1), step=epoch)


def batch():
    with mlflow.start_run():
        mlflow.log_params({"alpha": 0.5, "l1_ratio": 0.1, "max_iter": 100})
        mlflow.log_metrics({"rmse": 0.79, "r2": 0.11, "mae": 0.63})


def async_loop():
    with mlflow.start_run():
        for step in range(1000):
            mlflow.log_metric("loss", 1 / (step + 1), step=step, synchronous=False)


def timestamp():
    with mlflow.start_run():
        mlflow.log_metric("accuracy", 0.91, step=-5, timestamp=1700000000000)
        mlflow.log_metric("accuracy", 0.93, step=1 << 40, timestamp=1700000001000)


def env_experiment():
    os.environ["MLFLOW_EXPERIMENT_NAME"] = "fraud-detection"
    with mlflow.start_run():
        mlflow.log_metric("auc", 0.87)


def sweep():
    mlflow.set_experiment("sweep")
    with mlflow.start_run(run_name="sweep"):
        for lr in [0.1, 0.01, 0.001]:
            with mlflow.start_run(run_name=f"lr={lr}", nested=True):
                mlflow.log_param("lr", lr)
                mlflow.log_metric("score", 1 - lr)


def sequential():
    for i in range(3):
        with mlflow.start_run(run_name=f"run-{i}"):
            mlflow.log_param("run_index", i)


def parallel():
    with mlflow.start_run(run_name="parallel") as parent:

        def work(worker):
            # a new thread has no active run: name the parent explicitly
            with mlflow.start_run(run_name=f"worker-{worker}", parent_run_id=parent.info.run_id):
                mlflow.log_param("worker", worker)
                for step in range(10):
                    mlflow.log_metric("loss", worker + 1 / (step + 1), step=step)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def tags():
    with mlflow.start_run(description="tags example"):
        mlflow.set_tag("release.version", "2.2.0")
        mlflow.set_tags({"engineering": "ML Platform", "release.candidate": "RC1", "scratch": True})
        mlflow.delete_tag("scratch")


def last_active():
    mlflow.log_metric("training_score", 0.98)
    mlflow.end_run()
    mlflow.last_active_run()


def models():
    with mlflow.start_run(run_name="train"):
        model = mlflow.initialize_logged_model(name="classifier", model_type="sklearn", params={"depth": "3"})
        for step in range(3):
            mlflow.log_metric("accuracy", 0.8 + step / 10, step=step, model_id=model.model_id)
        mlflow.set_logged_model_tags(model.model_id, {"stage": "candidate"})
        mlflow.finalize_logged_model(model.model_id, "READY")
        mlflow.create_external_model(name="served-elsewhere")


def text():
    with mlflow.start_run():
        mlflow.log_text("epoch 1: loss 0.5\nepoch 2: loss 0.25\n", "notes/training.txt")
        mlflow.log_text("ünïcode ✓", "summary.md")
        mlflow.log_text("replaced", "summary.md")


if __name__ == "__main__":
    base = sys.argv[1]
    for name in sys.argv[2:]:
        mlflow.set_tracking_uri(os.path.join(base, "py-" + name, "mlruns"))
        mlflow.tracking.fluent._active_experiment_id = None
        globals()[name]()
        os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)
        os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
        mlflow.flush_async_logging()
