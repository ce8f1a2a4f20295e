"""Reads of decisions: filtered prediction history with keyset pagination, summaries, and one decision.

Web pages, the API and exports all filter through ``prediction_list`` so that
a filter means the same thing everywhere. Pages are cut by keyset on
(created_at, id), never by OFFSET, so page 10,000 costs what page 1 does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, F, JSONField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, TextField
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from accounts import permissions
from scoring.models import (
    DailyStat,
    DailyTotal,
    Decision,
    MonthlyStat,
    Prediction,
    ReferralAssignment,
    Review,
    final_decision_of,
)


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
    # "My decisions" search: references starting with this, whatever the capitals.
    external_ref_prefix: str | None = None
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
        qs = qs.filter(created_at__gte=start_of(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=start_of(f.date_to + timedelta(days=1)))
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
    if f.external_ref_prefix:
        qs = qs.filter(external_ref__istartswith=f.external_ref_prefix)
    if f.overridden is not None:
        overridden = ProbedExists(Review.objects.filter(prediction=OuterRef("pk"), overridden=True))
        qs = qs.filter(overridden) if f.overridden else qs.exclude(overridden)
    if f.reviewed is not None:
        reviewed = ProbedExists(Review.objects.filter(prediction=OuterRef("pk")))
        qs = qs.filter(reviewed) if f.reviewed else qs.exclude(reviewed)
    if f.final_decision:
        qs = with_final_decision(qs).filter(final=f.final_decision)
    return qs.order_by("-created_at", "-id")


def history_rows(qs: QuerySet[Prediction]) -> QuerySet[Prediction]:
    """A history list's rows: the final decision annotated, and only the columns a list shows
    (a decision row carries ~2 kB of JSON the list has no use for)."""
    return with_final_decision(qs).select_related("user").only(*HISTORY_LIST_FIELDS)


HISTORY_LIST_FIELDS = (
    "id",
    "created_at",
    "user__username",
    "user__first_name",  # people are shown by full name
    "user__last_name",
    "channel",
    "model_version_id",
    "probability",
    "decision",
    "risk_band",
    "threshold",
    "external_ref",
    "batch_job_id",
    "row_number",
)


# A model version's bulky JSON, which lists that name the version do not need.
VERSION_BULK = ("model_version__metadata", "model_version__validation_report", "model_version__file_hashes")

# What an officer's own lists show (home page, "My decisions", referrals waiting).
OFFICER_LIST_FIELDS = ("id", "created_at", "external_ref", "decision", "probability", "risk_band", "user_id")


class ProbedExists(Exists):
    """EXISTS checked row by row as the history is walked newest first, one index probe per decision.

    Left to itself PostgreSQL turns a review filter into a join that collects every matching review
    and then fetches each of their decisions (all overrides of ten years) to sort them: 0.4 s at 10
    million decisions against 0.1 s this way (bench/README.md). ``OFFSET 0`` keeps the subquery a
    subquery; it means nothing else, on any database.
    """

    template = "EXISTS(%(subquery)s OFFSET 0)"


def with_final_decision(qs: QuerySet[Prediction]) -> QuerySet[Prediction]:
    """Annotate each prediction with ``final``: the latest standing review's decision, else the model's
    (as DecisionView.final_decision), and ``pending``: a change waits for a credit manager's approval.

    A queryset that has them already (a final-outcome filter adds them) is returned as it is.
    """
    if "final" in qs.query.annotations:
        return qs
    return qs.annotate(final=final_decision_of(), pending=Exists(PENDING_REVIEWS.filter(prediction=OuterRef("pk"))))


# Reviews that count for the final outcome, and those waiting for a credit manager's answer (scoring/models).
STANDING_REVIEWS = Review.objects.standing()
PENDING_REVIEWS = Review.objects.pending()


@dataclass
class Page:
    items: list[Prediction]
    next_cursor: str | None


def keyset_page(qs: QuerySet[Prediction], *, cursor: str | None, size: int, oldest_first: bool = False) -> Page:
    """One page of a newest-first queryset after ``cursor`` (an opaque token from the previous page).

    With ``oldest_first`` the queryset is re-ordered oldest first (same indexes, read backwards).
    """
    if oldest_first:
        qs = qs.order_by("created_at", "id")
    position = decode_cursor(cursor) if cursor else None
    if position:
        qs = qs.filter(after_position(*position, oldest_first=oldest_first))
    items = list(qs[: size + 1])
    next_cursor = encode_cursor(items[size - 1]) if len(items) > size else None
    return Page(items=items[:size], next_cursor=next_cursor)


def after_position(created_at: datetime, pk: int, *, oldest_first: bool = False) -> Q:
    """Rows after (created_at, pk) in page order.

    The leading ``created_at <=`` (or ``>=``) is redundant logically but lets PostgreSQL start
    the index scan at the cursor; with only the OR it walks every row before it (measured:
    0.26 ms vs 33-110 ms for a page in the middle of 100,000 rows; see bench/README.md).
    """
    if oldest_first:
        return Q(created_at__gte=created_at) & (Q(created_at__gt=created_at) | Q(id__gt=pk))
    return Q(created_at__lte=created_at) & (Q(created_at__lt=created_at) | Q(id__lt=pk))


# A cursor is the last row's position: its created_at in microseconds since 1970 (UTC), a dot, and its id.
# Every text of this shape is a position (17 digits reach the year 5138, 18 stay below 2**63), so the API
# schema can state the format exactly and any cursor it allows is one the server reads.
CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,18}$"
_CURSOR = re.compile(CURSOR_PATTERN.removeprefix("^").removesuffix("$"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(prediction: Prediction) -> str:
    since = prediction.created_at - _EPOCH
    micros = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
    return f"{micros}.{prediction.pk}"


def decode_cursor(token: str) -> tuple[datetime, int] | None:
    """The (created_at, id) a cursor points after, or None for a token that is not a cursor."""
    if _CURSOR.fullmatch(token) is None:
        return None
    micros, pk = token.split(".")
    return _EPOCH + timedelta(microseconds=int(micros)), int(pk)


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- officer web pages ------------------------------------------------------


def with_review_state(qs: QuerySet[Prediction]) -> QuerySet[Prediction]:
    """Annotate ``final`` (see with_final_decision) and ``reviewed`` (has at least one review)."""
    return with_final_decision(qs).annotate(reviewed=Exists(Review.objects.filter(prediction=OuterRef("pk"))))


def open_referral_list(*, user) -> QuerySet[Prediction]:
    """Referred decisions of this officer with no review yet: they wait for the officer's decision."""
    qs = prediction_list(user=user, filters=PredictionFilters(user_id=user.pk, decision="refer", reviewed=False))
    return qs.only(*OFFICER_LIST_FIELDS)


