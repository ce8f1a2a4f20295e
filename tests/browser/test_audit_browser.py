"""The auditor pages and Django admin in headless Chromium: they work under the CSP, with no violations."""

from __future__ import annotations

import pytest
from django.db import connections

from scoring.decisions import services
from tests.support.accessibility import axe_findings, from_axe_itself, install_axe, settle

pytestmark = pytest.mark.browser


@pytest.fixture
def tab(browser, monkeypatch):
    """A tab of the session's Chromium (tests/browser/conftest.py); console errors and warnings collected."""
    # Live-server request threads should close their PostgreSQL sessions after each request.
    # New threads' connections read ConnectionHandler.settings, a copy made once, not settings.DATABASES.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    context = browser.new_context()
    install_axe(context)  # each page's serious axe findings are console errors too
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: _note(page, m))
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    yield page
    settle(page)
    context.close()


def _note(page, message) -> None:
    # Every console error counts, a missing icon too (/favicon.ico answers, with a redirect to ours).
    if message.type in ("error", "warning") and not from_axe_itself(message):
        page.problems.append(f"{message.text} ({message.location.get('url')})")


def _log_in(tab, live_server, username):
    tab.goto(f"{live_server.url}/accounts/login/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", "a-long-test-password")
    tab.click("main button[type=submit]")  # not the language switcher in the top bar
    tab.wait_for_load_state()


def test_auditor_filters_pages_and_opens_a_decision_without_csp_violations(
    tab, live_server, auditor, officer, example_inputs
):
    for i in range(3):
        services.score_application(user=officer, inputs=example_inputs, channel="web", external_ref=f"REF-{i}")
    _log_in(tab, live_server, "auditor")
    tab.click("text=Audit")
    assert tab.locator("h1").inner_text() == "Decision history"
    assert tab.locator(".audit-table tbody tr").count() == 3
    tab.fill("#id_external_ref", "REF-1")
    tab.click("button:has-text('Filter')")
    assert tab.locator(".audit-table tbody tr").count() == 1
    # The page's stylesheet applied (a CSP block would leave the summary unstyled).
    assert tab.locator(".audit-summary").evaluate("e => getComputedStyle(e).display") == "flex"
    tab.click(".audit-table tbody a")
    assert "REF-1" in tab.locator("main").inner_text()
    tab.goto(f"{live_server.url}/audit/models/")
    tab.goto(f"{live_server.url}/audit/access/")
    assert "Logged in" in tab.locator("main").inner_text()
    assert axe_findings(tab) == []
    assert tab.problems == []


def test_model_admin_uses_django_admin_under_the_csp(tab, live_server, model_admin, active_version):
    _log_in(tab, live_server, "modeladmin")
    tab.goto(f"{live_server.url}/admin/scoring/modelversion/")
    assert "german-credit" in tab.locator("#result_list").inner_text()
    tab.click("#result_list tbody a")
    tab.wait_for_load_state()
    assert active_version.sha256[:12] in tab.content()
    tab.goto(f"{live_server.url}/admin/scoring/modelactivation/")
    assert axe_findings(tab) == []
    assert tab.problems == []
