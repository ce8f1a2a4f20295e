"""What a model bundle declares about its inputs: feature kinds, the Feature record, the decisions, and the errors.

Pure code, no Django: the bundle loader, validation, the forms and the API schema all read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CATEGORICAL = "categorical"
INTEGER = "integer"
NUMBER = "number"
MAX_TEXT_LENGTH = 200


class InvalidApplication(Exception):
    """Inputs that cannot be scored; ``errors`` maps each bad field to its messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {name: list(messages) for name, messages in errors.items()}
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in self.errors.items()))


APPROVE = "approve"
REFER = "refer"
DECLINE = "decline"


class BundleRejected(Exception):
    """The files given are not a usable model bundle; the message says why."""


@dataclass(frozen=True)
class Feature:
    """One input of the application form: a model feature or a protected attribute."""

    name: str
    kind: str
    label: str
    help: str = ""
    section: str = ""
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str = ""
    protected: bool = False

    @classmethod
    def from_metadata(cls, raw: Mapping[str, Any], *, protected: bool = False) -> Feature:
        name = str(raw["name"])
        kind = str(raw.get("kind", NUMBER))
        if kind not in (CATEGORICAL, INTEGER, NUMBER):
            raise BundleRejected(f"Feature {name!r} has unknown kind {kind!r}.")
        return cls(
            name=name,
            kind=kind,
            label=str(raw.get("label") or humanise(name)),
            help=str(raw.get("help") or ""),
            section=str(raw.get("section") or ""),
            choices=tuple(_choice_value(c) for c in raw.get("choices") or ()),
            min=_optional_float(raw.get("min")),
            max=_optional_float(raw.get("max")),
            unit=str(raw.get("unit") or ""),
            protected=protected,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "help": self.help,
            "section": self.section,
            "choices": list(self.choices),
            "min": self.min,
            "max": self.max,
            "unit": self.unit,
            "protected": self.protected,
        }

    def format_value(self, value: object) -> str:
        if self.kind == CATEGORICAL:
            return f"'{value}'"
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return f"{text} {self.unit}".strip() if self.unit else text


def _choice_value(choice: object) -> str:
    """The value the model sees: contract version 2 writes ``{value, label}``, version 1 the bare value."""
    return str(choice["value"]) if isinstance(choice, Mapping) else str(choice)


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def humanise(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()