# Who the referral queue shows: "me", "unassigned", "all" or a colleague's user id (as text).
QUEUE_ASSIGNEES = ("me", "unassigned", "all")


def referral_queue(*, user, assignee: str = "all") -> QuerySet[Prediction]:
    """Open referrals of this user's team (their own included): referred, no review yet, newest first
    (keyset_page reads it oldest first), each with ``assignee_id``, the latest taker, if any."""
    officers = {user.pk, *permissions.teammate_ids(user)} if permissions.is_officer(user) else set()
    if permissions.is_credit_manager(user):
        officers = set(permissions.teammate_ids(user))
    latest = ReferralAssignment.objects.filter(prediction=OuterRef("pk")).order_by("-created_at", "-id")
    qs = (
        Prediction.objects.filter(user_id__in=officers, decision=Decision.REFER)
        .exclude(ProbedExists(Review.objects.filter(prediction=OuterRef("pk"))))
        .annotate(assignee_id=Subquery(latest.values("assignee_id")[:1]))
        .select_related("user")
        .only(*OFFICER_LIST_FIELDS, "user__username", "user__first_name", "user__last_name")
    )
    if assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif assignee == "unassigned":
        qs = qs.filter(assignee_id__isnull=True)
    elif assignee not in QUEUE_ASSIGNEES:
        qs = qs.filter(assignee_id=int(assignee))
    return qs.order_by("-created_at", "-id")


def team_members(*, user) -> list:
    """The user's teammates, by name (the queue's assignee filter)."""
    return list(
        get_user_model()
        .objects.filter(pk__in=permissions.teammate_ids(user))
        .order_by("first_name", "last_name", "username")
    )


def user_names(ids: set[int]) -> dict[int, str]:
    """Full names (else user names) by id: who took the referrals on a queue page, former teammates too."""
    users = get_user_model().objects.filter(pk__in=ids).only("username", "first_name", "last_name")
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


def open_referral_count(*, user) -> int:
    """How many open referrals the user's team has (the home page badge)."""
    return referral_queue(user=user).count()


def pending_approval_list(*, user) -> QuerySet[Review]:
    """Changes waiting for approval that this credit manager may answer (their team's, not their own), oldest first."""
    return (
        PENDING_REVIEWS.filter(user_id__in=permissions.teammate_ids(user))
        .exclude(prediction__user_id=user.pk)
        .select_related("user", "prediction")
        .order_by("created_at", "id")
    )


def counter_offer_list(*, user, prediction: Prediction) -> QuerySet[Prediction]:
    """The counter-offers made of a decision that the user may see, oldest first (ids and decisions only)."""
    qs = permissions.visible_predictions(user, Prediction.objects.filter(counter_offer_of=prediction))
    return qs.order_by("created_at", "id").only("id", "decision", "created_at", "counter_offer_of")


