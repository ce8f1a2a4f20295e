"""The bundle contract's `actionable` rules: what an offer may change, never a protected attribute; and
prepare_bundle carries the rules of its labels YAML into the bundle."""

from __future__ import annotations

import copy

import pytest
import yaml

from scoring.engine import load_bundle
from scoring.engine.contract import check_metadata
from scoring.engine.prepare import prepare_bundle
from scoring.engine.sample_schema import PreparationRefused
from tests.support import DEFAULT_BUNDLE
from tests.support.plain_mlflow import LABELS, PROTECTED, TARGET, write_plain_model


@pytest.fixture(scope="module")
def metadata():
    return yaml.safe_load((DEFAULT_BUNDLE / "MLmodel").read_text())["metadata"]


def _with(metadata, group: str, name: str, rule) -> dict:
    changed = copy.deepcopy(metadata)
    for feature in changed[group]:
        if feature["name"] == name:
            feature["actionable"] = rule
    return changed


def test_the_bundled_metadata_meets_the_contract_with_its_offer_rules(metadata):
    assert check_metadata(metadata, DEFAULT_BUNDLE) == []
    rules = {f["name"]: f["actionable"] for f in metadata["features"] if "actionable" in f}
    assert rules == {
        "duration_in_month": {"direction": "any", "min": 6, "max": 72, "step": 6},
        "credit_amount": {"direction": "down", "min": 250, "step": 50},
        "other_debtors_or_guarantors": {"to": ["guarantor"]},
    }


@pytest.mark.parametrize("rule", [{"to": ["female"]}, True])
def test_an_actionable_protected_attribute_is_refused_naming_it(metadata, rule):
    name = metadata["protected_attributes"][0]["name"]
    problems = check_metadata(_with(metadata, "protected_attributes", name, rule), DEFAULT_BUNDLE)
    assert any(
        p.startswith(f"metadata.protected_attributes[{name}].actionable: {name!r} is a protected attribute")
        for p in problems
    ), problems


@pytest.mark.parametrize(
    ("name", "rule", "expected"),
    [
        ("other_debtors_or_guarantors", {"to": ["cosigner"]}, "actionable.to: ['cosigner'] are not among"),
        ("other_debtors_or_guarantors", {"direction": "down", "step": 1}, "a categorical feature takes only"),
        ("credit_amount", {"direction": "down", "min": 50, "step": 50}, "actionable.min: 50 is outside"),
        ("credit_amount", {"direction": "down", "min": 250}, "actionable.step: missing"),
        ("credit_amount", {"direction": "sideways", "step": 50}, "actionable.direction"),
        ("duration_in_month", {"direction": "any", "step": 1.5}, "1.5 is not a whole number"),
        ("duration_in_month", {"direction": "any", "step": 0}, "actionable.step"),
    ],
)
def test_a_rule_that_does_not_fit_its_feature_is_refused(metadata, name, rule, expected):
    problems = check_metadata(_with(metadata, "features", name, rule), DEFAULT_BUNDLE)
    assert any(f"metadata.features[{name}]" in p and expected in p for p in problems), problems


def test_the_earlier_boolean_is_still_read_and_offers_nothing(metadata, tmp_path):
    assert check_metadata(_with(metadata, "features", "credit_amount", True), DEFAULT_BUNDLE) == []


def test_prepare_bundle_carries_actionable_from_the_labels_yaml(tmp_path):
    plain = write_plain_model(tmp_path / "plain")
    labels = copy.deepcopy(LABELS)
    labels["fields"]["loan_amount"]["actionable"] = {"direction": "down", "step": 500}
    labels["fields"]["term_months"]["actionable"] = {"direction": "any", "min": 12, "max": 60, "step": 12}
    labels["fields"]["home_ownership"]["actionable"] = {"to": ["own"]}
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(labels), encoding="utf-8")
    prepare_bundle(
        model_dir=plain.folder, sample_path=plain.sample, target=TARGET, labels_path=path, out_dir=tmp_path / "out"
    )
    model = load_bundle(tmp_path / "out")
    rules = {f.name: f.actionable for f in model.features if f.actionable is not None}
    assert rules["loan_amount"].direction == "down" and rules["loan_amount"].step == 500
    assert (rules["term_months"].min, rules["term_months"].max, rules["term_months"].step) == (12, 60, 12)
    assert rules["home_ownership"].to == ("own",)
    assert set(rules) == {"loan_amount", "term_months", "home_ownership"}


def test_prepare_bundle_refuses_an_actionable_protected_attribute(tmp_path):
    plain = write_plain_model(tmp_path / "plain")
    labels = copy.deepcopy(LABELS)
    labels["fields"][PROTECTED]["actionable"] = {"to": ["m"]}
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(labels), encoding="utf-8")
    with pytest.raises(PreparationRefused) as refused:
        prepare_bundle(model_dir=plain.folder, sample_path=plain.sample, target=TARGET, labels_path=path)
    assert any(
        f"labels fields.{PROTECTED}.actionable: {PROTECTED!r} is a protected attribute" in p
        for p in refused.value.problems
    ), refused.value.problems
