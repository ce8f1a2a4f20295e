"""Loan outcomes for test data: a plausible outcome for each decision, drawn from its probability of default."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from scoring.models import LoanOutcome, Prediction

REPORTER = "outcome-reporter"


def seed_outcomes(predictions: Sequence[Prediction], rng, *, reporter=None) -> list[LoanOutcome]:
    """One outcome row per decision, stored in bulk (fixture data, not the service's checks).

    ``rng`` is a ``random.Random`` or a numpy ``Generator`` (only its ``random()`` is used), so a seeded
    one gives the same outcomes every run. A decision defaults with its own probability of default (a
    fifth of the defaults written off), so the model is calibrated on these outcomes; of the others, one
    in twenty was never booked (withdrawn). Outcomes are observed on the day of the decision, or up to a
    year later but never in the future. ``reporter`` is the user recorded as reporting them (a dedicated
    user by default).
    """
    if reporter is None:
        reporter, _ = get_user_model().objects.get_or_create(username=REPORTER)
    today = timezone.localdate()
    rows = []
    for prediction in predictions:
        decided_on = timezone.localdate(prediction.created_at)
        observed_on = min(decided_on + timedelta(days=int(rng.random() * 365)), today)
        draw = rng.random()
        if draw < prediction.probability:
            written_off = draw < prediction.probability / 5
            outcome = LoanOutcome.Outcome.WRITTEN_OFF if written_off else LoanOutcome.Outcome.DEFAULTED
            days_past_due = 90 + int(rng.random() * 90)
        elif rng.random() < 0.05:
            outcome, days_past_due = LoanOutcome.Outcome.WITHDRAWN, None
        else:
            outcome, days_past_due = LoanOutcome.Outcome.REPAID, 0
        rows.append(
            LoanOutcome(
                prediction=prediction,
                external_ref=prediction.external_ref,
                outcome=outcome,
                observed_on=observed_on,
                days_past_due=days_past_due,
                source=LoanOutcome.Source.API,
                source_ref="seed",
                created_by=reporter,
            )
        )
    return LoanOutcome.objects.bulk_create(rows)
