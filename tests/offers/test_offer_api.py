"""GET /api/v1/predictions/{id}/alternatives and POST /api/v1/score with counter_offer_of."""

from __future__ import annotations

import pytest

from scoring.decisions import services
from scoring.models import Channel, Prediction
from tests.offers.cases import declines
from tests.support.applications import decided


def alternatives_url(prediction) -> str:
    return f"/api/v1/predictions/{prediction.pk}/alternatives"


@pytest.fixture
def original(officer, active_version):
    prediction = services.score_application(user=officer, inputs=declines()["with_offers"], channel=Channel.API)
    assert prediction.decision == "decline"
    return prediction


def test_alternatives_of_your_own_decline(officer_api, original, active_version):
    response = officer_api.get(alternatives_url(original))
    assert response.status_code == 200
    body = response.json()
    assert body["prediction"] == original.pk and body["decision"] == "decline"
    assert body["model_version"]["id"] == active_version.pk
    assert 1 <= len(body["alternatives"]) <= 3
    for alternative in body["alternatives"]:
        assert alternative["decision"] == "approve"
        assert set(alternative["terms"]) == {c["feature"] for c in alternative["changes"]}
        assert set(alternative["terms"]) <= {"credit_amount", "duration_in_month", "other_debtors_or_guarantors"}
        for change in alternative["changes"]:
            assert change["before"] == original.features[change["feature"]]
            assert " instead of " in change["text"]


def test_taking_an_offer_up_through_the_api_records_a_linked_decision(officer_api, original):
    before = Prediction.objects.filter(pk=original.pk).values().get()
    terms = officer_api.get(alternatives_url(original)).json()["alternatives"][0]["terms"]
    response = officer_api.post(
        "/api/v1/score", {"inputs": {**original.inputs, **terms}, "counter_offer_of": original.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["counter_offer_of"] == original.pk and body["decision"] == "approve"
    assert Prediction.objects.get(pk=body["id"]).counter_offer_of_id == original.pk
    assert Prediction.objects.filter(pk=original.pk).values().get() == before
    assert officer_api.get(f"/api/v1/predictions/{original.pk}").json()["counter_offer_of"] is None


def test_another_officers_decision_is_not_found_and_cannot_be_linked(other_officer_api, original):
    assert other_officer_api.get(alternatives_url(original)).status_code == 404
    response = other_officer_api.post(
        "/api/v1/score", {"inputs": original.inputs, "counter_offer_of": original.pk}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["detail"] == f"counter_offer_of: no decision #{original.pk} that you may see."
    assert not Prediction.objects.filter(counter_offer_of=original).exists()


@pytest.mark.parametrize("value", ["1", 1.0, True])
def test_counter_offer_of_takes_a_json_integer_only(officer_api, original, value):
    response = officer_api.post("/api/v1/score", {"inputs": original.inputs, "counter_offer_of": value}, format="json")
    assert response.status_code == 400
    assert "counter_offer_of" in response.json()["errors"]


def test_the_auditor_reads_alternatives_too(auditor_api, original):
    assert auditor_api.get(alternatives_url(original)).status_code == 200


def test_an_approved_decision_gets_an_empty_list_and_the_reason(officer_api, officer, active_version):
    approved = decided(officer, "approve")
    response = officer_api.get(alternatives_url(approved))
    assert response.status_code == 200
    body = response.json()
    assert body["alternatives"] == [] and body["model_version"] is None
    assert body["message"] == "The model approved this application: there is nothing to offer instead."


def test_a_decline_with_nothing_within_the_limits_says_so(officer_api, officer, active_version):
    hopeless = services.score_application(user=officer, inputs=declines()["without_offers"], channel=Channel.API)
    body = officer_api.get(alternatives_url(hopeless)).json()
    assert body["alternatives"] == []
    assert body["message"].startswith("No alternative within the limits: no change of loan duration, loan amount or")


def test_an_unknown_decision_is_a_problem_404(officer_api, active_version):
    response = officer_api.get("/api/v1/predictions/999999/alternatives")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
