"""AUC, KS, Brier score and approval rate against values worked out by hand (and matching scikit-learn's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.engine.performance import brier_score, measure, outcomes


def test_brier_score_matches_the_textbook_example():
    # scikit-learn's brier_score_loss documentation example: 0.0375.
    assert brier_score(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3])) == pytest.approx(0.0375)


def test_brier_score_is_zero_when_certain_and_right_and_a_quarter_for_a_coin_toss():
    y = np.array([0, 1, 1, 0, 1])
    assert brier_score(y, y.astype(float)) == 0
    assert brier_score(y, np.full(5, 0.5)) == pytest.approx(0.25)
    assert brier_score(y, 1 - y.astype(float)) == 1


def test_measure_gives_auc_ks_brier_and_the_approval_rate():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    result = measure(y, p, np.array(["approve", "decline", "refer", "decline"], dtype=object))
    # One of the four bad/good pairs is ranked the wrong way round: AUC 3/4 (scikit-learn's roc_auc_score example).
    assert result.auc == 0.75
    # After 0.1 half the goods and none of the bads are below the cut: KS 0.5.
    assert result.ks == 0.5
    assert result.brier == pytest.approx(((0.1**2) + (0.4**2) + (0.65**2) + (0.2**2)) / 4, abs=1e-4)
    assert result.approval_rate == 0.25
    assert result.bad_rate == 0.5
    assert result.rows == 4


def test_ranking_figures_are_absent_not_made_up_when_the_sample_holds_one_outcome():
    result = measure(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9]), np.array(["approve"] * 3, dtype=object))
    assert result.auc is None and result.ks is None
    assert result.brier is not None


def test_outcomes_compare_the_target_as_written_in_the_file():
    column = pd.Series(["bad", "good", " bad", "Bad"])  # no guessing: only the exact value is bad
    assert outcomes(column, "bad").tolist() == [1, 0, 0, 0]
    assert outcomes(pd.Series(["1", "0", "1"]), 1).tolist() == [1, 0, 1]
