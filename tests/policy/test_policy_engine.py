"""The credit policy engine on the committed bundle: checks against the schema, evaluation, order, ZEN's own answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import zen
from django.conf import settings

from scoring.engine import load_bundle
from scoring.engine.policy import (
    AFTER_MODEL,
    BEFORE_MODEL,
    RECORD,
    CompiledPolicy,
    Condition,
    PolicyRejected,
    Rule,
    check,
    from_jdm,
    to_jdm,
)
from scoring.engine.schema import APPROVE, DECLINE, REFER
from scoring.policy import defaults
from tests.support import DEFAULT_BUNDLE


@pytest.fixture(scope="module")
def model():
    return load_bundle(DEFAULT_BUNDLE)


@pytest.fixture(scope="module")
def fields(model):
    return {f.name: f for f in (*model.features, *model.protected)}


@pytest.fixture(scope="module")
def bands(model):
    return [b["name"] for b in model.bands]


def rule(code, outcome, *conditions, stage=AFTER_MODEL, legal_basis="", statement="Because."):
    return Rule(
        code=code,
        name=code.replace("_", " ").title(),
        statement=statement,
        outcome=outcome,
        stage=stage,
        conditions=tuple(Condition(f, t) for f, t in conditions),
        legal_basis=legal_basis,
    )


def test_the_default_policy_fits_the_bundled_model(fields, bands):
    assert check(defaults.RULES, fields, bands) == {}
    # The only rule on a protected attribute carries its legal basis.
    protected = {f for f in fields if fields[f].protected}
    on_protected = [r for r in defaults.RULES if any(c.field in protected for c in r.conditions)]
    assert [r.code for r in on_protected] == ["UNDER_AGE_OF_MAJORITY"]
    assert "BGB" in on_protected[0].legal_basis


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rule("NO_SUCH", DECLINE, ("income", "> 3")), "The active model has no field 'income'"),
        (rule("BAD_CHOICE", DECLINE, ("purpose", '"yacht"')), "'yacht', which is not one of its choices"),
        (rule("TEXT_ON_NUMBER", REFER, ("credit_amount", '"high"')), "compares a number with text"),
        (rule("NOT_AN_EXPRESSION", REFER, ("credit_amount", "> > 3")), "is not a valid expression"),
        (rule("NUMBER_ON_TEXT", REFER, ("purpose", "> 3")), "cannot be evaluated"),
        (rule("PROTECTED", DECLINE, ("foreign_worker", '"yes"')), "Foreign worker is a protected attribute"),
        (rule("EARLY_PD", DECLINE, ("probability", "> 0.5"), stage=BEFORE_MODEL), "cannot test the model's"),
        (rule("BAD_BAND", DECLINE, ("risk_band", '"Z"')), "'Z', which is not one of its choices"),
        (rule("bad code", DECLINE, ("credit_amount", "> 3")), "The code must be"),
        (Rule("EMPTY", "Empty", "x", REFER, AFTER_MODEL, ()), "at least one condition"),
        (rule("TWICE", REFER, ("credit_amount", "> 1"), ("credit_amount", "< 9")), "Two conditions test credit_amount"),
    ],
)
def test_a_rule_that_does_not_fit_the_model_is_refused_naming_it(fields, bands, bad, message):
    errors = check([rule("FINE", REFER, ("credit_amount", "> 20000")), bad], fields, bands)
    assert list(errors) == [bad.code]
    assert any(message in m for m in errors[bad.code]), errors


def test_a_protected_attribute_with_a_legal_basis_is_accepted(fields, bands):
    lawful = rule("MINOR", DECLINE, ("age_in_years", "< 18"), stage=BEFORE_MODEL, legal_basis="Contractual capacity.")
    assert check([lawful], fields, bands) == {}


def test_two_rules_with_one_code_are_refused(fields, bands):
    twice = [rule("SAME", REFER, ("credit_amount", "> 1")), rule("SAME", REFER, ("duration_in_month", "> 1"))]
    assert "Another rule already has the code SAME." in check(twice, fields, bands)["SAME"]


def test_the_order_of_a_decision():
    policy = CompiledPolicy(
        [
            rule("KNOCK_BEFORE", DECLINE, ("a", "> 10"), stage=BEFORE_MODEL),
            rule("KNOCK_AFTER", DECLINE, ("b", '"x"')),
            rule("REFER_IT", REFER, ("a", "> 5")),
            rule("JUST_NOTE", RECORD, ("a", "> 0")),
        ]
    )
    columns = {"a": np.array([11, 11, 6, 6, 6, 1, 6]), "b": np.array(["y", "y", "x", "y", "y", "y", "y"], dtype=object)}
    model = np.array([APPROVE, DECLINE, APPROVE, APPROVE, DECLINE, APPROVE, REFER], dtype=object)
    out = policy.evaluate_frame(columns, model)
    assert out.decisions.tolist() == [DECLINE, DECLINE, DECLINE, REFER, DECLINE, APPROVE, REFER]
    # The before-model knock-out is the reason even where the model declined; a model decline needs no rule.
    assert out.deciding_codes() == ["KNOCK_BEFORE", "KNOCK_BEFORE", "KNOCK_AFTER", "REFER_IT", "", "", ""]
    assert out.fired_codes(0) == ["KNOCK_BEFORE", "REFER_IT", "JUST_NOTE"]
    assert out.fired_codes(5) == ["JUST_NOTE"]
    assert json.loads(out.fired_json()[5]) == ["JUST_NOTE"]
    one = policy.evaluate({"a": 6, "b": "y"}, APPROVE)
    assert (one.decision, one.deciding.code, one.fired) == (REFER, "REFER_IT", ("REFER_IT", "JUST_NOTE"))


def test_frame_evaluation_equals_zens_own_decision_table_on_every_row(model):
    """The exported ZEN decision model, run by ZEN's engine, fires the same rules on every row as our vectorised
    evaluation of the same conditions (itself ZEN's expression engine, once per distinct value)."""
    rules = [
        rule("BIG", REFER, ("credit_amount", "> 5000")),
        rule("LONG_AND_BIG", DECLINE, ("duration_in_month", "[36..72]"), ("credit_amount", ">= 8000")),
        rule("CARS", REFER, ("purpose", '"car (new)", "car (used)"')),
        rule("NOT_OWN", RECORD, ("housing", 'not in ["own"]')),
        rule("RISKY", DECLINE, ("probability", "> 0.6")),
        rule("BAND_E", REFER, ("risk_band", '"E"')),
        rule("YOUNG", RECORD, ("age_in_years", "< 25"), legal_basis="Monitoring only."),
    ]
    frame = pd.read_csv(settings.REFERENCE_SAMPLE_PATH).head(300)
    checked = model.validate_frame(frame)
    scores = model.score_frame(checked.valid, policy=CompiledPolicy(rules), protected=dict(checked.protected))
    decision = zen.ZenEngine().create_decision(json.dumps(to_jdm(rules)))
    for row in range(len(checked.valid)):
        context = {name: checked.valid.iloc[row][name] for name in model.feature_names}
        context |= {name: checked.protected.iloc[row][name] for name in checked.protected.columns}
        context |= {"probability": float(scores.probabilities[row]), "risk_band": str(scores.risk_bands[row])}
        context = {k: (v.item() if hasattr(v, "item") else v) for k, v in context.items()}
        expected = [hit["code"] for hit in decision.evaluate(context)["result"]]
        assert scores.policy.fired_codes(row) == expected, row
    assert scores.policy.fired.any(axis=0).all(), "every rule fires somewhere in the sample"


def test_one_application_and_a_frame_give_the_same_outcome_and_reasons(model):
    rules = [rule("BIG", DECLINE, ("credit_amount", "> 3000"), statement="The amount is above our limit.")]
    policy = CompiledPolicy(rules)
    frame = pd.read_csv(settings.REFERENCE_SAMPLE_PATH).head(80)
    checked = model.validate_frame(frame)
    many = model.score_frame(checked.valid, reasons_for="all", policy=policy)
    as_json = model.score_frame(checked.valid, reasons_for="decline", reasons_as_json=True, policy=policy)
    for row in range(len(checked.valid)):
        one = model.score_one(checked.valid.iloc[row].to_dict(), policy=policy)
        assert one.decision == many.decisions[row]
        assert one.deciding_rule == many.policy.deciding_codes()[row]
        if one.deciding_rule:
            assert one.reasons[0].code == "BIG" and one.reasons[0].statement == "The amount is above our limit."
            assert one.reasons[0].as_dict()["rule"] is True and len(one.reasons) <= 4
            assert json.loads(as_json.reasons_json[row])[0]["code"] == "BIG"
        if one.decision == DECLINE:
            assert json.loads(as_json.reasons_json[row]) == [r.as_dict() for r in many.reasons[row]]


def test_the_required_protected_fields_are_named():
    policy = CompiledPolicy([rule("MINOR", DECLINE, ("age_in_years", "< 18"), stage=BEFORE_MODEL)])
    assert policy.required(["age_in_years", "foreign_worker"]) == {
        "age_in_years": "Required by the credit policy: rule \u201cMinor\u201d (MINOR) tests it."
    }


def test_jdm_export_imports_back_the_same_rules():
    rules = [*defaults.RULES, rule("TWO", REFER, ("credit_amount", "[1..9]"), ("purpose", '"business"'))]
    assert from_jdm(json.loads(json.dumps(to_jdm(rules)))) == rules


def test_a_decision_model_of_another_shape_is_refused_clearly():
    document = to_jdm(defaults.RULES)
    document["nodes"][1]["content"]["hitPolicy"] = "first"
    with pytest.raises(PolicyRejected, match="collect"):
        from_jdm(document)
    with pytest.raises(PolicyRejected, match="exactly one decision table"):
        from_jdm({"nodes": []})
