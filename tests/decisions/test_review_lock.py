"""Reviews of one decision take turns, with a lock the app's role may take (no UPDATE privilege on decisions)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from scoring.decisions import services
from scoring.models import DailyTotal, Review

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _override(prediction) -> dict:
    return {
        "outcome": "approve" if prediction.decision == "decline" else "decline",
        "reason_code": "collateral",
        "justification": "House as collateral.",
    }


def test_a_review_waits_for_another_review_of_the_same_decision(officer, active_version, example_inputs):
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    locked, release = threading.Event(), threading.Event()

    def first_review_in_progress():
        try:
            with transaction.atomic():
                services.lock_reviews_of(prediction)
                locked.set()
                release.wait(5)
        finally:
            connection.close()

    holder = threading.Thread(target=first_review_in_progress)
    holder.start()
    assert locked.wait(5)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    services.record_review(user=officer, prediction=prediction, **_override(prediction))
    waited = time.monotonic() - started
    holder.join(5)
    assert waited >= 0.4
    assert Review.objects.filter(prediction=prediction).count() == 1


def test_concurrent_reviews_are_counted_once(officer, active_version, example_inputs, settings):
    settings.OVERRIDE_PD_LIMIT = 1.0  # within the officer's authority, so each override is recorded at once
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    together = threading.Barrier(3)
    failures = []

    def review():
        try:
            together.wait(5)
            services.record_review(user=officer, prediction=prediction, **_override(prediction))
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=review) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert failures == []
    assert Review.objects.filter(prediction=prediction).count() == 3
    total = DailyTotal.objects.get(decision=prediction.decision)
    assert (total.reviewed, total.overridden) == (1, 1)
