"""Streamed CSV export of the decision history: constant memory, one row per decision, each export logged."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, QuerySet

from scoring.models import ExportLog, Prediction
from scoring.selectors import PredictionFilters, prediction_export_rows, prediction_list

COLUMNS = [
    ("id", lambda p: p.pk),
    ("created_at", lambda p: p.created_at.isoformat()),
    ("officer", lambda p: p.user.get_username()),
    ("channel", lambda p: p.channel),
    ("external_ref", lambda p: p.external_ref),
    ("batch_job", lambda p: p.batch_job_id or ""),
    ("batch_row", lambda p: "" if p.row_number is None else p.row_number),
    ("model_version", lambda p: p.model_version_id),
    ("model_name", lambda p: p.model_version.name),
    ("model_sha256", lambda p: p.model_version.sha256),
    ("probability_of_default", lambda p: f"{p.probability:.6f}"),
    ("threshold", lambda p: p.threshold),
    ("decision", lambda p: p.decision),
    ("risk_band", lambda p: p.risk_band),
    ("final_decision", lambda p: p.final),
    ("overridden", lambda p: "yes" if any(r.overridden for r in p.reviews.all()) else "no"),
    ("review_count", lambda p: len(p.reviews.all())),
    ("last_review_outcome", lambda p: _last_review(p, "outcome")),
    ("last_review_reason", lambda p: _last_review(p, "reason_code")),
    ("last_review_justification", lambda p: _last_review(p, "justification")),
    ("last_review_by", lambda p: _last_review(p, "user").get_username() if p.reviews.all() else ""),
    ("last_review_at", lambda p: _last_review(p, "created_at").isoformat() if p.reviews.all() else ""),
    ("reasons", lambda p: " | ".join(_reason_text(r) for r in p.reasons)),
    ("inputs", lambda p: json.dumps(p.inputs, sort_keys=True, default=str)),
]

# A cell starting with one of these is a formula to a spreadsheet; prefix it so it stays text.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def start_export(*, user: AbstractBaseUser, filters: PredictionFilters) -> tuple[ExportLog, QuerySet[Prediction]]:
    """Record an export and return the exact rows it covers.

    The rows are pinned to predictions that exist now (id <= the newest one), so the
    logged row count is what the file holds even while new decisions arrive.
    """
    qs = prediction_list(user=user, filters=filters)
    with transaction.atomic():
        last_id = qs.aggregate(last=Max("id"))["last"]
        if last_id is not None:
            qs = qs.filter(id__lte=last_id)
        log = ExportLog.objects.create(
            user=user, filters=filters.as_dict(), row_count=qs.count(), last_prediction_id=last_id
        )
    return log, prediction_export_rows(qs)


class _Echo:
    """A file-like object whose write() hands back the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _last_review(prediction: Prediction, attribute: str):
    reviews = prediction.reviews.all()  # prefetched, oldest first
    return getattr(reviews[len(reviews) - 1], attribute) if reviews else ""


def _reason_text(reason: object) -> str:
    if isinstance(reason, dict):
        return str(reason.get("sentence") or reason.get("label") or reason.get("feature") or "")
    return str(reason)


def _safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES) and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def csv_lines(rows: QuerySet[Prediction]) -> Iterator[str]:
    """The CSV text line by line; reads the rows in chunks (a server-side cursor on PostgreSQL)."""
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in COLUMNS])
    for prediction in rows.iterator(chunk_size=settings.AUDIT_EXPORT_CHUNK_SIZE):
        yield writer.writerow([_safe(value(prediction)) for _, value in COLUMNS])
