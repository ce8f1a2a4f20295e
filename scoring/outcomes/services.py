"""Record loan outcomes: check every row of a set first, then store the new outcomes and corrections at once.

The one write path of the CSV page, the API and ``manage.py load_outcomes``. A set is all or nothing: if
any row has an error, nothing is stored and every error is returned. A row equal to the decision's
standing outcome is "unchanged" (re-sending a file stores nothing new); a row that differs is a
correction, which needs a reason and is stored as a new row superseding the standing one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import permissions
from scoring.exceptions import IdempotencyConflict, NotAllowed
from scoring.models import ExportLog, LoanOutcome, OutcomeUpload, Prediction

# The fields of a row, in the order of the CSV template.
FIELDS = ("decision_id", "external_ref", "outcome", "observed_on", "days_past_due", "reason")
EXTERNAL_REF_LENGTH = 100
REASON_LENGTH = 2000
MAX_DAYS_PAST_DUE = 2_147_483_647  # the column's range
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OUTCOMES = frozenset(LoanOutcome.Outcome.values)
# Decisions are looked up this many at a time (SQLite takes at most 999 parameters per statement).
_LOOKUP_CHUNK = 900
# Namespace of the advisory locks on decisions receiving outcomes ("OUTC"), apart from any other. The
# decision id is folded into this many keys: a set of 10,000 rows takes at most this many locks (the
# server's lock table is shared and bounded), and two sets sharing a key only wait for each other.
_LOCK_NAMESPACE = 0x4F555443
_LOCK_KEYS = 256


@dataclass(frozen=True)
class RowError:
    """Why a row (1 = the first row after a CSV's header, or the first item of a request) cannot be stored."""

    row: int | None  # None: the file as a whole
    field: str
    message: str


@dataclass
class Result:
    """What a set did: counts when it was stored, every error when it was refused (then nothing was stored)."""

    rows: int = 0
    stored: int = 0
    corrected: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    upload: OutcomeUpload | None = None
    replayed: bool = False  # the answer to an earlier request with the same Idempotency-Key

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Row:
    number: int
    decision_id: int | None
    external_ref: str
    outcome: str
    observed_on: date | None
    days_past_due: int | None
    reason: str
    complete: bool = True  # every field is valid (else only the decision it names is checked)


def content_sha256(rows: Sequence[Mapping[str, object]]) -> str:
    """The sha256 of a set's rows as canonical JSON: what an API request is identified by."""
    text = json.dumps([dict(r) for r in rows], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def record_outcomes(
    rows: Sequence[Mapping[str, object]],
    *,
    user: AbstractBaseUser,
    source: LoanOutcome.Source,
    source_ref: str = "",
    sha256: str = "",
    idempotency_key: str = "",
    numbers: Sequence[int] | None = None,
) -> Result:
    """Check every row, then store the set in one transaction, or nothing.

    ``rows`` hold the fields of ``FIELDS`` as text (a CSV's cells; empty means not given) or typed (an
    API request: ints, dates, None). ``source_ref`` names where the set came from (a file name); the
    stored rows' ``source_ref`` is the id of the ``OutcomeUpload`` recorded for the set. ``sha256``
    identifies the bytes received (computed from the rows when not given). With ``idempotency_key`` a
    repeat of a stored request returns its result (``replayed``); a different set under the same key
    raises IdempotencyConflict. ``numbers`` are the rows' numbers in errors (1, 2, ... when not given).
    Raises NotAllowed for a user who may not record outcomes.
    """
    if not permissions.can_record_outcomes(user):
        raise NotAllowed(_("Your role may not record loan outcomes."))
    sha256 = sha256 or content_sha256(rows)
    if idempotency_key:
        replay = _replay(user=user, key=idempotency_key, sha256=sha256)
        if replay is not None:
            return replay
    result = Result(rows=len(rows))
    numbers = numbers if numbers is not None else range(1, len(rows) + 1)
    today = timezone.localdate()
    parsed = [_parse_row(number, raw, result.errors, today) for number, raw in zip(numbers, rows, strict=True)]
    try:
        with transaction.atomic():
            _store(parsed, result, user=user, source=source, source_ref=source_ref, sha256=sha256, key=idempotency_key)
            if result.errors:
                raise _Refused
    except _Refused:
        result.stored = result.corrected = result.unchanged = 0
    except IntegrityError:
        # Only the Idempotency-Key constraint can fail here: the same key sent twice at once.
        replay = _replay(user=user, key=idempotency_key, sha256=sha256) if idempotency_key else None
        if replay is None:
            raise
        return replay
    result.errors.sort(key=lambda e: (e.row or 0, FIELDS.index(e.field) if e.field in FIELDS else -1))
    return result


class _Refused(Exception):
    """Rolls back the set's transaction (the locks go with it) when a row has an error."""


def _replay(*, user: AbstractBaseUser, key: str, sha256: str) -> Result | None:
    upload = OutcomeUpload.objects.filter(created_by=user, idempotency_key=key).first()
    if upload is None:
        return None
    if upload.sha256 != sha256:
        raise IdempotencyConflict(
            _("This Idempotency-Key was already used for a different set of outcomes; use a new key.")
        )
    return Result(
        rows=upload.row_count,
        stored=upload.stored,
        corrected=upload.corrected,
        unchanged=upload.unchanged,
        upload=upload,
        replayed=True,
    )


# --- checking one row's fields --------------------------------------------------------------


def _parse_row(number: int, raw: Mapping[str, object], errors: list[RowError], today: date) -> _Row | None:
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
    return _Row(number, decision_id, external_ref, outcome, observed_on, days_past_due, reason, complete=not found)


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


# --- checking against the stored decisions and outcomes, and storing ------------------------


def _store(
    parsed: list[_Row | None],
    result: Result,
    *,
    user: AbstractBaseUser,
    source: str,
    source_ref: str,
    sha256: str,
    key: str,
) -> None:
    rows = [row for row in parsed if row is not None]
    decisions = _resolve(rows, user=user, errors=result.errors)
    _lock(sorted({prediction_id for prediction_id, _day in decisions.values()}))
    standing = _standing({prediction_id for prediction_id, _day in decisions.values()})
    new: list[tuple[int, _Row, int | None]] = []  # decision, row, the standing outcome it supersedes
    for row in rows:
        if row.number not in decisions:
            continue
        prediction_id, decided_on = decisions[row.number]
        if row.observed_on is not None and row.observed_on < decided_on:
            result.errors.append(
                RowError(
                    row.number,
                    "observed_on",
                    _("%(day)s is before the decision was made (%(decided)s).")
                    % {"day": row.observed_on, "decided": decided_on},
                )
            )
            continue
        if not row.complete:
            continue
        current = standing.get(prediction_id)
        if current is not None and _same(current, row):
            result.unchanged += 1
            continue
        if current is not None and not row.reason:
            result.errors.append(RowError(row.number, "reason", _correction_message(current)))
            continue
        if current is not None:
            result.corrected += 1
        else:
            result.stored += 1
        new.append((prediction_id, row, current.id if current is not None else None))
    if result.errors or not new:
        return
    upload = OutcomeUpload.objects.create(
        created_by=user,
        source=source,
        file_name=source_ref[:255],
        sha256=sha256,
        row_count=result.rows,
        stored=result.stored,
        corrected=result.corrected,
        unchanged=result.unchanged,
        idempotency_key=key,
    )
    _insert(new, upload=upload, user=user, source=source)
    result.upload = upload


# The columns _insert writes, in its order.
_INSERT_COLUMNS = (
    "prediction_id",
    "external_ref",
    "outcome",
    "observed_on",
    "days_past_due",
    "source",
    "source_ref",
    "supersedes_id",
    "reason",
    "created_at",
    "created_by_id",
)


def _insert(new: list[tuple[int, _Row, int | None]], *, upload: OutcomeUpload, user, source: str) -> None:
    """The set's rows in one prepared INSERT run for each (executemany), not model instances.

    bulk_create prepares every field of every instance through the ORM: for a set of 10,000 rows that
    was most of the set's time (bench/outcomes.py). The values are the model's own, adapted by the
    database backend as the ORM would (dates, the stamp in UTC); all rows share the time of writing.
    """
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    ref = str(upload.pk)
    table = connection.ops.quote_name(LoanOutcome._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _INSERT_COLUMNS)
    marks = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    values = [
        (
            prediction_id,
            row.external_ref,
            row.outcome,
            ops.adapt_datefield_value(row.observed_on),
            row.days_past_due,
            source,
            ref,
            supersedes,
            row.reason,
            now,
            user.pk,
        )
        for prediction_id, row, supersedes in new
    ]
    with connection.cursor() as cursor:
        # Identifiers from the model, never from input; the values are parameters.
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)  # noqa: S608


def _resolve(rows: list[_Row], *, user: AbstractBaseUser, errors: list[RowError]) -> dict[int, tuple[int, date]]:
    """Row number -> (decision id, day it was made) for rows naming one decision the user may see, once."""
    visible = permissions.outcome_predictions(user, Prediction.objects.all()).order_by()
    zone = timezone.get_current_timezone()  # once: timezone.localdate() looks it up on every call
    by_id: dict[int, date] = {}
    ids = sorted({row.decision_id for row in rows if row.decision_id is not None})
    for chunk in _chunks(ids):
        for pk, created_at in visible.filter(pk__in=chunk).values_list("pk", "created_at"):
            by_id[pk] = created_at.astimezone(zone).date()
    by_ref: dict[str, list[tuple[int, date]]] = defaultdict(list)
    refs = sorted({row.external_ref for row in rows if row.decision_id is None})
    for chunk in _chunks(refs):
        for ref, pk, created_at in visible.filter(external_ref__in=chunk).values_list(
            "external_ref", "pk", "created_at"
        ):
            by_ref[ref].append((pk, created_at.astimezone(zone).date()))
    found: dict[int, tuple[int, date]] = {}
    first_row: dict[int, int] = {}
    for row in rows:
        if row.decision_id is not None:
            if row.decision_id not in by_id:
                errors.append(
                    RowError(
                        row.number,
                        "decision_id",
                        _("No decision #%(id)s that you may see.") % {"id": row.decision_id},
                    )
                )
                continue
            match = (row.decision_id, by_id[row.decision_id])
        else:
            matches = by_ref.get(row.external_ref, [])
            if len(matches) != 1:
                message = (
                    _("“%(ref)s” matches no decision.") % {"ref": row.external_ref}
                    if not matches
                    else _("“%(ref)s” matches %(count)d decisions; give the decision id (decision_id).")
                    % {"ref": row.external_ref, "count": len(matches)}
                )
                errors.append(RowError(row.number, "external_ref", message))
                continue
            match = matches[0]
        if match[0] in first_row:
            errors.append(
                RowError(
                    row.number,
                    "decision_id" if row.decision_id is not None else "external_ref",
                    _("Row %(first)d is about the same decision (#%(id)s); give one row per decision.")
                    % {"first": first_row[match[0]], "id": match[0]},
                )
            )
            continue
        first_row[match[0]] = row.number
        found[row.number] = match
    return found


def _lock(prediction_ids: list[int]) -> None:
    """One set at a time per decision, until the transaction ends: whether a row is new, unchanged or a
    correction depends on the standing outcome, which must not change between reading and writing.

    An advisory lock, not SELECT ... FOR UPDATE: locking a decision's row needs UPDATE privilege on
    decisions, which the app's role must not have (as for reviews, scoring.decisions.services). Keys are
    taken in ascending order, so two sets never wait for each other in a circle. SQLite runs one write
    transaction at a time, so it needs nothing.
    """
    if connection.vendor != "postgresql" or not prediction_ids:
        return
    keys = sorted({pk % _LOCK_KEYS for pk in prediction_ids})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, k)) FROM (SELECT unnest(%s::int[]) AS k ORDER BY k) AS keys",
            [_LOCK_NAMESPACE, keys],
        )


