"""gunicorn settings: threaded workers with keep-alive, sized by bench/api.py on 2 cores; Prometheus multiprocess.

Every knob is an environment variable. The defaults are the layout that measured best on
the 2-core machine (bench/README.md, "API"): WEB_CONCURRENCY workers, each with
GUNICORN_THREADS threads (gthread: threads also give HTTP keep-alive, which sync workers
do not). Each worker loads the active model on its first request, after the fork, and
swaps it itself when another version is activated (scoring/lifecycle/registry.py); a preloaded
master would only share the few MB of the model itself (bench/README.md).
"""

import os
import tempfile

# prometheus_client picks its value store when first imported, so the folder must be known
# before the app is loaded (the master imports this file first).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "creditscore-prometheus-web"))

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# A worker is replaced after this many requests (with jitter) to bound any slow memory growth.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# No limit on the request line here: gunicorn's 414 is an HTML page no API client can read. The app
# refuses lines over MAX_REQUEST_LINE_BYTES itself, with a problem+json 414 under /api/ (scoring/api/middleware.py).
limit_request_line = 0
accesslog = None  # one JSON line per request comes from the app's request-log middleware


def on_starting(server):
    """Empty the metrics folder: files left by a previous run would be added to this run's totals."""
    from scoring.monitoring.metrics import clean_multiprocess_dir

    clean_multiprocess_dir()


def child_exit(server, worker):
    """Drop a dead worker's live gauges (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
