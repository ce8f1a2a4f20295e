"""Activating a credit policy while requests are in flight: gunicorn with 2 workers, a client loop, zero failures.

Runs on PostgreSQL (the workers and this test share the test database). Four clients score the same
application (one the model approves) through POST /api/v1/score while a policy that knocks it out is
activated; every worker must switch to it within the check interval, and no request may fail.
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from django.contrib.auth.models import Group

from accounts.permissions import OFFICER
from accounts.tokens import issue_api_token
from scoring.engine.policy import BEFORE_MODEL, Condition, Rule
from scoring.engine.schema import APPROVE, DECLINE
from scoring.lifecycle import registry, versions
from scoring.models import Prediction
from scoring.policy import services as policy_services
from tests.lifecycle.test_lifecycle_hotswap import PASSWORD, call, start_gunicorn, wait_until
from tests.support import DEFAULT_BUNDLE
from tests.support.applications import inputs_by_decision
from tests.support.processes import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_policy_activation_switches_every_worker_without_a_failed_request(django_user_model):
    model_version = versions.register_bundle(path=DEFAULT_BUNDLE)
    if model_version.status != model_version.Status.ACTIVE:
        versions.activate(version=model_version, user=None)
    inputs = dict(inputs_by_decision()[APPROVE])
    model = registry.get_active().model
    knock_out = Rule(
        code="AMOUNT_ABOVE_MAXIMUM",
        name="Amount above the maximum",
        statement="The amount requested is above this product's maximum.",
        outcome=DECLINE,
        stage=BEFORE_MODEL,
        conditions=(Condition("credit_amount", f">= {inputs['credit_amount']}"),),
    )
    policy = policy_services.create_version(name="Tighter", rules=[knock_out], user=None, model=model)
    officer = django_user_model.objects.create_user("policy-swap-officer", password=PASSWORD)
    officer.groups.add(Group.objects.get(name=OFFICER))
    auth = "Token " + issue_api_token(user=officer, name="policy swap")[1]

    port = free_port()
    server = start_gunicorn(port)
    base = f"http://127.0.0.1:{port}"
    results: list[tuple[float, int, dict]] = []  # (started, status, body)
    stop = threading.Event()

    def client():
        while not stop.is_set():
            started = time.monotonic()
            status, body = call(f"{base}/api/v1/score", {"inputs": inputs, "force": True}, auth)
            results.append((started, status, body))

    try:
        assert wait_until(lambda: call(f"{base}/test-served")[0] == 200, 120), "gunicorn did not start"
        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        assert wait_until(lambda: len(results) > 20, 60), "no answers before the switch"
        activated_at = time.monotonic()
        policy_services.activate(policy, user=None, model=model, note="hot swap test")
        # Every process asks at most every MODEL_CHECK_INTERVAL (1 s here) which policy is live.
        switched = wait_until(
            lambda: (
                sum(1 for at, _, body in list(results) if at > activated_at + 2 and body.get("policy_version")) > 20
            ),
            60,
        )
        stop.set()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)

    assert switched, "the workers never decided with the new policy"
    failures = [r for r in results if r[1] not in (200, 201)]
    assert not failures, failures[:5]
    # Each answer is wholly one side of the switch: the model alone, or the new policy with its rule deciding.
    # (A request sent just before the activation may be served just after it, on a busy host.)
    old_side = [b for _, _, b in results if b["policy_version"] is None]
    new_side = [b for _, _, b in results if b["policy_version"] is not None]
    assert old_side and all(b["decision"] == APPROVE and not b["policy_rules"] for b in old_side)
    assert new_side and all(
        (b["decision"], b["policy_version"], b["deciding_rule"]) == (DECLINE, policy.pk, "AMOUNT_ABOVE_MAXIMUM")
        for b in new_side
    )
    # Every answer to a request sent after the check interval (1 s) plus a margin is on the new side.
    assert all(b["policy_version"] == policy.pk for at, _, b in results if at > activated_at + 2)
    assert all(b["policy_version"] is None for at, _, b in results if at < activated_at - 3)
    # What each answer said is what was stored.
    stored = dict(Prediction.objects.values_list("pk", "policy_version_id"))
    assert all(stored[body["id"]] == body["policy_version"] for _, _, body in results)
