"""Reads of loan outcomes for pages and exports: recent uploads, one decision's outcome history, the audit export."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from scoring.files.csv_export import CsvLines
from scoring.models import LoanOutcome, OutcomeUpload, Prediction

EXPORT_COLUMNS = (
    "outcome_id",
    "decision_id",
    "external_ref",
    "outcome",
    "observed_on",
    "days_past_due",
    "standing",
    "supersedes",
    "reason",
    "source",
    "upload_id",
    "recorded_at",
    "recorded_by",
)
_EXPORT_BLOCK = 2000


def outcome_upload_list() -> QuerySet[OutcomeUpload]:
    return OutcomeUpload.objects.select_related("created_by").order_by("-created_at", "-id")


def outcome_history(prediction: Prediction) -> list[LoanOutcome]:
    """Every outcome row of a decision, newest first: the first is the standing one, the others it corrected."""
    return list(
        LoanOutcome.objects.filter(prediction=prediction).select_related("created_by", "supersedes").order_by("-id")
    )


def outcome_export_lines(*, last_id: int | None) -> Iterator[str]:
    """Every outcome row up to ``last_id``, superseded ones too, oldest first, as formula-safe CSV (ISO dates,
    UTC times). Read in id order a block at a time (keyset), so the export neither holds the table in memory
    nor misses or repeats a row; rows recorded while it runs are left out.
    """
    lines = CsvLines()
    lines.row(EXPORT_COLUMNS)
    yield lines.take()
    last = last_id
    if last is None:
        return

    after = 0
    while True:
        block = list(
            LoanOutcome.objects.filter(id__gt=after, id__lte=last)
            .order_by("id")
            .values_list(
                "id",
                "prediction_id",
                "external_ref",
                "outcome",
                "observed_on",
                "days_past_due",
                "supersedes_id",
                "reason",
                "source",
                "source_ref",
                "created_at",
                "created_by__username",
            )[:_EXPORT_BLOCK]
        )
        if not block:
            return
        ids = [row[0] for row in block]
        superseded = set(
            LoanOutcome.objects.filter(supersedes_id__in=ids, id__lte=last).values_list("supersedes_id", flat=True)
        )
        for pk, prediction, ref, outcome, day, dpd, supersedes, reason, source, upload, at, by in block:
            lines.row(
                [
                    pk,
                    prediction,
                    ref,
                    outcome,
                    day.isoformat(),
                    "" if dpd is None else dpd,
                    "no" if pk in superseded else "yes",
                    supersedes or "",
                    reason,
                    source,
                    upload,
                    at.isoformat(),
                    by,
                ]
            )
        yield lines.take()
        after = block[-1][0]
