"""What every replay of stored decisions shares (policy simulations, model backtests): reading the history in
keyset chunks, the protected groups of each decision, and approval counts by group with their fairness tables.

A replay never holds the window: it reads ``size`` rows at a time by (created_at, id), adds them to running
counts and lets them go, so memory depends on the chunk, not on how many decisions the window holds.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from django.db import InterfaceError, OperationalError, connection, connections, models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext

from scoring import display
from scoring.models import ModelVersion, Prediction
from scoring.monitoring.reports import fairness_table

log = logging.getLogger(__name__)

T = TypeVar("T")

# A database outage: the task retries and the run goes back to the queue.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# Ages are compared in two groups, the way consumer-credit fairness reviews usually split them.
AGE_FIELD = "age_in_years"
AGE_SPLIT = 25
AGE_GROUPS = (f"under {AGE_SPLIT}", f"{AGE_SPLIT} and over")
# The German credit bundle's protected attributes, used when no model is active to say otherwise.
DEFAULT_PROTECTED = (
    {"name": "personal_status_and_sex", "label": "Personal status and sex", "kind": "categorical"},
    {"name": "age_in_years", "label": "Age", "kind": "integer"},
    {"name": "foreign_worker", "label": "Foreign worker", "kind": "categorical"},
)


def run_claimed(
    model: type[models.Model],
    pk: int,
    *,
    work: Callable[[Any], dict],
    report_field: str,
    claimed: Mapping[str, Any] | None = None,
    failure: Callable[[Exception], str] = lambda exc: str(exc) or type(exc).__name__,
) -> Any:
    """Claim a queued replay (a row with state queued/running/done/failed), run ``work`` on it and store its report
    in ``report_field``; None when another worker has it or it is finished.

    The claim is a conditional UPDATE (``claimed`` adds fields to set with it), so two deliveries never both run.
    A database outage puts the row back in the queue and re-raises (the task retries); any other error fails it
    with ``failure(exc)``, since running it again would fail the same way.
    """
    State = model.State
    if not model.objects.filter(pk=pk, state=State.QUEUED).update(state=State.RUNNING, **(claimed or {})):
        return None
    row = model.objects.get(pk=pk)
    try:
        report = work(row)
    except TRANSIENT_ERRORS:
        model.objects.filter(pk=pk, state=State.RUNNING).update(state=State.QUEUED)
        raise
    except Exception as exc:
        log.exception("%s %s failed", model._meta.verbose_name, pk)
        running = model.objects.filter(pk=pk, state=State.RUNNING)
        running.update(state=State.FAILED, error=failure(exc), finished_at=timezone.now())
    else:
        # Only a run still running finishes: one marked stopped meanwhile (its rerun asked for) stays as it was.
        running = model.objects.filter(pk=pk, state=State.RUNNING)
        running.update(state=State.DONE, finished_at=timezone.now(), **{report_field: report})
    row.refresh_from_db()
    return row


def last_sign_of_life(row: Any) -> datetime:
    """A replay's (backtest's, simulation's) latest sign of life: its heartbeat, else its start, else its request."""
    return row.heartbeat_at or row.started_at or row.created_at


def is_stale(row: Any, *, after: timedelta, now: datetime | None = None) -> bool:
    """Queued or running with no sign of life for ``after``: its worker died, or never got the task."""
    if row.state not in (row.State.QUEUED, row.State.RUNNING):
        return False
    return (now or timezone.now()) - last_sign_of_life(row) > after


def mark_stopped(row: Any, *, after: timedelta, never_started: str) -> bool:
    """Fail a stale replay, saying its worker stopped (``never_started`` for one no worker claimed); False when it
    showed a sign of life (or finished) since it was read: the UPDATE is conditional on the row still being stale,
    so a live run is never overwritten. The row is read again when it was marked."""
    model, State = type(row), row.State
    now = timezone.now()
    cutoff = now - after
    quiet = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    quiet |= Q(heartbeat_at__isnull=True, started_at__isnull=True, created_at__lt=cutoff)
    message = (
        gettext("Its worker stopped: no progress since %(when)s.")
        % {"when": formats.date_format(timezone.localtime(last_sign_of_life(row)), "DATETIME_FORMAT")}
        if row.state == State.RUNNING or row.started_at is not None
        else never_started
    )
    marked = model.objects.filter(quiet, pk=row.pk, state__in=(State.QUEUED, State.RUNNING)).update(
        state=State.FAILED, error=message, finished_at=now
    )
    if marked:
        row.refresh_from_db()
    return bool(marked)


