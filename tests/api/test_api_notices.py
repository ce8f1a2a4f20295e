"""POST/GET /api/v1/predictions/{id}/notice: issue a notice for a final decline, read the latest as JSON or PDF."""

from __future__ import annotations

import io
import json

import jsonschema
import pytest
from pypdf import PdfReader

from accounts.models import AccessEvent
from scoring.models import AdverseActionNotice
from tests.support.applications import decided

BODY = {"applicant_name": "Anna Schmidt", "applicant_address": "Hauptstrasse 5\n10115 Berlin"}
PROBLEM = "application/problem+json"


def url(prediction) -> str:
    return f"/api/v1/predictions/{prediction.pk}/notice"


@pytest.fixture
def declined(officer, active_version):
    return decided(officer, "decline")


@pytest.fixture
def notice_schema(officer_api, active_version):
    schema = json.loads(officer_api.get("/api/v1/schema/?format=json").content)
    components = schema["components"]["schemas"]
    # The components refer to each other by "#/components/schemas/...": resolve them in the same document.
    return {**components["Notice"], "components": {"schemas": components}}


def test_an_officer_issues_a_notice_and_gets_it_back_as_json(officer_api, declined, notice_schema):
    response = officer_api.post(url(declined), BODY, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    jsonschema.validate(body, notice_schema)
    assert body["applicant"] == {"name": "Anna Schmidt", "address": ["Hauptstrasse 5", "10115 Berlin"]}
    assert body["reasons"] == [r["statement"] for r in declined.reasons][:4]
    assert body["action"].endswith("has been declined.")
    assert body["links"]["pdf"].endswith(f"/notices/{body['id']}.pdf")
    assert AdverseActionNotice.objects.get().sha256 == body["sha256"]
    assert not AccessEvent.objects.filter(kind="notice_downloaded").exists()  # issuing is not a re-download


def test_reading_the_latest_notice_as_json_and_as_pdf_is_logged(officer_api, auditor_api, declined, notice_schema):
    officer_api.post(url(declined), BODY, format="json")
    latest = officer_api.post(url(declined), {**BODY, "applicant_name": "Anna Schmidt-Weber"}, format="json").json()

    as_json = auditor_api.get(url(declined))
    by_format = officer_api.get(url(declined), {"format": "pdf"})
    by_accept = auditor_api.get(url(declined), HTTP_ACCEPT="application/pdf")

    assert as_json.status_code == 200
    jsonschema.validate(as_json.json(), notice_schema)
    assert as_json.json()["id"] == latest["id"]
    for response in (by_format, by_accept):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
        assert "Anna Schmidt-Weber" in text
    logged = AccessEvent.objects.filter(kind="notice_downloaded")
    assert sorted(logged.values_list("username", flat=True)) == ["auditor", "auditor", "officer"]


def test_it_is_a_409_problem_when_the_decision_is_not_a_final_decline(officer, officer_api, active_version):
    approved = decided(officer, "approve")

    response = officer_api.post(url(approved), BODY, format="json")

    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    assert "not a final decline" in response.json()["detail"]
    assert not AdverseActionNotice.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"applicant_address": "Street 1"}, "applicant_name"),
        ({"applicant_name": "Anna"}, "applicant_address"),
        ({**BODY, "applicant_name": "A" * 201}, "applicant_name"),
        ({**BODY, "applicant_name": "Anna\u0007"}, "applicant_name"),
        ({**BODY, "applicant_address": "   "}, "applicant_address"),
        ({**BODY, "applicant_address": "\n".join(["x"] * 9)}, "applicant_address"),
        ({**BODY, "colour": "red"}, "colour"),
    ],
)
def test_bad_details_are_a_400_problem_naming_the_field(officer_api, declined, body, field):
    response = officer_api.post(url(declined), body, format="json")

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    assert field in response.json()["errors"]


def test_it_is_a_404_problem_when_no_notice_was_issued_or_the_case_is_not_visible(
    officer_api, other_officer_api, declined
):
    assert officer_api.get(url(declined)).status_code == 404
    officer_api.post(url(declined), BODY, format="json")
    for response in (
        other_officer_api.get(url(declined)),
        other_officer_api.post(url(declined), BODY, format="json"),
        officer_api.get("/api/v1/predictions/99999999/notice"),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM


def test_auditors_read_but_do_not_issue_and_model_admins_do_neither(auditor_api, model_admin_api, declined):
    assert auditor_api.post(url(declined), BODY, format="json").status_code == 403
    assert model_admin_api.get(url(declined)).status_code == 403
    assert not AdverseActionNotice.objects.exists()


def test_an_unknown_format_is_a_400_naming_it(officer_api, declined):
    officer_api.post(url(declined), BODY, format="json")

    response = officer_api.get(url(declined), {"format": "xml"})

    assert response.status_code == 400
    assert "format" in response.json()["errors"]
