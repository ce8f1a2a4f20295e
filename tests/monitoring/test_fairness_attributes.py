"""Fairness tables follow the active bundle's protected attributes, not the German-credit ones."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from scoring.monitoring.replay import chunk_groups
from scoring.monitoring.reports import ATTRIBUTES, fairness_attributes, fairness_from_rows
from tests.support import DEFAULT_BUNDLE


def test_the_german_bundle_keeps_its_derived_groups():
    protected = yaml.safe_load((DEFAULT_BUNDLE / "MLmodel").read_text())["metadata"]["protected_attributes"]
    assert fairness_attributes(protected) == list(ATTRIBUTES)


def test_another_bundles_categorical_attributes_are_grouped_by_value_and_plain_numbers_left_out():
    protected = [
        {"name": "nationality", "kind": "categorical", "label": "Nationality", "choices": ["domestic", "foreign"]},
        {"name": "household_size", "kind": "integer", "label": "Household size"},
    ]
    attributes = fairness_attributes(protected)
    assert attributes == [("nationality", "Nationality")]
    rows = [({"nationality": "domestic"}, "approve"), ({"nationality": "foreign"}, "decline"), ({}, "approve")]
    (table,) = fairness_from_rows(rows, min_group=1, attributes=attributes)
    assert {g.name: (g.count, g.approved) for g in table.groups} == {"domestic": (1, 1), "foreign": (1, 0)}
    assert table.not_recorded == 1


@pytest.mark.parametrize(
    "rows",
    [
        [{"sex": "f", "age_in_years": 24, "nation": "x"}, {"sex": "m", "age_in_years": 25}, {}, {"sex": ""}],
        [{"sex": None, "age_in_years": "31"}, {"sex": "f", "age_in_years": None}, {"sex": 3, "age_in_years": 70}],
        [{"age_in_years": 24.0}, {"age_in_years": True, "sex": False}, {"nation": 1}, {"nation": 2}],
    ],
    ids=["text and numbers", "mixed kinds", "numbers where text is expected"],
)
def test_a_chunks_groups_from_its_frame_are_those_from_its_recorded_values(rows):
    """A replay labels groups from the chunk's frame where it can (text, or numbers for the age): the labels must be
    those the recorded values give one by one."""
    attributes = [("sex", "Sex"), ("age_in_years", "Age"), ("nation", "Nation")]
    frame = pd.DataFrame.from_records(rows, columns=[name for name, _ in attributes])
    from_frame = chunk_groups(attributes, rows, frame)
    one_by_one = chunk_groups(attributes, rows)
    assert from_frame.keys() == one_by_one.keys()
    for name in one_by_one:
        assert from_frame[name].tolist() == one_by_one[name].tolist(), name
