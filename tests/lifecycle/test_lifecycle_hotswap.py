"""Activating a version while requests are in flight: gunicorn with 2 workers, a client loop, zero failures.

Runs on PostgreSQL (the workers and this test share the test database). The
clients score through POST /api/v1/score; a test-only probe (tests/support/hotswap_urls.py)
says which version each worker process serves. The switch is a cold one: the new
version's files were never loaded by the workers, and its load is made to take
``SLOW_LOAD_S`` seconds (tests/support/settings_hotswap.py), like a large model's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection

from accounts.permissions import OFFICER
from accounts.tokens import issue_api_token
from scoring.lifecycle import versions
from scoring.models import Prediction
from tests.support import DEFAULT_BUNDLE
from tests.support.lifecycle_fixtures import bundle_variant
from tests.support.processes import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
COLD_NAME = "hotswap-cold"
SLOW_LOAD_S = 4.0
# A request that waited for the load would take SLOW_LOAD_S or more; a busy CI host adds some noise.
MAX_LATENCY_S = SLOW_LOAD_S / 2


def start_gunicorn(port: int) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.support.settings_hotswap",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "ARTIFACT_ROOT": str(settings.ARTIFACT_ROOT),
        "MODEL_CHECK_INTERVAL": "1",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        # The client threads are one user sending as fast as they can: a 429 would not be a failed swap.
        "API_THROTTLE_USER_RATE": "100000/second",
        "HOTSWAP_SLOW_LOAD": f"{COLD_NAME}:{SLOW_LOAD_S}",
    }
    command = [sys.executable, "-m", "gunicorn", "creditscore.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
    return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stderr=subprocess.DEVNULL)


def call(url: str, body: dict | None = None, auth: str = "") -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": auth} if auth else {}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {"detail": exc.read()[:200].decode(errors="replace")}
    except OSError as exc:
        return 0, {"detail": str(exc)}


def cold_bundle(target):
    """A variant never loaded by the workers, whose load the test settings make slow."""
    folder = bundle_variant(target, threshold="0.2")
    mlmodel = folder / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("  name: german-credit-catboost\n", f"  name: {COLD_NAME}\n", 1))
    return folder


def test_a_cold_switch_while_requests_are_in_flight_fails_none_and_keeps_them_fast(
    django_user_model, tmp_path, example_inputs
):
    old = versions.register_bundle(path=DEFAULT_BUNDLE)
    if old.status != old.Status.ACTIVE:
        versions.activate(version=old, user=None)
    new = versions.register_bundle(path=cold_bundle(tmp_path / "new"))
    officer = django_user_model.objects.create_user("swap-officer", password=PASSWORD)
    officer.groups.add(Group.objects.get(name=OFFICER))
    auth = "Token " + issue_api_token(user=officer, name="hot swap")[1]

    port = free_port()
    server = start_gunicorn(port)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if call(f"{base}/test-served")[0] == 200:
                break
            time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")

        results: list[tuple[float, int, dict, float]] = []  # (started, status, body, seconds)
        served: list[tuple[float, dict]] = []
        stop = threading.Event()

        def client():
            while not stop.is_set():
                started = time.monotonic()
                status, body = call(f"{base}/api/v1/score", {"inputs": example_inputs, "force": True}, auth)
                results.append((started, status, body, time.monotonic() - started))

        def prober():
            # which version each worker process serves (the test-only probe in tests/support/hotswap_urls.py)
            while not stop.is_set():
                status, body = call(f"{base}/test-served")
                if status == 200:
                    served.append((time.monotonic(), body))
                time.sleep(0.05)

        threads = [threading.Thread(target=client) for _ in range(4)] + [threading.Thread(target=prober)]
        for t in threads:
            t.start()
        # Both workers have loaded the old version (at their start, the one load made in a request).
        assert wait_until(lambda: len({body["pid"] for _, body in served}) == 2, 60), "a worker never answered"
        time.sleep(1)
        activated_at = time.monotonic()
        versions.activate(version=new, user=None, note="hot swap test")
        switched = wait_until(lambda: every_worker_serves(served, new.pk, after=activated_at), 60)
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=20)

    assert switched, "the workers never served the new version"
    failures = [r for r in results if r[1] not in (200, 201)]  # 201: a new decision
    assert not failures, failures[:5]
    assert len(results) > 20
    stored = dict(Prediction.objects.values_list("pk", "model_version_id"))
    assert all(stored[body["id"]] == body["model_version"]["id"] for _, _, body, _ in results)
    assert {body["model_version"]["id"] for _, _, body, _ in results} == {old.pk, new.pk}
    # No request waited for the load: the slowest one while it ran is far below the load's duration.
    during = [seconds for at, _, _, seconds in results if at >= activated_at - 1]
    assert during and max(during) < MAX_LATENCY_S, max(during)
    # Once a worker serves the new version, it never answers with the old one again.
    for pid in {body["pid"] for _, body in served}:
        seen = [(at, body["version_id"]) for at, body in served if body["pid"] == pid]
        first_new = min(at for at, version in seen if version == new.pk)
        assert all(version == new.pk for at, version in seen if at >= first_new), seen
        # Within the load's time plus the check interval and some slack for a busy host.
        assert first_new - activated_at < SLOW_LOAD_S + 5, first_new - activated_at


def wait_until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def every_worker_serves(served: list[tuple[float, dict]], version_id: int, *, after: float) -> bool:
    latest: dict[int, int] = {}
    for at, body in list(served):
        if at > after:
            latest[body["pid"]] = body["version_id"]
    return len(latest) == 2 and set(latest.values()) == {version_id}
