"""Batch jobs on a real Celery worker (Redis + PostgreSQL): a worker killed mid-chunk loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
import redis
from celery import Celery
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from scoring.batch import jobs, worker
from scoring.models import BatchJob, BatchRowError, Prediction
from tests.support.batch_files import csv_bytes, synthetic_frame

REDIS_URL = os.environ.get("BATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(log: Path, settings, **env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "ARTIFACT_ROOT": str(settings.ARTIFACT_ROOT),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_VISIBILITY_TIMEOUT": "3",
        # The killed worker's lease runs out before the restarted worker gets the chunk again.
        "BATCH_CHUNK_LEASE_SECONDS": "3",
        **{k: str(v) for k, v in env.items()},
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "creditscore",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    # A session of its own, so the kill reaches the worker and nothing else.
    return subprocess.Popen(
        command,
        cwd=django_settings.BASE_DIR,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait(condition, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


def _worker_idle_in_transaction() -> bool:
    """True while another backend of the test database sits in an open transaction (the worker's chunk write)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_finishes_with_one_prediction_per_valid_row(
    officer, active_version, settings, tmp_path
):
    redis.Redis.from_url(REDIS_URL).flushdb()  # this suite's own Redis database
    settings.BATCH_CHUNK_ROWS = 400
    frame = synthetic_frame(1000)
    frame.loc[[10, 450, 999], "credit_amount"] = "lots"  # three rows the worker must report, not score
    with mock.patch.object(worker.process_batch_chunk, "delay"):  # queued below, through the real broker
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("big.csv", csv_bytes(frame)))
    chunks = list(job.chunks.order_by("index"))
    assert len(chunks) == 3

    log = tmp_path / "worker.log"
    broker = Celery(broker=REDIS_URL)
    celery_worker = _start_worker(log, settings, BATCH_FAULT_PAUSE_SECONDS=120)
    try:
        for chunk in chunks:
            broker.send_task("scoring.tasks.process_batch_chunk", args=[chunk.pk])
        # The first chunk's rows are written (COPY done) and its transaction is open: kill the worker now.
        _wait(_worker_idle_in_transaction, 90, "the worker to write its first chunk", log)
        os.killpg(celery_worker.pid, signal.SIGKILL)
        celery_worker.wait(timeout=20)
        _wait(lambda: not _worker_idle_in_transaction(), 20, "PostgreSQL to roll back the dead worker's chunk", log)
        assert not Prediction.objects.filter(batch_job=job).exists()
        job.refresh_from_db()
        assert job.state == BatchJob.State.RUNNING and job.rows_scored == 0

        celery_worker = _start_worker(log, settings)  # restarted; the unacknowledged chunk is delivered again
        _wait(lambda: BatchJob.objects.get(pk=job.pk).state == BatchJob.State.SUCCEEDED, 120, "the job to finish", log)
    finally:
        _stop(celery_worker)

    job.refresh_from_db()
    stored = Prediction.objects.filter(batch_job=job)
    assert stored.count() == 997 == job.rows_scored
    assert stored.values("row_number").distinct().count() == 997
    assert sorted(BatchRowError.objects.filter(job=job).values_list("row_number", flat=True)) == [11, 451, 1000]
    assert job.rows_rejected == 3
    first = job.chunks.get(index=0)
    assert (first.attempts, first.failures) == (2, 1)  # killed once (its lease ran out), finished on redelivery
    assert set(job.chunks.values_list("state", flat=True)) == {"done"}
