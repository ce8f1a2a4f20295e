"""A backtest's running counts, one chunk of stored decisions at a time, and its report.

``BacktestTally.add`` takes a chunk of decision rows (``ROW_FIELDS``) and the standing outcomes of those
decisions. Rows that lack a feature the tested version needs, hold a value its schema refuses, or lack a field
its credit policy tests are set aside and counted by field ("not replayable"), never filled in. The others are
scored with the version (``LoadedModel.probabilities``, its threshold, refer band and bands), the policy is
applied with ``CompiledPolicy.evaluate_frame``, and only counts are kept: decision counts, the swap matrix,
approvals by protected group, outcome counts, probability sums and two fixed-size score histograms per side
for the AUC. Memory depends on the chunk, not on the period.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import TextField
from django.db.models.functions import Cast

from scoring.engine import LoadedModel
from scoring.engine.policy import PROBABILITY, RISK_BAND, CompiledPolicy
from scoring.engine.schema import APPROVE, DECLINE
from scoring.monitoring.replay import chunk_groups, count_not_recorded
from scoring.policy.replay import DECISIONS, Side

# What a backtest reads of each stored decision, in this order (id first: the keyset's; the reader looks up the
# last row's moment itself). The JSON columns come as their text and a chunk's are parsed in one call: a
# json.loads per row was a third of the time.
ROW_FIELDS = (
    "id",
    Cast("features", TextField()),
    Cast("protected", TextField()),
    "probability",
    "decision",
)
# Score histograms for the AUC: 10,000 bins of width 0.0001 per side and class (a few hundred kB, whatever
# the period). Pairs of a default and a repaid loan in the same bin count half, so the figure is within half
# the share of such pairs of the exact AUC; the report gives that share.
AUC_BINS = 10_000
# Not-replayable decisions listed one by one in the report (all are counted).
EXAMPLES_LISTED = 20


@dataclass(frozen=True)
class Costs:
    """The cost ratio of the two errors: approving a loan that defaults, declining one that would have repaid."""

    approve_bad: float
    decline_good: float
    source: str  # "bundle": the version's training metadata; "engine": the engine's training defaults

    def as_dict(self) -> dict[str, Any]:
        return {"approve_bad": self.approve_bad, "decline_good": self.decline_good, "source": self.source}


@dataclass
class Realised:
    """One side's figures on the loans with a standing, booked outcome (and its expected loss on all approvals)."""

    approved: int = 0  # every approval of the side
    pd_approved: float = 0.0  # the sum of the side's probability of default over its approvals
    approved_labelled: int = 0
    approved_defaults: int = 0
    declined_repaid: int = 0
    bad_hist: np.ndarray = field(default_factory=lambda: np.zeros(AUC_BINS + 1, dtype=np.int64))
    good_hist: np.ndarray = field(default_factory=lambda: np.zeros(AUC_BINS + 1, dtype=np.int64))

    def add(self, decisions: np.ndarray, probability: np.ndarray, labelled: np.ndarray, bad: np.ndarray) -> None:
        approved = decisions == APPROVE
        self.approved += int(approved.sum())
        self.pd_approved += float(probability[approved].sum())
        self.approved_labelled += int((approved & labelled).sum())
        self.approved_defaults += int((approved & labelled & bad).sum())
        self.declined_repaid += int(((decisions == DECLINE) & labelled & ~bad).sum())
        bins = np.clip(np.floor(probability * AUC_BINS), 0, AUC_BINS).astype(np.int64)
        self.bad_hist += np.bincount(bins[labelled & bad], minlength=AUC_BINS + 1)
        self.good_hist += np.bincount(bins[labelled & ~bad], minlength=AUC_BINS + 1)

    def report(self, costs: Costs) -> dict[str, Any]:
        auc, ties = histogram_auc(self.bad_hist, self.good_hist)
        return {
            "approved": self.approved,
            "approved_with_outcome": self.approved_labelled,
            "approved_defaults": self.approved_defaults,
            "approved_default_rate": (
                self.approved_defaults / self.approved_labelled if self.approved_labelled else None
            ),
            "declined_repaid": self.declined_repaid,
            "expected_loss": costs.approve_bad * self.pd_approved,
            "expected_loss_per_approval": (costs.approve_bad * self.pd_approved / self.approved)
            if self.approved
            else None,
            "realised_cost": costs.approve_bad * self.approved_defaults + costs.decline_good * self.declined_repaid,
            "auc": auc,
            "auc_tied_share": ties,
        }


