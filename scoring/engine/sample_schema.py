"""The feature schema a plain MLflow CatBoost model implies, read from its signature and a labelled sample.

Pure code (pandas, numpy). The sample is read as text and every value is checked the way
the app will check an application (the strict number grammar of ``numbers``), so the
prepared bundle accepts every sample row and nothing in it was guessed at.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier

from scoring.engine import contract
from scoring.engine.labels import Labels
from scoring.engine.numbers import parse_number_texts
from scoring.engine.schema import (
    CATEGORICAL,
    INTEGER,
    LOWERS,
    MAX_TEXT_LENGTH,
    NUMBER,
    RAISES,
    generated_reasons,
    humanise,
)

MIN_ROWS = 100
MIN_PER_CLASS = 10
# Ranges: the sample's min and max, widened by half the observed span on each side (never below 0
# for a column with no negative value), then rounded outwards. Live applicants a little outside the
# sample are real; an amount of -5,000 or a duration of 3,000 months is a typing error.
RANGE_MARGIN = 0.5
MANY_CHOICES = 50
# Target values read without --bad-value (compared case-insensitively); any other pair needs it.
KNOWN_BAD_VALUES = {frozenset({"0", "1"}): "1", frozenset({"false", "true"}): "true", frozenset({"bad", "good"}): "bad"}
DEFAULT_SECTION = {"name": "application", "label": "The application"}
MONITORING_SECTION = {"name": "monitoring", "label": "Fairness monitoring (optional)"}
_INTEGER_TYPES = {"long", "integer", "int", "boolean"}


class PreparationRefused(Exception):
    """The model folder, sample or labels cannot make a bundle; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(f"- {p}" for p in self.problems))


@dataclass
class SampleSchema:
    features: list[dict[str, Any]]
    protected: list[dict[str, Any]]
    sections: list[dict[str, str]]
    typed: pd.DataFrame  # the sample's features and protected attributes, typed as the model takes them
    signature: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.features]

    @property
    def cat_indices(self) -> list[int]:
        return [i for i, f in enumerate(self.features) if f["kind"] == CATEGORICAL]


