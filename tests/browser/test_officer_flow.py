"""An officer in headless Chromium: log in, score an application, read the decision, override it, find it again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from scoring.models import Prediction, Review
from tests.browser.conftest import NARROW, screenshot
from tests.support.applications import inputs_by_decision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.click("#id_username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Welcome|Bienvenue"))


def fill_application(page, inputs: dict[str, object]) -> None:
    """Selects with the mouse, numbers typed with the keyboard."""
    for name, value in inputs.items():
        field = page.locator(f"[name='{name}']")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.click()
            field.select_option(str(value))
        else:
            field.click()
            page.keyboard.press("Control+A")
            page.keyboard.type(str(value))


def test_an_officer_scores_reads_the_reasons_and_overrides(page, live_server, officer, live_active_version, settings):
    settings.OVERRIDE_PD_LIMIT = 1.0  # within the officer's authority (tests/browser/test_dual_control.py: above it)
    log_in(page, live_server, "officer")
    page.get_by_role("link", name="New application").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New application")
    screenshot(page, "application-form-1280")

    # The reference is typed after tabbing into it from the page; the rest filled field by field.
    page.click("#id_external_ref")
    page.keyboard.type("LN-2026-0042")
    inputs = dict(inputs_by_decision()["decline"])
    fill_application(page, inputs | {"credit_amount": 50})
    page.get_by_role("button", name="Score application").click()

    # A bad value: error next to the field, everything typed kept, nothing recorded.
    expect(page.locator("#error-summary")).to_contain_text("Please correct 1 field")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#id_credit_amount_error")).to_have_text(re.compile("Must be at least 100 DM"))
    expect(page.locator("#id_credit_amount")).to_have_value("50")
    expect(page.locator("#id_external_ref")).to_have_value("LN-2026-0042")
    expect(page.locator("#id_purpose")).to_have_value(str(inputs["purpose"]))
    assert Prediction.objects.count() == 0
    screenshot(page, "application-form-errors-1280")

    page.click("#id_credit_amount")
    page.keyboard.press("Control+A")
    page.keyboard.type(str(inputs["credit_amount"]))
    page.keyboard.press("Enter")  # submit from the keyboard

    expect(page).to_have_url(re.compile(r"/predictions/\d+/$"))
    prediction = Prediction.objects.get()
    banner = page.locator("section.decision")
    expect(banner.get_by_role("heading", level=2)).to_have_text("Decline")
    expect(banner).to_contain_text(f"{prediction.probability * 100:.1f}%")
    expect(banner).to_contain_text(prediction.risk_band)
    reasons = page.locator("ol.reasons li")
    expect(reasons).to_have_count(min(4, len(prediction.reasons)))
    expect(reasons.first).to_have_text(prediction.reasons[0]["sentence"])
    expect(page.locator("svg.gauge-bar")).to_be_visible()
    screenshot(page, "decision-1280")

    # Override with the mouse, justify with the keyboard.
    page.get_by_label("Override: approve instead").check()
    page.select_option("#id_reason_code", "collateral")
    page.click("#id_justification")
    page.keyboard.type("Parent signed a guarantee for the full amount.")
    page.get_by_role("button", name="Record review").click()
    expect(page.locator(".message")).to_have_text("Your review was recorded.")
    expect(page.locator("ol.review-history")).to_contain_text("Parent signed a guarantee for the full amount.")
    expect(banner.get_by_role("heading", level=2)).to_have_text("Approve")
    expect(banner).to_contain_text("overrides the model")
    expect(banner).to_contain_text("Model: Decline")
    review = Review.objects.get()
    assert (review.final_decision, review.overridden, review.reason_code) == ("approve", True, "collateral")
    screenshot(page, "decision-reviewed-1280")
    page.get_by_role("link", name="Printable view").click()
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("form.review-form")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    screenshot(page, "decision-print-1280")
    page.get_by_role("link", name="Back to the full page").click()

    page.get_by_role("link", name="My decisions").first.click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("LN-2026-0042")
    expect(row).to_contain_text("override")
    expect(row.locator(".badge-approve")).to_be_visible()
    screenshot(page, "my-decisions-1280")

    page.set_viewport_size(NARROW)
    screenshot(page, "my-decisions-360")
    row.get_by_role("link").first.click()
    screenshot(page, "decision-360")
    page.goto(live_server.url + "/applications/new/")
    screenshot(page, "application-form-360")
    # Nothing wider than the screen at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]


def test_a_double_click_on_submit_makes_one_decision(page, live_server, officer, live_active_version):
    log_in(page, live_server, "officer")
    page.goto(live_server.url + "/applications/new/")
    fill_application(page, inputs_by_decision()["refer"])
    page.get_by_role("button", name="Score application").dblclick()
    expect(page).to_have_url(re.compile(r"/predictions/\d+/$"))
    expect(page.locator("section.decision")).to_contain_text("Needs your decision")
    page.reload()  # and a refresh of the result does not score again either
    expect(page.locator("section.decision")).to_be_visible()
    assert Prediction.objects.count() == 1
    page.goto(live_server.url + "/")
    expect(page.locator("#referrals-title")).to_contain_text("Needs your decision")
    screenshot(page, "home-1280")


def test_the_pages_work_from_the_keyboard_alone(page, live_server, officer, live_active_version):
    log_in(page, live_server, "officer")
    # The first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    # Tabbing from the top reaches the New application link and Enter follows it.
    page.goto(live_server.url + "/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "New application":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("New application")
