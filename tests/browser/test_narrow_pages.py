"""Pages at a phone's width (390 px) and a desktop's: no sideways page scroll, no serious axe finding."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from scoring.batch import jobs, worker
from scoring.decisions import services
from scoring.lifecycle import registry
from scoring.models import Prediction
from scoring.monitoring import reports
from tests.browser.conftest import screenshot
from tests.browser.test_officer_flow import log_in
from tests.support.accessibility import axe_check, axe_findings, install_axe, settle
from tests.support.batch_files import csv_bytes, synthetic_frame

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(params=[PHONE, DESKTOP], ids=["390px", "1280px"])
def tab(browser, monkeypatch, request):
    """A tab at each width, checked by axe. Console errors are not collected: a rejected upload answers 400."""
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    context = browser.new_context(viewport=request.param)
    install_axe(context)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    settle(tab)
    context.close()


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


# The innermost elements that stick out past the right edge: what to fix when a page is too wide.
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 1 && ![...e.children].some(
    c => c.getBoundingClientRect().right > innerWidth + 1) && !e.closest('.table-wrap'))
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ': ' + e.textContent.slice(0, 40))"""


def _measure(page, name: str, widths: dict) -> None:
    assert axe_findings(page) == [], name
    width = _page_width(page)
    screen = page.viewport_size["width"]
    widths[name] = width if width <= screen else (width, page.evaluate(STICKING_OUT))
    if width > screen:
        screenshot(page, f"too-wide-{screen}-{name.replace(' ', '-')}")


def _widths(page, pages: dict[str, str]) -> dict[str, int]:
    """How wide each page lays out; a screenshot of each one wider than the screen, to look at."""
    widths = {}
    for name, url in pages.items():
        page.goto(url)
        page.wait_for_load_state()
        _measure(page, name, widths)
    return widths


def _too_wide(widths: dict) -> dict:
    return {name: width for name, width in widths.items() if not isinstance(width, int)}


def _score_a_few(officer) -> list[Prediction]:
    inputs = registry.get_active().model.example_inputs()
    # Long references are what officers type; they must wrap or scroll inside the table, not widen the page.
    return [
        services.score_application(
            user=officer, inputs=inputs, channel="web", external_ref=f"LOAN-2026-LONG-REFERENCE-{i:04d}"
        )
        for i in range(3)
    ]


def test_officer_batch_pages_fit_the_screen(tab, live_server, officer, live_active_version):
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        jobs.submit_batch_job(
            user=officer,
            upload=SimpleUploadedFile("a-portfolio-with-a-rather-long-file-name.csv", csv_bytes(synthetic_frame(20))),
        )
    log_in(tab, live_server, "officer")
    widths = _widths(
        tab, {"batch list": f"{live_server.url}/batches/", "batch upload": f"{live_server.url}/batches/new/"}
    )
    tab.set_input_files("#id_file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a csv"}])
    tab.click("main button[type=submit]")
    tab.wait_for_load_state()
    assert tab.locator(".errors").count() >= 1
    _measure(tab, "batch upload with errors", widths)
    assert _too_wide(widths) == {}


def test_auditor_pages_fit_the_screen(tab, live_server, officer, auditor, live_active_version):
    prediction = _score_a_few(officer)[0]
    reports.create_drift_report()  # the monitoring page then has its PSI and fairness tables too
    log_in(tab, live_server, "auditor")
    widths = _widths(
        tab,
        {
            "audit list": f"{live_server.url}/audit/predictions/",
            "audit detail": f"{live_server.url}/audit/predictions/{prediction.pk}/",
            "model timeline": f"{live_server.url}/audit/models/",
            "access log": f"{live_server.url}/audit/access/",
            "monitoring": f"{live_server.url}/monitoring/",
        },
    )
    assert tab.locator("table.psi").count() == 1  # the monitoring page was measured with its tables
    assert _too_wide(widths) == {}


def test_hub_load_form_fits_the_screen(tab, live_server, model_admin, live_active_version):
    log_in(tab, live_server, "modeladmin")
    widths = _widths(
        tab,
        {
            "Hub load form": f"{live_server.url}/admin/scoring/modelversion/load/",
            "model versions": f"{live_server.url}/admin/scoring/modelversion/",
            "model version": f"{live_server.url}/admin/scoring/modelversion/{live_active_version.pk}/change/",
        },
    )
    assert _too_wide(widths) == {}


def test_axe_fails_a_page_on_a_serious_finding(tab):
    # The check itself: a list item outside a list (role="alert" on the <ul>) is what the upload page had.
    html = '<html lang="en"><title>t</title><main><ul role="alert"><li>Missing column</li></ul></main></html>'
    tab.route("http://axe.test/", lambda route: route.fulfill(body=html, content_type="text/html"))
    tab.goto("http://axe.test/")
    findings = axe_findings(tab)
    assert any(f.startswith("axe listitem (serious)") for f in findings), findings
    assert axe_check(tab) == findings  # run again on demand, as the every-page walk does at each width
