"""What every replay of stored decisions shares (policy simulations, model backtests): reading the history in
keyset chunks, the protected groups of each decision, and approval counts by group with their fairness tables.

A replay never holds the window: it reads ``size`` rows at a time by (created_at, id), adds them to running
counts and lets them go, so memory depends on the chunk, not on how many decisions the window holds.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db import InterfaceError, OperationalError, models
from django.db.models import Q
from django.utils import timezone

from scoring import display
from scoring.models import ModelVersion, Prediction
from scoring.monitoring.reports import fairness_table

log = logging.getLogger(__name__)

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


def decision_chunks(start: datetime, end: datetime, *, size: int, fields: Sequence[str]) -> Iterator[list[tuple]]:
    """The decisions of [start, end), oldest first, ``size`` at a time, by keyset on (created_at, id).

    ``fields`` must begin with "id", "created_at": the keyset is read from each chunk's last row.
    """
    if tuple(fields[:2]) != ("id", "created_at"):
        raise ValueError("a replay reads id and created_at first: they are its keyset")
    window = Prediction.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "id")
    after: tuple[datetime, int] | None = None
    while True:
        page = window
        if after is not None:
            page = page.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
        rows = list(page.values_list(*fields)[:size])
        if not rows:
            return
        full, after = len(rows) == size, (rows[-1][1], rows[-1][0])
        yield rows
        del rows  # the next chunk is read with this one let go (the caller lets go too): one in memory at a time
        if not full:
            return


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


def chunk_groups(attributes: Sequence[tuple[str, str]], protected: Sequence[Mapping | None]) -> dict[str, np.ndarray]:
    """Each attribute's group labels for the rows of a chunk, from their recorded protected fields."""
    return {a: group_labels(a, [(p or {}).get(a) for p in protected]) for a, _ in attributes}


class GroupApprovals:
    """Running (decisions, approvals) per protected group, one chunk at a time, and the fairness tables."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = {}  # attribute -> (group, approved?) -> decisions

    def add(self, groups: Mapping[str, np.ndarray], approved: np.ndarray) -> None:
        for attribute, labels in groups.items():
            recorded = labels != None  # noqa: E711 (element-wise on an object array)
            pairs = zip(labels[recorded].tolist(), approved[recorded].tolist(), strict=True)
            self.counts.setdefault(attribute, Counter()).update(pairs)

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
        tally[attribute] += int(sum(label is None for label in labels.tolist()))
