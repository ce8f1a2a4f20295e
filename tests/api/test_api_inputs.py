"""The API scores inputs exactly as sent, or refuses them naming the field: JSON types and repeated keys."""

from __future__ import annotations

import json

import pytest

from scoring.models import Prediction
from tests.support.applications import inputs_by_decision

PROBLEM = "application/problem+json"


def _post_raw(client, path: str, body: str):
    return client.generic("POST", path, body.encode(), content_type="application/json")


def _inputs_json(inputs: dict, **replacements: str) -> str:
    """The inputs object as JSON text, with some values replaced by raw JSON (to send what dumps never writes)."""
    parts = [f"{json.dumps(k)}: {replacements.get(k, json.dumps(v))}" for k, v in inputs.items()]
    return "{" + ", ".join(parts) + "}"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("credit_amount", "999,99"),  # once scored as 99999
        ("credit_amount", "1500,5"),  # once scored as 15005
        ("duration_in_month", "2,5"),  # once scored as 25
        ("duration_in_month", "12"),  # even a plain number: the schema says integer, not string
        ("credit_amount", "1_2"),
        ("credit_amount", "1e3"),
        ("credit_amount", "\u0661\u0665\u0660\u0660"),  # Arabic-Indic 1500
        ("credit_amount", "\uff11\uff15\uff10\uff10"),  # full-width 1500
    ],
)
def test_a_string_for_a_number_is_a_400_naming_the_field(officer_api, active_version, example_inputs, field, value):
    response = officer_api.post("/api/v1/score", {"inputs": example_inputs | {field: value}}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["errors"] == {
        f"inputs.{field}": ["Expected a whole number, not a string: send a JSON number, without quotes."]
    }
    assert not Prediction.objects.exists()


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_a_number(officer_api, active_version, example_inputs, value):
    response = officer_api.post(
        "/api/v1/score", {"inputs": example_inputs | {"duration_in_month": value}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"inputs.duration_in_month": ["Expected a whole number, not true or false."]}
    assert not Prediction.objects.exists()


def test_a_protected_attribute_given_as_a_string_is_refused_too(officer_api, active_version, example_inputs):
    response = officer_api.post("/api/v1/score", {"inputs": example_inputs | {"age_in_years": "40"}}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["inputs.age_in_years"]


def test_a_fraction_for_a_whole_number_is_refused_not_cut(officer_api, active_version, example_inputs):
    response = officer_api.post("/api/v1/score", {"inputs": example_inputs | {"duration_in_month": 2.5}}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"inputs.duration_in_month": ["Expected a whole number."]}


def test_the_response_echoes_the_numbers_that_were_scored(officer_api, active_version, example_inputs):
    body = _inputs_json(example_inputs, credit_amount="2500.0", duration_in_month="24")
    response = _post_raw(officer_api, "/api/v1/score", f'{{"inputs": {body}}}')

    assert response.status_code == 201, response.json()
    stored = Prediction.objects.get()
    assert stored.features["credit_amount"] == 2500 and stored.features["duration_in_month"] == 24
    assert response.json()["inputs"]["credit_amount"] == stored.features["credit_amount"]
    assert response.json()["inputs"]["duration_in_month"] == stored.features["duration_in_month"]


def test_score_many_refuses_strings_item_by_item(officer_api, active_version, example_inputs):
    applications = [
        {"inputs": example_inputs | {"credit_amount": "999,99"}},
        {"inputs": example_inputs | {"credit_amount": 999}},
    ]

    response = officer_api.post("/api/v1/score/many", {"applications": applications}, format="json")

    body = response.json()
    assert (body["scored"], body["rejected"]) == (1, 1)
    assert list(body["results"][0]["errors"]) == ["inputs.credit_amount"]
    assert Prediction.objects.get().features["credit_amount"] == 999


# --- repeated keys ----------------------------------------------------------------


def test_a_key_repeated_inside_inputs_is_a_400_naming_it(officer_api, active_version, example_inputs):
    inputs = _inputs_json(example_inputs)[:-1] + ', "credit_amount": 9000}'

    response = _post_raw(officer_api, "/api/v1/score", f'{{"inputs": {inputs}}}')

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["errors"] == {
        "inputs.credit_amount": ["This key is given more than once; give each key once."]
    }
    assert not Prediction.objects.exists()


def test_a_repeated_top_level_key_is_a_400_naming_it(officer_api, active_version, example_inputs):
    inputs = _inputs_json(example_inputs)

    response = _post_raw(
        officer_api, "/api/v1/score", f'{{"external_ref": "A", "inputs": {inputs}, "external_ref": "B"}}'
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["external_ref"]
    assert not Prediction.objects.exists()


def test_a_repeated_key_in_any_item_of_score_many_refuses_the_request(officer_api, active_version, example_inputs):
    good = _inputs_json(example_inputs)
    repeated = good[:-1] + ', "duration_in_month": 6}'
    items = [f'{{"inputs": {good}}}', f'{{"inputs": {good}, "external_ref": "x", "external_ref": "y"}}']
    items.append(f'{{"inputs": {repeated}}}')

    response = _post_raw(officer_api, "/api/v1/score/many", f'{{"applications": [{", ".join(items)}]}}')

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert sorted(response.json()["errors"]) == [
        "applications.1.external_ref",
        "applications.2.inputs.duration_in_month",
    ]
    assert not Prediction.objects.exists()


def test_a_repeated_key_is_refused_on_every_json_endpoint(officer_api, active_version):
    approved = officer_api.post("/api/v1/score", {"inputs": inputs_by_decision()["approve"]}, format="json").json()
    assert approved["decision"] == "approve"

    response = _post_raw(
        officer_api, f"/api/v1/predictions/{approved['id']}/reviews", '{"outcome": "decline", "outcome": "agree"}'
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["outcome"]
    assert not Prediction.objects.get().reviews.exists()
