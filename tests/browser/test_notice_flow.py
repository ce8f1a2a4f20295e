"""An officer declines an application, produces its adverse-action notice (page and PDF), and the auditor finds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import AccessEvent
from scoring.decisions import services
from scoring.models import AdverseActionNotice, Prediction
from scoring.notices import services as notices
from tests.browser.conftest import screenshot
from tests.browser.test_narrow_pages import STICKING_OUT
from tests.browser.test_officer_flow import fill_application, log_in
from tests.support.accessibility import axe_findings, install_axe
from tests.support.applications import inputs_by_decision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def statement(reason: dict) -> str:
    """What an applicant is told for a stored reason: its statement, or the sentence of older rows."""
    return reason.get("statement") or reason["sentence"]


def test_an_officer_produces_a_notice_for_a_decline_and_the_auditor_finds_it(
    page, browser, live_server, officer, auditor, live_active_version, settings
):
    settings.LENDER_NAME = "Musterbank AG"
    settings.LENDER_ADDRESS = "Bankplatz 1, 60311 Frankfurt am Main"
    log_in(page, live_server, "officer")
    page.get_by_role("link", name="New application").first.click()
    page.click("#id_external_ref")
    page.keyboard.type("LN-2026-0777")
    fill_application(page, inputs_by_decision()["decline"])
    page.get_by_role("button", name="Score application").click()

    # The decision: a decline with its four principal reasons.
    expect(page).to_have_url(re.compile(r"/predictions/\d+/$"))
    prediction = Prediction.objects.get()
    expect(page.locator("section.decision").get_by_role("heading", level=2)).to_have_text("Decline")
    expect(page.locator("ol.reasons li")).to_have_count(4)
    statements = [statement(r) for r in prediction.reasons]
    assert len(statements) == 4

    # The form: an empty submit lists both fields, then the applicant's details as typed.
    page.get_by_role("link", name="Produce adverse-action notice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Produce an adverse-action notice")
    page.get_by_role("button", name="Issue the notice").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary li")).to_have_count(2)
    page.get_by_label("Applicant's name").fill("Anna Schmidt")
    page.get_by_label("Applicant's postal address").fill("Hauptstrasse 5\n10115 Berlin")
    page.get_by_role("button", name="Issue the notice").click()

    # The notice as issued: lender header, date, applicant, action, reasons as statements, rights.
    notice = AdverseActionNotice.objects.get()
    expect(page).to_have_url(re.compile(rf"/notices/{notice.pk}/$"))
    letter = page.locator("article.notice-letter")
    expect(letter.locator(".lender-name")).to_have_text("Musterbank AG")
    expect(letter.locator(".recipient")).to_contain_text("Anna Schmidt")
    expect(letter.locator(".recipient")).to_contain_text("10115 Berlin")
    expect(letter.locator(".letter-action")).to_have_text(
        f"Your application for a loan of {prediction.features['credit_amount']:,} DM over "
        f"{prediction.features['duration_in_month']} months has been declined."
    )
    expect(letter.locator("ol.letter-reasons li")).to_have_text(statements)
    expect(letter).to_contain_text("human intervention")
    screenshot(page, "notice-1280")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(download.value.path()).pages).split())
    for expected in ("Musterbank AG", "Bankplatz 1", "Anna Schmidt", "10115 Berlin", *statements):
        assert expected in text
    assert "contest the decision" in text
    assert not AccessEvent.objects.filter(kind="notice_downloaded").exists()  # still the issue itself

    # The decision page now links the notice.
    page.get_by_role("link", name="Back to the decision").click()
    expect(page.get_by_role("link", name=f"view notice {notice.pk}")).to_be_visible()

    # The auditor finds it on the decision's audit page and opens it (a re-download, logged).
    auditor_context = browser.new_context(viewport=DESKTOP)
    auditor_tab = auditor_context.new_page()
    log_in(auditor_tab, live_server, "auditor")
    auditor_tab.goto(f"{live_server.url}/audit/predictions/{prediction.pk}/")
    section = auditor_tab.locator("section", has=auditor_tab.get_by_role("heading", name="Adverse-action notices"))
    expect(section).to_contain_text("Anna Schmidt")
    expect(section).to_contain_text(notice.sha256[:12])
    section.get_by_role("link", name=f"View notice {notice.pk}").click()
    expect(auditor_tab.locator("article.notice-letter ol.letter-reasons li")).to_have_text(statements)
    auditor_context.close()
    assert list(AccessEvent.objects.filter(kind="notice_downloaded").values_list("username", flat=True)) == ["auditor"]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_notice_pages_pass_axe_and_fit_the_screen(
    browser, monkeypatch, live_server, officer, auditor, live_active_version, viewport
):
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    prediction = services.score_application(user=officer, inputs=inputs_by_decision()["decline"], channel="web")
    notice = notices.issue_notice(
        user=officer, prediction=prediction, applicant_name="Anna Schmidt", applicant_address="Hauptstrasse 5"
    )
    # axe adds <style> elements while it checks; the app's CSP would refuse them (the test above runs with it).
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    install_axe(context)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    log_in(tab, live_server, "officer")
    pages = {
        "decision": f"/predictions/{prediction.pk}/",
        "notice form": f"/predictions/{prediction.pk}/notice/",
        "notice": f"/notices/{notice.pk}/",
    }
    for name, path in pages.items():
        tab.goto(live_server.url + path)
        tab.wait_for_load_state()
        assert axe_findings(tab) == [], name
        assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
    tab.goto(live_server.url + pages["notice form"])  # and the form with its errors
    tab.get_by_role("button", name="Issue the notice").click()
    tab.wait_for_load_state()
    assert axe_findings(tab) == [], "notice form with errors"
    context.close()

    # The auditor's decision page with its notices table.
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    install_axe(context)
    tab = context.new_page()
    log_in(tab, live_server, "auditor")
    tab.goto(f"{live_server.url}/audit/predictions/{prediction.pk}/")
    tab.wait_for_load_state()
    assert axe_findings(tab) == [], "audit detail"
    assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"], tab.evaluate(STICKING_OUT)
    context.close()
