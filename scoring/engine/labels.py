"""The labels YAML of ``prepare_bundle``: the words officers read for a model's fields, sections and choices.

Pure code (PyYAML). The format is documented in docs/model-bundle.md; every key is checked,
so a misspelt key is an error naming it rather than a label silently left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOP_KEYS = {"name", "description", "sections", "fields", "protected_attributes"}
FIELD_KEYS = {"label", "help", "unit", "section", "min", "max", "choices", "reasons", "actionable"}
REASON_DIRECTIONS = {"raises", "lowers"}


class _OneKeyOnceLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a label given twice is a mistake to name, not to pick from."""

    def construct_mapping(self, node, deep=False):
        first: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in first:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice (lines {first[key]} and {key_node.start_mark.line + 1})"
                )
            first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class Labels:
    """What the YAML says; empty when no file is given (every label is then a default)."""

    name: str = ""
    description: str = ""
    sections: list[dict[str, str]] = field(default_factory=list)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    protected_attributes: list[str] = field(default_factory=list)


def read_labels(path: Path | None, problems: list[str]) -> Labels:
    """The labels file read and checked; problems are appended (and empty Labels returned) when it is wrong."""
    if path is None:
        return Labels()
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_OneKeyOnceLoader)  # noqa: S506  # nosec B506
    except OSError as exc:
        problems.append(f"--labels {path} cannot be read: {exc.strerror or exc}.")
        return Labels()
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"--labels {path} is not valid YAML: {exc}")
        return Labels()
    if not isinstance(raw, dict):
        problems.append(f"--labels {path} must be a mapping with the keys {sorted(TOP_KEYS)}.")
        return Labels()
    found = len(problems)
    _unknown(raw, TOP_KEYS, "The labels file", problems)
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"labels {key}: expected text.")
    sections = _sections(raw.get("sections"), problems)
    fields = _fields(raw.get("fields"), {s["name"] for s in sections}, problems)
    protected = raw.get("protected_attributes") or []
    if not (isinstance(protected, list) and all(isinstance(n, str) for n in protected)):
        problems.append("labels protected_attributes: expected a list of sample column names.")
        protected = []
    if len(problems) > found:
        return Labels()
    return Labels(
        name=str(raw.get("name") or ""),
        description=str(raw.get("description") or ""),
        sections=sections,
        fields=fields,
        protected_attributes=list(protected),
    )


def _sections(raw: Any, problems: list[str]) -> list[dict[str, str]]:
    if raw is None:
        return []
    ok = isinstance(raw, list) and all(
        isinstance(s, dict) and set(s) == {"name", "label"} and all(isinstance(v, str) and v for v in s.values())
        for s in raw
    )
    if not ok:
        problems.append("labels sections: expected a list of {name: ..., label: ...} entries, both non-empty text.")
        return []
    return [{"name": s["name"], "label": s["label"]} for s in raw]


def _fields(raw: Any, sections: set[str], problems: list[str]) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("labels fields: expected a mapping of column name to its label, help, unit, section ...")
        return {}
    fields: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        where = f"labels fields.{name}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: expected a mapping with some of the keys {sorted(FIELD_KEYS)}.")
            continue
        _unknown(spec, FIELD_KEYS, where, problems)
        for key in ("label", "help", "unit", "section"):
            if key in spec and not isinstance(spec[key], str):
                problems.append(f"{where}.{key}: expected text.")
        for key in ("min", "max"):
            if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], int | float)):
                problems.append(f"{where}.{key}: expected a number.")
        if "section" in spec and spec["section"] not in sections:
            problems.append(f"{where}.section: {spec['section']!r} is not declared under sections {sorted(sections)}.")
        choices = spec.get("choices")
        if choices is not None and not (
            isinstance(choices, dict) and all(isinstance(v, str) and v for v in choices.values())
        ):
            problems.append(f"{where}.choices: expected a mapping of value to its display label (text).")
        _reasons(spec.get("reasons"), f"{where}.reasons", problems)
        if "actionable" in spec and not isinstance(spec["actionable"], dict):
            problems.append(
                f"{where}.actionable: expected {{direction, step, min, max}} for a number or {{to: [values]}} "
                "for a choice: how an offer may change the field."
            )
        fields[str(name)] = dict(spec)
    return fields


def _reasons(raw: Any, where: str, problems: list[str]) -> None:
    """``reasons: {raises: {code, statement}, lowers: {code, statement}}``; either direction may be left out."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping with the keys {sorted(REASON_DIRECTIONS)}.")
        return
    _unknown(raw, REASON_DIRECTIONS, where, problems)
    for direction in sorted(REASON_DIRECTIONS & set(raw)):
        reason = raw[direction]
        ok = (
            isinstance(reason, dict)
            and set(reason) == {"code", "statement"}
            and all(isinstance(v, str) and v.strip() for v in reason.values())
        )
        if not ok:
            problems.append(f"{where}.{direction}: expected {{code: ..., statement: ...}}, both non-empty text.")


def _unknown(raw: Mapping[str, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    extra = sorted(str(k) for k in raw if k not in allowed)
    if extra:
        problems.append(f"{where} has unknown keys {extra}; the keys it takes are {sorted(allowed)}.")