def decision_chunks(start: datetime, end: datetime, *, size: int, fields: Sequence[Any]) -> Iterator[list[tuple]]:
    """The decisions of [start, end), oldest first, ``size`` at a time, by keyset on (created_at, id).

    ``fields`` must begin with "id". The keyset's moment is read for each chunk's last row alone (by its id), so
    a caller that has no use for ``created_at`` does not pay for it on every row: turning a timestamp into an
    aware datetime was a fifth of a backtest's time.
    """
    if not fields or fields[0] != "id":
        raise ValueError("a replay reads id first: with created_at, it is its keyset")
    window = Prediction.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "id")
    after: tuple[datetime, int] | None = None
    while True:
        page = window
        if after is not None:
            # created_at >= the keyset's moment, besides the OR: PostgreSQL starts the index scan there instead of
            # at the window's first row and filtering every row before it (a million rows: 0.7 s per chunk at the
            # end, quadratic over the period; 20 ms with it).
            moment, last = after
            page = page.filter(Q(created_at__gte=moment), Q(created_at__gt=moment) | Q(created_at=moment, id__gt=last))
        rows = list(page.values_list(*fields)[:size])
        if not rows:
            return
        full, last = len(rows) == size, rows[-1][0]
        yield rows
        del rows  # the next chunk is read with this one let go (the caller lets go too): one in memory at a time
        if not full:
            return
        after = (Prediction.objects.values_list("created_at", flat=True).get(pk=last), last)


def read_ahead(chunks: Iterator[T]) -> Iterator[T]:
    """The items of ``chunks``, read one ahead in a thread of its own: PostgreSQL reads and sends the next chunk
    while the caller works on this one (on two cores, the read was a fifth of a backtest's time).

    The thread has its own connection, so this reads ahead only on PostgreSQL outside a transaction (a Celery
    task's autocommit): inside one, another connection would not see its rows; SQLite would lock. Otherwise the
    items come in this thread, one after the other. At most three chunks are held at a time (the caller's, the
    one waiting, the one being read): memory stays flat. A read error is raised here, where the caller is.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from chunks
        return
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not hand(("chunk", chunk)):
                    return
                del chunk
            hand(("done", None))
        except BaseException as exc:  # raised again in the caller's thread
            hand(("error", exc))
        finally:
            getattr(chunks, "close", lambda: None)()
            connections.close_all()  # this thread's own connection

    reader = threading.Thread(target=read, name="replay-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = handoff.get()
            if kind == "error":
                raise item
            if kind == "done":
                return
            yield item
            del item
    finally:
        stop.set()
        reader.join()


@contextmanager
def collector_set_aside() -> Iterator[None]:
    """The objects the process holds so far kept out of the garbage collector's full passes while a replay runs.

    A worker holds hundreds of thousands of long-lived objects (Django, pandas, CatBoost); a full collection walks
    them all (about 0.1 s), and a replay's chunks set off several per 200,000 rows, for nothing: they are let go
    by reference count. ``gc.freeze`` sets them aside; they are put back when the replay ends. A process that
    froze objects itself (before forking, say) is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def protected_attributes(metadata: Mapping | None = None) -> list[tuple[str, str]]:
    """(field, label) of the protected attributes to group decisions by: those of ``metadata`` (a bundle's), else
    the active bundle's; categorical ones by recorded value, age in two bands; other numeric attributes have no
    groups to compare."""
    if metadata is None:
        active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).only("metadata").first()
        metadata = (active.metadata or {}) if active is not None else {}
    specs = metadata.get("protected_attributes") or DEFAULT_PROTECTED
    attributes = []
    for spec in specs:
        name, label = str(spec.get("name") or ""), display.text(spec.get("label")) or str(spec.get("name") or "")
        if name == AGE_FIELD:
            attributes.append((name, f"{label} ({AGE_GROUPS[0]} / {AGE_GROUPS[1]})"))
        elif spec.get("kind") == "categorical":
            attributes.append((name, label))
    return attributes


