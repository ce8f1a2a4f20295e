"""Counterfactual offers: the smallest changes of an application's actionable features that the model approves.

Pure code (numpy, pandas, catboost through LoadedModel; no Django). The search is bounded and exhaustive over a
small grid rather than sampled: every value an offer may take of each actionable feature (its ``actionable``
rule in the bundle: amount in steps down, duration in steps either way, a guarantor added), alone and in pairs,
scored in one vectorised prediction. A grid gives the same answer every time, which an officer and an auditor
need; DiCE's samplers do not, and were slower (docs/officer-app.md). Nothing outside an ``actionable`` rule
ever changes, protected attributes never (the model does not see them, the contract refuses them a rule).

An alternative is offered only when re-scoring it through ``LoadedModel.score_frame`` (the path every decision
takes) gives approve under ``decide``: the credit policy plugs in there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.engine.bundle import LoadedModel
from scoring.engine.schema import APPROVE, CATEGORICAL, DOWN, INTEGER, UP, Feature, InvalidApplication

# Decisions for candidate rows: (frame of candidate features, probabilities of default) -> decision per row.
Decide = Callable[[pd.DataFrame, np.ndarray], np.ndarray]

MAX_ALTERNATIVES = 3
# Values tried per numeric feature: past this, the steps are thinned evenly (the nearest are always kept),
# so a pair of features stays a grid of at most MAX_VALUES² rows and the search a bounded cost.
MAX_VALUES = 120


@dataclass(frozen=True)
class Change:
    """One feature of an alternative: its value in the application and in the offer."""

    feature: Feature
    before: object
    after: object

    @property
    def text(self) -> str:
        """'Loan amount 6,000 DM instead of 9,000 DM', as an officer reads it."""
        return (
            f"{self.feature.label} {self.feature.value_text(self.after)} instead of "
            f"{self.feature.value_text(self.before)}"
        )


@dataclass(frozen=True)
class Alternative:
    """Terms the model approves: the changes, the features as they would be scored, and that score."""

    changes: tuple[Change, ...]
    features: dict[str, object]
    probability: float
    decision: str
    risk_band: str


@dataclass(frozen=True)
class Search:
    """What the search found, and the size of the grid it scored (for the benchmark and the page)."""

    alternatives: tuple[Alternative, ...]
    candidates: int
    actionable: tuple[Feature, ...]  # the features an offer may change (the page names them in its language)


def default_decide(model: LoadedModel) -> Decide:
    """The model's own decision: its threshold and refer band."""
    return lambda frame, probabilities: model.decide(probabilities)


def search(
    model: LoadedModel,
    features: Mapping[str, object],
    *,
    decide: Decide | None = None,
    limit: int = MAX_ALTERNATIVES,
) -> Search:
    """Up to ``limit`` diverse alternatives to ``features`` (validated, as the model scored them) that are approved.

    Fewest features changed first, then the smallest change (distance in steps of each rule's range); each
    alternative changes a different set of features, and none changes a superset of an earlier one's.
    """
    decide = decide or default_decide(model)
    actionable = [f for f in model.features if f.actionable is not None and f.name in features]
    options = {f.name: _values(f, features[f.name]) for f in actionable}
    options = {name: values for name, values in options.items() if values}
    rows, changed = _grid(features, options, model.feature_names)
    if not rows:
        return Search(alternatives=(), candidates=0, actionable=tuple(actionable))
    frame = pd.DataFrame(rows, columns=model.feature_names)
    probabilities = model.probabilities(frame)
    approved = np.asarray(decide(frame, probabilities)) == APPROVE
    by_name = {f.name: f for f in actionable}
    position = {n: i for i, n in enumerate(model.feature_names)}
    chosen: list[int] = []
    for names, index in _ranked(changed, rows, features, by_name, position, approved):
        if len(chosen) == limit:
            break
        if any(set(changed[c]) <= set(names) for c in chosen):
            continue  # a superset of an offer already made is not a smaller change
        chosen.append(index)
    alternatives = _rescored(model, features, [rows[i] for i in chosen], decide, by_name)
    return Search(alternatives=tuple(alternatives), candidates=len(rows), actionable=tuple(actionable))


