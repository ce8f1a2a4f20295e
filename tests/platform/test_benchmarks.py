"""A tiny run of every benchmark under bench/, so they keep working: each prints its figures beside its targets.

The figures of a run this small mean little; what is tested is that each benchmark starts what it
needs (gunicorn, a Celery worker, its own database), measures, prints every line it promises, leaves
the data it made consistent, and misses no target: no line says FAIL. A target set for a larger run
(a rate that needs many rows, a ratio that needs a long window) says "n/a at this size" instead.
The sizes that mean something are `make bench` and `make bench-full`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from scoring.models import BatchJob, Prediction
from tests.support import app_role

ROOT = Path(django_settings.BASE_DIR)


def _server_url(database: str = "postgres") -> str:
    s = connection.settings_dict
    user = s["USER"]
    if app_role.enabled():
        # The benchmarks create databases and tables (scratch databases, the batch benchmark's floor
        # table): an administrator's job, so they get the owner's login, never the app role more grants.
        user = app_role.owner_settings()["USER"]
    return f"postgres://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{database}"


@pytest.fixture(autouse=True)
def _static_files_outside_the_project(monkeypatch, tmp_path):
    """Benchmarks that profile pages collect the static files into STATIC_ROOT (``_run`` passes the
    environment on). Left in the project's var/staticfiles (39 MB), they made every Django test client
    created afterwards - the rest of the session, the next run, CI's SQLite run - have WhiteNoise index
    them when it starts: about half a second a test on a busy machine."""
    monkeypatch.setenv("STATIC_ROOT", str(tmp_path / "static"))


def _run(script: str, *args: str, env: dict | None = None, timeout: int = 600) -> str:
    """A benchmark's output; it must exit 0 and miss no target."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    _no_line_says_fail(run.stdout)
    return run.stdout


def _no_line_says_fail(output: str) -> None:
    """Every benchmark prints its verdicts through bench/harness.py: ok, FAIL, or n/a at this size."""
    failed = [line for line in output.splitlines() if re.search(r"\bFAIL\b", line)]
    assert not failed, "a target missed:\n" + "\n".join(failed) + f"\n\nin:\n{output[-3000:]}"


def test_a_missed_target_printed_by_the_harness_fails_the_smoke_test():
    spec = importlib.util.spec_from_file_location("bench_harness", ROOT / "bench" / "harness.py")
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    line = f"end to end (s)   120.0   <= 90.0   {harness.verdict(False)}"
    with pytest.raises(AssertionError, match="a target missed"):
        _no_line_says_fail(line)
    _no_line_says_fail(f"end to end (s)   12.0   <= 90.0   {harness.verdict(True)}")
    _no_line_says_fail(f"rows/s   900   {harness.verdict(False, applies=False, set_for='1,000,000 rows')}")


def _has_figures(output: str, *labels: str) -> None:
    for label in labels:
        assert re.search(rf"{re.escape(label)}.*\d", output), f"{label!r} missing from:\n{output[-3000:]}"


@pytest.fixture
def scratch_database():
    """A database name of this test's own, dropped afterwards (the benchmarks create theirs)."""
    name = f"creditscore_bench_smoke_{os.getpid()}"
    yield name
    with psycopg.connect(_server_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_batch_benchmark_scores_every_row_once_on_a_real_worker(settings):
    out = _run(
        "batch.py",
        "--rows",
        "2000",
        "--chunk-rows",
        "250",
        env={
            "DATABASE_URL": _server_url(connection.settings_dict["NAME"]),
            "ARTIFACT_ROOT": str(settings.ARTIFACT_ROOT),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        },
    )
    _has_figures(out, "end to end (s)", "rows/s", "worker peak RSS", "raw floor rows/s", "job rows/s / raw floor")
    _has_figures(out, "per chunk (median of 8, seconds): scoring")
    job = BatchJob.objects.get()
    assert job.state == "succeeded" and job.chunks.count() == 8
    assert Prediction.objects.filter(batch_job=job).count() == 2000 == job.rows_scored
    assert Prediction.objects.filter(batch_job=job).values("row_number").distinct().count() == 2000


@pytest.mark.postgres
@pytest.mark.slow
def test_the_history_benchmark_times_every_page_and_the_export(scratch_database):
    out = _run(
        "history.py",
        "--rows",
        "3000",
        "--export-rows",
        "500",
        "--repeat",
        "2",
        "--database",
        scratch_database,
        env={"DATABASE_URL": _server_url()},
    )
    _has_figures(out, "no filter", "officer + decision + overridden", "next page (keyset)", "detail page")
    _has_figures(out, "CSV export: ", "rows/s")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_the_api_benchmark_drives_gunicorn_and_reports_the_floors(scratch_database):
    out = _run(
        "api.py",
        "--seconds",
        "1",
        "--clients",
        "2",
        "--floor-samples",
        "50",
        "--profile",
        "20",
        "--database",
        scratch_database,
        env={"DATABASE_URL": _server_url()},
    )
    _has_figures(out, "clients: p50 (ms)", "p99 (ms)", "decisions/s", "errors", "model (validate, predict")
    # The in-process profiles of the API request and of an officer's form submission ran.
    assert "ScoreApi.post" in out and "application_new" in out, out
    _has_figures(out, "GET form page", "POST the form (scores, redirects)", "GET decision page")
    _has_figures(out, "do-nothing DRF view", "memory per worker")
    assert re.search(r"errors \(non-2xx or broken connections\)\s+0\s", out), out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_api_scoring_benchmark_times_one_and_many(tmp_path):
    out = _run(
        "api_scoring.py",
        "--single",
        "10",
        "--many",
        "20",
        "--repeat",
        "1",
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}", "ARTIFACT_ROOT": str(tmp_path / "a")},
    )
    _has_figures(
        out,
        "POST /score, 8 requests, no challenger: p50",
        "POST /score, 8 requests, shadow challenger (eager, in the request's process): p50",
        "shadow scores stored:",
        "shadow cost per decision",
        "POST /score/many, 20 applications",
        "speed-up",
    )
    assert "shadow scores stored: 8 for 8 decisions (one each) ok" in out


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_monitoring_benchmark_times_the_monitoring_reads(settings):
    out = _run(
        "monitoring.py",
        "--rows",
        "500",
        env={
            "DATABASE_URL": _server_url(connection.settings_dict["NAME"]),
            "ARTIFACT_ROOT": str(settings.ARTIFACT_ROOT),
        },
    )
    _has_figures(out, "drift report incl. fairness", "monitoring page, whole request", "/metrics scrape")


