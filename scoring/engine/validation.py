"""Checking application inputs against a model's schema: one application's fields, or a frame of many rows.

Pure code (pandas and numpy). One application gets every bad field named at
once; a frame gets per-row errors and is never failed as a whole. The frame path
is vectorised and does the expensive work (stripping text, building messages)
only for the rows that need it, so a clean million-row file costs a few
column-wide comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.engine.numbers import parse_number, parse_number_texts
from scoring.engine.schema import CATEGORICAL, INTEGER, MAX_TEXT_LENGTH, Feature, InvalidApplication


@dataclass(frozen=True)
class Application:
    """Validated inputs: the model's features (typed, in model order) and the monitoring-only fields."""

    features: dict[str, object]
    protected: dict[str, object] = field(default_factory=dict)


@dataclass
class FrameValidation:
    """A frame's valid rows (typed, model columns only) and the errors of the others."""

    valid: pd.DataFrame
    protected: pd.DataFrame
    errors: dict[Any, dict[str, list[str]]]


# --- one application -------------------------------------------------------------


def validate_application(
    features: Sequence[Feature], protected: Sequence[Feature], inputs: Mapping[str, object], *, text: bool = False
) -> Application:
    """Typed values for every field, or InvalidApplication naming every bad field at once.

    ``text``: the values are what someone typed (the web form), so a number may come as text and is
    read by the strict grammar of ``numbers``. Otherwise they are JSON values, where a number
    field takes a JSON number only: the API's schema says so, and a string is refused, not read.
    """
    if not isinstance(inputs, Mapping):
        raise InvalidApplication({"inputs": [Message(NOT_AN_OBJECT)]})
    known = {f.name for f in features} | {f.name for f in protected}
    errors: dict[str, list[str]] = {}
    typed: dict[str, object] = {}
    monitored: dict[str, object] = {}
    for name in inputs:
        if name not in known:
            errors[str(name)[:MAX_TEXT_LENGTH]] = [Message(UNKNOWN)]
    for f in features:
        raw = inputs.get(f.name)
        if _is_blank(raw):
            errors[f.name] = [Message(REQUIRED)]
            continue
        value, message = coerce_value(f, raw, text=text)
        if message:
            errors[f.name] = [message]
        else:
            typed[f.name] = value
    for f in protected:
        raw = inputs.get(f.name)
        if _is_blank(raw):
            continue
        value, message = coerce_value(f, raw, text=text)
        if message:
            errors[f.name] = [message]
        else:
            monitored[f.name] = value
    if errors:
        raise InvalidApplication(errors)
    return Application(features=typed, protected=monitored)


class Message(str):
    """A message in English that a page or the API can say again in the reader's language: ``template`` (with
    %(name)s placeholders, as gettext's catalogs hold them) and ``params``; ``bound`` is (number, feature) for a
    limit, whose number and unit read differently per language. Anywhere else it is the English text."""

    template: str
    params: dict[str, object]
    bound: tuple[float, Feature] | None

    def __new__(cls, template: str, bound: tuple[float, Feature] | None = None, **params: object) -> Message:
        made = super().__new__(cls, template % params if params else template)
        made.template, made.params, made.bound = template, params, bound
        return made

    def __reduce__(self):  # pickled (a worker's result) as its English text
        return (str, (str(self),))


REQUIRED = "This field is required."
UNKNOWN = "Unknown field."
NOT_AN_OBJECT = "Expected an object of field names to values."
NOT_TEXT = "Expected text."
TOO_LONG = "At most %(count)s characters."
NOT_A_CHOICE = "'%(value)s' is not one of the allowed choices."
NOT_ONE_OF_THE_CHOICES = "Not one of the allowed choices."
AT_LEAST = "Must be at least %(limit)s."
AT_MOST = "Must be at most %(limit)s."
WHOLE_NOT_BOOLEAN = "Expected a whole number, not true or false."
NUMBER_NOT_BOOLEAN = "Expected a number, not true or false."
WHOLE_NOT_STRING = "Expected a whole number, not a string: send a JSON number, without quotes."
NUMBER_NOT_STRING = "Expected a number, not a string: send a JSON number, without quotes."
NUMBER_EXPECTED = "Expected a number."


