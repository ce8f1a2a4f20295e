"""Monitoring of the live model: drift reports (the one writer of DriftReport), daily rates and fairness reads."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Case, IntegerField, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scoring import display
from scoring.engine import drift
from scoring.exceptions import ModelUnavailable
from scoring.models import DailyTotal, Decision, DriftReport, ModelVersion, Prediction
from scoring.monitoring import metrics

log = logging.getLogger(__name__)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# --- drift ---------------------------------------------------------------------------


def create_drift_report(
    *, version: ModelVersion | None = None, days: int | None = None, now: datetime | None = None
) -> DriftReport:
    """Compare the latest decisions of ``version`` (default: the active one) with its training reference,
    and compute the fairness tables of the same day (stored with the report).

    Reads at most DRIFT_MAX_ROWS of the most recent decisions in the window, by the
    (model_version, created_at) index, so the cost is bounded whatever the history size.
    Raises ModelUnavailable when there is no version or it carries no reference.
    """
    if version is None:
        version = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
        if version is None:
            raise ModelUnavailable("No model version is active.")
    reference = (version.metadata or {}).get("reference") or {}
    if not reference.get("features"):
        raise ModelUnavailable(f"{version} carries no training reference distributions; drift cannot be measured.")
    days = days or _setting("DRIFT_WINDOW_DAYS", 7)
    end = now or timezone.now()
    start = end - timedelta(days=days)
    rows = list(
        Prediction.objects.filter(model_version=version, created_at__gte=start, created_at__lt=end)
        .order_by("-created_at", "-id")
        .values_list("features", "probability")[: _setting("DRIFT_MAX_ROWS", 50_000)]
    )
    min_count = _setting("DRIFT_MIN_OBSERVATIONS", 30)
    features = [
        drift.feature_drift(name, spec, (row[0].get(name) for row in rows), min_count=min_count).as_dict()
        for name, spec in reference["features"].items()
    ]
    features.sort(key=lambda f: (f["psi"] is None, -(f["psi"] or 0.0), f["name"]))
    score = (
        drift.feature_drift("score", reference["score"], (row[1] for row in rows), min_count=min_count).as_dict()
        if reference.get("score")
        else {}
    )
    measured = [f["psi"] for f in features if f["psi"] is not None]
    fairness = fairness_report(now=end).as_dict()
    with transaction.atomic():
        report = DriftReport.objects.create(
            model_version=version,
            window_start=start,
            window_end=end,
            observed_count=len(rows),
            features=features,
            score=score,
            score_psi=score.get("psi"),
            max_psi=max(measured, default=None),
            watch_count=sum(1 for f in features if f["level"] == "watch"),
            act_count=sum(1 for f in features if f["level"] == "act"),
            fairness=fairness,
        )
    log.info(
        "drift report computed",
        extra={
            "event": "drift_report",
            "drift_report_id": report.pk,
            "model_version": version.pk,
            "observed": report.observed_count,
            "act": report.act_count,
            "watch": report.watch_count,
        },
    )
    return report


def latest_drift_report() -> DriftReport | None:
    return DriftReport.objects.newest()


def drift_report_list(*, version: ModelVersion | None = None, limit: int = 90) -> list[DriftReport]:
    """The most recent reports (oldest first, for charts)."""
    queryset = DriftReport.objects.order_by("-created_at", "-id")
    if version is not None:
        queryset = queryset.filter(model_version=version)
    return list(reversed(queryset[:limit]))


# A drift level ("stable", "watch", "act", "no data", as the engine stores it) in the reader's language.
LEVEL_WORDS = {
    "stable": _("stable"),
    "watch": _("watch"),
    "act": _("act"),
    "no data": _("no data"),
}


def level_word(level: object) -> str:
    """The stored level word translated; an unknown level as stored."""
    return str(LEVEL_WORDS.get(str(level), level or ""))


# --- daily rates (from the aggregate table, never from Prediction) --------------------


@dataclass(frozen=True)
class DailyRates:
    day: date
    volume: int
    approved: int
    reviewed: int
    overridden: int
    probability_sum: float

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.volume if self.volume else None

    @property
    def override_rate(self) -> float | None:
        """Overrides per decision recorded that day (the alert rule uses the same ratio)."""
        return self.overridden / self.volume if self.volume else None

    @property
    def mean_probability(self) -> float | None:
        return self.probability_sum / self.volume if self.volume else None


def daily_rates(*, days: int | None = None, today: date | None = None) -> list[DailyRates]:
    """One entry per day of the window (days without decisions included, as zero volume)."""
    days = days or _setting("MONITORING_DAYS", 90)
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    rows = (
        DailyTotal.objects.filter(day__gte=first, day__lte=today)  # all officers' rows: no per-officer sum
        .values("day")
        .annotate(
            volume=Sum("count"),
            approved=Sum(
                Case(When(decision=Decision.APPROVE, then="count"), default=Value(0)), output_field=IntegerField()
            ),
            reviewed=Sum("reviewed"),
            overridden=Sum("overridden"),
            probability_sum=Sum("probability_sum"),
        )
    )
    by_day = {row["day"]: row for row in rows}
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day) or {}
        series.append(
            DailyRates(
                day=day,
                volume=int(row.get("volume") or 0),
                approved=int(row.get("approved") or 0),
                reviewed=int(row.get("reviewed") or 0),
                overridden=int(row.get("overridden") or 0),
                probability_sum=float(row.get("probability_sum") or 0.0),
            )
        )
    return series


# --- fairness ------------------------------------------------------------------------

FOUR_FIFTHS = 0.8
AGE_BANDS = (
    (18, 25, "18-24"),
    (25, 35, "25-34"),
    (35, 45, "35-44"),
    (45, 55, "45-54"),
    (55, 65, "55-64"),
    (65, 200, "65+"),
)
# The German-credit bundle's groupings: its personal status field also carries sex, and ages are banded.
ATTRIBUTES = (
    ("sex", _("Sex (from personal status and sex)")),
    ("age_band", _("Age band")),
    ("foreign_worker", _("Foreign worker")),
)
# Stored reports keep the English label; these attributes are shown in the reader's language.
_ATTRIBUTE_LABELS = dict(ATTRIBUTES)
_DERIVED = {"personal_status_and_sex": ATTRIBUTES[0], "age_in_years": ATTRIBUTES[1]}


def attribute_label(attribute: str, stored: str) -> str:
    """A fairness table's attribute as the reader reads it (a stored report keeps the English label)."""
    return str(_ATTRIBUTE_LABELS.get(attribute, stored))


