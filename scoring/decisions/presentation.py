"""How a stored decision reads on a page: gauge geometry, labelled inputs, reasons and the final outcome."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.utils.translation import get_language, gettext

from scoring import display
from scoring.engine.policy import reason_statement
from scoring.engine.schema import localized_schema
from scoring.models import Decision, OverrideApproval, PolicyRule, PolicyVersion, Prediction, Review

# A decline gives at most four principal reasons (the engine records no more).
DECLINE_REASON_COUNT = 4


@dataclass(frozen=True)
class ReasonRow:
    """One recorded reason as a page shows it: the statement and the value that drove it."""

    code: str
    statement: str
    value: str  # empty for decisions recorded before reason codes: their statement already holds it
    contribution: float | None


def reason_rows(reasons: list[dict[str, Any]], schema: dict[str, Any]) -> list[ReasonRow]:
    """Recorded reasons in words: a choice shows its label, a number its unit; older rows their sentence."""
    specs = {f.get("name"): f for f in schema.get("features") or () if isinstance(f, dict)}
    # A coded reason reads in the page's language: the statement of its code in the (localized) schema.
    statements = {
        reason.get("code"): reason.get("statement")
        for spec in specs.values()
        for reason in (spec.get("reasons") or {}).values()
        if isinstance(reason, dict)
    }
    rows = []
    language = get_language()
    for r in reasons:
        if not isinstance(r, dict):
            rows.append(ReasonRow("", str(r), "", None))
            continue
        contribution = r.get("contribution")
        contribution = float(contribution) if isinstance(contribution, int | float) else None
        if r.get("statement"):
            value = _formatted(specs.get(r.get("feature")) or {}, r.get("value"))
            statement = statements.get(r.get("code")) or reason_statement(r, language)
            rows.append(ReasonRow(str(r.get("code") or ""), str(statement), value, contribution))
        else:
            text = r.get("sentence") or r.get("label") or r.get("feature") or ""
            rows.append(ReasonRow("", str(text), "", contribution))
    return rows


@dataclass(frozen=True)
class PolicyRuleRow:
    """A credit policy rule that fired on a decision, as a page shows it."""

    code: str
    name: str
    outcome: str  # what the rule does: "Decline (knock-out)", "Refer to an officer", "Record only (no effect)"
    decided: bool  # this rule changed the model's decision
    legal_basis: str


@dataclass(frozen=True)
class PolicyOutcome:
    """The credit policy around a decision: the version live, the model's own decision, and the rules that fired."""

    version: PolicyVersion | None
    model_decision: str
    rules: list[PolicyRuleRow]

    @property
    def deciding(self) -> PolicyRuleRow | None:
        return next((r for r in self.rules if r.decided), None)

    @property
    def model_decision_label(self) -> str:
        return Decision(self.model_decision).label


