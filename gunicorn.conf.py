"""gunicorn settings: Prometheus multiprocess mode for the web workers (issue #10 tunes the workers here)."""

import os
import tempfile

# prometheus_client picks its value store when first imported, so the folder must be known
# before the app is loaded (the master imports this file first).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "creditscore-prometheus-web"))

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = None  # one JSON line per request comes from the app's request-log middleware


def on_starting(server):
    """Empty the metrics folder: files left by a previous run would be added to this run's totals."""
    from scoring.metrics import clean_multiprocess_dir

    clean_multiprocess_dir()


def child_exit(server, worker):
    """Drop a dead worker's live gauges (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
