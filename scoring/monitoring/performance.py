"""Realised performance of a model version: its scores against the loan outcomes lenders reported, per monthly vintage.

What a credit committee asks of a live model: how many of its decisions became loans with a
known outcome, how many defaulted against what it predicted (calibration), whether it still
ranks good from bad loans as well as on its validation sample (AUC, KS), and how the loans
officers approved against the model did next to the model's own approvals.

Counts of decisions and final outcomes come from the daily aggregate table (``DailyTotal``,
never a scan of ``Prediction``); outcomes from ``labelled_decisions`` (the standing outcome of
each decision, corrections applied). The figures are cached per version
(``cached_realised_performance``): pages, the API and the Prometheus scrape read the same
snapshot, refreshed by a Celery beat task, so a scrape never computes over all outcomes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from scoring.engine.performance import calibration_table, measure
from scoring.models import DailyTotal, Decision, ModelVersion
from scoring.monitoring.outcomes import labelled_decisions

# Figures that can be flagged, in the order they are shown.
AUC, KS, CALIBRATION = "auc", "ks", "calibration"
# Status of a set of figures.
OK, FLAGGED, TOO_FEW = "ok", "flagged", "too_few"
# Bump when the cached shape changes, so a deployment never reads the previous code's snapshot.
_CACHE_KEY = "realised-performance:v1:{version}"
# Versions exported to Prometheus: the most recent ones with decisions (one series per version and gauge).
METRICS_VERSIONS = 10


@dataclass(frozen=True)
class Flag:
    """A realised figure beyond its limit: ``figure`` is auc, ks or calibration; ``reference`` the validation
    figure (AUC, KS) or the mean predicted PD (calibration); ``limit`` the value the figure crossed."""

    figure: str
    realised: float
    reference: float
    limit: float


@dataclass(frozen=True)
class Figures:
    """Realised figures of one set of decisions (a vintage or all of them); None where not computable."""

    decisions: int
    approved: int
    outcomes: int  # booked loans with a known outcome: the rows every figure below is measured on
    defaults: int
    default_rate: float | None
    mean_pd: float | None
    calibration_gap: float | None  # observed default rate minus mean predicted PD
    auc: float | None
    gini: float | None
    ks: float | None
    brier: float | None
    status: str  # ok, flagged or too_few (fewer than PERFORMANCE_MIN_OUTCOMES outcomes: nothing is judged)
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class Vintage:
    month: date  # first day of the month the decisions were made
    figures: Figures


@dataclass(frozen=True)
class Funnel:
    """From decision to default, each step a subset of the one before (LoanOutcome has no "booked, no outcome
    yet": a loan is known to be booked when an outcome other than "withdrawn" is reported)."""

    decided: int
    approved: int  # final decision approve (after reviews that stand)
    reported: int  # approved, with an outcome reported (withdrawn included)
    booked: int  # approved, booked, with an outcome
    defaulted: int
    reported_not_approved: int  # outcomes reported on decisions whose final decision is not approve

    @property
    def steps(self) -> list[tuple[str, int, float | None]]:
        """(label, count, share of the step before) from decided to defaulted."""
        steps = [
            (_("Decided"), self.decided),
            (_("Approved (final decision)"), self.approved),
            (_("Outcome reported"), self.reported),
            (_("Booked"), self.booked),
            (_("Defaulted"), self.defaulted),
        ]
        return [
            (label, count, count / steps[i - 1][1] if i and steps[i - 1][1] else None)
            for i, (label, count) in enumerate(steps)
        ]


@dataclass(frozen=True)
class ApprovalGroup:
    """Approvals of one origin and how their booked loans did: ``origin`` is model, officer (the model said
    decline or refer, an officer's standing review approved), officer_referral or officer_decline."""

    origin: str
    approved: int
    booked: int
    defaulted: int
    default_rate: float | None


@dataclass(frozen=True)
class RealisedPerformance:
    version_id: int
    version_label: str
    since: date | None
    until: date | None
    computed_at: datetime
    reference_auc: float | None  # from the version's validation report (its bundle's labelled sample)
    reference_ks: float | None
    auc_margin: float
    ks_margin: float
    calibration_margin: float
    min_outcomes: int
    overall: Figures
    vintages: list[Vintage]
    calibration: list[dict[str, float | int]]  # reliability by PD decile, all booked loans with an outcome
    funnel: Funnel
    approvals: list[ApprovalGroup]
    declined_by_officer: int  # the model approved, an officer's standing review declined: no loan, no outcome
    declined_by_officer_reported: int  # outcomes reported on them anyway (a data problem to look at)

    @property
    def flagged(self) -> bool:
        return self.overall.status == FLAGGED


def realised_performance(
    version: ModelVersion, *, since: date | None = None, until: date | None = None
) -> RealisedPerformance:
    """The realised figures of ``version``'s decisions made from ``since`` (inclusive) to ``until`` (exclusive),
    days in the site's time zone; overall and per monthly vintage."""
    counts = _counts(version, since=since, until=until)
    frame = labelled_decisions(
        model_version_id=version.pk, since=_start_of(since), until=_start_of(until), booked_only=False
    )
    booked = frame[frame["booked"]]
    reference = (version.validation_report or {}).get("sample") or {}
    limits = _Limits(
        auc=_number(reference.get("auc")),
        ks=_number(reference.get("ks")),
        auc_margin=float(settings.PERFORMANCE_AUC_MARGIN),
        ks_margin=float(settings.PERFORMANCE_KS_MARGIN),
        calibration_margin=float(settings.PERFORMANCE_CALIBRATION_MARGIN),
        min_outcomes=int(settings.PERFORMANCE_MIN_OUTCOMES),
    )
    months = sorted(set(counts["month"]) | set(booked["vintage"]))
    vintages = [
        Vintage(
            month=month,
            figures=_figures(booked[booked["vintage"] == month], counts[counts["month"] == month], limits=limits),
        )
        for month in months
    ]
    approved = frame[frame["final_decision"] == Decision.APPROVE]
    officer_declined = frame[(frame["decision"] == Decision.APPROVE) & (frame["final_decision"] == Decision.DECLINE)]
    return RealisedPerformance(
        version_id=version.pk,
        version_label=version.label,
        since=since,
        until=until,
        computed_at=timezone.now(),
        reference_auc=limits.auc,
        reference_ks=limits.ks,
        auc_margin=limits.auc_margin,
        ks_margin=limits.ks_margin,
        calibration_margin=limits.calibration_margin,
        min_outcomes=limits.min_outcomes,
        overall=_figures(booked, counts, limits=limits),
        vintages=vintages,
        calibration=calibration_table(booked["defaulted"].to_numpy(), booked["probability"].to_numpy()),
        funnel=Funnel(
            decided=int(counts["count"].sum()),
            approved=int(counts["final_approve"].sum()),
            reported=len(approved),
            booked=int(approved["booked"].sum()),
            defaulted=int(approved["defaulted"].sum()),
            reported_not_approved=len(frame) - len(approved),
        ),
        approvals=_approvals(counts, booked),
        declined_by_officer=int(counts.loc[counts["decision"] == Decision.APPROVE, "final_decline"].sum()),
        declined_by_officer_reported=len(officer_declined),
    )


def cached_realised_performance(version: ModelVersion, *, refresh: bool = False) -> RealisedPerformance:
    """``realised_performance(version)`` over all decisions, computed at most once per PERFORMANCE_CACHE_SECONDS
    (the cache is shared by every process when REDIS_URL is set); ``refresh`` computes it again now."""
    key = _CACHE_KEY.format(version=version.pk)
    found = None if refresh else cache.get(key)
    if found is None:
        found = realised_performance(version)
        cache.set(key, found, settings.PERFORMANCE_CACHE_SECONDS)
    return found


def versions_with_decisions() -> list[ModelVersion]:
    """Every version that decided something, newest first (from the aggregate table: no scan of decisions)."""
    ids = DailyTotal.objects.values("model_version_id").distinct()
    return list(ModelVersion.objects.filter(pk__in=ids).order_by("-created_at", "-id"))


@shared_task(name="scoring.tasks_monitoring.realised_performance", ignore_result=True)
def refresh_realised_performance() -> list[int]:
    """Recompute the cached figures of the versions Prometheus exports; returns their ids."""
    versions = versions_with_decisions()[:METRICS_VERSIONS]
    for version in versions:
        cached_realised_performance(version, refresh=True)
    return [version.pk for version in versions]


# --- the pieces ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    auc: float | None
    ks: float | None
    auc_margin: float
    ks_margin: float
    calibration_margin: float
    min_outcomes: int


_COUNT_COLUMNS = ["month", "decision", "count", "final_approve", "final_refer", "final_decline"]


def _counts(version: ModelVersion, *, since: date | None, until: date | None) -> pd.DataFrame:
    """Decisions and their final outcomes per month and model decision, from the aggregate table."""
    rows = DailyTotal.objects.filter(model_version=version)
    if since is not None:
        rows = rows.filter(day__gte=since)
    if until is not None:
        rows = rows.filter(day__lt=until)
    rows = (
        rows.annotate(month=TruncMonth("day"))
        .values("month", "decision")
        .annotate(
            total=Sum("count"), approve=Sum("final_approve"), refer=Sum("final_refer"), decline=Sum("final_decline")
        )
        .order_by("month", "decision")
        .values_list("month", "decision", "total", "approve", "refer", "decline")
    )
    return pd.DataFrame.from_records(list(rows), columns=_COUNT_COLUMNS)


def _figures(booked: pd.DataFrame, counts: pd.DataFrame, *, limits: _Limits) -> Figures:
    y = booked["defaulted"].to_numpy(dtype=int)
    p = booked["probability"].to_numpy(dtype=float)
    measured = measure(y, p, booked["decision"].to_numpy())
    mean_pd = round(float(p.mean()), 4) if len(p) else None
    gap = None if mean_pd is None else round(float(y.mean()) - float(p.mean()), 4)
    too_few = len(y) < limits.min_outcomes
    flags = () if too_few else _flags(measured.auc, measured.ks, float(y.mean()), float(p.mean()), limits)
    return Figures(
        decisions=int(counts["count"].sum()),
        approved=int(counts["final_approve"].sum()),
        outcomes=len(y),
        defaults=int(y.sum()),
        default_rate=measured.bad_rate,
        mean_pd=mean_pd,
        calibration_gap=gap,
        auc=measured.auc,
        gini=None if measured.auc is None else round(2 * measured.auc - 1, 4),
        ks=measured.ks,
        brier=measured.brier,
        status=TOO_FEW if too_few else (FLAGGED if flags else OK),
        flags=flags,
    )


def _flags(
    auc: float | None, ks: float | None, default_rate: float, mean_pd: float, limits: _Limits
) -> tuple[Flag, ...]:
    flags = []
    for figure, value, reference, margin in (
        (AUC, auc, limits.auc, limits.auc_margin),
        (KS, ks, limits.ks, limits.ks_margin),
    ):
        if value is not None and reference is not None and value < reference - margin:
            flags.append(Flag(figure=figure, realised=value, reference=reference, limit=round(reference - margin, 4)))
    ceiling = mean_pd * (1 + limits.calibration_margin)
    if default_rate > ceiling:
        flags.append(
            Flag(
                figure=CALIBRATION,
                realised=round(default_rate, 4),
                reference=round(mean_pd, 4),
                limit=round(ceiling, 4),
            )
        )
    return tuple(flags)


def _approvals(counts: pd.DataFrame, booked: pd.DataFrame) -> list[ApprovalGroup]:
    """Approvals by origin: the model's own, and officers' (overriding a decline, or approving a referral)."""
    approved_loans = booked[booked["final_decision"] == Decision.APPROVE]
    origins = (
        ("model", [Decision.APPROVE]),
        ("officer", [Decision.REFER, Decision.DECLINE]),
        ("officer_referral", [Decision.REFER]),
        ("officer_decline", [Decision.DECLINE]),
    )
    groups = []
    for origin, decisions in origins:
        loans = approved_loans[approved_loans["decision"].isin([str(d) for d in decisions])]
        defaulted = int(loans["defaulted"].sum())
        groups.append(
            ApprovalGroup(
                origin=origin,
                approved=int(counts.loc[counts["decision"].isin([str(d) for d in decisions]), "final_approve"].sum()),
                booked=len(loans),
                defaulted=defaulted,
                default_rate=round(defaulted / len(loans), 4) if len(loans) else None,
            )
        )
    return groups


def _start_of(day: date | None) -> datetime | None:
    """Midnight at the start of ``day`` in the site's time zone (the aggregate table's days are local)."""
    if day is None:
        return None
    moment = datetime.combine(day, time.min)
    return timezone.make_aware(moment) if settings.USE_TZ else moment


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or np.isnan(value):
        return None
    return float(value)


def as_dict(found: RealisedPerformance) -> dict[str, Any]:
    """Plain data (for the API): every dataclass as a mapping."""
    return asdict(found) | {"flagged": found.flagged}