def policy_outcome(prediction: Prediction) -> PolicyOutcome:
    """What the credit policy did on a decision, in words (two small queries, for one decision's page)."""
    version = None
    rules: list[PolicyRuleRow] = []
    if prediction.policy_version_id:
        version = PolicyVersion.objects.filter(pk=prediction.policy_version_id).first()
        codes = [str(c) for c in prediction.policy_rules or ()]
        found = {r.code: r for r in PolicyRule.objects.filter(version_id=prediction.policy_version_id, code__in=codes)}
        for code in codes:
            rule = found.get(code)
            rules.append(
                PolicyRuleRow(
                    code=code,
                    name=rule.name if rule else code,
                    outcome=rule.get_outcome_display() if rule else "",
                    decided=code == prediction.deciding_rule,
                    legal_basis=rule.legal_basis if rule else "",
                )
            )
    return PolicyOutcome(version=version, model_decision=prediction.model_decision or prediction.decision, rules=rules)


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
        """``reviews`` oldest first, each with its ``approval`` (select_related) when it needed one."""
        self.prediction = prediction
        self.reviews = reviews

    @cached_property
    def schema(self) -> dict[str, Any]:
        """The version's schema with labels, choices and reasons in the page's language."""
        return localized_schema(self.prediction.model_version.metadata or {}, get_language() or "en")

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
    def reasons(self) -> list[ReasonRow]:
        reasons = list(self.prediction.reasons or [])
        if self.prediction.decision == Decision.DECLINE:
            reasons = reasons[:DECLINE_REASON_COUNT]
        return reason_rows(reasons, self.schema)

    @property
    def coded_reasons(self) -> bool:
        """Whether the reasons are statements from the model's library (not older free sentences)."""
        return any(r.code for r in self.reasons)

    @property
    def latest_review(self) -> Review | None:
        return self.reviews[-1] if self.reviews else None

    @cached_property
    def _outcome(self) -> tuple[str, Review | None, Review | None]:
        """(the outcome that stands, the review that set it or None for the model, the review awaiting approval)."""
        final, deciding, pending = self.prediction.decision, None, None
        for review in self.reviews:
            if review.needs_approval:
                approval = approval_of(review)
                if approval is None:
                    pending = review
                    continue
                if not approval.approved:  # rejected: the outcome before it stands
                    continue
            final, deciding, pending = review.final_decision, review, None
        return final, deciding, pending

    @property
    def final_decision(self) -> str:
        """The final outcome: the latest review that stands (approved if it needed approval), else the model's.

        The single place that computes it. A review waiting for a credit manager's approval changes
        nothing until approved, and a rejected one never does: while a change is pending, this is the
        outcome that stood before it. So a pending case is a final decline only when it stood as a
        decline and the pending change is away from decline; a change *to* decline that waits for
        approval is not a decline yet. ``pending_review`` tells whether a change waits.
        """
        return self._outcome[0]

    @property
    def pending_review(self) -> Review | None:
        """The review whose change waits for a credit manager's approval, if any (no review may follow it)."""
        return self._outcome[2]

    @property
    def deciding_review(self) -> Review | None:
        """The review that set the final outcome; None while the model's decision stands."""
        return self._outcome[1]

    def stands(self, review: Review) -> bool:
        """Whether a review counts: it needed no approval, or a credit manager approved it."""
        if not review.needs_approval:
            return True
        approval = approval_of(review)
        return approval is not None and approval.approved

    @property
    def final_decision_label(self) -> str:
        if self.pending_review is not None:
            return gettext("Pending approval")
        return Decision(self.final_decision).label

    @property
    def headline_state(self) -> str:
        """The card's colour: the final outcome, or "pending"."""
        return "pending" if self.pending_review is not None else self.final_decision

    @cached_property
    def policy(self) -> PolicyOutcome:
        return policy_outcome(self.prediction)

    @property
    def model_label(self) -> str:
        """The model's own outcome beside the final one, e.g. "Model: Decline, PD 31.2 %"."""
        own = self.prediction.model_decision or self.prediction.decision
        return gettext("Model: %(decision)s, PD %(pd)s") % {
            "decision": Decision(own).label,
            "pd": display.percent(self.prediction.probability),
        }

    @property
    def overridden(self) -> bool:
        return self.final_decision != self.prediction.decision and self.prediction.decision != Decision.REFER

    @property
    def shows_decline_reasons(self) -> bool:
        """ "Main reasons for the decline" only for a final decline."""
        return self.final_decision == Decision.DECLINE

    @cached_property
    def input_groups(self) -> list[InputGroup]:
        """The inputs as scored, labelled from the version's schema and grouped by its sections."""
        features = self.schema.get("features") or []
        protected = self.schema.get("protected_attributes") or []
        section_labels = {s.get("name"): s.get("label") for s in self.schema.get("sections") or []}
        stored = {**(self.prediction.inputs or {}), **(self.prediction.features or {})}
        groups: dict[str, list[InputRow]] = {}
        for spec in features:
            label = str(section_labels.get(spec.get("section")) or gettext("Application"))
            groups.setdefault(label, []).append(InputRow(spec["label"], _formatted(spec, stored.get(spec["name"]))))
        known = {spec["name"] for spec in features}
        for name, value in stored.items():  # a schema-less version still echoes what it scored
            if name not in known and name not in {p["name"] for p in protected}:
                groups.setdefault(gettext("Application"), []).append(InputRow(name, _formatted({}, value)))
        monitoring = [
            InputRow(spec["label"], _formatted(spec, (self.prediction.protected or {}).get(spec["name"])))
            for spec in protected
        ]
        # Sections in the schema's order, as on the form.
        order = {label: i for i, label in enumerate(str(v) for v in section_labels.values())}
        result = [InputGroup(label, rows) for label, rows in sorted(groups.items(), key=lambda g: order.get(g[0], 99))]
        if monitoring:
            label = str(section_labels.get("monitoring") or gettext("Fairness monitoring (not used in the decision)"))
            result.append(InputGroup(label, monitoring, protected=True))
        return result


def approval_of(review: Review) -> OverrideApproval | None:
    """A review's approval or rejection, if a credit manager answered it."""
    try:
        return review.approval
    except OverrideApproval.DoesNotExist:
        return None


def _formatted(spec: dict[str, Any], value: object) -> str:
    if value is None or value == "":
        return gettext("Not given")
    # Choices carry display labels (schemas recorded before they did list bare values).
    for choice in spec.get("choices") or ():
        if isinstance(choice, dict) and choice.get("value") == value:
            return str(choice.get("label") or value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return display.money(value, str(spec.get("unit") or ""))
    return f"{value} {spec.get('unit') or ''}".strip()
