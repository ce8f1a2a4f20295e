"""The notice pages: the officer's form for a final decline, the notice as issued (page and PDF), the audit trail."""

from __future__ import annotations

import io

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import AccessEvent
from scoring.decisions import services as decision_services
from scoring.models import AdverseActionNotice
from tests.support.applications import decided

FORM = {"applicant_name": "Anna Schmidt", "applicant_address": "Hauptstrasse 5\r\n10115 Berlin"}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_url(prediction) -> str:
    return reverse("scoring:notice-new", args=[prediction.pk])


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def declined(officer, active_version):
    return decided(officer, "decline")


def test_the_decision_page_offers_the_notice_for_a_final_decline_only(officer, declined):
    client = client_for(officer)
    approved = decided(officer, "approve")

    offered = soup(client.get(reverse("scoring:prediction-detail", args=[declined.pk])))
    not_offered = soup(client.get(reverse("scoring:prediction-detail", args=[approved.pk])))

    assert offered.find("a", href=form_url(declined)).get_text(strip=True) == "Produce adverse-action notice"
    assert not_offered.find("a", href=form_url(approved)) is None
    assert "Adverse-action notice" not in not_offered.get_text()


def test_an_override_to_approve_takes_the_offer_away_and_the_form_refuses_with_409(officer, declined):
    decision_services.record_review(
        user=officer, prediction=declined, outcome="approve", reason_code="collateral", justification="House pledged."
    )
    client = client_for(officer)

    page = soup(client.get(reverse("scoring:prediction-detail", args=[declined.pk])))
    refused = client.post(form_url(declined), FORM)

    assert page.find("a", href=form_url(declined)) is None
    assert refused.status_code == 409
    assert "only produced for a final decline" in soup(refused).get_text()
    assert not AdverseActionNotice.objects.exists()


def test_form_errors_are_listed_in_a_summary_and_next_to_each_field(officer, declined):
    response = client_for(officer).post(form_url(declined), {"applicant_name": "", "applicant_address": "A\tB"})

    assert response.status_code == 200
    page = soup(response)
    summary = page.find(id="error-summary")
    links = [a["href"] for a in summary.find_all("a")]
    assert links == ["#id_applicant_name", "#id_applicant_address"]
    assert page.find(id="id_applicant_name")["aria-invalid"] == "true"
    assert "printable characters only" in page.find(id="id_applicant_address_error").get_text()
    assert page.find(id="id_applicant_address").get_text().strip("\n") == "A\tB"  # what was typed is kept
    assert not AdverseActionNotice.objects.exists()


def test_issuing_shows_the_notice_once_without_logging_then_each_opening_is_logged(officer, auditor, declined):
    client = client_for(officer)

    response = client.post(form_url(declined), FORM, follow=True)

    notice = AdverseActionNotice.objects.get()
    assert response.redirect_chain == [(reverse("scoring:notice-detail", args=[notice.pk]), 302)]
    letter = soup(response).find("article", class_="notice-letter")
    text = letter.get_text(" ", strip=True)
    for expected in (
        "Creditscore Demo Bank",
        "Anna Schmidt",
        "10115 Berlin",
        "has been declined",
        "human intervention",
    ):
        assert expected in text
    assert [li.get_text(strip=True) for li in letter.find_all("li")] == [r["statement"] for r in declined.reasons]
    first_pdf = client.get(reverse("scoring:notice-pdf", args=[notice.pk]))
    assert not AccessEvent.objects.filter(kind="notice_downloaded").exists()

    client.get(reverse("scoring:notice-detail", args=[notice.pk]))
    client.get(reverse("scoring:notice-pdf", args=[notice.pk]))
    client_for(auditor).get(reverse("scoring:notice-pdf", args=[notice.pk]))

    events = AccessEvent.objects.filter(kind="notice_downloaded").order_by("id")
    assert [(e.username, e.path) for e in events] == [
        ("officer", f"/notices/{notice.pk}/"),
        ("officer", f"/notices/{notice.pk}.pdf"),
        ("auditor", f"/notices/{notice.pk}.pdf"),
    ]
    assert first_pdf["Content-Type"] == "application/pdf"


def test_the_pdf_holds_the_lender_applicant_reasons_and_statutory_text(officer, declined, settings):
    settings.LENDER_NAME = "Musterbank AG"
    settings.ADVERSE_ACTION_STATUTORY_TEXT = "You have the right to contest this decision at our office."
    client = client_for(officer)
    client.post(form_url(declined), FORM)
    notice = AdverseActionNotice.objects.get()

    response = client.get(reverse("scoring:notice-pdf", args=[notice.pk]))

    assert response.content.startswith(b"%PDF")
    assert f"adverse-action-notice-{declined.pk}-{notice.pk}.pdf" in response["Content-Disposition"]
    text = " ".join(pdf_text(response.content).split())
    for expected in ("Musterbank AG", "Anna Schmidt", "Hauptstrasse 5", "10115 Berlin", *notice.content["reasons"]):
        assert expected in text
    assert "You have the right to contest this decision at our office." in text


def test_a_re_download_reproduces_the_notice_as_issued_after_settings_change(officer, declined, settings):
    client = client_for(officer)
    client.post(form_url(declined), FORM)
    notice = AdverseActionNotice.objects.get()
    settings.LENDER_NAME = "Renamed Bank plc"

    page = soup(client.get(reverse("scoring:notice-detail", args=[notice.pk])))

    assert "Creditscore Demo Bank" in page.find("article").get_text()
    assert "Renamed Bank plc" not in page.get_text()


@pytest.mark.parametrize(("persona", "status"), [("other_officer", 404), ("auditor", 403), ("model_admin", 404)])
def test_only_the_officer_of_the_case_opens_the_form(request, declined, persona, status):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(form_url(declined)).status_code == status
    assert client.post(form_url(declined), FORM).status_code in (status, 403)
    assert not AdverseActionNotice.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("other_officer", 404), ("auditor", 200), ("model_admin", 404)])
def test_who_may_open_an_issued_notice(request, officer, declined, persona, status):
    client_for(officer).post(form_url(declined), FORM)
    notice = AdverseActionNotice.objects.get()
    client = client_for(request.getfixturevalue(persona))

    for name in ("scoring:notice-detail", "scoring:notice-pdf"):
        assert client.get(reverse(name, args=[notice.pk])).status_code == status


def test_the_audit_detail_lists_the_notice_with_links_and_the_access_log_names_the_event(officer, auditor, declined):
    client_for(officer).post(form_url(declined), FORM)
    notice = AdverseActionNotice.objects.get()
    auditor_client = client_for(auditor)

    page = soup(auditor_client.get(reverse("audit:prediction-detail", args=[declined.pk])))
    section = page.find(id="notices-title").parent
    auditor_client.get(reverse("scoring:notice-detail", args=[notice.pk]))
    log = soup(auditor_client.get(reverse("audit:access-log")))

    assert "Anna Schmidt" in section.get_text()
    assert notice.sha256[:12] in section.get_text()
    hrefs = {a["href"] for a in section.find_all("a")}
    assert hrefs == {
        reverse("scoring:notice-detail", args=[notice.pk]),
        reverse("scoring:notice-pdf", args=[notice.pk]),
    }
    assert "Opened an issued adverse-action notice" in log.get_text()