def fairness_attributes(protected: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(attribute, label) to report for a bundle's protected attributes: each categorical one by its
    recorded value, ages by band; other numeric attributes have no groups to compare and are left out."""
    attributes = []
    for spec in protected:
        name = str(spec.get("name") or "")
        if name in _DERIVED:
            attributes.append(_DERIVED[name])
        elif spec.get("kind") == "categorical":
            attributes.append((name, display.text(spec.get("label")) or name))
    return attributes


@dataclass
class FairnessGroup:
    name: str
    count: int
    approved: int
    too_few: bool = False
    ratio: float | None = None  # adverse impact ratio against the most favoured group
    flagged: bool = False
    reference: bool = False

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.count if self.count else None


@dataclass
class FairnessTable:
    attribute: str
    label: str
    groups: list[FairnessGroup] = field(default_factory=list)
    not_recorded: int = 0

    @property
    def flagged(self) -> bool:
        return any(g.flagged for g in self.groups)

    def as_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "label": str(self.label),
            "not_recorded": self.not_recorded,
            "groups": [
                {k: getattr(g, k) for k in ("name", "count", "approved", "too_few", "ratio", "flagged", "reference")}
                for g in self.groups
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> FairnessTable:
        """A stored table; its attribute named from ``labels`` (by attribute, in the reader's language) if given."""
        label = (labels or {}).get(data["attribute"]) or attribute_label(data["attribute"], data["label"])
        return cls(
            attribute=data["attribute"],
            label=label,
            not_recorded=data["not_recorded"],
            groups=[FairnessGroup(**g) for g in data["groups"]],
        )


@dataclass
class FairnessReport:
    window_start: datetime
    window_end: datetime
    decisions: int
    truncated: bool
    min_group: int
    tables: list[FairnessTable]

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "decisions": self.decisions,
            "truncated": self.truncated,
            "min_group": self.min_group,
            "tables": [t.as_dict() for t in self.tables],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessReport:
        """A stored report, its attributes named in the reader's language (the active bundle's labels)."""
        labels = dict(_active_attributes())
        return cls(
            window_start=datetime.fromisoformat(data["window_start"]),
            window_end=datetime.fromisoformat(data["window_end"]),
            decisions=data["decisions"],
            truncated=data["truncated"],
            min_group=data["min_group"],
            tables=[FairnessTable.from_dict(t, labels) for t in data["tables"]],
        )


def group_of(attribute: str, protected: Mapping[str, object]) -> str | None:
    """The group a decision belongs to for one protected attribute, or None when not recorded."""
    if attribute == "sex":
        raw = str(protected.get("personal_status_and_sex") or "").strip().lower()
        sex = raw.split(":", 1)[0].strip()
        return sex if sex in ("male", "female") else None
    if attribute == "age_band":
        try:
            age = int(protected.get("age_in_years"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return next((label for low, high, label in AGE_BANDS if low <= age < high), None)
    if attribute == "foreign_worker":
        value = str(protected.get("foreign_worker") or "").strip().lower()
        return value if value in ("yes", "no") else None
    # Any other bundle's categorical attribute: the value as recorded (validated against its choices).
    value = protected.get(attribute)
    return None if value is None or str(value) == "" else str(value)


def fairness_from_rows(
    rows: Iterable[tuple[Mapping[str, object], str]],
    *,
    min_group: int,
    attributes: Iterable[tuple[str, str]] = ATTRIBUTES,
) -> list[FairnessTable]:
    """Approval rate and adverse impact ratio per group, from (protected fields, decision) pairs."""
    attributes = list(attributes)
    counts: dict[str, dict[str, list[int]]] = {a: defaultdict(lambda: [0, 0]) for a, _ in attributes}
    missing = dict.fromkeys(counts, 0)
    for protected, decision in rows:
        for attribute in counts:
            group = group_of(attribute, protected or {})
            if group is None:
                missing[attribute] += 1
                continue
            counts[attribute][group][0] += 1
            counts[attribute][group][1] += decision == Decision.APPROVE
    order = [label for _, _, label in AGE_BANDS]
    return [
        fairness_table(
            attribute, label, counts[attribute], not_recorded=missing[attribute], min_group=min_group, order=order
        )
        for attribute, label in attributes
    ]


def fairness_table(
    attribute: str,
    label: str,
    counts: Mapping[str, Sequence[int]],
    *,
    not_recorded: int,
    min_group: int,
    order: Sequence[str] = (),
) -> FairnessTable:
    """One attribute's table from its (decisions, approvals) per group: approval rates and adverse impact ratios.

    The most favoured group is the one with the highest approval rate among groups with at
    least ``min_group`` decisions; smaller groups are shown as too few to judge. Groups named in
    ``order`` come first in that order (age bands), the others by name.
    """
    rank = {name: i for i, name in enumerate(order)}
    groups = [FairnessGroup(name=g, count=int(c), approved=int(a)) for g, (c, a) in counts.items()]
    groups.sort(key=lambda g: (rank.get(g.name, len(rank)), g.name))
    judged = [g for g in groups if g.count >= min_group]
    for g in groups:
        g.too_few = g.count < min_group
    best = max((g.approval_rate or 0.0 for g in judged), default=0.0)
    for g in judged:
        if best > 0:
            g.ratio = round((g.approval_rate or 0.0) / best, 4)
            g.flagged = g.ratio < FOUR_FIFTHS
            g.reference = g.approval_rate == best
    return FairnessTable(attribute=attribute, label=label, groups=groups, not_recorded=not_recorded)


def fairness_report(*, days: int | None = None, now: datetime | None = None) -> FairnessReport:
    """Fairness over a bounded window of recent decisions (default 30 days, at most FAIRNESS_MAX_ROWS).

    Protected fields live only on Prediction rows, so this reads them (about 1.4 s for 100,000
    decisions on PostgreSQL, see bench/monitoring.py). It runs with the daily drift report, which
    stores the result; the monitoring page shows the stored one and never scans decisions.
    """
    days = days or _setting("FAIRNESS_WINDOW_DAYS", 30)
    limit = _setting("FAIRNESS_MAX_ROWS", 100_000)
    end = now or timezone.now()
    start = end - timedelta(days=days)
    rows = list(
        Prediction.objects.filter(created_at__gte=start, created_at__lte=end)
        .order_by("-created_at", "-id")
        .values_list("protected", "decision")[: limit + 1]
    )
    truncated = len(rows) > limit
    rows = rows[:limit]
    min_group = _setting("FAIRNESS_MIN_GROUP", 30)
    return FairnessReport(
        window_start=start,
        window_end=end,
        decisions=len(rows),
        truncated=truncated,
        min_group=min_group,
        tables=fairness_from_rows(rows, min_group=min_group, attributes=_active_attributes()),
    )


def _active_attributes() -> list[tuple[str, str]]:
    """The active bundle's protected attributes decide the tables (the German ones when nothing is active)."""
    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).only("metadata").first()
    if active is None:
        return list(ATTRIBUTES)
    return fairness_attributes((active.metadata or {}).get("protected_attributes") or [])


@shared_task(name="scoring.tasks_monitoring.drift_report", ignore_result=True)
def drift_report() -> int | None:
    """Compute today's drift report for the active version; nothing to do (None) when no version is active."""
    try:
        report = create_drift_report()
    except ModelUnavailable:
        metrics.record_drift_report("no_model")
        return None
    metrics.record_drift_report("computed")
    return report.pk
