"""What a model bundle declares about its inputs: feature kinds, the Feature record, the decisions, and the errors.

Pure code, no Django: the bundle loader, validation, the forms and the API schema all read it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scoring.engine.labels import FALLBACK_LANGUAGE, localized

CATEGORICAL = "categorical"
INTEGER = "integer"
NUMBER = "number"
MAX_TEXT_LENGTH = 200
RAISES = "raises"
LOWERS = "lowers"


class InvalidApplication(Exception):
    """Inputs that cannot be scored; ``errors`` maps each bad field to its messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {name: list(messages) for name, messages in errors.items()}
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in self.errors.items()))


APPROVE = "approve"
REFER = "refer"
DECLINE = "decline"

# Which way an offer may move a numeric feature (contract: features[].actionable.direction).
DOWN = "down"
UP = "up"
ANY = "any"
DIRECTIONS = (DOWN, UP, ANY)


class BundleRejected(Exception):
    """The files given are not a usable model bundle; the message says why.

    ``problems``: each way the bundle misses the contract (docs/model-bundle.md), when that is the reason.
    """

    def __init__(self, message: str, problems: list[str] | tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True)
class Actionable:
    """How an offer may change a feature: a number moved by steps within a range, or a choice changed to one of
    ``to``. A feature without it is never changed by an offer (the applicant cannot, or the lender will not)."""

    direction: str = ANY
    min: float | None = None
    max: float | None = None
    step: float | None = None
    to: tuple[str, ...] = ()

    @classmethod
    def from_metadata(cls, raw: object) -> Actionable | None:
        """The rule of a checked ``actionable`` item; None for its absence or the earlier boolean form,
        which said only that the applicant could change the value, not how an offer may."""
        if not isinstance(raw, Mapping):
            return None
        return cls(
            direction=str(raw.get("direction") or ANY),
            min=_optional_float(raw.get("min")),
            max=_optional_float(raw.get("max")),
            step=_optional_float(raw.get("step")),
            to=tuple(str(v) for v in raw.get("to") or ()),
        )

    def as_dict(self) -> dict[str, Any]:
        if self.to:
            return {"to": list(self.to)}
        described: dict[str, Any] = {"direction": self.direction, "step": self.step}
        described.update({k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None})
        return described


