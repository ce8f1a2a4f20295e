"""Browser test: the monitoring page in headless Chromium, with a few weeks of history; saves screenshots."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from scoring.models import DailyStat, DailyTotal, DriftReport
from scoring.monitoring import reports
from tests.support.monitoring_data import holdout_frame, record_population

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


def _history(officer, version):
    """Three weeks of daily counts and weekly drift reports, drifting in the last week."""
    today = timezone.localdate()
    for back in range(21):
        day = today - timedelta(days=back)
        volume = 40 + (back * 7) % 23
        approved = int(volume * (0.45 - (0.12 if back < 5 else 0)))
        for decision, count, band in (("approve", approved, "A"), ("decline", volume - approved, "D")):
            counts = {
                "day": day,
                "model_version": version,
                "channel": "web",
                "decision": decision,
                "risk_band": band,
                "count": count,
                "probability_sum": count * (0.08 if decision == "approve" else 0.35),
                "reviewed": count // 4,
                "overridden": 1 + back % 3,
                f"final_{decision}": count,
            }
            DailyStat.objects.create(user=officer, **counts)
            DailyTotal.objects.create(**counts)  # one officer: all officers' totals are the same
    stable = holdout_frame(1)
    shifted = stable.copy()
    shifted["duration_in_month"] = (shifted["duration_in_month"] + 24).clip(upper=72)
    shifted["credit_amount"] = shifted["credit_amount"] * 4
    women = stable["personal_status_and_sex"].str.startswith("female").tolist()
    # Decisions are never updated (append-only), so reports are computed as the population grows
    # and only the reports are dated back: two weeks stable, then two with shifted applications mixed in.
    for weeks_ago, frame in ((3, stable), (2, None), (1, shifted), (0, None)):
        if frame is not None:
            record_population(officer, frame, decide=lambda i, w=women: "decline" if w[i] and i % 3 else "approve")
        report = reports.create_drift_report()
        DriftReport.objects.filter(pk=report.pk).update(created_at=timezone.now() - timedelta(days=7 * weeks_ago))


@pytest.fixture
def history(officer, active_version):
    _history(officer, active_version)


@pytest.fixture
def browser_page(browser):
    """Requested after the database fixtures; a tab of the session's Chromium with JavaScript off."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_monitoring_page_in_a_browser(auditor, history, live_server, browser_page):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("main button[type=submit]")
    page.goto(f"{live_server.url}/monitoring/")

    assert page.locator("h1").inner_text() == "Model monitoring"
    assert page.locator("svg.chart").count() >= 21
    assert page.locator("table.psi tr.row-act").count() >= 2
    assert page.get_by_text("below four-fifths").count() >= 1
    # The stylesheet applied (charts styled by class, not inline): a bar has the CSS fill.
    assert page.locator("svg.chart .bar").first.evaluate("e => getComputedStyle(e).fill") == "rgb(107, 155, 209)"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "monitoring-top.png"))
    page.screenshot(path=str(ARTIFACTS / "monitoring-full.png"), full_page=True)
    page.locator("#fairness").screenshot(path=str(ARTIFACTS / "monitoring-fairness.png"))
    assert (ARTIFACTS / "monitoring-full.png").stat().st_size > 50_000
