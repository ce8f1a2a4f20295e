"""Credit policy rules as people read them: the fields a condition may test, and each condition in words.

Labels come from a model version's stored metadata (the one the policy was checked against, else the
active one), so a retired policy still reads in the words of the model it was written for, without
loading that model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring import display
from scoring.engine.policy import MODEL_FIELDS, PROBABILITY, RISK_BAND
from scoring.models import ModelVersion, PolicyRule, PolicyVersion

MODEL_FIELD_LABELS = {PROBABILITY: _("Probability of default"), RISK_BAND: _("Risk band")}


@dataclass(frozen=True)
class FieldInfo:
    label: str
    unit: str = ""
    protected: bool = False


def fields_of(model_version: ModelVersion | None) -> dict[str, FieldInfo]:
    """Every field a rule may test in this model version, by name: features, protected attributes, results."""
    metadata: Mapping[str, Any] = (model_version.metadata if model_version else None) or {}
    found: dict[str, FieldInfo] = {}
    for raw, protected in [
        *((f, False) for f in metadata.get("features") or ()),
        *((f, True) for f in metadata.get("protected_attributes") or ()),
    ]:
        if isinstance(raw, Mapping) and raw.get("name"):
            name = str(raw["name"])
            found[name] = FieldInfo(display.text(raw.get("label")) or name, display.text(raw.get("unit")), protected)
    for name in MODEL_FIELDS:
        found[name] = FieldInfo(str(MODEL_FIELD_LABELS[name]))
    return found


def field_choices(model) -> list[tuple[str, list[tuple[str, str]]]]:
    """The condition's field select for a loaded model: application fields, protected attributes, the model's result."""
    return [
        (gettext("Application"), [(f.name, f"{f.label} ({f.unit})" if f.unit else f.label) for f in model.features]),
        (gettext("Protected attributes: only with a legal basis"), [(f.name, f.label) for f in model.protected]),
        (
            gettext("The model's result: rules after the model only"),
            [(k, str(v)) for k, v in MODEL_FIELD_LABELS.items()],
        ),
    ]


def condition_words(field: str, test: str, fields: Mapping[str, FieldInfo]) -> str:
    """'Loan amount (DM) > 20000': the field's label and unit, then the test as written."""
    info = fields.get(field)
    if info is None:
        return f"{field} {test}"
    label = f"{info.label} ({info.unit})" if info.unit else info.label
    return f"{label} {test}"


@dataclass(frozen=True)
class RuleRow:
    rule: PolicyRule
    conditions: list[str]
    tests_protected: bool


def reference_model(version: PolicyVersion) -> ModelVersion | None:
    """The model version whose words a policy is read in: the one it was checked against, else the active one."""
    if version.checked_against_id:
        return version.checked_against
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def rule_rows(version: PolicyVersion) -> list[RuleRow]:
    """The version's rules in policy order, each condition in words, flagging those that test a protected attribute."""
    fields = fields_of(reference_model(version))
    rows = []
    for rule in version.rules.prefetch_related("conditions").order_by("position", "id"):
        conditions = list(rule.conditions.all())
        rows.append(
            RuleRow(
                rule=rule,
                conditions=[condition_words(c.field, c.test, fields) for c in conditions],
                tests_protected=any(fields.get(c.field, FieldInfo("")).protected for c in conditions),
            )
        )
    return rows
