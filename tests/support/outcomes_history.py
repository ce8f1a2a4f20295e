"""Builders of a decision history with loan outcomes: decisions dated in past months, counted in the aggregate
table as the app counts them, and outcomes reported as the lender's upload would (for realised performance)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection

from scoring.decisions import services
from scoring.models import Channel, LoanOutcome, ModelVersion, Prediction
from tests.support import app_role

# The database marker of a test that seeds decisions in past months (see _dated).
HISTORY_DB = pytest.mark.django_db(transaction=settings.DATABASE_IS_POSTGRES)


def model_version(name: str, *, auc: float | None, ks: float | None) -> ModelVersion:
    """A registered version whose validation report holds these AUC and KS (as lifecycle/versions.py stores them)."""
    sample = {key: value for key, value in (("auc", auc), ("ks", ks)) if value is not None}
    return ModelVersion.objects.create(
        name=name,
        sha256=name.encode().hex().ljust(64, "0")[:64],
        status=ModelVersion.Status.RETIRED,
        validation_report={"sample": sample},
    )


@contextmanager
def _dated(when: datetime):
    """New rows get ``when`` as their created_at.

    PostgreSQL's trigger stamps a decision with the time of writing; the table's owner switches it off
    around the seeding. As the app role (which may not), through the owner's own connection: that needs
    the test's connection to hold no lock on the table, so tests that seed a history are transactional
    on PostgreSQL (``HISTORY_DB``), and their rows are emptied by the owner's flush afterwards.
    """
    if connection.vendor == "postgresql":
        _stamping(enabled=False)
    try:
        with mock.patch("django.utils.timezone.now", return_value=when):
            yield
    finally:
        if connection.vendor == "postgresql":
            _stamping(enabled=True)


def _stamping(*, enabled: bool) -> None:
    statement = (
        f"ALTER TABLE scoring_prediction {'ENABLE' if enabled else 'DISABLE'} TRIGGER scoring_prediction_stamped"
    )
    if app_role.enabled():
        with app_role.owner_connection() as owner:
            owner.execute(statement)
    else:
        with connection.cursor() as cursor:
            cursor.execute(statement)


def decisions_in_month(
    user, version: ModelVersion, *, year: int, month: int, probabilities: Sequence[float], decisions: Sequence[str]
) -> list[Prediction]:
    """Decisions made on the 15th of the month at noon (UTC), added to the daily aggregate rows."""
    when = datetime(year, month, 15, 12, tzinfo=UTC)
    rows = [
        Prediction(
            user=user,
            channel=Channel.BATCH,
            model_version=version,
            inputs={},
            features={},
            probability=float(p),
            decision=decision,
            model_decision=decision,
            threshold=0.5,
            risk_band="C",
        )
        for p, decision in zip(probabilities, decisions, strict=True)
    ]
    with _dated(when):
        created = Prediction.objects.bulk_create(rows)
    for prediction in created:
        services.count_decisions(prediction, count=1, probability_sum=prediction.probability)
    return created


def report(prediction: Prediction, outcome: str, *, user, supersedes: LoanOutcome | None = None) -> LoanOutcome:
    """One outcome reported for a decision (a correction when it supersedes an earlier one)."""
    return LoanOutcome.objects.create(
        prediction=prediction,
        outcome=outcome,
        observed_on=datetime(2026, 11, 30, tzinfo=UTC).date(),
        source=LoanOutcome.Source.COMMAND,
        supersedes=supersedes,
        reason="Corrected by the lender." if supersedes else "",
        created_by=user,
    )
