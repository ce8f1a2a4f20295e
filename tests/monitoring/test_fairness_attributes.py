"""Fairness tables follow the active bundle's protected attributes, not the German-credit ones."""

from __future__ import annotations

import yaml

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