def _limit(template: str, f: Feature, limit: float) -> Message:
    return Message(template, bound=(plain_number(limit), f), limit=f.format_value(plain_number(limit)))


def coerce_value(f: Feature, raw: object, *, text: bool = False) -> tuple[object, str | None]:
    """One field's typed value, or None and the message saying what is wrong with it."""
    if f.kind == CATEGORICAL:
        if isinstance(raw, bool) or not isinstance(raw, str | int) or (isinstance(raw, int) and not text):
            return None, Message(NOT_TEXT)
        value = str(raw).strip()
        if len(value) > MAX_TEXT_LENGTH:
            return None, Message(TOO_LONG, count=MAX_TEXT_LENGTH)
        if f.choices and value not in f.choices:
            return None, Message(NOT_A_CHOICE, value=value[:60])
        return value, None
    number, message = _number(f, raw, text=text)
    if message:
        return None, message
    if f.kind == INTEGER:
        if number != math.floor(number):
            return None, Message(FRACTION)
        number = int(number)
    if f.min is not None and number < f.min:
        return None, _limit(AT_LEAST, f, f.min)
    if f.max is not None and number > f.max:
        return None, _limit(AT_MOST, f, f.max)
    return number, None


# What an officer or a file can act on: how to write the number, not only that it is wrong.
NOT_A_NUMBER = "Expected a number: digits, with '.' before any decimals; no spaces or thousands separators."
NOT_A_WHOLE_NUMBER = "Expected a whole number: digits only, no spaces or thousands separators."
FRACTION = "Expected a whole number."


def _number(f: Feature, raw: object, *, text: bool) -> tuple[float, str | None]:
    """The number ``raw`` is, or NaN and why not: text only when typed by someone, never a bool."""
    whole = f.kind == INTEGER
    if isinstance(raw, bool):  # an int to Python, never a number to a client
        return math.nan, Message(WHOLE_NOT_BOOLEAN if whole else NUMBER_NOT_BOOLEAN)
    if isinstance(raw, str) and not text:
        return math.nan, Message(WHOLE_NOT_STRING if whole else NUMBER_NOT_STRING)
    value: float | None = None
    if isinstance(raw, int):
        value = float(raw) if abs(raw) < 1e300 else math.inf
    elif isinstance(raw, float):
        value = raw
    elif isinstance(raw, str):
        value = parse_number(raw)
    if value is None or not math.isfinite(value):
        if text:
            return math.nan, Message(NOT_A_WHOLE_NUMBER if whole else NOT_A_NUMBER)
        return math.nan, Message(FRACTION if whole else NUMBER_EXPECTED)
    return value, None


# --- many rows -------------------------------------------------------------------


def validate_frame(features: Sequence[Feature], protected: Sequence[Feature], frame: pd.DataFrame) -> FrameValidation:
    """Vectorised validation of many rows: per-row errors, never an exception for bad rows.

    A missing feature column is the whole frame's fault (InvalidApplication); protected columns are optional.
    """
    typed: dict[str, pd.Series] = {}
    problems: list[tuple[str, pd.Series]] = []
    for f in [*features, *protected]:
        if f.name not in frame.columns:
            if f.protected:
                continue
            raise InvalidApplication({f.name: ["Column is missing."]})
        typed[f.name], messages = coerce_column(f, frame[f.name])
        if len(messages):
            problems.append((f.name, messages))
    errors: dict[Any, dict[str, list[str]]] = {}
    for name, messages in problems:
        for idx, message in messages.items():
            errors.setdefault(idx, {})[name] = [message]
    good = ~frame.index.isin(list(errors)) if errors else None

    def kept(name: str) -> pd.Series:
        return typed[name] if good is None else typed[name][good]

    index = frame.index if good is None else frame.index[good]
    valid = pd.DataFrame({f.name: kept(f.name) for f in features}, index=index)
    monitored = pd.DataFrame({f.name: kept(f.name) for f in protected if f.name in typed}, index=index)
    # Rows with errors are collected field by field; report them in row order.
    return FrameValidation(valid=valid, protected=monitored, errors=dict(sorted(errors.items())))