def read_sample(path: Path, problems: list[str]) -> pd.DataFrame | None:
    """The sample as text, exactly as written (no type guessing, no "NA" read as missing)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problems.append(f"--sample {path} cannot be read as CSV: {exc}")
        return None
    if len(frame) < MIN_ROWS:
        problems.append(f"--sample {path} has {len(frame)} rows; a threshold needs at least {MIN_ROWS}.")
    return frame


def target_vector(
    raw: pd.DataFrame, *, target: str, bad_value: str | None, problems: list[str]
) -> tuple[np.ndarray, str]:
    """1 for a bad (defaulted) row, 0 otherwise, and the value that means bad."""
    if target not in raw.columns:
        return np.zeros(0, dtype=int), ""  # infer_schema has said so
    values = raw[target]
    empty = _lines(values.str.strip() == "")
    if empty:
        problems.append(f"The target column {target!r} has {len(empty)} empty cells (CSV lines {_few(empty)}).")
        return np.zeros(0, dtype=int), ""
    distinct = sorted(values.unique().tolist())
    if len(distinct) != 2:
        problems.append(f"The target column {target!r} must hold exactly two values; it has {_few(distinct)}.")
        return np.zeros(0, dtype=int), ""
    if bad_value is None:
        known = KNOWN_BAD_VALUES.get(frozenset(v.strip().lower() for v in distinct))
        if known is None:
            problems.append(f"Which value of {target!r} means default? Pass --bad-value, one of {distinct}.")
            return np.zeros(0, dtype=int), ""
        bad_value = next(v for v in distinct if v.strip().lower() == known)
    elif bad_value not in distinct:
        problems.append(f"--bad-value {bad_value!r} does not occur in {target!r}; its values are {distinct}.")
        return np.zeros(0, dtype=int), ""
    y = (values == bad_value).to_numpy(dtype=int)
    for label, count in (("bad", int(y.sum())), ("good", int(len(y) - y.sum()))):
        if count < MIN_PER_CLASS:
            problems.append(f"The sample has {count} {label} rows; fitting a threshold needs at least {MIN_PER_CLASS}.")
    return y, bad_value


def infer_schema(
    *,
    raw: pd.DataFrame,
    model: CatBoostClassifier,
    columns: list[dict[str, Any]],
    target: str,
    labels: Labels,
    problems: list[str],
) -> SampleSchema:
    names = [str(c["name"]) for c in columns]
    protected_names = labels.protected_attributes
    _check_columns(raw, names=names, protected=protected_names, target=target, labels=labels, problems=problems)
    cats = {model.feature_names_[i] for i in model.get_cat_feature_indices()}
    builder = _Builder(raw=raw, labels=labels, problems=problems)
    # Columns that are there are checked even when others are missing: one run names every problem.
    features = [builder.field(str(c["name"]), _kind(c, cats, raw[str(c["name"])])) for c in columns if c["name"] in raw]
    protected = [
        builder.field(n, _kind({"type": None}, set(), raw[n]), protected=True)
        for n in protected_names
        if n in raw and n not in names and n != target
    ]
    sections = builder.sections(features, protected)
    ignored = [c for c in raw.columns if c not in {*names, *protected_names, target}]
    notes = builder.notes()
    if ignored:
        notes.append(f"Sample columns not used (not model features, protected attributes or the target): {ignored}.")
    signature = [
        {
            "type": {CATEGORICAL: "string", INTEGER: "long", NUMBER: "double"}[f["kind"]],
            "name": f["name"],
            "required": True,
        }
        for f in features
    ]
    return SampleSchema(
        features=features,
        protected=protected,
        sections=sections,
        typed=pd.DataFrame(builder.typed, index=raw.index),
        signature=signature,
        notes=notes,
    )


def _check_columns(
    raw: pd.DataFrame, *, names: list[str], protected: list[str], target: str, labels: Labels, problems: list[str]
) -> None:
    if target not in raw.columns:
        problems.append(f"The sample has no target column {target!r} (--target); its columns are {list(raw.columns)}.")
    elif target in names:
        problems.append(f"--target {target!r} is one of the model's features, not the outcome.")
    missing = [n for n in names if n not in raw.columns]
    if missing:
        problems.append(f"The sample lacks the model's features {missing}: it must have a column for each.")
    for name in protected:
        if name not in raw.columns:
            problems.append(f"labels protected_attributes: {name!r} is not a column of the sample.")
        elif name in names or name == target:
            problems.append(f"labels protected_attributes: {name!r} is a model feature or the target.")
    strangers = sorted(set(labels.fields) - {*names, *protected})
    if strangers:
        problems.append(f"labels fields {strangers} are neither model features nor protected_attributes.")


def _kind(column: Mapping[str, Any], cats: set[str], values: pd.Series) -> str:
    """The model's own categorical list decides first; then the signature's type; without one, the sample."""
    if column.get("name") in cats:
        return CATEGORICAL
    declared = column.get("type")
    if declared in _INTEGER_TYPES:
        return INTEGER
    if declared is not None:
        return NUMBER  # a double, or a text column the model reads as numbers: numbers to the app too
    text = values[values.str.strip() != ""]
    parsed = parse_number_texts(text)
    if len(text) and np.isfinite(parsed).all():
        return INTEGER if (parsed == np.floor(parsed)).all() else NUMBER
    return CATEGORICAL


class _Builder:
    """Builds each field's metadata and typed column, collecting problems and which labels are defaults."""

    def __init__(self, *, raw: pd.DataFrame, labels: Labels, problems: list[str]):
        self.raw, self.labels, self.problems = raw, labels, problems
        self.typed: dict[str, pd.Series] = {}
        self.default_labels: list[str] = []
        self.default_choice_labels: list[str] = []
        self.ranges: list[str] = []
        self.many_choices: list[str] = []
        self.generated_reasons: list[str] = []

    def field(self, name: str, kind: str, *, protected: bool = False) -> dict[str, Any]:
        given = self.labels.fields.get(name, {})
        if "label" not in given:
            self.default_labels.append(name)
        spec: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "label": given.get("label") or humanise(name),
            "help": given.get("help")
            or ("Recorded for fairness monitoring only; never used to score." if protected else ""),
            "section": given.get("section") or (MONITORING_SECTION["name"] if protected else self._first_section()),
        }
        if kind == CATEGORICAL:
            for key in ("unit", "min", "max"):
                if key in given:
                    self.problems.append(f"labels fields.{name}.{key}: {name!r} is categorical; {key} is for numbers.")
            spec["choices"] = self._choices(name, given.get("choices") or {}, required=not protected)
        else:
            if "choices" in given:
                self.problems.append(f"labels fields.{name}.choices: {name!r} is a number, it has no choices.")
            spec["unit"] = given.get("unit") or ""
            spec["min"], spec["max"] = self._range(name, kind, given, required=not protected)
        if not protected:
            spec["reasons"] = self._reasons(name, spec["label"], given.get("reasons") or {})
        if "actionable" in given:
            # Checked here against the range and choices just found, so the YAML's line is named.
            spec["actionable"] = given["actionable"]
            self.problems.extend(
                contract.actionable_problems(spec, f"labels fields.{name}.actionable", protected=protected)
            )
        return spec

    def _reasons(self, name: str, label: str, given: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        """The YAML's reasons; a direction it lacks gets a statement made from the label, listed for review."""
        generated = generated_reasons(name, label)
        reasons = {}
        for direction in (RAISES, LOWERS):
            if direction in given:
                reasons[direction] = {"code": given[direction]["code"], "statement": given[direction]["statement"]}
            else:
                reasons[direction] = generated[direction]
                self.generated_reasons.append(f"{name} ({direction}): {generated[direction]['statement']!r}")
        return reasons

    def _first_section(self) -> str:
        return self.labels.sections[0]["name"] if self.labels.sections else DEFAULT_SECTION["name"]

    def _choices(self, name: str, given: Mapping[Any, str], *, required: bool) -> list[dict[str, str]]:
        values = self.raw[name]
        blank = values.str.strip() == ""
        self._blanks(name, blank, required)
        long = _lines(values.str.len() > MAX_TEXT_LENGTH)
        if long:
            self.problems.append(f"{name}: values longer than {MAX_TEXT_LENGTH} characters on CSV lines {_few(long)}.")
        observed = set(values[~blank].tolist())
        if not observed:
            self.problems.append(f"{name}: the sample has no value in this column, so it says nothing about it.")
        labelled = {str(k): v for k, v in given.items()}
        unseen = [v for v in labelled if v not in observed]
        if unseen:
            self.problems.append(
                f"labels fields.{name}.choices: {unseen} do not occur in the sample (values are matched exactly); "
                f"its values are {_few(sorted(observed))}."
            )
        if set(labelled) < observed:
            self.default_choice_labels.append(name)
        if len(observed) > MANY_CHOICES:
            self.many_choices.append(name)
        self.typed[name] = values
        ordered = [v for v in labelled if v in observed] + sorted(observed - set(labelled))
        return [{"value": v, "label": labelled.get(v, v)} for v in ordered]

    def _range(self, name: str, kind: str, given: Mapping[str, Any], *, required: bool) -> tuple[Any, Any]:
        values = self.raw[name]
        blank = (values.str.strip() == "").to_numpy()
        self._blanks(name, pd.Series(blank, index=values.index), required)
        parsed = parse_number_texts(values)
        wrong = _lines(pd.Series(~blank & ~np.isfinite(parsed), index=values.index))
        if wrong:
            example = values.loc[values.index[~blank & ~np.isfinite(parsed)][0]]
            self.problems.append(
                f"{name}: {len(wrong)} values are not numbers as the app reads them (digits, '.' before decimals, "
                f"no separators), e.g. {example!r} on CSV line {wrong[0]}."
            )
        finite = parsed[np.isfinite(parsed)]
        if kind == INTEGER and (finite != np.floor(finite)).any():
            self.problems.append(f"{name}: the model's signature says whole numbers, the sample has fractions.")
        self.typed[name] = pd.Series(parsed, index=values.index)
        if kind == INTEGER and not blank.any() and not wrong:
            self.typed[name] = self.typed[name].astype("int64")
        if not len(finite):
            self.problems.append(f"{name}: the sample has no value in this column, so it says nothing about it.")
            return None, None
        low, high = float(finite.min()), float(finite.max())
        lower, upper = widened(low, high, integer=kind == INTEGER)
        lower, upper = given.get("min", lower), given.get("max", upper)
        if kind == INTEGER and not (float(lower).is_integer() and float(upper).is_integer()):
            self.problems.append(f"labels fields.{name}: {name!r} takes whole numbers; give a whole min and max.")
        if lower > low or upper < high:
            self.problems.append(
                f"labels fields.{name}: the range {lower:g} to {upper:g} excludes sample values ({low:g} to {high:g})."
            )
        self.ranges.append(f"{name} {lower:g} to {upper:g}")
        return _plain(lower, kind), _plain(upper, kind)

    def _blanks(self, name: str, blank: pd.Series, required: bool) -> None:
        lines = _lines(blank)
        if required and lines:
            self.problems.append(
                f"{name}: {len(lines)} empty cells (CSV lines {_few(lines)}); every feature needs a value, "
                "as every application does."
            )

    def sections(self, features: list[dict[str, Any]], protected: list[dict[str, Any]]) -> list[dict[str, str]]:
        sections = list(self.labels.sections) or [DEFAULT_SECTION]
        used = {f["section"] for f in features}
        sections = [s for s in sections if s["name"] in used or s["name"] == MONITORING_SECTION["name"]]
        if protected and MONITORING_SECTION["name"] not in {s["name"] for s in sections}:
            sections.append(MONITORING_SECTION)
        return sections

    def notes(self) -> list[str]:
        notes = []
        if self.default_labels:
            notes.append(f"Default labels (the column name, humanised) for: {', '.join(self.default_labels)}.")
        if self.default_choice_labels:
            names = ", ".join(self.default_choice_labels)
            notes.append(f"Default choice labels (the value itself) for some choices of: {names}.")
        if self.ranges:
            notes.append(f"Allowed ranges: {'; '.join(self.ranges)}.")
        if self.generated_reasons:
            notes.append(
                "Reasons generated from the label (review them, and give applicant-grade statements under "
                f"fields.<column>.reasons in --labels): {'; '.join(self.generated_reasons)}."
            )
        if self.many_choices:
            notes.append(f"More than {MANY_CHOICES} choices (an identifier?): {', '.join(self.many_choices)}.")
        return notes


def widened(low: float, high: float, *, integer: bool) -> tuple[float, float]:
    """The sample's range widened by RANGE_MARGIN of its span each side and rounded outwards."""
    span = high - low or max(abs(high), 1.0)
    lower, upper = low - RANGE_MARGIN * span, high + RANGE_MARGIN * span
    if low >= 0:
        lower = max(lower, 0.0)
    # Round to a tenth of the span's order of magnitude (28,000 rather than 27,511), whole for integers.
    step = 10.0 ** math.floor(math.log10(span)) / 10
    if integer:
        step = max(step, 1.0)
    return _round(math.floor(lower / step) * step, step), _round(math.ceil(upper / step) * step, step)


def _round(value: float, step: float) -> float:
    return round(value, max(0, -math.floor(math.log10(step))))


def _plain(value: float, kind: str) -> int | float:
    return int(value) if kind == INTEGER else float(value)


def _lines(mask: pd.Series) -> list[int]:
    """CSV line numbers (the header is line 1) of the rows where ``mask`` holds."""
    return [int(i) + 2 for i in np.flatnonzero(np.asarray(mask))]


def _few(items: list[Any], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown
