"""How well scores match known outcomes: ranking (AUC, KS), calibration (Brier) and the approval rate."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from scoring.engine.schema import APPROVE
from scoring.engine.training import ks_statistic, roc_auc


def brier_score(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared gap between the probability of default and the outcome (1 bad, 0 good); lower is better."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if not len(y):
        return float("nan")
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True)
class Performance:
    """One model's results on one labelled sample; None where a figure cannot be computed (one class only)."""

    rows: int
    bad_rate: float | None
    auc: float | None
    ks: float | None
    brier: float | None
    approval_rate: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def measure(y: np.ndarray, p: np.ndarray, decisions: np.ndarray) -> Performance:
    """AUC, KS and Brier of probabilities ``p`` against outcomes ``y`` (1 = bad), and the share approved."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    both_classes = 0 < int(y.sum()) < len(y)
    return Performance(
        rows=len(y),
        bad_rate=_rounded(float(y.mean())) if len(y) else None,
        auc=_rounded(roc_auc(y, p)) if both_classes else None,
        ks=_rounded(ks_statistic(y, p)) if both_classes else None,
        brier=_rounded(brier_score(y, p)) if len(y) else None,
        approval_rate=_rounded(float(np.mean(np.asarray(decisions) == APPROVE))) if len(y) else None,
    )


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> list[dict[str, float | int]]:
    """Reliability by PD decile: rows sorted by probability and cut into ``bins`` groups of (nearly) equal size;
    for each, its count, PD range, mean predicted PD and observed default rate. Fewer groups when rows are few."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if not len(y):
        return []
    order = np.argsort(p, kind="stable")
    table = []
    for number, group in enumerate(np.array_split(order, min(bins, len(y))), start=1):
        table.append(
            {
                "decile": number,
                "count": len(group),
                "pd_low": float(p[group].min()),
                "pd_high": float(p[group].max()),
                "mean_pd": float(p[group].mean()),
                "default_rate": float(y[group].mean()),
                "defaults": int(y[group].sum()),
            }
        )
    return table


def outcomes(column: pd.Series, bad_value: object) -> np.ndarray:
    """1 where the target column holds exactly ``bad_value`` (compared as text, as a CSV holds it), else 0."""
    return (column.astype(str) == str(bad_value)).to_numpy(dtype=int)


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)
