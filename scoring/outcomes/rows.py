"""One row of loan outcomes, checked field by field: a CSV's cells (text) or an API item (typed values).

Nothing is coerced: "1.0" is not a number of days, "Repaid" is not an outcome code, 2025-1-5 is not a
date. What the row's decision and its standing outcome decide is checked in ``services``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from scoring.models import LoanOutcome

# The fields of a row, in the order of the CSV template.
FIELDS = ("decision_id", "external_ref", "outcome", "observed_on", "days_past_due", "reason")
EXTERNAL_REF_LENGTH = 100
REASON_LENGTH = 2000
MAX_DAYS_PAST_DUE = 2_147_483_647  # the column's range
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OUTCOMES = frozenset(LoanOutcome.Outcome.values)


@dataclass(frozen=True)
class RowError:
    """Why a row (1 = the first row after a CSV's header, or the first item of a request) cannot be stored."""

    row: int | None  # None: the file as a whole
    field: str
    message: str


@dataclass(frozen=True)
class Row:
    number: int
    decision_id: int | None
    external_ref: str
    outcome: str
    observed_on: date | None
    days_past_due: int | None
    reason: str
    complete: bool = True  # every field is valid (else only the decision it names is checked)


def parse_row(number: int, raw: Mapping[str, object], errors: list[RowError], today: date) -> Row | None:
    """The row's fields checked (their errors added to ``errors``), or None when it names no decision to look up."""
    found: list[RowError] = []

    def error(name: str, message: str) -> None:
        found.append(RowError(number, name, message))

    decision_id = _decision_id(raw.get("decision_id"), error)
    external_ref = _text(raw.get("external_ref"), "external_ref", EXTERNAL_REF_LENGTH, error)
    if decision_id is None and not external_ref and not any(e.field in ("decision_id", "external_ref") for e in found):
        error("decision_id", _("Give the decision's id (decision_id) or the lender's reference (external_ref)."))
    elif decision_id is not None and external_ref:
        error("external_ref", _("Give decision_id or external_ref, not both."))
    outcome = _outcome(raw.get("outcome"), error)
    observed_on = _observed_on(raw.get("observed_on"), error, today)
    days_past_due = _days_past_due(raw.get("days_past_due"), error)
    if outcome == LoanOutcome.Outcome.WITHDRAWN and days_past_due is not None:
        error("days_past_due", _("Leave days past due empty for a withdrawn loan: it was never booked."))
    reason = _text(raw.get("reason"), "reason", REASON_LENGTH, error)
    errors.extend(found)
    if any(e.field in ("decision_id", "external_ref") for e in found):
        return None  # no decision to look up
    # A row with other errors is still looked up, so its decision's errors are reported with them.
    return Row(number, decision_id, external_ref, outcome, observed_on, days_past_due, reason, complete=not found)


def _empty(value: object) -> bool:
    return value is None or value == ""


def _decision_id(value: object, error) -> int | None:
    if _empty(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value) and 1 <= int(value) <= MAX_ID:
        return int(value)
    error(
        "decision_id",
        _("“%(value)s” is not a decision id: give the decision's number, digits only.") % {"value": str(value)[:40]},
    )
    return None


def _text(value: object, name: str, limit: int, error) -> str:
    if _empty(value):
        return ""
    if not isinstance(value, str):
        error(name, _("Give text."))
        return ""
    if len(value) > limit:
        error(name, _("At most %(limit)d characters.") % {"limit": limit})
        return ""
    if not value.strip():
        return ""
    return value


def _outcome(value: object, error) -> str:
    if isinstance(value, str) and value in _OUTCOMES:
        return value
    codes = ", ".join(LoanOutcome.Outcome.values)
    if _empty(value):
        error("outcome", _("Give the outcome: one of %(codes)s.") % {"codes": codes})
    else:
        error(
            "outcome",
            _("“%(value)s” is not an outcome code; use one of %(codes)s, in lower case as written.")
            % {"value": str(value)[:40], "codes": codes},
        )
    return ""


def _observed_on(value: object, error, today: date) -> date | None:
    if _empty(value):
        error("observed_on", _("Give the date the outcome was observed, as YYYY-MM-DD."))
        return None
    day = value if isinstance(value, date) else None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None:
        error("observed_on", _("“%(value)s” is not a date: write it as YYYY-MM-DD.") % {"value": str(value)[:40]})
        return None
    if day > today:
        error("observed_on", _("%(day)s is in the future: an outcome is reported once observed.") % {"day": day})
        return None
    return day


def _days_past_due(value: object, error) -> int | None:
    if _empty(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DAYS_PAST_DUE:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value) and int(value) <= MAX_DAYS_PAST_DUE:
        return int(value)
    error(
        "days_past_due",
        _("“%(value)s” is not a number of days: give a whole number, 0 or more, digits only.")
        % {"value": str(value)[:40]},
    )
    return None
