"""The search over the bundled model: every alternative is approved when scored again, and changes only what an
offer may change, within its rule."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
import pytest

from scoring.engine import APPROVE, DECLINE, REFER, load_bundle
from scoring.engine.counterfactuals import MAX_ALTERNATIVES, search
from scoring.engine.schema import DOWN, UP
from tests.offers.bundles import bundle_without_actionable
from tests.support import DEFAULT_BUNDLE


@cache
def _model():
    return load_bundle(DEFAULT_BUNDLE)


@cache
def _declined_and_referred() -> list[dict[str, object]]:
    """The sample's applications the bundled model does not approve, as validated features."""
    model = _model()
    sample = pd.read_csv(DEFAULT_BUNDLE / "validation_sample.csv", dtype=str, keep_default_na=False)
    valid = model.validate_frame(sample).valid
    decisions = model.score_frame(valid, reasons_for=None).decisions
    rows = valid[np.isin(decisions, [DECLINE, REFER])].head(60)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for _, row in rows.iterrows()]


def test_every_alternative_is_approved_when_scored_again_and_changes_only_actionable_inputs_within_their_rules():
    model = _model()
    rules = {f.name: f for f in model.features if f.actionable is not None}
    assert set(rules) == {"credit_amount", "duration_in_month", "other_debtors_or_guarantors"}
    found_any = 0
    for features in _declined_and_referred():
        alternatives = search(model, features).alternatives
        assert len(alternatives) <= MAX_ALTERNATIVES
        found_any += bool(alternatives)
        changed_sets = []
        for alternative in alternatives:
            # Scored again on its own, the way a new application is: approved.
            frame = pd.DataFrame([[alternative.features[n] for n in model.feature_names]], columns=model.feature_names)
            again = model.score_frame(frame, reasons_for=None)
            assert again.decisions[0] == APPROVE
            assert again.probabilities[0] == pytest.approx(alternative.probability)
            assert alternative.probability < model.refer_lower
            changed = {n for n in model.feature_names if alternative.features[n] != features[n]}
            assert changed and changed <= set(rules) and len(changed) <= 2
            assert changed == {c.feature.name for c in alternative.changes}
            for change in alternative.changes:
                rule = change.feature.actionable
                if rule.to:
                    assert change.after in rule.to
                    continue
                low = rule.min if rule.min is not None else change.feature.min
                high = rule.max if rule.max is not None else change.feature.max
                assert low <= change.after <= high
                assert (change.after - low) % rule.step == 0
                if rule.direction == DOWN:
                    assert change.after < change.before
                if rule.direction == UP:
                    assert change.after > change.before
            # Diverse: no alternative changes a superset of what an earlier one changes.
            assert not any(earlier <= changed for earlier in changed_sets)
            changed_sets.append(changed)
    assert found_any >= 20, "the bundled model should have offers for many of its sample's declines"


def test_the_smallest_change_comes_first():
    model = _model()
    for features in _declined_and_referred()[:20]:
        alternatives = search(model, features).alternatives
        sizes = [len(a.changes) for a in alternatives]
        assert sizes == sorted(sizes)
        for alternative in alternatives:
            if [c.feature.name for c in alternative.changes] != ["credit_amount"]:
                continue
            # One step less in amount would not be approved: the offer lends as much as the model allows.
            step = alternative.changes[0].feature.actionable.step
            closer = dict(alternative.features, credit_amount=alternative.features["credit_amount"] + step)
            frame = pd.DataFrame([[closer[n] for n in model.feature_names]], columns=model.feature_names)
            if closer["credit_amount"] < features["credit_amount"]:
                assert model.score_frame(frame, reasons_for=None).decisions[0] != APPROVE


def test_a_change_reads_in_the_lenders_words():
    model = _model()
    texts = [c.text for f in _declined_and_referred() for a in search(model, f).alternatives for c in a.changes]
    amounts = [t for t in texts if t.startswith("Loan amount")]
    assert amounts and all(re.fullmatch(r"Loan amount [\d,]+ DM instead of [\d,]+ DM", t) for t in amounts)
    assert any(t.startswith("Loan duration") and "months instead of" in t for t in texts)
    assert any(t == "Other debtors or guarantors Guarantor instead of None" for t in texts)


def test_a_bundle_without_actionable_inputs_offers_nothing(tmp_path):
    model = load_bundle(bundle_without_actionable(tmp_path))
    assert all(f.actionable is None for f in model.features)
    result = search(model, _declined_and_referred()[0])
    assert result.alternatives == () and result.candidates == 0 and result.actionable == ()


def test_a_policy_that_approves_nothing_leaves_no_alternative():
    model = _model()
    calls = []

    def refuse_everything(frame, probabilities):
        calls.append(len(frame))
        return np.full(len(frame), DECLINE, dtype=object)

    result = search(model, _declined_and_referred()[0], decide=refuse_everything)
    assert result.alternatives == ()
    assert calls and calls[0] == result.candidates > 0  # the whole grid went through the policy


def test_protected_attributes_never_change():
    model = _model()
    assert all(f.actionable is None for f in model.protected)
    protected = {f.name for f in model.protected}
    for features in _declined_and_referred()[:10]:
        for alternative in search(model, features).alternatives:
            assert not protected & set(alternative.features)
