"""Reads of reported loan outcomes joined to the decisions they belong to, for realised performance."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from django.db.models import DateField
from django.db.models.functions import TruncMonth

from scoring.models import LoanOutcome, final_decision_of

LABELLED_COLUMNS = [
    "prediction_id",
    "created_at",
    "model_version_id",
    "probability",
    "decision",
    "model_decision",
    "final_decision",
    "vintage",
    "outcome",
    "observed_on",
    "booked",
    "defaulted",
]


def labelled_decisions(
    *,
    model_version_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    booked_only: bool = True,
) -> pd.DataFrame:
    """One row per decision with a standing (latest) outcome: its score and what happened.

    ``defaulted`` is 1 for a default or write-off and 0 otherwise; ``booked`` is False for a withdrawn or
    never-booked loan, which ``booked_only`` leaves out (an unbooked loan cannot default). ``since`` and
    ``until`` bound the decision's time (a vintage is the month the decision was made).
    ``final_decision`` is the decision's final outcome (the latest standing review's, else ``decision``);
    ``vintage`` the first day of the month the decision was made, in the site's time zone.
    """
    rows = LoanOutcome.objects.current()
    if model_version_id is not None:
        rows = rows.filter(prediction__model_version_id=model_version_id)
    if since is not None:
        rows = rows.filter(prediction__created_at__gte=since)
    if until is not None:
        rows = rows.filter(prediction__created_at__lt=until)
    if booked_only:
        rows = rows.exclude(outcome=LoanOutcome.Outcome.WITHDRAWN)
    rows = rows.annotate(
        final_decision=final_decision_of("prediction_id", "prediction__decision"),
        # As a date: no time-zone conversion of each row's value in Python (half the time at 100,000 rows).
        vintage=TruncMonth("prediction__created_at", output_field=DateField()),
    )
    values = rows.order_by("prediction_id").values_list(
        "prediction_id",
        "prediction__created_at",
        "prediction__model_version_id",
        "prediction__probability",
        "prediction__decision",
        "prediction__model_decision",
        "final_decision",
        "vintage",
        "outcome",
        "observed_on",
    )
    frame = pd.DataFrame.from_records(list(values), columns=LABELLED_COLUMNS[:-2])
    frame["booked"] = frame["outcome"] != LoanOutcome.Outcome.WITHDRAWN
    frame["defaulted"] = frame["outcome"].isin([str(value) for value in LoanOutcome.BAD]).astype(int)
    return frame[LABELLED_COLUMNS]