@dataclass(frozen=True)
class _Standing:
    id: int
    outcome: str
    observed_on: date
    days_past_due: int | None


def _standing(prediction_ids: set[int]) -> dict[int, _Standing]:
    """The standing outcome of each decision that has one (plain values: a set reads up to 10,000)."""
    standing: dict[int, _Standing] = {}
    for chunk in _chunks(sorted(prediction_ids)):
        rows = LoanOutcome.objects.filter(prediction_id__in=chunk).current().order_by()
        for pk, prediction_id, outcome, day, days in rows.values_list(
            "id", "prediction_id", "outcome", "observed_on", "days_past_due"
        ):
            standing[prediction_id] = _Standing(pk, outcome, day, days)
    return standing


def _same(current: _Standing, row: _Row) -> bool:
    return (current.outcome, current.observed_on, current.days_past_due) == (
        row.outcome,
        row.observed_on,
        row.days_past_due,
    )


def _correction_message(current: _Standing) -> str:
    label = LoanOutcome.Outcome(current.outcome).label
    if current.days_past_due is None:
        standing = _("%(outcome)s, observed %(day)s") % {"outcome": label, "day": current.observed_on.isoformat()}
    else:
        standing = _("%(outcome)s, observed %(day)s, %(days)d days past due") % {
            "outcome": label,
            "day": current.observed_on.isoformat(),
            "days": current.days_past_due,
        }
    return _("This decision already has an outcome (%(standing)s); give a reason to correct it.") % {
        "standing": standing
    }


def _chunks(values: Sequence) -> Iterable[Sequence]:
    for start in range(0, len(values), _LOOKUP_CHUNK):
        yield values[start : start + _LOOKUP_CHUNK]


def start_outcome_export(*, user: AbstractBaseUser) -> tuple[ExportLog, int | None]:
    """Record an export of every outcome row (in the access log's recent exports, as decision exports are)
    and return the last outcome id it covers, so the logged row count is what the file holds."""
    with transaction.atomic():
        last_id = LoanOutcome.objects.order_by("-id").values_list("id", flat=True).first()
        count = LoanOutcome.objects.filter(id__lte=last_id).count() if last_id is not None else 0
        log = ExportLog.objects.create(user=user, filters={"export": "loan outcomes"}, row_count=count)
    return log, last_id