def group_labels(attribute: str, values: Sequence[object]) -> np.ndarray:
    """Each row's group for one protected attribute (None when not recorded)."""
    if attribute == AGE_FIELD:
        ages = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy()
        return np.where(np.isnan(ages), None, np.where(ages < AGE_SPLIT, AGE_GROUPS[0], AGE_GROUPS[1])).astype(object)
    return np.asarray([None if v is None or v == "" else str(v) for v in values], dtype=object)


def chunk_groups(
    attributes: Sequence[tuple[str, str]], protected: Sequence[Mapping | None], frame: pd.DataFrame | None = None
) -> dict[str, np.ndarray]:
    """Each attribute's group labels for the rows of a chunk, from their recorded protected fields.

    ``frame``, when the caller has one: the same rows' protected fields as ``DataFrame.from_records`` made them. A
    column of text (or of numbers, for the age) is then labelled at numpy speed, with the same labels; any other
    column is labelled from the recorded values one by one.
    """
    groups = {}
    for attribute, _ in attributes:
        column = frame[attribute] if frame is not None and attribute in frame.columns else None
        if column is not None and attribute == AGE_FIELD and _plain_numbers(column):
            ages = column.to_numpy(dtype=float, na_value=np.nan)
            groups[attribute] = np.where(
                np.isnan(ages), None, np.where(ages < AGE_SPLIT, AGE_GROUPS[0], AGE_GROUPS[1])
            ).astype(object)
        elif column is not None and attribute != AGE_FIELD and isinstance(column.dtype, pd.StringDtype):
            values = column.to_numpy(dtype=object, na_value=None)
            groups[attribute] = np.where(column.isna().to_numpy() | (values == ""), None, values).astype(object)
        else:
            groups[attribute] = group_labels(attribute, [(p or {}).get(attribute) for p in protected])
    return groups


def _plain_numbers(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)


class GroupApprovals:
    """Running (decisions, approvals) per protected group, one chunk at a time, and the fairness tables."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = {}  # attribute -> (group, approved?) -> decisions

    def add(self, groups: Mapping[str, np.ndarray], approved: np.ndarray) -> None:
        approved = np.asarray(approved, dtype=bool)
        for attribute, labels in groups.items():
            recorded = labels != None  # noqa: E711 (element-wise on an object array)
            # Each (group, approved?) pair counted with numpy: a group's code times two, plus one when approved.
            codes, names = pd.factorize(labels[recorded])
            pairs = np.bincount(codes * 2 + approved[recorded], minlength=2 * len(names))
            counter = self.counts.setdefault(attribute, Counter())
            for k, group in enumerate(names.tolist()):
                for was_approved in (False, True):
                    if n := int(pairs[2 * k + was_approved]):
                        counter[(group, was_approved)] += n

    def tables(
        self, attributes: Sequence[tuple[str, str]], *, not_recorded: Mapping[str, int], min_group: int
    ) -> list[dict]:
        """One fairness table per attribute (approval rates, adverse impact ratios, flags), as stored in a report."""
        tables = []
        for attribute, label in attributes:
            counts: dict[str, list[int]] = {}
            for (group, approved), n in self.counts.get(attribute, Counter()).items():
                counts.setdefault(group, [0, 0])
                counts[group][0] += n
                counts[group][1] += n if approved else 0
            table = fairness_table(
                attribute, label, counts, not_recorded=not_recorded[attribute], min_group=min_group, order=AGE_GROUPS
            )
            tables.append(table.as_dict() | {"flagged": table.flagged})
        return tables


def decision_rows(first: Mapping, second: Mapping, decisions: Sequence[str]) -> list[dict]:
    """Two sides' decision counts and rates (as their reports store them) row by row, with the second's difference."""
    return [
        {
            "decision": decision,
            "first": first["counts"][decision],
            "first_rate": first["rates"][decision],
            "second": second["counts"][decision],
            "second_rate": second["rates"][decision],
            "difference": second["counts"][decision] - first["counts"][decision],
        }
        for decision in decisions
    ]


def count_not_recorded(tally: Counter, groups: Mapping[str, np.ndarray]) -> None:
    """Add each attribute's rows with no recorded group to ``tally``."""
    for attribute, labels in groups.items():
        tally[attribute] += int((labels == None).sum())  # noqa: E711 (element-wise on an object array)
