"""The credit policy decides with the model in every channel: form, API one and many, batch; and the notice."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from scoring.audit import exports
from scoring.batch import jobs
from scoring.decisions import selectors, services
from scoring.engine.policy import AFTER_MODEL, BEFORE_MODEL, Condition, Rule
from scoring.engine.schema import APPROVE, DECLINE, REFER
from scoring.lifecycle import registry
from scoring.models import BatchRowError, Channel, Prediction
from scoring.notices import services as notice_services
from scoring.policy import services as policy_services
from tests.support.applications import as_post, inputs_by_decision
from tests.support.batch_files import csv_bytes

KNOCK_OUT = "The amount requested is above this product's maximum."
REFERRAL = "The amount requested needs a credit officer's review."


def activate(rules, name="Test policy"):
    model = registry.get_active().model
    version = policy_services.create_version(name=name, rules=rules, user=None, model=model)
    policy_services.activate(version, user=None, model=model)
    version.refresh_from_db()
    return version


@pytest.fixture
def approved_inputs(active_version):
    inputs = dict(inputs_by_decision()[APPROVE])
    model = registry.get_active().model
    assert model.score_one(model.validate(inputs).features).decision == APPROVE  # the model alone approves it
    return inputs


@pytest.fixture
def knock_out(approved_inputs):
    """Declines exactly the approved example: its amount, and above."""
    amount = approved_inputs["credit_amount"]
    rule = Rule(
        code="AMOUNT_ABOVE_MAXIMUM",
        name=f"Amount of {amount:,} DM or more",
        statement=KNOCK_OUT,
        outcome=DECLINE,
        stage=BEFORE_MODEL,
        conditions=(Condition("credit_amount", f">= {amount}"),),
    )
    return activate([rule])


@pytest.fixture
def referral(approved_inputs):
    amount = approved_inputs["credit_amount"]
    rule = Rule(
        code="AMOUNT_NEEDS_REVIEW",
        name="Amount needs review",
        statement=REFERRAL,
        outcome=REFER,
        stage=AFTER_MODEL,
        conditions=(Condition("credit_amount", f">= {amount}"), Condition("risk_band", '"A", "B", "C"')),
    )
    return activate([rule])


def assert_knocked_out(prediction: Prediction, version) -> None:
    assert prediction.decision == DECLINE
    assert prediction.model_decision == APPROVE
    assert prediction.policy_version_id == version.pk
    assert prediction.policy_rules == ["AMOUNT_ABOVE_MAXIMUM"]
    assert prediction.deciding_rule == "AMOUNT_ABOVE_MAXIMUM"
    first = prediction.reasons[0]
    assert (first["code"], first["statement"], first["rule"]) == ("AMOUNT_ABOVE_MAXIMUM", KNOCK_OUT, True)
    assert len(prediction.reasons) <= 4


def test_a_knock_out_declines_in_the_form(client, officer, knock_out, approved_inputs):
    client.force_login(officer)
    page = BeautifulSoup(client.get(reverse("scoring:application-new")).content, "html.parser")
    token = page.find("input", {"name": "form_token"})["value"]
    response = client.post(reverse("scoring:application-new"), {**as_post(approved_inputs), "form_token": token})
    assert response.status_code == 302
    prediction = Prediction.objects.get()
    assert_knocked_out(prediction, knock_out)
    page = BeautifulSoup(client.get(response["Location"]).content, "html.parser")
    text = " ".join(page.get_text(" ").split())
    assert "Credit policy decision" in text
    assert f"Rule {knock_out.rules.get().name} of the credit policy decided. The model alone: Approve." in text
    assert page.select_one("ol.reasons li").get_text(" ", strip=True).startswith(KNOCK_OUT)
    assert "Test policy #" in text


def test_a_knock_out_declines_in_the_api(officer_api, knock_out, approved_inputs):
    response = officer_api.post("/api/v1/score", {"inputs": approved_inputs}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["decision"], body["model_decision"], body["deciding_rule"]) == (
        DECLINE,
        APPROVE,
        "AMOUNT_ABOVE_MAXIMUM",
    )
    assert body["policy_version"] == knock_out.pk and body["policy_rules"] == ["AMOUNT_ABOVE_MAXIMUM"]
    assert body["reasons"][0]["statement"] == KNOCK_OUT and body["reasons"][0]["rule"] is True
    assert body["reasons"][0]["contribution"] is None
    assert all(r["rule"] is False for r in body["reasons"][1:])
    assert_knocked_out(Prediction.objects.get(pk=body["id"]), knock_out)


def test_a_knock_out_declines_in_score_many(officer_api, knock_out, approved_inputs):
    other = dict(approved_inputs, credit_amount=approved_inputs["credit_amount"] - 1)
    response = officer_api.post(
        "/api/v1/score/many", {"applications": [{"inputs": approved_inputs}, {"inputs": other}]}, format="json"
    )
    assert response.status_code == 200, response.content
    first, second = (r["prediction"] for r in response.json()["results"])
    assert_knocked_out(Prediction.objects.get(pk=first["id"]), knock_out)
    assert first["reasons"][0]["statement"] == KNOCK_OUT
    assert second["deciding_rule"] is None and second["policy_rules"] == []
    assert Prediction.objects.get(pk=second["id"]).policy_version_id == knock_out.pk


def test_a_knock_out_declines_in_a_batch(officer, knock_out, approved_inputs, django_capture_on_commit_callbacks):
    import pandas as pd

    rows = pd.DataFrame([approved_inputs, dict(approved_inputs, credit_amount=approved_inputs["credit_amount"] - 1)])
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("p.csv", csv_bytes(rows)))
    job.refresh_from_db()
    assert job.policy_version_id == knock_out.pk
    first, second = Prediction.objects.filter(batch_job=job).order_by("row_number")
    assert first.channel == Channel.BATCH
    assert_knocked_out(first, knock_out)
    assert (second.decision, second.deciding_rule, second.policy_rules) == (APPROVE, "", [])


def test_a_referral_rule_turns_an_approval_into_a_referral(officer_api, referral, approved_inputs):
    body = officer_api.post("/api/v1/score", {"inputs": approved_inputs}, format="json").json()
    assert (body["decision"], body["model_decision"], body["deciding_rule"]) == (REFER, APPROVE, "AMOUNT_NEEDS_REVIEW")
    assert body["reasons"][0]["statement"] == REFERRAL
    # The referral goes to the queue like any other.
    prediction = Prediction.objects.get(pk=body["id"])
    assert prediction.decision == REFER


def test_the_knock_out_is_the_first_reason_on_the_adverse_action_notice(officer, knock_out, approved_inputs):
    prediction = services.score_application(user=officer, inputs=approved_inputs, channel=Channel.WEB)
    notice = notice_services.issue_notice(
        user=officer, prediction=prediction, applicant_name="Ada Applicant", applicant_address="1 High Street"
    )
    assert notice.content["reasons"][0] == KNOCK_OUT


def test_the_audit_page_and_export_show_the_policy(client, auditor, officer, knock_out, approved_inputs):
    prediction = services.score_application(user=officer, inputs=approved_inputs, channel=Channel.WEB)
    client.force_login(auditor)
    page = BeautifulSoup(
        client.get(f"/audit/predictions/{prediction.pk}/").content,
        "html.parser",
    )
    text = " ".join(page.get_text(" ").split())
    assert f"#{knock_out.pk} Test policy" in text and "Model's own decision Approve" in text
    assert "AMOUNT_ABOVE_MAXIMUM" in text
    rows = list(exports.csv_lines(selectors.prediction_list(user=auditor)))
    header = rows[0].decode().strip().split(",")
    import csv

    line = next(csv.reader([rows[1].decode()]))
    cells = dict(zip(header, line, strict=True))
    assert (cells["decision"], cells["model_decision"], cells["deciding_rule"]) == (
        DECLINE,
        APPROVE,
        "AMOUNT_ABOVE_MAXIMUM",
    )
    assert (cells["policy_version"], cells["policy_rules"]) == (str(knock_out.pk), "AMOUNT_ABOVE_MAXIMUM")


def test_a_protected_attribute_a_rule_tests_is_required(
    officer, officer_api, approved_inputs, django_capture_on_commit_callbacks
):
    import pandas as pd

    activate(
        [
            Rule(
                code="UNDER_AGE",
                name="Under 18",
                statement="Below the age of majority.",
                outcome=DECLINE,
                stage=BEFORE_MODEL,
                conditions=(Condition("age_in_years", "< 18"),),
                legal_basis="Contractual capacity.",
            )
        ]
    )
    without_age = {k: v for k, v in approved_inputs.items() if k != "age_in_years"}
    response = officer_api.post("/api/v1/score", {"inputs": without_age}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["inputs.age_in_years"] == [
        "Required by the credit policy: rule \u201cUnder 18\u201d (UNDER_AGE) tests it."
    ]
    frame = pd.DataFrame([approved_inputs, dict(approved_inputs, age_in_years="")])
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("a.csv", csv_bytes(frame)))
    assert Prediction.objects.filter(batch_job=job).count() == 1
    error = BatchRowError.objects.get(job=job)
    assert error.row_number == 2 and "UNDER_AGE" in json.dumps(error.errors)


def test_without_a_live_policy_the_model_decides_alone(officer, approved_inputs):
    prediction = services.score_application(user=officer, inputs=approved_inputs, channel=Channel.WEB)
    assert (prediction.decision, prediction.model_decision, prediction.policy_version_id) == (APPROVE, APPROVE, None)
    assert prediction.policy_rules == [] and prediction.deciding_rule == ""


def test_the_input_schema_and_example_require_what_the_policy_tests(officer_api, active_version):
    from scoring.policy import defaults

    activate(list(defaults.RULES))
    active = officer_api.get("/api/v1/models/active").json()
    assert active["input_schema"]["required"][-1] == "age_in_years"
    assert active["input_example"]["age_in_years"] >= 18
    response = officer_api.post("/api/v1/score", {"inputs": active["input_example"]}, format="json")
    assert response.status_code == 201, response.content
