"""Population Stability Index between a bundle's training reference bins and observed values (pure, no Django).

PSI = sum over bins of (observed share - expected share) * ln(observed share / expected share).
Common reading, used for the flags here: below 0.1 stable, 0.1 to 0.25 watch, 0.25 or more act.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

WATCH = 0.1
ACT = 0.25
# An empty bin would make the log infinite; shares are floored at this value instead
# (the usual practical choice: small enough not to hide real shifts, large enough to stay finite).
EPSILON = 1e-4
OTHER = "(other)"


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    psi: float | None
    level: str  # "stable", "watch", "act" or "no data"
    bins: list[dict[str, Any]]  # label, expected share, observed share
    observed: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "psi": self.psi, "level": self.level, "bins": self.bins, "observed": self.observed}


def level_of(psi: float | None, *, watch: float = WATCH, act: float = ACT) -> str:
    if psi is None:
        return "no data"
    if psi >= act:
        return "act"
    if psi >= watch:
        return "watch"
    return "stable"


def psi(expected: Sequence[float], observed: Sequence[float], *, epsilon: float = EPSILON) -> float:
    """PSI of two share vectors over the same bins (each renormalised after flooring at epsilon)."""
    e = np.maximum(np.asarray(expected, dtype=float), epsilon)
    o = np.maximum(np.asarray(observed, dtype=float), epsilon)
    if e.shape != o.shape or e.size == 0:
        raise ValueError("expected and observed need the same, non-zero number of bins")
    e, o = e / e.sum(), o / o.sum()
    return float(np.sum((o - e) * np.log(o / e)))


def observed_shares(
    reference: Mapping[str, Any], values: Iterable[object]
) -> tuple[list[str], list[float], list[float], int]:
    """Bin observed values the way the reference was binned; returns labels, expected, observed shares, count.

    Numeric bins are [edge_i, edge_i+1), the last one closed, and values outside the edges
    count in the first or last bin (the rule training used). A category the reference
    never saw gets an extra "(other)" bin with an expected share of zero.
    """
    expected = [float(f) for f in reference["frequencies"]]
    if reference.get("kind") == "categorical":
        categories = [str(c) for c in reference["categories"]]
        index = {c: i for i, c in enumerate(categories)}
        counts = [0] * len(categories)
        other = 0
        n = 0
        for value in values:
            if value is None:
                continue
            n += 1
            i = index.get(str(value))
            if i is None:
                other += 1
            else:
                counts[i] += 1
        labels = categories
        if other:
            labels, counts, expected = [*labels, OTHER], [*counts, other], [*expected, 0.0]
    else:
        edges = np.asarray(reference["edges"], dtype=float)
        x = np.asarray([v for v in values if _is_number(v)], dtype=float)
        n = int(x.size)
        index = np.searchsorted(edges[1:-1], x, side="right")
        counts = np.bincount(index, minlength=len(edges) - 1).tolist()
        labels = [_bin_label(edges, i) for i in range(len(edges) - 1)]
    shares = [c / n if n else 0.0 for c in counts]
    return labels, expected, shares, n


def feature_drift(
    name: str, reference: Mapping[str, Any], values: Iterable[object], *, min_count: int = 1
) -> FeatureDrift:
    labels, expected, observed, n = observed_shares(reference, values)
    value = round(psi(expected, observed), 6) if n >= min_count and n > 0 else None
    bins = [
        {"label": label, "expected": round(e, 6), "observed": round(o, 6)}
        for label, e, o in zip(labels, expected, observed, strict=True)
    ]
    return FeatureDrift(name=name, psi=value, level=level_of(value), bins=bins, observed=n)


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _bin_label(edges: np.ndarray, i: int) -> str:
    low, high = _plain(edges[i]), _plain(edges[i + 1])
    closing = "]" if i == len(edges) - 2 else ")"
    return f"[{low}, {high}{closing}"


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
