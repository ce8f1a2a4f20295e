"""Metrics in multiprocess mode: two worker processes' counts add up in one scrape (plain processes and gunicorn)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.support import DEFAULT_BUNDLE
from tests.support.processes import free_port, metric_value, subprocess_env

pytestmark = pytest.mark.slow

ROOT = Path(settings.BASE_DIR)
TOKEN = "multiprocess-test-token-0123456789abcdef"

_WORKER = """
import os, sys
from types import SimpleNamespace
from scoring.monitoring import metrics
from tests.support.processes import free_port, metric_value, subprocess_env
n = int(sys.argv[1])
for i in range(n):
    p = SimpleNamespace(pk=i, decision="approve", risk_band="A", channel="api", model_version_id=7,
                        probability=0.05, user_id=1, batch_job_id=None)
    metrics.record_prediction(p, engine_seconds=0.002, total_seconds=0.004)
metrics.record_batch_rows(scored=n, rejected=1)
print(os.getpid())
"""

_COLLECT = """
from prometheus_client import generate_latest
from scoring.monitoring import metrics
print(generate_latest(metrics.process_registry()).decode())
"""


_CLEAN = "from scoring.monitoring import metrics; metrics.clean_multiprocess_dir()"


def test_two_processes_counts_add_up_and_a_clean_start_forgets_them(tmp_path):
    env = subprocess_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"))
    run = [sys.executable, "-c"]
    subprocess.run(
        [*run, "from scoring.monitoring import metrics; metrics.clean_multiprocess_dir()"], env=env, check=True
    )
    for n in (3, 5):
        subprocess.run([*run, _WORKER, str(n)], env=env, check=True, capture_output=True)

    body = subprocess.run([*run, _COLLECT], env=env, check=True, capture_output=True, text=True).stdout

    labels = 'channel="api",decision="approve",model_version="7",risk_band="A"'
    assert metric_value(body, f"creditscore_predictions_total{{{labels}}}") == 8
    assert metric_value(body, 'creditscore_scoring_seconds_count{channel="api",stage="total"}') == 8
    assert metric_value(body, 'creditscore_batch_rows_total{outcome="scored"}') == 8
    assert metric_value(body, 'creditscore_batch_rows_total{outcome="rejected"}') == 2

    subprocess.run(
        [*run, "from scoring.monitoring import metrics; metrics.clean_multiprocess_dir()"], env=env, check=True
    )
    body = subprocess.run([*run, _COLLECT], env=env, check=True, capture_output=True, text=True).stdout
    assert "creditscore_predictions_total{" not in body


@pytest.fixture
def gunicorn_two_workers(tmp_path):
    """A real gunicorn with two workers on a file SQLite database with the demo users and the default model."""
    port = free_port()
    env = subprocess_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_DEBUG="true",
        CREDITSCORE_DEMO="true",
        ARTIFACT_ROOT=str(tmp_path / "artifacts"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
        METRICS_TOKEN=TOKEN,
        CELERY_BROKER_URL="",
        LOG_LEVEL="WARNING",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    bundle = ["activate_bundle", str(DEFAULT_BUNDLE), "--if-none"]
    for command in (["migrate", "--noinput"], bundle, ["create_demo_users"]):
        subprocess.run([*manage, *command], env=env, check=True, capture_output=True, cwd=ROOT)
    # Left over from an earlier run: on_starting must clear it or it would be added in.
    (tmp_path / "prom").mkdir(exist_ok=True)
    (tmp_path / "prom" / "counter_99999.db").write_bytes(b"stale")
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers", "2"]
    server = subprocess.Popen(
        [*command, "--bind", f"127.0.0.1:{port}", "creditscore.wsgi"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(server.stderr.read().decode()) from None
                time.sleep(0.25)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _logged_in_opener(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": "officer", "password": "creditscore-demo", "csrfmiddlewaretoken": csrf}
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=form, headers={"Referer": f"{base}/accounts/login/"}
    )
    assert opener.open(request).geturl().rstrip("/") == base
    return opener


def _scrape(base: str, token: str | None = TOKEN) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return urllib.request.urlopen(urllib.request.Request(f"{base}/metrics", headers=headers)).read().decode()


def test_gunicorn_with_two_workers_reports_the_totals_of_both(gunicorn_two_workers, tmp_path):
    base = gunicorn_two_workers
    opener = _logged_in_opener(base)
    home = (
        'django_http_requests_total_by_view_transport_method_total{method="GET",transport="http",view="scoring:home"}'
    )
    before = metric_value(_scrape(base), home)  # the redirect after login landed on home once

    # Concurrent requests until both workers have served some (each reports its own pid).
    served = 0
    pids: set[str] = set()
    for _ in range(10):
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: opener.open(f"{base}/").status, range(40)))
        assert statuses == [200] * 40
        served += 40
        pids = set(re.findall(r'creditscore_active_model_info\{[^}]*pid="(\d+)"[^}]*\} 1\.0', _scrape(base)))
        if len(pids) == 2:
            break
    assert len(pids) == 2, "both workers should have served requests"

    body = _scrape(base)
    assert metric_value(body, home) == before + served
    # Each worker loaded the model once; one scrape sees both loads.
    assert metric_value(body, 'creditscore_model_loads_total{outcome="success"}') == 2
    # The stale file from a "previous run" was removed at start, so nothing else was added in
    # (a bare "99999" can occur inside a latency sum, so look for the dead process's pid label).
    assert not (tmp_path / "prom" / "counter_99999.db").exists()
    assert 'pid="99999"' not in body

    with pytest.raises(urllib.error.HTTPError) as refused:
        _scrape(base, token=None)
    assert refused.value.code == 401
