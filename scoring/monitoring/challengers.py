"""Reads comparing a shadow challenger with the champion on the same live decisions (the comparison page).

Like for like: the champion's side is its model decision before the credit policy (``model_decision``),
as the challenger's shadow decision is its model's alone. Counts come from a few grouped queries over the
challenger's shadow scores (the unique (version, decision) index), realised performance from the decisions
of that set that have a standing loan outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Q

from scoring.engine.performance import Performance, measure
from scoring.models import ChallengerAssignment, Decision, LoanOutcome, ModelVersion, ShadowScore

# Probability-of-default ranges of the distribution chart: finer where most decisions fall.
PD_EDGES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
EXAMPLES = 5


@dataclass(frozen=True)
class ChallengerComparison:
    version: ModelVersion
    champion_ids: list[int]
    scored: int
    agreed: int
    # decisions[champion][challenger] -> count, over approve / refer / decline
    matrix: dict[str, dict[str, int]]
    swap_in_examples: list[int]
    swap_out_examples: list[int]
    champion_pd_counts: list[int]
    challenger_pd_counts: list[int]
    labelled: int = 0
    champion_performance: Performance | None = None
    challenger_performance: Performance | None = None
    # Default rate of the labelled loans each model would approve (None when it approves none of them).
    champion_approved_default_rate: float | None = None
    challenger_approved_default_rate: float | None = None
    pd_edges: tuple[float, ...] = field(default=PD_EDGES)

    @property
    def agreement_rate(self) -> float | None:
        return self.agreed / self.scored if self.scored else None

    @property
    def swap_in(self) -> int:
        """Decisions the challenger approves that the champion declined."""
        return self.matrix[Decision.DECLINE][Decision.APPROVE]

    @property
    def swap_out(self) -> int:
        """Decisions the champion approved that the challenger declines."""
        return self.matrix[Decision.APPROVE][Decision.DECLINE]

    def approval_rate(self, side: str) -> float | None:
        if not self.scored:
            return None
        if side == "champion":
            approved = sum(self.matrix[Decision.APPROVE].values())
        else:
            approved = sum(row[Decision.APPROVE] for row in self.matrix.values())
        return approved / self.scored


def challenger_versions() -> list[ModelVersion]:
    """Every version that was ever a challenger, the latest started first."""
    started = (
        ChallengerAssignment.objects.filter(action=ChallengerAssignment.Action.START)
        .order_by("-id")
        .values_list("version_id", flat=True)
    )
    order = list(dict.fromkeys(started))
    by_id = ModelVersion.objects.in_bulk(order)
    return [by_id[pk] for pk in order]


def _champion_decision(prefix: str = "prediction__") -> tuple[Q, Q, Q]:
    """Q objects for "the champion's model decision was approve / refer / decline" (older rows without a model
    decision recorded fall back on the decision)."""

    def said(value: str) -> Q:
        return Q(**{f"{prefix}model_decision": value}) | Q(
            **{f"{prefix}model_decision": "", f"{prefix}decision": value}
        )

    return said(Decision.APPROVE), said(Decision.REFER), said(Decision.DECLINE)


def comparison_get(*, version: ModelVersion) -> ChallengerComparison:
    scores = ShadowScore.objects.filter(model_version=version)
    kinds = [Decision.APPROVE, Decision.REFER, Decision.DECLINE]
    champion_q = dict(zip(kinds, _champion_decision(), strict=True))
    aggregates = {f"{a}_{b}": Count("id", filter=champion_q[a] & Q(decision=b)) for a in kinds for b in kinds}
    for i in range(len(PD_EDGES) - 1):
        low, high = PD_EDGES[i], PD_EDGES[i + 1]
        last = i == len(PD_EDGES) - 2
        upper = "lte" if last else "lt"
        aggregates[f"champion_pd_{i}"] = Count(
            "id", filter=Q(prediction__probability__gte=low, **{f"prediction__probability__{upper}": high})
        )
        aggregates[f"challenger_pd_{i}"] = Count(
            "id", filter=Q(probability__gte=low, **{f"probability__{upper}": high})
        )
    totals = scores.aggregate(scored=Count("id"), **aggregates)
    matrix = {a: {b: totals[f"{a}_{b}"] for b in kinds} for a in kinds}
    bins = range(len(PD_EDGES) - 1)
    swap_in = scores.filter(champion_q[Decision.DECLINE], decision=Decision.APPROVE)
    swap_out = scores.filter(champion_q[Decision.APPROVE], decision=Decision.DECLINE)
    comparison = ChallengerComparison(
        version=version,
        champion_ids=sorted(set(scores.order_by().values_list("prediction__model_version_id", flat=True).distinct())),
        scored=totals["scored"],
        agreed=sum(matrix[k][k] for k in kinds),
        matrix=matrix,
        swap_in_examples=list(swap_in.order_by("-prediction_id").values_list("prediction_id", flat=True)[:EXAMPLES]),
        swap_out_examples=list(swap_out.order_by("-prediction_id").values_list("prediction_id", flat=True)[:EXAMPLES]),
        champion_pd_counts=[totals[f"champion_pd_{i}"] for i in bins],
        challenger_pd_counts=[totals[f"challenger_pd_{i}"] for i in bins],
    )
    return _with_outcomes(comparison, scores)


def _with_outcomes(comparison: ChallengerComparison, scores) -> ChallengerComparison:
    """Realised AUC, KS and default rate of both models on the same booked loans, once outcomes exist."""
    outcomes = dict(
        LoanOutcome.objects.current()
        .exclude(outcome=LoanOutcome.Outcome.WITHDRAWN)
        .filter(prediction_id__in=scores.values("prediction_id"))
        .values_list("prediction_id", "outcome")
    )
    if not outcomes:
        return comparison
    rows = list(
        scores.filter(prediction_id__in=list(outcomes))
        .order_by("prediction_id")
        .values_list(
            "prediction_id",
            "probability",
            "decision",
            "prediction__probability",
            "prediction__model_decision",
            "prediction__decision",
        )
    )
    bad = {str(value) for value in LoanOutcome.BAD}
    y = np.array([1 if outcomes[row[0]] in bad else 0 for row in rows], dtype=int)
    challenger_decisions = np.array([r[2] for r in rows])
    champion_decisions = np.array([r[4] or r[5] for r in rows])
    challenger = measure(y, np.array([r[1] for r in rows]), challenger_decisions)
    champion = measure(y, np.array([r[3] for r in rows]), champion_decisions)
    return ChallengerComparison(
        **{
            **comparison.__dict__,
            "labelled": len(rows),
            "champion_performance": champion,
            "challenger_performance": challenger,
            "champion_approved_default_rate": _default_rate(y, champion_decisions == Decision.APPROVE),
            "challenger_approved_default_rate": _default_rate(y, challenger_decisions == Decision.APPROVE),
        }
    )


def _default_rate(y: np.ndarray, approved: np.ndarray) -> float | None:
    return float(y[approved].mean()) if approved.any() else None
