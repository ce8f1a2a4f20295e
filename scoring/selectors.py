"""Reads of the scoring domain: filtered prediction history with keyset pagination, and summaries.

Web pages, the API and exports all filter through ``prediction_list`` so that
a filter means the same thing everywhere. Pages are cut by keyset on
(created_at, id), never by OFFSET, so page 10,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import permissions
from scoring.models import Prediction, Review


@dataclass(frozen=True)
class PredictionFilters:
    """The history filters; every field optional. Dates are inclusive, in the site's time zone."""

    date_from: date | None = None
    date_to: date | None = None
    user_id: int | None = None
    model_version_id: int | None = None
    decision: str | None = None
    final_decision: str | None = None
    risk_band: str | None = None
    channel: str | None = None
    batch_job_id: int | None = None
    external_ref: str | None = None
    overridden: bool | None = None
    reviewed: bool | None = None

    def as_dict(self) -> dict[str, object]:
        """The filters that are set, JSON-friendly (for export logs and links)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != "":
                out[f.name] = value.isoformat() if isinstance(value, date) else value
        return out


def prediction_list(*, user, filters: PredictionFilters | None = None) -> QuerySet[Prediction]:
    """Predictions the user may see, filtered, newest first (ties broken by id)."""
    qs = permissions.visible_predictions(user, Prediction.objects.all())
    f = filters or PredictionFilters()
    if f.date_from:
        qs = qs.filter(created_at__gte=_start_of(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=_start_of(f.date_to + timedelta(days=1)))
    if f.user_id:
        qs = qs.filter(user_id=f.user_id)
    if f.model_version_id:
        qs = qs.filter(model_version_id=f.model_version_id)
    if f.decision:
        qs = qs.filter(decision=f.decision)
    if f.risk_band:
        qs = qs.filter(risk_band=f.risk_band)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.batch_job_id:
        qs = qs.filter(batch_job_id=f.batch_job_id)
    if f.external_ref:
        qs = qs.filter(external_ref=f.external_ref.strip())
    if f.overridden is not None:
        overridden = Exists(Review.objects.filter(prediction=OuterRef("pk"), overridden=True))
        qs = qs.filter(overridden) if f.overridden else qs.exclude(overridden)
    if f.reviewed is not None:
        reviewed = Exists(Review.objects.filter(prediction=OuterRef("pk")))
        qs = qs.filter(reviewed) if f.reviewed else qs.exclude(reviewed)
    if f.final_decision:
        qs = with_final_decision(qs).filter(final=f.final_decision)
    return qs.order_by("-created_at", "-id")


def with_final_decision(qs: QuerySet[Prediction]) -> QuerySet[Prediction]:
    """Annotate each prediction with ``final``: the latest review's decision, else the model's."""
    latest = Review.objects.filter(prediction=OuterRef("pk")).order_by("-created_at", "-id")
    return qs.annotate(final=Coalesce(Subquery(latest.values("final_decision")[:1]), F("decision")))


@dataclass
class Page:
    items: list[Prediction]
    next_cursor: str | None


def keyset_page(qs: QuerySet[Prediction], *, cursor: str | None, size: int) -> Page:
    """One page of a newest-first queryset after ``cursor`` (an opaque token from the previous page)."""
    position = decode_cursor(cursor) if cursor else None
    if position:
        created_at, pk = position
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    items = list(qs[: size + 1])
    next_cursor = encode_cursor(items[size - 1]) if len(items) > size else None
    return Page(items=items[:size], next_cursor=next_cursor)


def encode_cursor(prediction: Prediction) -> str:
    raw = json.dumps([prediction.created_at.isoformat(), prediction.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, int] | None:
    """The (created_at, id) a cursor points after, or None for a token that is not ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        stamp, pk = json.loads(raw)
        moment = datetime.fromisoformat(stamp)
        if timezone.is_naive(moment) or not isinstance(pk, int):
            return None
        return moment, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- officer web pages (issue #4) ------------------------------------------------------


def with_review_state(qs: QuerySet[Prediction]) -> QuerySet[Prediction]:
    """Annotate ``final`` (see with_final_decision) and ``reviewed`` (has at least one review)."""
    return with_final_decision(qs).annotate(reviewed=Exists(Review.objects.filter(prediction=OuterRef("pk"))))


def open_referral_list(*, user) -> QuerySet[Prediction]:
    """Referred decisions of this officer with no review yet: they wait for the officer's decision."""
    qs = prediction_list(user=user, filters=PredictionFilters(user_id=user.pk, decision="refer", reviewed=False))
    return qs.select_related("model_version")


def review_list(*, prediction: Prediction) -> QuerySet[Review]:
    """A decision's reviews, oldest first (the order they happened in)."""
    return prediction.reviews.select_related("user").order_by("created_at", "id")


def prediction_with_key(*, user, idempotency_key: str) -> Prediction | None:
    """The decision this user already made under an idempotency key (a replayed form or request), if any."""
    return Prediction.objects.filter(user=user, idempotency_key=idempotency_key).first()