def _records(texts: Sequence[str | None]) -> list:
    """The JSON objects of one column for a chunk, parsed in one call ({} where the column is null or empty)."""
    records = json.loads("[" + ",".join(text or "{}" for text in texts) + "]")
    if None in records:  # a stored JSON null: a C-speed scan, so the common chunk pays no per-row Python
        records = [record or {} for record in records]
    return records


def histogram_auc(bad: np.ndarray, good: np.ndarray) -> tuple[float | None, float | None]:
    """The AUC (probability that a default scores above a repaid loan) from score histograms, ties counted half,
    and the share of (default, repaid) pairs that share a bin; None for both without both classes."""
    n_bad, n_good = int(bad.sum()), int(good.sum())
    if not n_bad or not n_good:
        return None, None
    good_below = np.concatenate(([0], np.cumsum(good)[:-1]))
    above = float(np.dot(bad.astype(float), good_below.astype(float)))
    tied = float(np.dot(bad.astype(float), good.astype(float)))
    pairs = float(n_bad) * float(n_good)
    return (above + tied / 2) / pairs, tied / pairs


class BacktestTally:
    """Running totals of a backtest: the version's decisions beside the live ones, chunk by chunk."""

    def __init__(
        self,
        *,
        model: LoadedModel,
        policy: CompiledPolicy | None,
        attributes: Sequence[tuple[str, str]],
        costs: Costs,
    ):
        self.model = model
        self.policy = policy
        self.attributes = list(attributes)
        self.costs = costs
        self.live = Side(None)
        self.backtest = Side(policy)
        self.live_realised = Realised()
        self.backtest_realised = Realised()
        self.protected_names = [f.name for f in model.protected]
        # Fields the policy tests beyond the model's own answers (probability, band): each row needs them.
        self.policy_fields = [
            n for n in (policy.fields if policy is not None else ()) if n not in (PROBABILITY, RISK_BAND)
        ]
        self.read = 0
        self.replayed = 0
        self.missing: Counter = Counter()
        self.invalid: Counter = Counter()
        self.not_replayable_rows = 0
        self.examples: list[dict[str, Any]] = []
        self.not_recorded: Counter = Counter()
        self.swaps: Counter = Counter()
        self.outcomes: Counter = Counter()

    # --- one chunk ------------------------------------------------------------------------------

    def add(self, rows: Sequence[tuple], outcomes: Mapping[int, str]) -> None:
        """Replay one chunk (rows as ``ROW_FIELDS``); ``outcomes``: decision id -> its standing outcome."""
        self.read += len(rows)
        # Column by column (map with itemgetter: a quarter of the time zip(*rows) takes on 20,000 rows).
        ids, features_text, protected_text, live_probability, live_decision = (
            list(map(itemgetter(k), rows)) for k in range(len(ROW_FIELDS))
        )
        protected = _records(protected_text)
        frame = pd.DataFrame.from_records(_records(features_text), columns=self.model.feature_names)
        shield = pd.DataFrame.from_records(protected, columns=self.protected_names)
        reasons = self._missing(frame, shield)
        if reasons:
            complete = np.ones(len(rows), dtype=bool)
            complete[list(reasons)] = False
            checked = self.model.validate_frame(pd.concat([frame, shield], axis=1).iloc[np.flatnonzero(complete)])
        else:
            checked = self.model.validate_frame(pd.concat([frame, shield], axis=1))
        for index, errors in checked.errors.items():
            reasons.setdefault(int(index), []).extend(f"invalid:{name}" for name in errors)
        self._count_set_aside(ids, reasons)
        keep = checked.valid.index.to_numpy()
        if not len(keep):
            return
        self.replayed += len(keep)
        self._replay(
            valid=checked.valid,
            protected_typed=checked.protected,
            protected=protected if len(keep) == len(rows) else [protected[i] for i in keep.tolist()],
            shield=shield if len(keep) == len(rows) else shield.iloc[keep],
            live_probability=np.asarray(live_probability, dtype=float)[keep],
            live=np.asarray(live_decision, dtype=object)[keep],
            standing=pd.Series(np.asarray(ids)[keep], dtype=np.int64).map(outcomes).to_numpy(dtype=object),
        )

    def _missing(self, frame: pd.DataFrame, shield: pd.DataFrame) -> dict[int, list[str]]:
        """Row -> "missing:<field>" for each feature, and each field the policy tests, that a row lacks."""
        reasons: dict[int, list[str]] = {}
        for name in self.model.feature_names:
            for row in np.flatnonzero(frame[name].isna().to_numpy()).tolist():
                reasons.setdefault(row, []).append(f"missing:{name}")
        for name in self.policy_fields:
            if name in frame.columns:
                continue  # already checked as a feature
            column = shield[name] if name in shield.columns else pd.Series([None] * len(frame))
            blank = column.isna().to_numpy()
            if not pd.api.types.is_numeric_dtype(column.dtype):  # a number is never blank: only text is looked at
                blank |= (column.astype(str).str.strip() == "").to_numpy()
            for row in np.flatnonzero(blank).tolist():
                reasons.setdefault(row, []).append(f"missing:{name}")
        return reasons

    def _count_set_aside(self, ids: Sequence[int], reasons: Mapping[int, list[str]]) -> None:
        for row in sorted(reasons):
            found = reasons[row]
            self.not_replayable_rows += 1
            for reason in found:
                kind, name = reason.split(":", 1)
                (self.missing if kind == "missing" else self.invalid)[name] += 1
            if len(self.examples) < EXAMPLES_LISTED:
                self.examples.append({"id": ids[row], "reasons": found})

    def _replay(self, *, valid, protected_typed, protected, shield, live_probability, live, standing) -> None:
        probability = self.model.probabilities(valid)
        model_decisions = self.model.decide(probability)
        columns: dict[str, np.ndarray] = {PROBABILITY: probability, RISK_BAND: self.model.band(probability)}
        for name in self.policy_fields:
            source = valid if name in valid.columns else protected_typed
            columns[name] = source[name].to_numpy()
        decisions, _codes = self.backtest.decide(columns, model_decisions)
        decisions = np.asarray(decisions, dtype=object)
        groups = chunk_groups(self.attributes, protected, shield)
        count_not_recorded(self.not_recorded, groups)
        for side, made in ((self.live, live), (self.backtest, decisions)):
            side.groups.add(groups, made == APPROVE)
        # The decision counts and the swap matrix from numpy counts of (live, backtest) pairs of codes.
        live_codes, live_names = pd.factorize(live)
        made_codes, made_names = pd.factorize(decisions)
        pairs = np.bincount(
            live_codes * len(made_names) + made_codes, minlength=len(live_names) * len(made_names)
        ).reshape(len(live_names), len(made_names))
        for i, before in enumerate(live_names.tolist()):
            for j, after in enumerate(made_names.tolist()):
                if pairs[i, j]:
                    self.swaps[(before, after)] += int(pairs[i, j])
        self.live.counts.update(dict(zip(live_names.tolist(), pairs.sum(axis=1).tolist(), strict=True)))
        self.backtest.counts.update(dict(zip(made_names.tolist(), pairs.sum(axis=0).tolist(), strict=True)))
        known = ~pd.isna(standing)  # a decision without an outcome maps to NaN
        self.outcomes.update(pd.Series(standing[known], dtype=object).value_counts().to_dict())
        self.outcomes["none"] += int((~known).sum())
        labelled = known & (standing != "withdrawn")
        bad = known & np.isin(standing, ("defaulted", "written_off"))
        self.live_realised.add(live, live_probability, labelled, bad)
        self.backtest_realised.add(decisions, probability, labelled, bad)

    # --- the report -----------------------------------------------------------------------------

    def report(self, *, min_group: int) -> dict[str, Any]:
        sides = {}
        for name, side, realised in (
            ("live", self.live, self.live_realised),
            ("backtest", self.backtest, self.backtest_realised),
        ):
            sides[name] = side.report(
                total=self.replayed, attributes=self.attributes, not_recorded=self.not_recorded, min_group=min_group
            ) | {"realised": realised.report(self.costs)}
        matrix = [
            {"live": before, "backtest": after, "count": int(self.swaps[(before, after)])}
            for before in DECISIONS
            for after in DECISIONS
        ]
        labelled = sum(n for o, n in self.outcomes.items() if o not in ("none", "withdrawn"))
        return {
            "read": self.read,
            "replayed": self.replayed,
            "not_replayable": self.not_replayable_rows,
            "missing_fields": dict(sorted(self.missing.items())),
            "invalid_fields": dict(sorted(self.invalid.items())),
            "not_replayable_examples": self.examples,
            "min_group": min_group,
            "costs": self.costs.as_dict(),
            "sides": sides,
            "swap_matrix": matrix,
            "swap_in": sum(n for (b, a), n in self.swaps.items() if b != APPROVE and a == APPROVE),
            "swap_out": sum(n for (b, a), n in self.swaps.items() if b == APPROVE and a != APPROVE),
            "changed": sum(n for (b, a), n in self.swaps.items() if b != a),
            "outcomes": {
                "with_outcome": labelled,
                "defaulted": sum(self.outcomes[o] for o in ("defaulted", "written_off")),
                "withdrawn": self.outcomes["withdrawn"],
                "none": self.outcomes["none"],
            },
        }