@pytest.mark.slow
def test_the_export_memory_benchmark_streams_flat(tmp_path):
    out = _run(
        "export_memory.py",
        "--rows",
        "2000",
        "--small",
        "200",
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}", "ARTIFACT_ROOT": str(tmp_path / "a")},
    )
    _has_figures(out, "traced peak, 2,000 vs 200 rows")
    assert "\nresult: " in out, out  # its verdict line (n/a at this size: the ratio is judged from 10,000 rows)


@pytest.mark.slow
def test_the_policy_simulation_benchmark_replays_the_window(tmp_path):
    out = _run(
        "policy_simulation.py",
        "--rows",
        "3000",
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}", "ARTIFACT_ROOT": str(tmp_path / "a")},
    )
    assert "replayed 3000 decisions" in out, out
    _has_figures(out, "replay throughput", "peak Python memory, 3000 rows")


@pytest.mark.slow
def test_the_backtest_benchmark_checks_its_counts_and_reports_memory(tmp_path):
    out = _run(
        "backtest.py",
        "--rows",
        "3000",
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}", "ARTIFACT_ROOT": str(tmp_path / "a")},
    )
    assert "backtest of 3,000 decisions" in out, out
    assert "counts checked against the independent computation: ok" in out, out
    _has_figures(out, "elapsed, scaled to 1,000,000 rows", "peak RSS, 3,000 rows", "peak RSS ratio")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_the_hot_swap_benchmark_swaps_under_load(scratch_database, tmp_path):
    import socket

    with psycopg.connect(_server_url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{scratch_database}"')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = _run(
        "hotswap.py",
        "--seconds",
        "1",
        "--clients",
        "2",
        "--port",
        str(port),
        env={
            "DATABASE_URL": _server_url(scratch_database),
            "ARTIFACT_ROOT": str(tmp_path / "artifacts"),
            "DJANGO_SETTINGS_MODULE": "tests.support.settings_hotswap",  # the bench's own, not pytest's
        },
    )
    _has_figures(out, "time until every process serves", "failed requests", "p99 latency steady (ms)", "ratio")
    assert re.search(r"failed requests\s+0\s", out), out  # no request fails during a swap, even this short


def test_the_offers_benchmark_times_the_search():
    output = _run("offers.py", "--cases", "8")
    assert re.search(r"^search p95 +[\d.]+ ms +<= 300 ms  ok$", output, re.MULTILINE), output
    assert "applications with at least one alternative" in output


@pytest.mark.slow
def test_the_realised_performance_benchmark_times_the_computation_and_the_cached_reads(settings):
    out = _run(
        "realised_performance.py",
        "--rows",
        "300",
        env={"DATABASE_URL": "", "ARTIFACT_ROOT": str(settings.ARTIFACT_ROOT)},  # a scratch SQLite file
    )
    _has_figures(out, "realised performance, computed", "/metrics scrape, figures cached", "monitoring page, figures")
    assert "n/a at this size (target set for 100,000 outcomes)" in out
