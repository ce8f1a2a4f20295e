"""Reason codes from SHAP values: each row's strongest contributions as coded statements, for one row or a million.

Pure code (numpy only). A declined application lists the principal reasons an adverse-action
notice gives: only features whose value raised the risk of default, strongest first, one per
reason code, at most four. Any other decision lists the strongest pushes either way, each
with the statement of its direction. The ranking is one vectorised sort over all rows; the
words are built once per (feature, value, direction) and reused, so a batch of declines costs
a dictionary lookup per reason rather than a sentence each.
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

    def value_text(self, value: object) -> str: ...

    def reason_for(self, raised: bool) -> tuple[str, str]: ...


@dataclass(frozen=True)
class Reason:
    """One feature's push on the probability of default (a SHAP value, in log-odds)."""

    feature: str
    label: str
    value: object
    contribution: float | None  # None for a credit policy rule, which has no weight
    code: str
    statement: str
    sentence: str  # the statement with the value that drove it, as officers read it
    rule: bool = False  # a credit policy rule that decided, not the model
    statement_fr: str = ""  # a rule's statement in French, when the policy manager wrote one

    def as_dict(self) -> dict[str, Any]:
        found = {
            "feature": self.feature,
            "label": self.label,
            "value": self.value,
            "contribution": self.contribution,
            "code": self.code,
            "statement": self.statement,
            "sentence": self.sentence,
        }
        if self.rule:
            found["rule"] = True
        if self.statement_fr:
            found["statement_fr"] = self.statement_fr
        return found

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Reason:
        return cls(
            feature=raw["feature"],
            label=raw["label"],
            value=raw["value"],
            contribution=raw["contribution"],
            code=raw["code"],
            statement=raw["statement"],
            sentence=raw["sentence"],
            rule=bool(raw.get("rule")),
            statement_fr=str(raw.get("statement_fr") or ""),
        )


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
        # Each feature's reason code per direction: [lowered, raised].
        self._codes = [(f.reason_for(False)[0], f.reason_for(True)[0]) for f in self.features]
        # How many reasons deduplication can drop from a row: only that many are ranked beyond ``count``.
        every = [code for pair in self._codes for code in pair]
        self._spare = len(every) - len(set(every))
        ids = {code: n for n, code in enumerate(dict.fromkeys(every))}
        self._code_ids = np.array([[ids[low], ids[high]] for low, high in self._codes], dtype=np.int64).reshape(-1, 2)

    def _ranked(
        self, contributions: np.ndarray, decisions: Sequence[str], count: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's candidate feature indexes, strongest first (-1 padded), their contributions, and
        which rows have two candidates of one code (only those need deduplicating)."""
        decline = np.asarray(decisions, dtype=object) == DECLINE
        order = top_contributions(contributions, decline, min(count + self._spare, contributions.shape[1]))
        ranked = np.take_along_axis(contributions, np.maximum(order, 0), axis=1)
        if not self._spare:
            return order, ranked, np.zeros(len(order), dtype=bool)
        ids = self._code_ids[np.maximum(order, 0), (ranked > 0).astype(np.int64)]
        ids = np.where(order < 0, -1 - np.arange(order.shape[1]), ids)  # padding never matches
        shared = (np.diff(np.sort(ids, axis=1), axis=1) == 0).any(axis=1)
        return order, ranked, shared

    def reason(self, index: int, value: object, contribution: float, raised: bool) -> Reason:
        f = self.features[index]
        value = plain(value)
        code, statement = f.reason_for(raised)
        return Reason(
            feature=f.name,
            label=f.label,
            value=value,
            contribution=float(np.round(contribution, 6)),
            code=code,
            statement=statement,
            sentence=f"{statement} \u2014 {f.value_text(value)}",
        )

    def _picked(self, order: list[int], raised: list[bool], count: int) -> list[int]:
        """Positions in ``order`` of a row's reasons: the strongest of each code, at most ``count``."""
        seen: set[str] = set()
        kept: list[int] = []
        for k, i in enumerate(order):
            if i < 0 or len(kept) == count:
                break
            code = self._codes[i][raised[k]]
            if code not in seen:
                seen.add(code)
                kept.append(k)
        return kept

    def objects(
        self, contributions: np.ndarray, columns: Sequence[Sequence[object]], decisions: Sequence[str], count: int
    ) -> list[list[Reason]]:
        """Reasons per row; ``columns[i][r]`` is row r's value of feature i."""
        order, ranked, shared = self._ranked(contributions, decisions, count)
        raised = ranked > 0
        rows = []
        for r, (picked, up) in enumerate(zip(order.tolist(), raised.tolist(), strict=True)):
            rows.append(
                [
                    self.reason(picked[k], columns[picked[k]][r], contributions[r, picked[k]], up[k])
                    for k in (self._picked(picked, up, count) if shared[r] else range(min(count, len(picked))))
                    if picked[k] >= 0
                ]
            )
        return rows

    def json_lines(
        self, contributions: np.ndarray, columns: Sequence[np.ndarray], decisions: Sequence[str], count: int
    ) -> list[str]:
        """``json.dumps([r.as_dict() for r in reasons])`` for every row, without building the objects.

        ``columns[i]`` holds feature i's value for each row. Each distinct (feature, value,
        direction) is put into words once; a row's text is then its pieces around its numbers.
        """
        order, ranked, shared = self._ranked(contributions, decisions, count)
        dedupe = shared.tolist()
        rounded = np.round(ranked, 6).tolist()
        raised = (ranked > 0).tolist()
        values = [np.asarray(c).tolist() for c in columns]
        pieces: dict[tuple[int, object, bool], tuple[str, str]] = {}
        lines: list[str] = []
        for r, (picked, numbers, up) in enumerate(zip(order.tolist(), rounded, raised, strict=True)):
            parts = []
            for k in self._picked(picked, up, count) if dedupe[r] else range(min(count, len(picked))):
                i = picked[k]
                if i < 0:
                    break
                key = (i, values[i][r], up[k])
                piece = pieces.get(key)
                if piece is None:
                    piece = pieces[key] = self._piece(i, values[i][r], up[k])
                parts.append(piece[0] + repr(numbers[k]) + piece[1])
            lines.append("[" + ", ".join(parts) + "]")
        return lines

    def _piece(self, index: int, value: object, raised: bool) -> tuple[str, str]:
        """The JSON of a reason split around its contribution: the text before it and after it."""
        marker = "__contribution__"
        text = json.dumps(self.reason(index, value, 0.0, raised).as_dict() | {"contribution": marker})
        before, after = text.split(json.dumps(marker), 1)
        return before, after
