"""POST /api/v1/outcomes: 201 when stored, 200 when unchanged or replayed, 400 for shapes, 409 for rules, 403."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from scoring.models import LoanOutcome, OutcomeUpload

URL = "/api/v1/outcomes"
TODAY = timezone.localdate().isoformat()


def post(api, body, **headers):
    return api.post(URL, json.dumps(body), content_type="application/json", **headers)


def test_it_stores_outcomes_with_201_and_unchanged_ones_with_200(auditor_api, decisions):
    body = {
        "outcomes": [
            {"decision_id": decisions[0].pk, "outcome": "repaid", "observed_on": TODAY},
            {"external_ref": "LOAN-2", "outcome": "defaulted", "observed_on": TODAY, "days_past_due": 120},
        ]
    }

    first = post(auditor_api, body)
    again = post(auditor_api, body)

    assert first.status_code == 201, first.content
    upload = OutcomeUpload.objects.get()
    assert first.json() == {"rows": 2, "stored": 2, "corrected": 0, "unchanged": 0, "upload": upload.pk}
    assert upload.source == "api" and LoanOutcome.objects.filter(source="api").count() == 2
    assert again.status_code == 200 and again.json()["unchanged"] == 2 and again.json()["upload"] is None
    assert LoanOutcome.objects.count() == 2


def test_a_correction_with_a_reason_is_a_201(model_admin_api, decisions):
    row = {"decision_id": decisions[0].pk, "outcome": "defaulted", "observed_on": TODAY}
    post(model_admin_api, {"outcomes": [row]})

    refused = post(model_admin_api, {"outcomes": [row | {"outcome": "repaid"}]})
    corrected = post(model_admin_api, {"outcomes": [row | {"outcome": "repaid", "reason": "Reported in error."}]})

    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "reason"
    assert corrected.status_code == 201 and corrected.json()["corrected"] == 1


def test_rule_errors_of_a_well_formed_body_are_a_409_listing_every_row(auditor_api, decisions):
    body = {
        "outcomes": [
            {"decision_id": decisions[0].pk, "outcome": "repaid", "observed_on": TODAY},
            {"external_ref": "DUP", "outcome": "repaid", "observed_on": TODAY},
            {"decision_id": 987654, "outcome": "withdrawn", "observed_on": "2999-01-01", "days_past_due": 3},
        ]
    }

    response = post(auditor_api, body)

    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith(":invalid-outcomes") and "nothing was stored" in problem["detail"]
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [
        (2, "external_ref"),
        (3, "decision_id"),
        (3, "observed_on"),
        (3, "days_past_due"),
    ]
    assert not LoanOutcome.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"outcomes": []},
        {"outcomes": [{"decision_id": 1, "outcome": "Repaid", "observed_on": TODAY}]},
        {"outcomes": [{"decision_id": 1, "outcome": "repaid", "observed_on": "2025-1-5"}]},
        {"outcomes": [{"decision_id": 1, "outcome": "repaid", "observed_on": TODAY, "days_past_due": 1.0}]},
        {"outcomes": [{"decision_id": 1, "outcome": "repaid", "observed_on": TODAY, "days_past_due": "3"}]},
        {"outcomes": [{"decision_id": "1", "outcome": "repaid", "observed_on": TODAY}]},
        {"outcomes": [{"decision_id": 1, "outcome": "repaid", "observed_on": TODAY, "colour": "red"}]},
        {"outcomes": [{"decision_id": 1, "observed_on": TODAY}]},
        {"outcomes": "repaid"},
    ],
)
def test_a_body_the_schema_refuses_is_a_400_naming_the_field(auditor_api, decisions, body):
    response = post(auditor_api, body)

    assert response.status_code == 400, response.content
    assert response.json()["errors"]
    assert not LoanOutcome.objects.exists()


def test_more_rows_than_the_limit_are_a_400(auditor_api, decisions, settings):
    from scoring.api.outcomes import OutcomesRequestSerializer

    row = {"decision_id": decisions[0].pk, "outcome": "repaid", "observed_on": TODAY}
    limit = OutcomesRequestSerializer().fields["outcomes"].max_length
    assert limit == settings.OUTCOMES_MAX_ROWS == 10_000

    response = post(auditor_api, {"outcomes": [row] * (limit + 1)})

    assert response.status_code == 400
    assert "no more than 10000" in response.json()["errors"]["outcomes.non_field_errors"][0]


def test_officers_get_a_403(officer_api, decisions):
    row = {"decision_id": decisions[0].pk, "outcome": "repaid", "observed_on": TODAY}

    response = post(officer_api, {"outcomes": [row]})

    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert not LoanOutcome.objects.exists()


def test_an_idempotency_key_replays_the_answer_and_refuses_another_body(auditor_api, decisions):
    row = {"decision_id": decisions[0].pk, "outcome": "repaid", "observed_on": TODAY}
    first = post(auditor_api, {"outcomes": [row]}, HTTP_IDEMPOTENCY_KEY="outcomes-june")

    replay = post(auditor_api, {"outcomes": [row]}, HTTP_IDEMPOTENCY_KEY="outcomes-june")
    other = post(
        auditor_api, {"outcomes": [row | {"decision_id": decisions[1].pk}]}, HTTP_IDEMPOTENCY_KEY="outcomes-june"
    )

    assert first.status_code == 201
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert other.status_code == 409 and other.json()["type"].endswith(":idempotency-key-reused")
    assert LoanOutcome.objects.count() == 1


def test_the_schema_states_the_row_fields_and_limits(auditor_api, active_version):
    schema = auditor_api.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]

    operation = schema["paths"]["/api/v1/outcomes"]["post"]
    assert {"200", "201", "400", "403", "409"} <= set(operation["responses"])
    row = components["OutcomeRowRequest"]
    assert row["additionalProperties"] is False
    assert row["properties"]["observed_on"] == {
        "type": "string",
        "format": "date",
        "description": row["properties"]["observed_on"]["description"],
    }
    assert set(components["LoanOutcomeEnum"]["enum"]) == set(LoanOutcome.Outcome.values)
    assert components["OutcomesRequest"]["properties"]["outcomes"]["maxItems"] == 10_000
