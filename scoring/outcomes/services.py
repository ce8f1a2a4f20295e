"""Record loan outcomes: check every row of a set first, then store the new outcomes and corrections at once.

The one write path of the CSV page, the API and ``manage.py load_outcomes``. A set is all or nothing: if
any row has an error, nothing is stored and every error is returned. A row equal to the decision's
standing outcome is "unchanged" (re-sending a file stores nothing new); a row that differs is a
correction, which needs a reason and is stored as a new row superseding the standing one.
"""

from __future__ import annotations

import hashlib
import json
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
from scoring.outcomes.rows import FIELDS, Row, RowError, parse_row

# Decisions are looked up this many at a time (SQLite takes at most 999 parameters per statement).
_LOOKUP_CHUNK = 900
# Namespace of the advisory locks on decisions receiving outcomes ("OUTC"), apart from any other. The
# decision id is folded into this many keys: a set of 10,000 rows takes at most this many locks (the
# server's lock table is shared and bounded), and two sets sharing a key only wait for each other.
_LOCK_NAMESPACE = 0x4F555443
_LOCK_KEYS = 256


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
    parsed = [parse_row(number, raw, result.errors, today) for number, raw in zip(numbers, rows, strict=True)]
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


# --- checking against the stored decisions and outcomes, and storing ------------------------


def _store(
    parsed: list[Row | None],
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
    new: list[tuple[int, Row, int | None]] = []  # decision, row, the standing outcome it supersedes
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


def _insert(new: list[tuple[int, Row, int | None]], *, upload: OutcomeUpload, user, source: str) -> None:
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
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)  # noqa: S608  # nosec B608


def _resolve(rows: list[Row], *, user: AbstractBaseUser, errors: list[RowError]) -> dict[int, tuple[int, date]]:
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


def _same(current: _Standing, row: Row) -> bool:
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
