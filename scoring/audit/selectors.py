"""Reads for auditors beyond the decision history: the model and credit policy timelines, the access log and
the export log.

The decision history itself is read through ``scoring.decisions.selectors.prediction_list``,
so a filter means the same thing on the officer's, the auditor's and the API's lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import QuerySet

from accounts.models import AccessEvent
from scoring import display
from scoring.decisions import selectors
from scoring.models import ExportLog, ModelActivation, PolicyActivation, Prediction


def model_activation_list() -> QuerySet[ModelActivation]:
    """Every activation, newest first: the timeline of which model was live."""
    return ModelActivation.objects.select_related("version", "previous", "user").order_by("-created_at", "-id")


def model_version_live_at(moment: datetime) -> ModelActivation | None:
    """The activation in force at ``moment`` (the latest one at or before it), or None if none yet."""
    return model_activation_list().filter(created_at__lte=moment).first()


def policy_activation_list() -> QuerySet[PolicyActivation]:
    """Every credit policy activation, newest first: the timeline of which policy was live."""
    return PolicyActivation.objects.select_related("version", "previous", "user", "requested_by").order_by(
        "-created_at", "-id"
    )


def policy_version_live_at(moment: datetime) -> PolicyActivation | None:
    """The policy activation in force at ``moment`` (the latest at or before it), or None if none yet."""
    return policy_activation_list().filter(created_at__lte=moment).first()


@dataclass(frozen=True)
class AccessEventFilters:
    date_from: date | None = None
    date_to: date | None = None
    kind: str | None = None
    username: str | None = None


def access_event_list(*, filters: AccessEventFilters | None = None) -> QuerySet[AccessEvent]:
    f = filters or AccessEventFilters()
    qs = AccessEvent.objects.select_related("user")
    if f.date_from:
        qs = qs.filter(created_at__gte=selectors.start_of(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=selectors.start_of(f.date_to + timedelta(days=1)))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.username:
        qs = qs.filter(username=f.username.strip())
    return qs.order_by("-created_at", "-id")


def export_log_list() -> QuerySet[ExportLog]:
    return ExportLog.objects.select_related("user").order_by("-created_at", "-id")


@dataclass(frozen=True)
class ReceivedInputs:
    """A decision's inputs as received, split into what the model scored and the fairness-monitoring answers."""

    scored: dict[str, object]
    monitoring: dict[str, object]
    labels: dict[str, str] = field(default_factory=dict)  # field name -> its label
    choice_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> value -> label

    def rows(self, values: dict[str, object]) -> list[tuple[str, str, str, str]]:
        """(name, label, value as received, its choice label or "") for each field of ``values``."""
        out = []
        for name, value in values.items():
            shown = self.choice_labels.get(name, {}).get(value) if isinstance(value, str) else None
            out.append((name, self.labels.get(name, name), str(value), shown if shown not in (None, value) else ""))
        return out

    @property
    def scored_rows(self) -> list[tuple[str, str, str, str]]:
        return self.rows(self.scored)

    @property
    def monitoring_rows(self) -> list[tuple[str, str, str, str]]:
        return self.rows(self.monitoring)


def received_inputs_get(prediction: Prediction) -> ReceivedInputs:
    """Each received field once: in ``monitoring`` if it is one of the model's protected attributes
    (or was kept as one), else in ``scored``; values exactly as received."""
    declared = prediction.model_version.metadata.get("protected_attributes") or ()
    protected = {str(a.get("name")) for a in declared if isinstance(a, dict)} | set(prediction.protected or {})
    given = prediction.given_inputs
    scored = {name: value for name, value in given.items() if name not in protected}
    monitoring = {name: value for name, value in given.items() if name in protected}
    # A monitoring answer stored but absent from what was received (never expected) still shows, once.
    monitoring.update({name: value for name, value in (prediction.protected or {}).items() if name not in given})
    metadata = prediction.model_version.metadata or {}
    fields = [f for f in [*(metadata.get("features") or ()), *declared] if isinstance(f, dict) and f.get("name")]
    return ReceivedInputs(
        scored=scored,
        monitoring=monitoring,
        labels={str(f["name"]): display.text(f.get("label")) or str(f["name"]) for f in fields},
        choice_labels={
            str(f["name"]): {
                str(c.get("value")): display.text(c.get("label")) for c in f.get("choices") or () if isinstance(c, dict)
            }
            for f in fields
        },
    )
