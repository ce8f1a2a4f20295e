"""CatBoost's SHAP values for oblivious trees, precomputed once per (tree, leaf) and then looked up.

CatBoost grows symmetric (oblivious) trees: every node of a level tests the same
split, so the leaf a row lands in fixes its side of every split in that tree, and
its SHAP contribution from that tree depends on the leaf alone. Computing that
contribution once for each of a tree's leaves turns an explanation into one
table lookup per tree, instead of CatBoost walking every tree for every row
(about 10 ms a row for the default model, and the bulk of a batch job's time).

The values are the same path-dependent TreeSHAP values CatBoost computes (each
combination feature counts as one player, its share split equally among the
features it combines). ``build_tables`` checks its result against CatBoost's
own ``ShapValues`` on sample rows and returns None when they differ, and the
engine then uses CatBoost directly: a new CatBoost version can make this path
slower, never wrong.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import numpy as np
from catboost import CatBoostClassifier, CatBoostError, Pool

_FEATURE = re.compile(r"^\s*(\d+)")


# Up to this many rows, one gather over all trees at once beats a loop over features.
_STACKED_ROWS = 64
# Rows per block in the many-row path: bounds the temporary (rows x trees) arrays (measured best at 4096).
_BLOCK_ROWS = 4096


@dataclass(frozen=True)
class ShapTables:
    """Per tree: a (leaves x features) table of contributions; plus the expected value."""

    tables: list[np.ndarray]
    expected_value: float
    stacked: np.ndarray  # (trees, most leaves, features), zero-padded
    # Per feature: the trees whose splits use it, and their contributions to it, flattened
    # (tree-major, ``stacked.shape[1]`` leaves each). A depth-4 tree touches at most four of the
    # features, so summing per feature over its own trees is a fraction of the work of adding
    # every tree's full row of contributions.
    by_feature: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    def shap_values(self, leaf_indexes: np.ndarray) -> np.ndarray:
        """SHAP values (rows x features + expected value) from ``model.calc_leaf_indexes`` output."""
        rows = leaf_indexes.shape[0]
        n_features = self.stacked.shape[2]
        out = np.empty((rows, n_features + 1))
        if rows <= _STACKED_ROWS or not self.by_feature:
            trees = np.arange(len(self.tables))[None, :]
            for start in range(0, rows, _BLOCK_ROWS):
                block = leaf_indexes[start : start + _BLOCK_ROWS]
                out[start : start + len(block), :n_features] = self.stacked[trees, block].sum(axis=1)
        else:
            leaves = self.stacked.shape[1]
            # Leaf numbers fit a byte up to depth 8: a byte-wide transposed block stays in cache.
            small = np.uint8 if leaves <= 256 else np.uint16
            for start in range(0, rows, _BLOCK_ROWS):
                # trees x rows, so picking a feature's trees copies whole contiguous rows
                block = np.ascontiguousarray(leaf_indexes[start : start + _BLOCK_ROWS].astype(small).T)
                stop = start + block.shape[1]
                for feature, (trees, flat) in enumerate(self.by_feature):
                    if trees.size == 0:
                        out[start:stop, feature] = 0.0
                        continue
                    positions = block[trees].astype(np.intp)
                    positions += (np.arange(trees.size) * leaves)[:, None]
                    out[start:stop, feature] = np.take(flat, positions).sum(axis=0)
        out[:, n_features] = self.expected_value
        return out


def build_tables(model: CatBoostClassifier, sample: Pool | None = None, *, atol: float = 1e-6) -> ShapTables | None:
    """Tables for ``model``, or None when it is not a model this shortcut can reproduce exactly."""
    try:
        tables = _compute(model, sample)
    except (ValueError, IndexError, KeyError, AttributeError, CatBoostError):
        return None
    if sample is not None and sample.num_row() > 0:
        expected = model.get_feature_importance(sample, type="ShapValues")
        ours = tables.shap_values(model.calc_leaf_indexes(sample))
        if expected.shape != ours.shape or not np.allclose(expected, ours, atol=atol, rtol=0):
            return None
    return tables


def _compute(model: CatBoostClassifier, pool: Pool | None = None) -> ShapTables:
    names = {name: i for i, name in enumerate(model.feature_names_)}
    n_features = len(names)
    leaf_counts = [int(c) for c in model.get_tree_leaf_counts()]
    leaf_values = np.asarray(model.get_leaf_values(), dtype=float)
    leaf_weights = np.asarray(model.get_leaf_weights(), dtype=float)
    if leaf_values.shape != leaf_weights.shape or leaf_values.size != sum(leaf_counts):
        raise ValueError("only single-output models with one value per leaf are supported")
    scale, bias = model.get_scale_and_bias()
    bias_value = float(np.asarray(bias, dtype=float).reshape(-1)[0])
    tables, expected, start = [], bias_value, 0
    for tree, count in enumerate(leaf_counts):
        values = leaf_values[start : start + count] * float(scale)
        weights = leaf_weights[start : start + count]
        start += count
        splits = model._get_tree_splits(tree, pool)
        levels = [_split_features(s, names) for s in splits]
        if 2 ** len(levels) != count:
            raise ValueError("tree is not oblivious")
        table, base = _tree_table(levels, values, weights, n_features)
        tables.append(table)
        expected += base
    stacked = np.zeros((len(tables), max(leaf_counts, default=1), n_features))
    for tree, table in enumerate(tables):
        stacked[tree, : table.shape[0]] = table
    by_feature = []
    for feature in range(n_features):
        trees = np.flatnonzero(np.any(stacked[:, :, feature] != 0, axis=1))
        by_feature.append((trees, np.ascontiguousarray(stacked[trees, :, feature]).reshape(-1)))
    return ShapTables(tables=tables, expected_value=expected, stacked=stacked, by_feature=tuple(by_feature))


def _split_features(description: str, names: dict[str, int]) -> frozenset[int]:
    """The features a split is attributed to: '3, bin=2.5' -> {3}; '{0, 5} counter_type=...' -> {0, 5}.

    In a combination, the parts that are binarised splits of other features ('1 border=46.5',
    'telephone val = 123') are not players: CatBoost credits a combination to the categorical
    features whose values it counts. The test against CatBoost's own values pins this down.
    """
    if description.startswith("{"):
        inside = description[1 : description.index("}")]
        parts = [p for p in inside.split(",") if "border=" not in p and " val =" not in p]
        return frozenset(_feature_index(part, names) for part in parts)
    return frozenset({_feature_index(description.split(",")[0], names)})


def _feature_index(token: str, names: dict[str, int]) -> int:
    """A split names its feature by flat index, or by name when CatBoost was given a pool."""
    token = token.split(" val =")[0].strip()
    match = _FEATURE.match(token)
    return int(match.group(1)) if match else names[token]


def _tree_table(
    levels: list[frozenset[int]], values: np.ndarray, weights: np.ndarray, n_features: int
) -> tuple[np.ndarray, float]:
    """Contributions of one oblivious tree for each of its leaves, and the tree's expected value.

    Path-dependent TreeSHAP (as CatBoost computes it) with the root at the last level: given the
    players in S, the expectation sums the leaves that agree with the row on S's levels, each
    weighted by the product, over the other levels, of the training weight below the leaf's branch
    over the weight below the node it branches from. That product is fixed per leaf, so every
    expectation is a weighted sum grouped by the row's bits on S's levels.
    """
    depth = len(levels)
    leaves = np.arange(2**depth)
    # below[leaf, d]: training weight of the leaves sharing ``leaf``'s bits on levels d and above
    below = np.empty((len(leaves), depth + 1))
    for d in range(depth + 1):
        key = leaves >> d
        below[:, d] = np.bincount(key, weights=weights, minlength=key.max() + 1)[key]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(below[:, 1:] > 0, below[:, :-1] / below[:, 1:], 0.5)
    players = list(dict.fromkeys(levels))  # a combination feature is one player
    level_bits = [np.array([1 << d for d in range(depth) if levels[d] == p]).sum() for p in players]
    k = len(players)

    def expectation(fixed: tuple[int, ...]) -> np.ndarray:
        mask = int(sum(level_bits[p] for p in fixed))
        free = [d for d in range(depth) if not (mask >> d) & 1]
        weight = values * np.prod(ratio[:, free], axis=1)
        sums = np.bincount(leaves & mask, weights=weight, minlength=len(leaves))
        return sums[leaves & mask]

    v = {s: expectation(s) for r in range(k + 1) for s in itertools.combinations(range(k), r)}
    phi = np.zeros((len(leaves), k))
    for i in range(k):
        others = [p for p in range(k) if p != i]
        for r in range(k):
            share = math.factorial(r) * math.factorial(k - r - 1) / math.factorial(k)
            for s in itertools.combinations(others, r):
                phi[:, i] += share * (v[tuple(sorted((*s, i)))] - v[s])
    table = np.zeros((len(leaves), n_features))
    for i, player in enumerate(players):
        for feature in player:
            table[:, feature] += phi[:, i] / len(player)
    return table, float(v[()][0])
