"""The per-leaf SHAP tables give exactly CatBoost's own SHAP values, or are not used."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier, Pool

from scoring.engine import load_bundle, shap_tables
from tests.support import COMMITTED_BUNDLE, DEFAULT_BUNDLE

REFERENCE = COMMITTED_BUNDLE.parent.parent / "data" / "reference_sample.csv"


def test_tables_equal_catboost_shap_values_on_the_committed_model():
    model = load_bundle(DEFAULT_BUNDLE)
    assert model.shap_method.startswith("leaf tables")
    valid = model.validate_frame(pd.read_csv(REFERENCE)).valid
    pool = Pool(valid, cat_features=model.cat_indices)
    catboost_values = model.model.get_feature_importance(pool, type="ShapValues")
    assert np.allclose(model.shap_values(valid), catboost_values, atol=1e-9, rtol=0)


@pytest.mark.parametrize("depth, one_hot", [(6, 2), (3, 10), (5, 1)])
def test_tables_reproduce_catboost_for_other_shapes_of_model(depth, one_hot):
    """Deeper trees, one-hot splits, and categorical combinations with numeric borders."""
    frame = pd.read_csv(REFERENCE)
    target = (frame.pop("creditability") == "bad").astype(int)
    cats = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    cb = CatBoostClassifier(
        iterations=60,
        depth=depth,
        one_hot_max_size=one_hot,
        random_seed=3,
        verbose=0,
        cat_features=cats,
        allow_writing_files=False,
    ).fit(frame, target)
    pool = Pool(frame, cat_features=cats)
    tables = shap_tables.build_tables(cb, pool)
    assert tables is not None
    ours = tables.shap_values(cb.calc_leaf_indexes(pool))
    assert np.allclose(ours, cb.get_feature_importance(pool, type="ShapValues"), atol=1e-9, rtol=0)
    single = tables.shap_values(cb.calc_leaf_indexes(pool.slice([5])))  # the one-row (stacked) path
    assert np.allclose(single[0], ours[5], atol=1e-12, rtol=0)


def test_a_model_the_tables_cannot_reproduce_falls_back_to_catboost(monkeypatch):
    model = load_bundle(DEFAULT_BUNDLE)
    valid = model.validate_frame(pd.read_csv(REFERENCE).head(20)).valid
    pool = Pool(valid, cat_features=model.cat_indices)

    def skewed(*args, **kwargs):
        tables = real(*args, **kwargs)
        return dataclasses.replace(tables, expected_value=tables.expected_value + 1e-3)  # any disagreement

    real = shap_tables._compute
    monkeypatch.setattr(shap_tables, "_compute", skewed)
    assert shap_tables.build_tables(model.model, pool) is None
