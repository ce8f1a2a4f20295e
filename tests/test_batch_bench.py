"""A tiny run of bench/batch.py: a real two-process Celery worker on Redis and PostgreSQL scores every row once."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.db import connection

from scoring.models import BatchJob, Prediction


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_batch_benchmark_runs_and_prints_its_figures(settings):
    s = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
        "ARTIFACT_ROOT": str(settings.ARTIFACT_ROOT),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    bench = os.path.join(django_settings.BASE_DIR, "bench", "batch.py")
    run = subprocess.run(
        [sys.executable, bench, "--rows", "2000", "--chunk-rows", "250"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for label in ("end to end (s)", "rows/s", "worker peak RSS", "raw floor rows/s", "job rows/s / raw floor"):
        assert re.search(rf"{re.escape(label)}.*\d", run.stdout), label
    job = BatchJob.objects.get()
    assert job.state == "succeeded" and job.chunks.count() == 8
    assert Prediction.objects.filter(batch_job=job).count() == 2000 == job.rows_scored
    assert Prediction.objects.filter(batch_job=job).values("row_number").distinct().count() == 2000
