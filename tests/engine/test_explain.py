"""Reasons from SHAP values: coded statements, one per code, at most four for a decline, none that lowered risk."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scoring.engine.explain import ReasonWriter
from scoring.engine.schema import Feature
from tests.support import DEFAULT_BUNDLE


def _feature(name: str, code: str, *, kind: str = "integer", unit: str = "", choices=()) -> Feature:
    return Feature.from_metadata(
        {
            "name": name,
            "kind": kind,
            "label": name.capitalize(),
            "unit": unit,
            "choices": [{"value": v, "label": lbl} for v, lbl in choices],
            "reasons": {
                "raises": {"code": code, "statement": f"{name} raised"},
                "lowers": {"code": f"{code}_OK", "statement": f"{name} lowered"},
            },
        }
    )


# Two features share the code OBLIGATIONS, as instalments and other credits do in the German model.
FEATURES = [
    _feature("amount", "AMOUNT", unit="DM"),
    _feature("instalment", "OBLIGATIONS"),
    _feature("other_credits", "OBLIGATIONS"),
    _feature("savings", "SAVINGS", kind="categorical", choices=[("low", "Under 100 DM"), ("high", "1,000 DM or more")]),
    _feature("duration", "DURATION", unit="months"),
    _feature("residence", "RESIDENCE"),
]
WRITER = ReasonWriter(FEATURES)
COLUMNS = [
    np.array([2500, 9000]),
    np.array([3, 4]),
    np.array([1, 2]),
    np.array(["low", "high"], dtype=object),
    np.array([12, 48]),
    np.array([1, 4]),
]
# Row 0: other_credits (0.9) and instalment (0.8) share a code; savings lowered the risk (-1.5).
# Row 1: only two features raised the risk.
CONTRIBUTIONS = np.array(
    [
        [0.5, 0.8, 0.9, -1.5, 0.3, 0.2],
        [0.4, -0.1, -0.2, -0.3, 0.6, -0.05],
    ]
)


def test_a_decline_gives_at_most_four_reasons_one_per_code_strongest_first_never_a_lowering_one():
    rows = WRITER.objects(CONTRIBUTIONS, COLUMNS, ["decline", "decline"], 4)
    first = rows[0]
    assert [r.feature for r in first] == ["other_credits", "amount", "duration", "residence"]
    assert [r.code for r in first] == ["OBLIGATIONS", "AMOUNT", "DURATION", "RESIDENCE"]
    assert first[0].statement == "other_credits raised"
    assert first[1].sentence == "amount raised \u2014 2,500 DM"
    assert [r.feature for r in rows[1]] == ["duration", "amount"]
    assert all(r.contribution > 0 for row in rows for r in row)


def test_other_decisions_keep_the_strongest_pushes_either_way_with_their_direction_statement():
    rows = WRITER.objects(CONTRIBUTIONS, COLUMNS, ["refer", "approve"], 4)
    assert [r.feature for r in rows[0]] == ["savings", "other_credits", "amount", "duration"]
    savings = rows[0][0]
    assert (savings.code, savings.statement) == ("SAVINGS_OK", "savings lowered")
    assert savings.sentence == "savings lowered \u2014 Under 100 DM"
    assert savings.value == "low"  # the stored value, not its label
    assert [r.code for r in rows[1]] == ["DURATION", "AMOUNT", "SAVINGS_OK", "OBLIGATIONS_OK"]


@pytest.mark.parametrize("count", [1, 4, 6])
def test_the_fast_path_writes_exactly_the_json_of_the_objects(count):
    rng = np.random.default_rng(3)
    contributions = rng.normal(size=(300, len(FEATURES)))
    columns = [np.repeat(c, 150) for c in COLUMNS]
    decisions = rng.choice(["decline", "refer", "approve"], size=300)
    objects = WRITER.objects(contributions, columns, decisions, count)
    lines = WRITER.json_lines(contributions, columns, decisions, count)
    assert lines == [json.dumps([r.as_dict() for r in row]) for row in objects]
    assert all(len({r.code for r in row}) == len(row) <= count for row in objects)


def test_the_bundled_models_declines_read_as_applicant_statements():
    from scoring.engine import load_bundle

    model = load_bundle(DEFAULT_BUNDLE)
    frame = pd.read_csv(DEFAULT_BUNDLE / "validation_sample.csv")
    scores = model.score_frame(model.validate_frame(frame).valid)
    statements = {f.raises[1] for f in model.features}
    declined = [r for r in scores.reasons if r is not None]
    assert declined and all(1 <= len(row) <= 4 for row in declined)
    for row in declined:
        assert len({r.code for r in row}) == len(row)
        assert all(r.statement in statements and r.contribution > 0 for r in row)
        assert [r.contribution for r in row] == sorted((r.contribution for r in row), reverse=True)
