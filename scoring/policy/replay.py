"""Replaying stored decisions under two credit policies, a chunk at a time, and the report of the replay.

``Tally.add`` takes one chunk of decision rows (``ROW_FIELDS``): it builds the columns the rules test,
sets aside the rows that lack one (counted, by field: never guessed), takes the model's decision as
recorded (or recomputes it from the row's probability, threshold and refer band), evaluates both
policies with ``CompiledPolicy.evaluate_frame`` and adds to running counts. Only counts and the first
``CHANGED_LISTED`` changed decisions are kept, so memory depends on the chunk, not on the window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.engine.policy import PROBABILITY, RISK_BAND, CompiledPolicy
from scoring.engine.schema import APPROVE, DECLINE, REFER
from scoring.monitoring.replay import GroupApprovals, chunk_groups, count_not_recorded

DECISIONS = (APPROVE, REFER, DECLINE)
# Changed decisions listed one by one in the report (all are counted).
CHANGED_LISTED = 200
# What a replay reads of each stored decision, in this order.
ROW_FIELDS = (
    "id",
    "created_at",
    "external_ref",
    "features",
    "protected",
    "probability",
    "risk_band",
    "model_decision",
    "threshold",
    "refer_lower",
)


# --- the tally ---------------------------------------------------------------------------------


@dataclass
class Side:
    """What one policy made of the replayed decisions."""

    policy: CompiledPolicy | None
    counts: Counter = field(default_factory=Counter)
    fired: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    decided: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    groups: GroupApprovals = field(default_factory=GroupApprovals)

    def __post_init__(self) -> None:
        size = len(self.policy) if self.policy is not None else 0
        self.fired = np.zeros(size, dtype=np.int64)
        self.decided = np.zeros(size, dtype=np.int64)

    def decide(self, columns: Mapping[str, np.ndarray], model_decisions: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """The decisions and deciding rule codes of a chunk; the model's own where no policy is active."""
        if self.policy is None or not len(self.policy):
            return model_decisions, [""] * len(model_decisions)
        outcome = self.policy.evaluate_frame({n: columns[n] for n in self.policy.fields}, model_decisions)
        self.fired += outcome.fired.sum(axis=0)
        decided = outcome.deciding[outcome.deciding >= 0]
        self.decided += np.bincount(decided, minlength=len(self.policy))
        return outcome.decisions, outcome.deciding_codes()

    def report(self, *, total: int, attributes: Sequence[tuple[str, str]], not_recorded, min_group: int) -> dict:
        rules = []
        if self.policy is not None:
            for k, rule in enumerate(self.policy.rules):
                rules.append(
                    {
                        "code": rule.code,
                        "name": rule.name,
                        "outcome": rule.outcome,
                        "stage": rule.stage,
                        "fired": int(self.fired[k]),
                        "decided": int(self.decided[k]),
                    }
                )
            rules.sort(key=lambda r: (-r["fired"], -r["decided"]))
        fairness = self.groups.tables(attributes, not_recorded=not_recorded, min_group=min_group)
        return {
            "policy": {"id": self.policy.version_id, "label": self.policy.label} if self.policy is not None else None,
            "counts": {d: int(self.counts[d]) for d in DECISIONS},
            "rates": {d: (self.counts[d] / total if total else None) for d in DECISIONS},
            "rules": rules,
            "fairness": fairness,
        }