def review_list(*, prediction: Prediction) -> QuerySet[Review]:
    """A decision's reviews, oldest first (the order they happened in), with their approvals."""
    return (
        Review.objects.filter(prediction=prediction)
        .select_related("user", "approval", "approval__user")
        .order_by("created_at", "id")
    )


def prediction_with_key(*, user, idempotency_key: str) -> Prediction | None:
    """The decision this user already made under an idempotency key (a replayed form or request), if any."""
    return Prediction.objects.filter(user=user, idempotency_key=idempotency_key).first()


def recent_duplicates(*, user, applications: Sequence[tuple[str, Mapping[str, object]]]) -> list[Prediction | None]:
    """For each (reference, validated features), this officer's latest decision of the same application, if any.

    The same application is the same non-blank reference, or the same validated features (the canonical
    values the model scored, so "1,000" typed in the form and 1000 sent to the API are one application),
    decided in the last ``DUPLICATE_WINDOW_DAYS`` days; 0 turns the check off. One query for all of them.
    """
    days = settings.DUPLICATE_WINDOW_DAYS
    if days <= 0 or not applications:
        return [None] * len(applications)
    refs = {ref for ref, _ in applications if ref}
    features = [dict(f) for _, f in applications]
    same = Q(features_value__in=features)
    if refs:
        same |= Q(external_ref__in=refs)
    candidates = (
        Prediction.objects.filter(user=user, created_at__gte=timezone.now() - timedelta(days=days))
        # The column keeps the text as written (json, not jsonb, on PostgreSQL: no equality operator); as
        # jsonb, key order and spacing do not matter. Only this officer's recent rows are converted.
        .annotate(features_value=Cast("features", JSONField()))
        .filter(same)
        .order_by("-created_at", "-id")
        .only("id", "created_at", "external_ref", "features", "idempotency_key")
    )
    by_ref: dict[str, Prediction] = {}
    by_features: dict[str, Prediction] = {}
    for prediction in candidates:  # newest first: the first one seen is the one to show
        if prediction.external_ref:
            by_ref.setdefault(prediction.external_ref, prediction)
        by_features.setdefault(_canonical(prediction.features), prediction)
    return [(by_ref.get(ref) if ref else None) or by_features.get(_canonical(f)) for ref, f in applications]


def _canonical(features: Mapping[str, object]) -> str:
    return json.dumps(features, sort_keys=True, separators=(",", ":"))


# --- Auditor history: summaries, exports, model timeline, access log ----------

# Filters the aggregate tables have a dimension for, and the review filters their counters answer (one at a time).
_DIMENSIONS = {"date_from", "date_to", "user_id", "model_version_id", "decision", "risk_band", "channel"}
_REVIEW_FILTERS = {"overridden", "reviewed", "final_decision"}


@dataclass(frozen=True)
class Summary:
    """Count, model approvals and overrides for a filter, or None for each when they are not kept for it.

    ``source`` says where the figures come from: "totals" (the daily aggregate tables), "page"
    (every match is on the page shown, counted there) or "none" (not computed: no scan of the
    history is made for a summary).
    """

    count: int | None = None
    approved: int | None = None
    overridden: int | None = None
    source: str = "none"

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.count if self.count else None

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.count if self.count else None

    @property
    def approval_percent(self) -> float | None:
        return None if self.approval_rate is None else 100 * self.approval_rate

    @property
    def override_percent(self) -> float | None:
        return None if self.override_rate is None else 100 * self.override_rate


def prediction_summary(*, user, filters: PredictionFilters | None = None) -> Summary:
    """The summary strip for a filter, from the daily aggregates; not computed (source "none") for
    filters they have no counts for (a reference, a batch job, two review filters at once)."""
    f = filters or PredictionFilters()
    given = set(f.as_dict())
    review_filters = given & _REVIEW_FILTERS
    if given - _REVIEW_FILTERS <= _DIMENSIONS and len(review_filters) <= 1:
        return _summary_from_counts(user=user, filters=f)
    return Summary()


def page_summary(items: list[Prediction]) -> Summary:
    """The summary of decisions already in hand: for a filter all of whose matches fit on one page."""
    overridden = set(
        Review.objects.filter(prediction__in=[p.pk for p in items], overridden=True).values_list(
            "prediction_id", flat=True
        )
    )
    return Summary(
        count=len(items),
        approved=sum(p.decision == Decision.APPROVE for p in items),
        overridden=sum(p.pk in overridden for p in items),
        source="page",
    )