def _values(feature: Feature, current: object) -> list[object]:
    """Every value an offer may set the feature to, nearest to the current value first."""
    rule = feature.actionable
    if rule is None:
        return []
    if feature.kind == CATEGORICAL:
        return [v for v in rule.to if v != current and v in feature.choices]
    if not isinstance(current, int | float) or isinstance(current, bool) or not rule.step:
        return []
    low = rule.min if rule.min is not None else feature.min
    high = rule.max if rule.max is not None else feature.max
    if rule.direction == DOWN:
        high = current if high is None else min(high, current)
    elif rule.direction == UP:
        low = current if low is None else max(low, current)
    if low is None or high is None or low > high:
        return []
    # On the rule's grid (min + k * step), so offers read as round numbers: 6,000 DM, 24 months.
    count = math.floor((high - low) / rule.step + 1e-9) + 1
    grid = low + rule.step * np.arange(count)
    grid = grid[grid != current]
    grid = grid[np.argsort(np.abs(grid - current), kind="stable")]
    if len(grid) > MAX_VALUES:  # every k-th by distance: the nearest stays, the reach is kept
        grid = grid[np.unique(np.linspace(0, len(grid) - 1, MAX_VALUES).round().astype(int))]
    if feature.kind == INTEGER:
        return [int(v) for v in grid if float(v).is_integer()]
    return [float(v) for v in grid]


def _grid(
    features: Mapping[str, object], options: Mapping[str, list[object]], columns: Sequence[str]
) -> tuple[list[list[object]], list[tuple[str, ...]]]:
    """Rows of every single change and every pair of changes, and the feature names each row changes."""
    base = [features[n] for n in columns]
    position = {n: i for i, n in enumerate(columns)}
    rows: list[list[object]] = []
    changed: list[tuple[str, ...]] = []
    names = list(options)
    for size in (1, 2):
        for combination in itertools.combinations(names, size):
            for values in itertools.product(*(options[n] for n in combination)):
                row = list(base)
                for name, value in zip(combination, values, strict=True):
                    row[position[name]] = value
                rows.append(row)
                changed.append(combination)
    return rows, changed


def _ranked(
    changed: list[tuple[str, ...]],
    rows: list[list[object]],
    features: Mapping[str, object],
    by_name: Mapping[str, Feature],
    position: Mapping[str, int],
    approved: np.ndarray,
) -> list[tuple[tuple[str, ...], int]]:
    """(changed names, the nearest approved row) per set of changed features, fewest features then nearest first."""
    best: dict[tuple[str, ...], tuple[float, int]] = {}
    for index in np.flatnonzero(approved).tolist():
        names = changed[index]
        distance = sum(_distance(by_name[n], features[n], rows[index][position[n]]) for n in names)
        if names not in best or distance < best[names][0]:
            best[names] = (distance, index)
    order = sorted(best.items(), key=lambda item: (len(item[0]), item[1][0], item[0]))
    return [(names, index) for names, (_, index) in order]


def _distance(feature: Feature, before: object, after: object) -> float:
    """How far a change goes, in the rule's steps; a choice changed counts as one step."""
    rule = feature.actionable
    if feature.kind == CATEGORICAL or rule is None or not rule.step:
        return 1.0
    return abs(float(after) - float(before)) / rule.step  # type: ignore[arg-type]


def _rescored(
    model: LoadedModel,
    features: Mapping[str, object],
    chosen: list[list[object]],
    decide: Decide,
    by_name: Mapping[str, Feature],
) -> list[Alternative]:
    """The chosen rows validated and scored again the way a decision is; only those still approved are kept."""
    kept: list[dict[str, object]] = []
    for row in chosen:
        values = dict(zip(model.feature_names, row, strict=True))
        try:
            kept.append(model.validate(values).features)
        except InvalidApplication:
            continue  # outside what the form or API would take: never offered
    if not kept:
        return []
    frame = pd.DataFrame([[k[n] for n in model.feature_names] for k in kept], columns=model.feature_names)
    scores = model.score_frame(frame, reasons_for=None)
    decisions = np.asarray(decide(frame, scores.probabilities))
    alternatives = []
    for i, values in enumerate(kept):
        if decisions[i] != APPROVE:
            continue
        changes = tuple(
            Change(feature=by_name[n], before=features[n], after=values[n])
            for n in model.feature_names
            if n in by_name and values[n] != features[n]
        )
        alternatives.append(
            Alternative(
                changes=changes,
                features=values,
                probability=float(scores.probabilities[i]),
                decision=str(decisions[i]),
                risk_band=str(scores.risk_bands[i]),
            )
        )
    return alternatives
