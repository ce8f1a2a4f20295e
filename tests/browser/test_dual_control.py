"""Dual control in the browser: an override above the officer's limit waits for the demo credit manager."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from scoring.decisions import services
from scoring.models import OverrideApproval, Review
from tests.browser.conftest import NARROW, screenshot
from tests.support.accessibility import axe_findings, install_axe
from tests.support.applications import inputs_by_decision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "creditscore-demo"


@pytest.fixture
def tab(browser, monkeypatch):
    """A desktop tab checked by axe on every page it loads (axe needs the CSP bypassed to add its styles)."""
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    install_axe(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def demo_users(settings, live_active_version):
    settings.DEMO_MODE = True
    call_command("create_demo_users", stdout=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def log_out(page) -> None:
    page.get_by_role("button", name=re.compile("Log out", re.I)).click()


def test_an_override_above_the_limit_waits_until_the_demo_manager_approves_it(tab, live_server, demo_users):
    page = tab
    officer = get_user_model().objects.get(username="officer")
    prediction = services.score_application(
        user=officer, inputs=inputs_by_decision()["decline"], channel="web", external_ref="LN-2026-0777"
    )
    assert prediction.decision == "decline" and prediction.probability > settings.OVERRIDE_PD_LIMIT

    # The officer overrides the decline: beyond their authority, it waits.
    log_in(page, live_server, "officer")
    assert axe_findings(page) == []
    page.goto(live_server.url + reverse("scoring:prediction-detail", args=[prediction.pk]))
    page.get_by_label("Override: approve instead").check()
    page.select_option("#id_reason_code", "collateral")
    page.fill("#id_justification", "Parent signed a guarantee for the full amount.")
    page.get_by_role("button", name="Record review").click()
    expect(page.locator(".message")).to_contain_text("waits for a credit manager's approval")
    card = page.locator("section.decision")
    expect(card.get_by_role("heading", level=2)).to_have_text("Pending approval")
    expect(card).to_contain_text("Model: Decline, PD 75.3%")
    # No control to approve it, nor to review again.
    expect(page.get_by_role("button", name="Approve the change")).to_have_count(0)
    expect(page.locator("form.review-form")).to_have_count(0)
    assert axe_findings(page) == []
    screenshot(page, "decision-pending-1280")

    # A forged POST as the officer is refused.
    forged = Client()
    forged.force_login(officer)
    response = forged.post(reverse("scoring:override-approve", args=[prediction.pk]), {"note": "Approving my own."})
    assert response.status_code == 403
    assert OverrideApproval.objects.count() == 0

    # The queue page passes axe too.
    page.goto(live_server.url + reverse("scoring:referral-queue"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral queue")
    assert axe_findings(page) == []
    log_out(page)

    # The demo manager finds it on their home page and approves it with a note.
    log_in(page, live_server, "manager")
    waiting = page.locator("section", has=page.get_by_role("heading", name=re.compile("waiting for your approval")))
    expect(waiting).to_contain_text("LN-2026-0777")
    assert axe_findings(page) == []
    waiting.get_by_role("link", name="LN-2026-0777").click()
    page.get_by_role("button", name="Approve the change").click()
    expect(page.locator("#approval-errors")).to_contain_text("Write a note")
    expect(page.locator("#id_note")).to_be_focused()
    page.fill("#id_note", "Guarantee verified with the parent's bank.")
    page.get_by_role("button", name="Approve the change").click()
    expect(page.locator(".message")).to_have_text("The change was approved.")
    expect(card.get_by_role("heading", level=2)).to_have_text("Approve")
    expect(card).to_contain_text("Decided by Olivia Officer")
    expect(card).to_contain_text("approved by Mia Manager")
    expect(page.locator("ol.review-history")).to_contain_text("Guarantee verified with the parent's bank.")
    assert axe_findings(page) == []
    review = Review.objects.get()
    assert (review.needs_approval, review.approval.user.username, review.approval.approved) == (True, "manager", True)
    page.set_viewport_size(NARROW)
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    screenshot(page, "decision-approved-360")


def test_the_referral_queue_fits_a_phone_and_passes_axe(browser, monkeypatch, live_server, demo_users):
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    officer = get_user_model().objects.get(username="officer")
    for i in range(3):
        services.score_application(
            user=officer,
            inputs=inputs_by_decision()["refer"],
            channel="web",
            external_ref=f"LOAN-2026-LONG-REF-{i:04d}",
        )
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    install_axe(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, live_server, "officer2")
        expect(
            page.locator("section", has=page.get_by_role("heading", name=re.compile("Needs your decision")))
        ).to_contain_text("3")
        page.get_by_role("link", name="See all 3 in the referral queue").click()
        expect(page.locator("tbody tr")).to_have_count(3)
        assert axe_findings(page) == []
        page.get_by_role("button", name="Take LOAN-2026-LONG-REF-0000").click()
        expect(page.locator("tbody tr").first).to_contain_text("You")
        assert axe_findings(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "referral-queue-390")
    finally:
        context.close()
