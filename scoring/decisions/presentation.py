"""How a stored decision reads on a page: gauge geometry, labelled inputs, reasons and the final outcome."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from scoring.models import Decision, Prediction, Review

# An adverse-action notice lists at most four reasons for a decline.
DECLINE_REASON_COUNT = 4


@dataclass(frozen=True)
class Gauge:
    """Positions on a 0-100 scale for an SVG bar: approve, refer and decline zones and the PD marker."""

    refer_at: float
    decline_at: float
    marker_at: float

    @property
    def approve_width(self) -> float:
        return self.refer_at

    @property
    def refer_width(self) -> float:
        return self.decline_at - self.refer_at

    @property
    def decline_width(self) -> float:
        return 100.0 - self.decline_at


@dataclass(frozen=True)
class InputRow:
    label: str
    value: str


@dataclass(frozen=True)
class InputGroup:
    label: str
    rows: list[InputRow]
    # Fairness-monitoring answers: shown on screen, left out of printed copies.
    protected: bool = False


class DecisionView:
    """Everything the decision page shows about one prediction, read from what was stored with it."""

    def __init__(self, prediction: Prediction, reviews: list[Review]):
        self.prediction = prediction
        self.reviews = reviews
        self.schema: dict[str, Any] = (prediction.model_version.metadata or {}).get("schema") or {}

    @property
    def probability_percent(self) -> float:
        return round(self.prediction.probability * 100, 1)

    @property
    def threshold_percent(self) -> float:
        return round(self.prediction.threshold * 100, 1)

    @property
    def refer_lower_percent(self) -> float | None:
        lower = self.prediction.refer_lower
        if lower is None or lower >= self.prediction.threshold:
            return None
        return round(lower * 100, 1)

    @cached_property
    def gauge(self) -> Gauge:
        threshold = self.prediction.threshold
        lower = self.prediction.refer_lower if self.prediction.refer_lower is not None else threshold
        return Gauge(
            refer_at=round(min(lower, threshold) * 100, 2),
            decline_at=round(threshold * 100, 2),
            marker_at=round(min(max(self.prediction.probability, 0.0), 1.0) * 100, 2),
        )

    @property
    def band_label(self) -> str:
        for band in self.schema.get("risk_bands") or []:
            if str(band.get("name")) == self.prediction.risk_band:
                return str(band.get("label") or band.get("name"))
        return ""

    @property
    def reasons(self) -> list[dict[str, Any]]:
        reasons = list(self.prediction.reasons or [])
        if self.prediction.decision == Decision.DECLINE:
            return reasons[:DECLINE_REASON_COUNT]
        return reasons

    @property
    def latest_review(self) -> Review | None:
        return self.reviews[-1] if self.reviews else None

    @property
    def final_decision(self) -> str:
        review = self.latest_review
        return review.final_decision if review else self.prediction.decision

    @property
    def final_decision_label(self) -> str:
        return Decision(self.final_decision).label

    @property
    def overridden(self) -> bool:
        return self.final_decision != self.prediction.decision and self.prediction.decision != Decision.REFER

    @cached_property
    def input_groups(self) -> list[InputGroup]:
        """The inputs as scored, labelled from the version's schema and grouped by its sections."""
        features = self.schema.get("features") or []
        protected = self.schema.get("protected_attributes") or []
        section_labels = {s.get("name"): s.get("label") for s in self.schema.get("sections") or []}
        stored = {**(self.prediction.inputs or {}), **(self.prediction.features or {})}
        groups: dict[str, list[InputRow]] = {}
        for spec in features:
            label = str(section_labels.get(spec.get("section")) or "Application")
            groups.setdefault(label, []).append(InputRow(spec["label"], _formatted(spec, stored.get(spec["name"]))))
        known = {spec["name"] for spec in features}
        for name, value in stored.items():  # a schema-less version still echoes what it scored
            if name not in known and name not in {p["name"] for p in protected}:
                groups.setdefault("Application", []).append(InputRow(name, _formatted({}, value)))
        monitoring = [
            InputRow(spec["label"], _formatted(spec, (self.prediction.protected or {}).get(spec["name"])))
            for spec in protected
        ]
        # Sections in the schema's order, as on the form.
        order = {label: i for i, label in enumerate(str(v) for v in section_labels.values())}
        result = [InputGroup(label, rows) for label, rows in sorted(groups.items(), key=lambda g: order.get(g[0], 99))]
        if monitoring:
            label = str(section_labels.get("monitoring") or "Fairness monitoring (not used in the decision)")
            result.append(InputGroup(label, monitoring, protected=True))
        return result


def _formatted(spec: dict[str, Any], value: object) -> str:
    if value is None or value == "":
        return "Not given"
    # Choices carry display labels (schemas recorded before they did list bare values).
    for choice in spec.get("choices") or ():
        if isinstance(choice, dict) and choice.get("value") == value:
            return str(choice.get("label") or value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    unit = spec.get("unit") or ""
    text = f"{value:,}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    return f"{text} {unit}".strip()
