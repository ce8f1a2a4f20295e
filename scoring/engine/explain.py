"""Reason codes from SHAP values: each row's strongest contributions in plain words, for one row or a million.

Pure code (numpy only). A declined application lists what pushed it towards
default, largest first (an adverse-action notice); any other decision lists the
strongest pushes either way. The ranking is one vectorised sort over all rows;
the words are built once per (feature, value, direction) and reused, so a batch
of declines costs a dictionary lookup per reason rather than a sentence each.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

DECLINE = "decline"


class Describable(Protocol):
    """What a reason needs to know of a feature (engine.Feature)."""

    name: str
    label: str

    def format_value(self, value: object) -> str: ...


@dataclass(frozen=True)
class Reason:
    """One feature's push on the probability of default (a SHAP value, in log-odds)."""

    feature: str
    label: str
    value: object
    contribution: float
    sentence: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "label": self.label,
            "value": self.value,
            "contribution": self.contribution,
            "sentence": self.sentence,
        }


def top_contributions(contributions: np.ndarray, decline: np.ndarray, count: int) -> np.ndarray:
    """Feature indexes of each row's reasons, strongest first: a (rows x count) array padded with -1.

    ``contributions`` is (rows x features) of SHAP values; ``decline`` says which rows are declines
    (only their positive contributions count).
    """
    contributions = np.asarray(contributions, dtype=float)
    decline = np.asarray(decline, dtype=bool).reshape(-1, 1)
    count = min(count, contributions.shape[1])
    key = np.where(decline, -contributions, -np.abs(contributions))
    order = np.argsort(key, axis=1, kind="stable")[:, :count]
    picked = np.take_along_axis(contributions, order, axis=1)
    return np.where(~decline | (picked > 0), order, -1)


def plain(value: object) -> object:
    """numpy scalars -> plain Python values, whole floats -> int, so reasons read well and serialise."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class ReasonWriter:
    """Reasons for the features of one model, as Reason objects or as the JSON text of their dicts."""

    def __init__(self, features: Sequence[Describable]):
        self.features = list(features)

    def reason(self, index: int, value: object, contribution: float) -> Reason:
        f = self.features[index]
        value = plain(value)
        direction = "raised" if contribution > 0 else "lowered"
        return Reason(
            feature=f.name,
            label=f.label,
            value=value,
            contribution=float(np.round(contribution, 6)),
            sentence=f"{f.label}: {f.format_value(value)} {direction} the risk of default.",
        )

    def objects(
        self, contributions: np.ndarray, columns: Sequence[Sequence[object]], decisions: Sequence[str], count: int
    ) -> list[list[Reason]]:
        """Reasons per row; ``columns[i][r]`` is row r's value of feature i."""
        decline = np.asarray(decisions, dtype=object) == DECLINE
        order = top_contributions(contributions, decline, count)
        return [
            [self.reason(i, columns[i][r], contributions[r, i]) for i in picked if i >= 0]
            for r, picked in enumerate(order.tolist())
        ]

    def json_lines(
        self, contributions: np.ndarray, columns: Sequence[np.ndarray], decisions: Sequence[str], count: int
    ) -> list[str]:
        """``json.dumps([r.as_dict() for r in reasons])`` for every row, without building the objects.

        ``columns[i]`` holds feature i's value for each row. Each distinct (feature, value,
        direction) is put into words once; a row's text is then its pieces around its numbers.
        """
        decline = np.asarray(decisions, dtype=object) == DECLINE
        order = top_contributions(contributions, decline, count)
        rounded = np.round(np.take_along_axis(contributions, np.maximum(order, 0), axis=1), 6).tolist()
        values = [np.asarray(c).tolist() for c in columns]
        pieces: dict[tuple[int, object, bool], tuple[str, str]] = {}
        lines: list[str] = []
        for r, (picked, numbers) in enumerate(zip(order.tolist(), rounded, strict=True)):
            parts = []
            for i, c in zip(picked, numbers, strict=True):
                if i < 0:
                    break
                key = (i, values[i][r], c > 0)
                piece = pieces.get(key)
                if piece is None:
                    piece = pieces[key] = self._piece(i, values[i][r], c)
                parts.append(piece[0] + repr(c) + piece[1])
            lines.append("[" + ", ".join(parts) + "]")
        return lines

    def _piece(self, index: int, value: object, contribution: float) -> tuple[str, str]:
        """The JSON of a reason split around its contribution: the text before it and after it."""
        marker = "__contribution__"
        text = json.dumps(self.reason(index, value, contribution).as_dict() | {"contribution": marker})
        before, after = text.split(json.dumps(marker), 1)
        return before, after
