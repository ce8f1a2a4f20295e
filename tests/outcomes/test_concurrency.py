"""Two sets of outcomes for the same decisions at once: one waits for the other, so nothing is stored twice and
no standing outcome is corrected twice (PostgreSQL: advisory locks the app's role may take)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from scoring.models import LoanOutcome
from scoring.outcomes import services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TODAY = timezone.localdate


def _together(work, count: int) -> list:
    """Run ``work(i)`` in ``count`` threads released at once; the results, or the errors raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait(5)
            results[i] = work(i)
        except Exception as error:  # reported by the test, in its own thread
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_identical_sets_store_each_outcome_once(decisions, auditor):
    rows = [{"decision_id": d.pk, "outcome": "repaid", "observed_on": TODAY()} for d in decisions]

    results = _together(lambda i: services.record_outcomes(rows, user=auditor, source=LoanOutcome.Source.API), count=4)

    assert all(isinstance(r, services.Result) and r.ok for r in results), results
    assert sum(r.stored for r in results) == len(decisions)
    assert sum(r.unchanged for r in results) == 3 * len(decisions)
    assert LoanOutcome.objects.count() == len(decisions)


def test_concurrent_corrections_chain_instead_of_both_correcting_the_same_row(decisions, auditor):
    decision = decisions[0]
    services.record_outcomes(
        [{"decision_id": decision.pk, "outcome": "repaid", "observed_on": TODAY()}],
        user=auditor,
        source=LoanOutcome.Source.API,
    )
    corrections = ["defaulted", "written_off", "withdrawn"]

    def correct(i):
        row = {"decision_id": decision.pk, "outcome": corrections[i], "observed_on": TODAY(), "reason": f"Fix {i}"}
        return services.record_outcomes([row], user=auditor, source=LoanOutcome.Source.API)

    results = _together(correct, count=3)

    assert all(isinstance(r, services.Result) and r.ok and r.corrected == 1 for r in results), results
    rows = list(LoanOutcome.objects.filter(prediction=decision).order_by("id"))
    # One chain: each row supersedes the one written just before it, none is corrected twice.
    assert [r.supersedes_id for r in rows] == [None, *(r.id for r in rows[:-1])]
    assert list(LoanOutcome.objects.current().filter(prediction=decision)) == [rows[-1]]


def test_a_set_waits_while_another_holds_its_decisions(decisions, auditor):
    decision = decisions[0]
    locked, release = threading.Event(), threading.Event()

    def other_set_in_progress():
        try:
            with transaction.atomic():
                services._lock([decision.pk])
                locked.set()
                release.wait(5)
        finally:
            connection.close()

    holder = threading.Thread(target=other_set_in_progress)
    holder.start()
    assert locked.wait(5)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    result = services.record_outcomes(
        [{"decision_id": decision.pk, "outcome": "repaid", "observed_on": TODAY()}],
        user=auditor,
        source=LoanOutcome.Source.API,
    )
    waited = time.monotonic() - started
    holder.join(5)

    assert result.stored == 1 and waited >= 0.4
