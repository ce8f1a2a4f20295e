"""The engine on the committed bundle, on a bundle written by real MLflow, and on a bare model.cb."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from catboost import Pool

from scoring import engine
from scoring.engine import BundleRejected, InvalidApplication, load_bundle
from scoring.engine.validation import NOT_A_WHOLE_NUMBER
from tests.support import COMMITTED_BUNDLE, DEFAULT_BUNDLE


@pytest.fixture(scope="module")
def model():
    return load_bundle(DEFAULT_BUNDLE)


@pytest.fixture
def good(model):
    return dict(model.example_inputs())


def test_committed_bundle_declares_its_schema(model):
    assert len(model.features) == 17
    assert {f.name for f in model.protected} == {"personal_status_and_sex", "foreign_worker", "age_in_years"}
    assert not {f.name for f in model.protected} & set(model.feature_names)
    assert 0 < model.refer_lower < model.threshold < 1
    assert model.bands[-1]["upper"] == 1.0
    assert model.sha256 == engine.file_sha256(DEFAULT_BUNDLE / "model.cb")
    assert set(model.file_hashes) >= {"MLmodel", "model.cb", "input_example.json"}


def test_validate_returns_typed_values(model, good):
    good["duration_in_month"] = "24"
    application = model.validate(good | {"age_in_years": 40}, text=True)
    assert application.features["duration_in_month"] == 24
    assert list(application.features) == model.feature_names
    assert application.protected == {"age_in_years": 40}


def test_validate_names_every_bad_field_at_once(model, good):
    bad = dict(good)
    del bad["purpose"]
    bad["duration_in_month"] = "twelve"
    bad["credit_amount"] = 10**9
    bad["housing"] = "castle"
    bad["installment_rate_in_percentage_of_disposable_income"] = 2
    bad["present_residence_since"] = 2.5
    bad["telephone"] = 7.5
    bad["favourite_colour"] = "blue"
    bad["age_in_years"] = float("nan")
    with pytest.raises(InvalidApplication) as caught:
        model.validate(bad)
    errors = caught.value.errors
    assert errors["purpose"] == ["This field is required."]
    assert errors["duration_in_month"] == ["Expected a whole number, not a string: send a JSON number, without quotes."]
    assert errors["credit_amount"][0].startswith("Must be at most")
    assert "not one of the allowed choices" in errors["housing"][0]
    assert errors["installment_rate_in_percentage_of_disposable_income"] == ["Expected text."]
    assert errors["present_residence_since"] == ["Expected text."]
    assert errors["telephone"] == ["Expected text."]
    assert errors["favourite_colour"] == ["Unknown field."]
    assert errors["age_in_years"] == ["Expected a whole number."]


@pytest.mark.parametrize("value", [float("inf"), "NaN", True, None, "", [1], {"a": 1}, "1" * 100])
def test_validate_rejects_non_numbers(model, good, value):
    with pytest.raises(InvalidApplication) as caught:
        model.validate(good | {"credit_amount": value})
    assert list(caught.value.errors) == ["credit_amount"]


def test_score_one_gives_decision_band_and_plain_reasons(model, good):
    score = model.score_one(model.validate(good).features)
    assert 0 <= score.probability <= 1
    assert score.decision in {"approve", "refer", "decline"}
    assert score.risk_band in {b["name"] for b in model.bands}
    assert 1 <= len(score.reasons) <= 4
    first = score.reasons[0]
    feature = next(f for f in model.features if f.name == first.feature)
    assert first.label == feature.label
    assert (first.code, first.statement) == feature.reason_for(first.contribution > 0)
    assert first.sentence == f"{first.statement} \u2014 {feature.value_text(first.value)}"
    json.dumps([r.as_dict() for r in score.reasons])  # stored as JSON


def test_reasons_name_a_category_by_its_label_and_keep_its_value(model, good):
    application = good | {
        "purpose": "car (new)",
        "housing": "rent",
        "status_of_existing_checking_account": "... < 0 DM",
    }
    reasons = model.score_one(model.validate(application).features, reason_count=17).reasons
    purpose = next(r for r in reasons if r.feature == "purpose")
    assert purpose.value == "car (new)"
    assert purpose.sentence.endswith(" \u2014 New car")
    checking = next(r for r in reasons if r.feature == "status_of_existing_checking_account")
    assert checking.sentence.endswith(" \u2014 Overdrawn (below 0 DM)")


def test_shap_contributions_add_up_to_the_raw_prediction(model):
    frame = pd.read_csv(COMMITTED_BUNDLE.parent.parent / "data" / "reference_sample.csv").head(50)
    validation = model.validate_frame(frame)
    shap = model.shap_values(validation.valid)
    raw = model.model.predict(Pool(validation.valid, cat_features=model.cat_indices), prediction_type="RawFormulaVal")
    assert np.allclose(shap.sum(axis=1), raw, atol=1e-6)


def test_decline_reasons_only_raise_risk(model):
    frame = pd.read_csv(COMMITTED_BUNDLE.parent.parent / "data" / "reference_sample.csv")
    valid = model.validate_frame(frame).valid
    scores = model.score_frame(valid)
    declined = np.flatnonzero(scores.decisions == "decline")
    assert len(declined) > 0
    for i in declined:
        reasons = scores.reasons[i]
        assert reasons and all(r.contribution > 0 for r in reasons)
        raised = {f.name: f.raises for f in model.features}
        assert all((r.code, r.statement) == raised[r.feature] for r in reasons)
    for i in np.flatnonzero(scores.decisions != "decline"):
        assert scores.reasons[i] is None  # reasons for many rows are only required for declines


def test_decisions_follow_threshold_and_refer_band(model):
    t, low = model.threshold, model.refer_lower
    decided = model.decide(np.array([0.0, low - 1e-9, low, t - 1e-9, t, 1.0]))
    assert list(decided) == ["approve", "approve", "refer", "refer", "decline", "decline"]
    bands = model.band(np.array([0.0, 1.0]))
    assert bands[0] == model.bands[0]["name"] and bands[1] == model.bands[-1]["name"]


def test_score_frame_matches_score_one(model):
    frame = pd.read_csv(COMMITTED_BUNDLE.parent.parent / "data" / "reference_sample.csv").head(20)
    valid = model.validate_frame(frame).valid
    many = model.score_frame(valid, reasons_for="all")
    for i, (_, row) in enumerate(valid.iterrows()):
        one = model.score_one(row.to_dict())
        assert one.probability == pytest.approx(many.probabilities[i])
        assert one.decision == many.decisions[i]


def test_validate_frame_reports_each_bad_row(model):
    frame = pd.read_csv(COMMITTED_BUNDLE.parent.parent / "data" / "reference_sample.csv").head(5)
    frame = frame.astype(object)
    frame.loc[1, "duration_in_month"] = "abc"
    frame.loc[3, "housing"] = "castle"
    frame.loc[3, "credit_amount"] = None
    result = model.validate_frame(frame)
    assert list(result.valid.index) == [0, 2, 4]
    assert result.errors[1] == {"duration_in_month": [NOT_A_WHOLE_NUMBER]}
    assert set(result.errors[3]) == {"housing", "credit_amount"}


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "model.cb").write_bytes(b"not a model"), "could not be loaded by CatBoost"),
        (lambda d: (d / "MLmodel").write_text("flavors: {sklearn: {}}"), "flavors.catboost: missing"),
        (lambda d: (d / "MLmodel").write_text(": : :"), "not valid YAML"),
        (lambda d: (d / "model.cb").unlink(), "missing"),
    ],
)
def test_broken_bundles_are_rejected_with_a_reason(tmp_path, damage, message):
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    damage(bundle)
    with pytest.raises(BundleRejected, match=message):
        load_bundle(bundle)


def test_schema_that_disagrees_with_the_model_is_rejected(tmp_path):
    import yaml

    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    mlmodel = yaml.safe_load((bundle / "MLmodel").read_text())
    mlmodel["metadata"]["features"] = mlmodel["metadata"]["features"][:-1]
    (bundle / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(BundleRejected, match=r"the model also takes \['telephone'\]"):
        load_bundle(bundle)