def _summary_from_counts(*, user, filters: PredictionFilters) -> Summary:
    f = filters
    if permissions.can_view_all_predictions(user):
        officer = f.user_id
    elif permissions.is_officer(user):
        if f.user_id and f.user_id != user.pk:
            return Summary(count=0, approved=0, overridden=0, source="totals")
        officer = user.pk
    else:
        return Summary(count=0, approved=0, overridden=0, source="totals")
    dimensions = {
        "model_version_id": f.model_version_id,
        "decision": f.decision,
        "risk_band": f.risk_band,
        "channel": f.channel,
    }
    dimensions = {k: v for k, v in dimensions.items() if v not in (None, "")}
    if officer is None:  # all officers' rows are few enough to add up day by day
        parts = [_within(DailyTotal.objects.filter(**dimensions), f.date_from, f.date_to)]
    else:  # an officer's: whole months from the monthly rows, the days at either end from the daily ones
        months, days = month_split(f.date_from, f.date_to)
        parts = [_within(DailyStat.objects.filter(user_id=officer, **dimensions), *d) for d in days]
        if months is not None:
            monthly = MonthlyStat.objects.filter(user_id=officer, **dimensions)
            parts.append(_within(monthly, months[0], months[1] - timedelta(days=1) if months[1] else None))
    sums = _summary_sums(f)
    totals = [qs.aggregate(**sums) for qs in parts]
    return Summary(
        count=sum(int(t["n"]) for t in totals),
        approved=sum(int(t["n_approved"]) for t in totals),
        overridden=sum(int(t.get("n_overridden", 0)) for t in totals),
        source="totals",
    )


def _within(qs: QuerySet, first: date | None, last: date | None) -> QuerySet:
    if first:
        qs = qs.filter(day__gte=first)
    if last:
        qs = qs.filter(day__lte=last)
    return qs


def month_split(first: date | None, last: date | None) -> tuple[tuple[date | None, date | None] | None, list]:
    """Cut the inclusive day range [first, last] (None: open) into the calendar months wholly inside it
    (their first days, as [start, end) with None open) and the day ranges left at either end."""
    start = first if first is None or first.day == 1 else _next_month(first)
    end = (
        None
        if last is None
        else (_next_month(last) if _next_month(last) - timedelta(days=1) == last else last.replace(day=1))
    )
    if start is not None and end is not None and start >= end:
        return None, [(first, last)]
    days = []
    if first is not None and first < start:
        days.append((first, start - timedelta(days=1)))
    if last is not None and end <= last:
        days.append((end, last))
    return (start, end), days


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _summary_sums(f: PredictionFilters) -> dict:
    """The sums that answer the filter's review condition (at most one) from an aggregate row's counters."""
    approve = Q(decision=Decision.APPROVE)
    if f.overridden is True:
        counted, overridden = F("overridden"), Sum("overridden")
    elif f.overridden is False:
        counted, overridden = F("count") - F("overridden"), None
    elif f.reviewed is True:
        counted, overridden = F("reviewed"), Sum("overridden")
    elif f.reviewed is False:
        counted, overridden = F("count") - F("reviewed"), None
    elif f.final_decision:
        counted = F(f"final_{f.final_decision}")
        # decisions that end as this outcome because an officer overrode the model (not referrals)
        overridden = Sum(counted, filter=~Q(decision__in=[f.final_decision, Decision.REFER]))
    else:
        counted, overridden = F("count"), Sum("overridden")
    sums = {"n": Coalesce(Sum(counted), 0), "n_approved": Coalesce(Sum(counted, filter=approve), 0)}
    if overridden is not None:
        sums["n_overridden"] = Coalesce(overridden, 0)
    return sums


def prediction_export_rows(qs: QuerySet[Prediction]) -> QuerySet[Prediction]:
    """Rows for the CSV export (databases without COPY): reviews prefetched per chunk, bulky columns deferred.

    With ``iterator(chunk_size=...)`` the reviews come in one query per chunk, not one per row.
    """
    reviews = Review.objects.select_related("user", "approval", "approval__user").order_by("created_at", "id")
    return (
        qs.select_related("user", "model_version")
        .annotate(inputs_text=Cast("inputs", TextField()))  # the JSON exactly as stored
        .defer("inputs", "features", "protected", "model_version__metadata", "model_version__validation_report")
        .prefetch_related(Prefetch("reviews", queryset=reviews))
    )


def prediction_get(*, user, pk: int) -> Prediction | None:
    """One prediction with everything its detail page shows, if the user may see it."""
    qs = permissions.visible_predictions(user, Prediction.objects.all())
    return (
        qs.select_related("user", "model_version", "batch_job")
        .prefetch_related(
            Prefetch(
                "reviews",
                queryset=Review.objects.select_related("user", "approval", "approval__user").order_by("created_at"),
            )
        )
        .filter(pk=pk)
        .first()
    )