@dataclass(frozen=True)
class Feature:
    """One input of the application form: a model feature or a protected attribute."""

    name: str
    kind: str
    label: str
    help: str = ""
    section: str = ""
    choices: tuple[str, ...] = ()  # the values the model takes
    choice_labels: tuple[str, ...] = ()  # what a person reads for each of them, in the same order
    min: float | None = None
    max: float | None = None
    unit: str = ""
    protected: bool = False
    # (code, statement) given when the value raised, and when it lowered, the risk of default.
    raises: tuple[str, str] = ("", "")
    lowers: tuple[str, str] = ("", "")
    actionable: Actionable | None = None
    # The texts as the bundle gives them, plain or per language ({en: ..., fr: ...}): label, help, unit,
    # choices (in order), raises and lowers (statements). The fields above hold their English.
    texts: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def from_metadata(cls, raw: Mapping[str, Any], *, protected: bool = False) -> Feature:
        name = str(raw["name"])
        kind = str(raw.get("kind", NUMBER))
        if kind not in (CATEGORICAL, INTEGER, NUMBER):
            raise BundleRejected(f"Feature {name!r} has unknown kind {kind!r}.")
        # The contract (contract.py) has checked the metadata: choices are {value, label} mappings.
        english = FALLBACK_LANGUAGE
        choices = [(str(c["value"]), localized(c["label"], english)) for c in raw.get("choices") or ()]
        label = localized(raw.get("label"), english) or humanise(name)
        reasons = {**generated_reasons(name, label), **(raw.get("reasons") or {})}
        texts = {
            "label": raw.get("label") or label,
            "help": raw.get("help") or "",
            "unit": raw.get("unit") or "",
            "choices": [c["label"] for c in raw.get("choices") or ()],
            RAISES: reasons[RAISES]["statement"],
            LOWERS: reasons[LOWERS]["statement"],
        }
        return cls(
            name=name,
            kind=kind,
            label=label,
            help=localized(raw.get("help"), english),
            section=str(raw.get("section") or ""),
            choices=tuple(value for value, _ in choices),
            choice_labels=tuple(label for _, label in choices),
            min=_optional_float(raw.get("min")),
            max=_optional_float(raw.get("max")),
            unit=localized(raw.get("unit"), english),
            protected=protected,
            raises=(str(reasons[RAISES]["code"]), localized(reasons[RAISES]["statement"], english)),
            lowers=(str(reasons[LOWERS]["code"]), localized(reasons[LOWERS]["statement"], english)),
            # The contract refuses an actionable protected attribute; never read one here either.
            actionable=None if protected else Actionable.from_metadata(raw.get("actionable")),
            texts=texts,
        )

    def in_language(self, language: str) -> Feature:
        """This feature with its texts in ``language`` (falling back to English, then to the one given)."""
        if not self.texts:
            return self
        texts = self.texts
        choice_texts = list(texts.get("choices") or ())
        return replace(
            self,
            label=localized(texts["label"], language),
            help=localized(texts.get("help"), language),
            unit=localized(texts.get("unit"), language),
            choice_labels=tuple(localized(t, language) for t in choice_texts) if choice_texts else self.choice_labels,
            raises=(self.raises[0], localized(texts.get(RAISES), language) or self.raises[1]),
            lowers=(self.lowers[0], localized(texts.get(LOWERS), language) or self.lowers[1]),
        )

    def as_dict(self) -> dict[str, Any]:
        described = {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "help": self.help,
            "section": self.section,
            "choices": [{"value": v, "label": lbl} for v, lbl in self.labelled_choices],
            "min": self.min,
            "max": self.max,
            "unit": self.unit,
            "protected": self.protected,
        }
        if not self.protected:  # protected attributes are never a reason
            described["reasons"] = {
                direction: dict(zip(("code", "statement"), self.reason_for(direction == RAISES), strict=True))
                for direction in (RAISES, LOWERS)
            }
        return described

    def reason_for(self, raised: bool) -> tuple[str, str]:
        """(code, statement) of the reason this feature gives; generated from the label when none is declared."""
        code, statement = self.raises if raised else self.lowers
        if code and statement:
            return code, statement
        generated = generated_reasons(self.name, self.label)[RAISES if raised else LOWERS]
        return generated["code"], generated["statement"]

    @property
    def labelled_choices(self) -> list[tuple[str, str]]:
        """(value, label) pairs; a Feature built in code without labels shows its values."""
        return list(zip(self.choices, self.choice_labels or self.choices, strict=True))

    def choice_label(self, value: object) -> str:
        """The display text of a categorical value (the value itself when it is not a known choice)."""
        for choice, label in self.labelled_choices:
            if choice == value:
                return label
        return str(value)

    def format_value(self, value: object) -> str:
        if self.kind == CATEGORICAL:
            return f"'{self.choice_label(value)}'"
        text = f"{value:g}" if isinstance(value, float) else str(value)
        unit = unit_for(value, self.unit)
        return f"{text} {unit}" if unit else text

    def value_text(self, value: object) -> str:
        """The value as a person reads it: a choice's label, or the number (thousands separated) with its unit."""
        if self.kind == CATEGORICAL:
            return self.choice_label(value)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        text = f"{value:,g}" if isinstance(value, float) else f"{value:,}" if number else str(value)
        unit = unit_for(value, self.unit)
        return f"{text} {unit}" if unit else text


# Bundles name a unit in the plural ("months"); one of them reads "1 month". Units not listed
# here ("DM", "%") read the same for any amount.
_SINGULAR_UNITS = {"days": "day", "weeks": "week", "months": "month", "years": "year", "persons": "person"}


def unit_for(amount: object, unit: str) -> str:
    """The unit as written beside ``amount``: singular for exactly one of a countable unit."""
    is_one = not isinstance(amount, bool) and isinstance(amount, int | float) and amount == 1
    return _SINGULAR_UNITS.get(unit, unit) if is_one else unit


def generated_reasons(name: str, label: str) -> dict[str, dict[str, str]]:
    """Reasons made from a feature's label, for a bundle that declares none; a person should review them."""
    code = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "FEATURE"
    return {
        RAISES: {"code": f"{code}_RAISES", "statement": f"{label} does not support the credit"},
        LOWERS: {"code": f"{code}_LOWERS", "statement": f"{label} supports the credit"},
    }


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def humanise(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def localized_schema(metadata: Mapping[str, Any], language: str) -> dict[str, Any]:
    """A model version's recorded schema with its texts in ``language``, read from the bundle metadata kept
    with the version (which holds every language); the recorded schema as it is when that cannot be read."""
    schema = dict(metadata.get("schema") or {})
    raw_features = metadata.get("features")
    if not isinstance(raw_features, list):
        return schema
    try:
        features = [Feature.from_metadata(f).in_language(language).as_dict() for f in raw_features]
        protected = [
            Feature.from_metadata(f, protected=True).in_language(language).as_dict()
            for f in metadata.get("protected_attributes") or ()
        ]
    except (KeyError, TypeError, ValueError, AttributeError, BundleRejected):
        return schema
    return schema | {
        "features": features,
        "protected_attributes": protected,
        "sections": in_language(metadata.get("sections") or schema.get("sections"), language),
        "risk_bands": in_language(metadata.get("risk_bands") or schema.get("risk_bands"), language),
    }


def in_language(items: Any, language: str) -> list[dict[str, Any]]:
    """Sections or risk bands ({name, label, ...}) with each label in ``language``."""
    return [{**i, "label": localized(i.get("label"), language)} for i in items or () if isinstance(i, Mapping)]