class Tally:
    """Running totals of a replay, one chunk at a time: memory depends on the chunk, not the window."""

    def __init__(self, *, draft: CompiledPolicy, active: CompiledPolicy | None, attributes: Sequence[tuple[str, str]]):
        self.draft = Side(draft)
        self.active = Side(active)
        self.attributes = list(attributes)
        self.fields = sorted({*draft.fields, *(active.fields if active is not None else ())})
        self.replayed = 0
        self.evaluated = 0
        self.recomputed = 0
        self.not_evaluated = 0
        self.missing_fields: Counter = Counter()
        self.not_recorded: Counter = Counter()
        self.transitions: Counter = Counter()
        self.changed: list[dict[str, Any]] = []

    def add(self, rows: Sequence[tuple]) -> None:
        """Replay one chunk of rows (as ``ROW_FIELDS``)."""
        self.replayed += len(rows)
        ids, created, refs, features, protected, probability, band, recorded, threshold, refer_lower = zip(
            *rows, strict=True
        )
        model_decisions = self._model_decisions(probability, recorded, threshold, refer_lower)
        columns, missing = self._columns(features, protected, probability, band)
        needed = {
            "draft": self.draft.policy.fields if self.draft.policy is not None else [],
            "active": self.active.policy.fields if self.active.policy is not None else [],
        }
        unusable = np.zeros(len(rows), dtype=bool)
        for name in {*needed["draft"], *needed["active"]}:
            unusable |= missing[name]
            self.missing_fields[name] += int(missing[name].sum())
        self.not_evaluated += int(unusable.sum())
        keep = np.flatnonzero(~unusable)
        self.evaluated += len(keep)
        if not len(keep):
            return
        columns = {n: v[keep] for n, v in columns.items()}
        model_decisions = model_decisions[keep]
        before, before_rules = self.active.decide(columns, model_decisions)
        after, after_rules = self.draft.decide(columns, model_decisions)
        groups = chunk_groups(self.attributes, [protected[i] for i in keep.tolist()])
        for side, decisions in ((self.active, before), (self.draft, after)):
            side.counts.update(pd.Series(decisions, dtype=object).value_counts().to_dict())
            side.groups.add(groups, decisions == APPROVE)
        count_not_recorded(self.not_recorded, groups)
        for i in np.flatnonzero(before != after).tolist():
            self.transitions[(before[i], after[i])] += 1
            if len(self.changed) < CHANGED_LISTED:
                row = int(keep[i])
                self.changed.append(
                    {
                        "id": ids[row],
                        "created_at": created[row].isoformat(),
                        "external_ref": refs[row],
                        "from": before[i],
                        "to": after[i],
                        "active_rule": before_rules[i],
                        "draft_rule": after_rules[i],
                    }
                )

    def _model_decisions(self, probability, recorded, threshold, refer_lower) -> np.ndarray:
        """The model's decision as recorded, or recomputed from the row's own threshold and refer band."""
        decisions = np.asarray(recorded, dtype=object)
        blank = decisions == ""
        if blank.any():
            p = np.asarray(probability, dtype=float)
            cut = np.asarray(threshold, dtype=float)
            lower = np.asarray(
                [t if r is None else r for r, t in zip(refer_lower, threshold, strict=True)], dtype=float
            )
            again = np.where(p >= cut, DECLINE, np.where(p >= lower, REFER, APPROVE)).astype(object)
            decisions = np.where(blank, again, decisions)
            self.recomputed += int(blank.sum())
        return decisions

    def _columns(self, features, protected, probability, band) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Each tested field's values for the chunk, and where each is missing."""
        columns, missing = {}, {}
        for name in self.fields:
            if name == PROBABILITY:
                values = np.asarray(probability, dtype=float)
                absent = np.isnan(values)
            elif name == RISK_BAND:
                values = np.asarray(band, dtype=object)
                absent = np.asarray([not b for b in band], dtype=bool)
            else:
                values = _field(features, protected, name)
                absent = np.asarray([v is None for v in values.tolist()], dtype=bool)
            columns[name], missing[name] = values, absent
        return columns, missing

    def report(self, *, min_group: int) -> dict[str, Any]:
        sides = {
            name: side.report(
                total=self.evaluated, attributes=self.attributes, not_recorded=self.not_recorded, min_group=min_group
            )
            for name, side in (("active", self.active), ("draft", self.draft))
        }
        transitions = [
            {"from": before, "to": after, "count": n}
            for (before, after), n in sorted(self.transitions.items(), key=lambda item: (-item[1], item[0]))
        ]
        return {
            "replayed": self.replayed,
            "evaluated": self.evaluated,
            "not_evaluated": self.not_evaluated,
            "missing_fields": dict(sorted((n, c) for n, c in self.missing_fields.items() if c)),
            "recomputed_model_decisions": self.recomputed,
            "min_group": min_group,
            "sides": sides,
            "transitions": transitions,
            "changed_count": sum(self.transitions.values()),
            "changed": self.changed,
        }


def _field(features: Sequence[Mapping | None], protected: Sequence[Mapping | None], name: str) -> np.ndarray:
    """One field's values: from the features, else the protected fields; None where neither has it."""
    values = [(f or {}).get(name) for f in features]
    for i in [i for i, v in enumerate(values) if v is None or v == ""]:
        value = (protected[i] or {}).get(name)
        values[i] = None if value == "" else value
    return np.asarray(values, dtype=object)
