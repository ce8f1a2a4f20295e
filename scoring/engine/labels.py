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
# Languages a text (label, help, unit, section title, choice label, reason statement) may be given in, as
# {en: ..., fr: ...}. English is required in such a mapping: it is the app's fallback and the audit's language.
TEXT_LANGUAGES = ("en", "fr")
FALLBACK_LANGUAGE = "en"
FIELD_KEYS = {"label", "help", "unit", "section", "min", "max", "choices", "reasons", "actionable"}
REASON_DIRECTIONS = {"raises", "lowers"}


def localized(value: object, language: str) -> str:
    """A text in ``language``: the language asked, else English, else the one language given.

    ``value`` is plain text (one language, used for all) or a mapping of language code to text; a
    regional code ("fr-ca") reads its language ("fr"). None is the empty text.
    """
    if value is None:
        return ""
    if isinstance(value, Mapping):
        wanted = str(language or FALLBACK_LANGUAGE).lower().replace("_", "-").split("-")[0]
        for key in (wanted, FALLBACK_LANGUAGE):
            if value.get(key):
                return str(value[key])
        return next((str(v) for v in value.values() if v), "")
    return str(value)


def is_text(value: object, *, blank: bool = False) -> bool:
    """Whether ``value`` is a text as bundles give it: plain text, or {en: ..., fr: ...} with English."""
    if isinstance(value, str):
        return blank or bool(value.strip())
    return (
        isinstance(value, Mapping)
        and FALLBACK_LANGUAGE in value
        and set(value) <= set(TEXT_LANGUAGES)
        and all(isinstance(v, str) and (blank or v.strip()) for v in value.values())
    )


def text_problem(value: object, where: str, *, blank: bool = False) -> str | None:
    """Why ``value`` is not a text (see ``is_text``), naming the field; None when it is one."""
    if is_text(value, blank=blank):
        return None
    if isinstance(value, Mapping):
        unknown = sorted(str(k) for k in value if k not in TEXT_LANGUAGES)
        if unknown:
            return f"{where}: unknown languages {unknown}; a text per language takes {list(TEXT_LANGUAGES)}."
        if FALLBACK_LANGUAGE not in value:
            return f"{where}: a text per language needs its English ('en'), the language every page falls back to."
        return f"{where}: every language's text must be non-empty text."
    return f"{where}: expected text, or a mapping of language to text such as {{en: ..., fr: ...}}."


def all_languages(value: object) -> dict[str, str]:
    """Every language a text is given in ({"en": text} for plain text)."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return {FALLBACK_LANGUAGE: str(value or "")}


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
        isinstance(s, dict) and set(s) == {"name", "label"} and isinstance(s["name"], str) and s["name"] for s in raw
    )
    if not ok:
        problems.append("labels sections: expected a list of {name: ..., label: ...} entries, both non-empty text.")
        return []
    found = [text_problem(s["label"], f"labels sections[{s['name']}].label") for s in raw]
    if any(found):
        problems.extend(p for p in found if p)
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
        for key in ("label", "help", "unit"):
            found = text_problem(spec[key], f"{where}.{key}", blank=key != "label") if key in spec else None
            if found:
                problems.append(found)
        if "section" in spec and not isinstance(spec["section"], str):
            problems.append(f"{where}.section: expected text.")
        for key in ("min", "max"):
            if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], int | float)):
                problems.append(f"{where}.{key}: expected a number.")
        if "section" in spec and spec["section"] not in sections:
            problems.append(f"{where}.section: {spec['section']!r} is not declared under sections {sorted(sections)}.")
        choices = spec.get("choices")
        if choices is not None and not (isinstance(choices, dict) and all(is_text(v) for v in choices.values())):
            problems.append(
                f"{where}.choices: expected a mapping of value to its display label (text, or {{en: ..., fr: ...}})."
            )
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
            and isinstance(reason["code"], str)
            and reason["code"].strip()
        )
        if not ok:
            problems.append(f"{where}.{direction}: expected {{code: ..., statement: ...}}, both non-empty text.")
        elif found := text_problem(reason["statement"], f"{where}.{direction}.statement"):
            problems.append(found)


def _unknown(raw: Mapping[str, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    extra = sorted(str(k) for k in raw if k not in allowed)
    if extra:
        problems.append(f"{where} has unknown keys {extra}; the keys it takes are {sorted(allowed)}.")