def coerce_column(f: Feature, column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The typed column, and the error message of each bad row (a Series indexed by those rows only)."""
    if f.kind == CATEGORICAL:
        return _coerce_text_column(f, column)
    return _coerce_number_column(f, column)


def _coerce_text_column(f: Feature, column: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = column.astype(object)
    # Values that are already an allowed choice need no stripping: only the others are looked at.
    unchecked = ~column.isin(f.choices).to_numpy() if f.choices else np.ones(len(column), dtype=bool)
    if not unchecked.any():
        return text, _no_messages()
    rest = column[unchecked]
    missing = rest.isna().to_numpy()
    stripped = rest.astype(str).str.strip().astype(object)
    stripped[missing] = ""
    text = text.copy()
    text[unchecked] = stripped
    blank = (stripped == "").to_numpy()
    messages = pd.Series(np.nan, index=rest.index, dtype=object)
    if f.choices:
        messages[~blank & ~stripped.isin(f.choices).to_numpy()] = "Not one of the allowed choices."
    messages[~blank & (stripped.str.len() > MAX_TEXT_LENGTH).to_numpy()] = f"At most {MAX_TEXT_LENGTH} characters."
    if not f.protected:
        messages[blank] = "This field is required."
    return text, messages.dropna()


def _coerce_number_column(f: Feature, column: pd.Series) -> tuple[pd.Series, pd.Series]:
    numbers = _numbers(column)
    values = numbers.to_numpy()
    finite = np.isfinite(values)
    wrong_kind = NOT_A_WHOLE_NUMBER if f.kind == INTEGER else NOT_A_NUMBER
    checks: list[tuple[np.ndarray, str]] = []
    if f.kind == INTEGER:
        with np.errstate(invalid="ignore"):
            checks.append((finite & (values != np.floor(values)), FRACTION))
    if f.min is not None:
        checks.append((finite & (values < f.min), f"Must be at least {plain_number(f.min)}."))
    if f.max is not None:
        checks.append((finite & (values > f.max), f"Must be at most {plain_number(f.max)}."))
    bad = ~finite
    for mask, _ in checks:
        bad |= mask
    if not bad.any():
        return numbers, _no_messages()
    messages = pd.Series(np.nan, index=column.index, dtype=object)
    unparsed = np.flatnonzero(~finite)
    if unparsed.size:
        raw = column.iloc[unparsed]
        blank = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
        rows = column.index[unparsed]
        messages[rows[~blank]] = wrong_kind
        if not f.protected:
            messages[rows[blank]] = "This field is required."
    for mask, message in checks:
        messages[mask] = message
    return numbers, messages.dropna()


def _numbers(column: pd.Series) -> pd.Series:
    """The column as floats, NaN where a value is not a number; text is read by the strict grammar of ``numbers``.

    A categorical column (a batch file's) parses each distinct text once. Booleans are not numbers.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        distinct = _number_values(pd.Series(column.cat.categories, dtype=object))
        codes = column.cat.codes.to_numpy()
        values = np.where(codes >= 0, distinct[codes] if distinct.size else np.nan, np.nan)
        return pd.Series(values, index=column.index, dtype=float)
    return pd.Series(_number_values(column), index=column.index, dtype=float)


def _number_values(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column.dtype):
        return np.full(len(column), np.nan)
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=float, na_value=np.nan)
    values = np.full(len(column), np.nan)
    is_text = column.map(type).eq(str).to_numpy()
    if is_text.any():
        values[is_text] = parse_number_texts(column[is_text])
    plain = column.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).to_numpy() & ~is_text
    if plain.any():
        values[plain] = column[plain].to_numpy(dtype=float)
    return values


def _no_messages() -> pd.Series:
    return pd.Series([], dtype=object)


def _is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
