"""A real Celery worker (two child processes, Redis broker db 9) serves the summed metrics of its children."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

from tests.support.processes import free_port, metric_value, subprocess_env

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROOT = Path(settings.BASE_DIR)
BROKER = os.environ.get("TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/9")


def test_worker_metrics_add_up_across_its_processes(tmp_path):
    port = free_port()
    prom = tmp_path / "prom"
    env = subprocess_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL=BROKER,
        ARTIFACT_ROOT=str(tmp_path / "artifacts"),
        LOG_LEVEL="WARNING",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    prom.mkdir()
    (prom / "counter_99999.db").write_bytes(b"left over from an earlier run")
    queue = f"metrics-test-{os.getpid()}"
    command = [sys.executable, "-m", "celery", "-A", "creditscore", "worker", "--concurrency", "2", "-Q", queue]
    worker = subprocess.Popen(
        [*command, "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env | {"PROMETHEUS_MULTIPROC_DIR": str(prom), "CELERY_METRICS_PORT": str(port)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    client = Celery(broker=BROKER)
    url = f"http://127.0.0.1:{port}/metrics"
    sample = 'creditscore_drift_reports_total{outcome="no_model"}'
    try:
        for _ in range(6):
            client.send_task("scoring.tasks_monitoring.drift_report", queue=queue)
        body = ""
        for _ in range(240):
            try:
                body = urllib.request.urlopen(url, timeout=2).read().decode()
            except OSError:
                if worker.poll() is not None:
                    raise RuntimeError(worker.stderr.read().decode()) from None
            if re.search(rf"^{re.escape(sample)} 6\.0$", body, re.MULTILINE):
                break
            time.sleep(0.25)
        assert metric_value(body, sample) == 6
        # Counted by the pool's child processes (not the main one), in files the main process sums.
        children = {int(p.stem.split("_")[-1]) for p in prom.glob("counter_*.db")} - {worker.pid, 99999}
        assert children
        assert not (prom / "counter_99999.db").exists(), "the worker empties the folder at start"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        client.close()
