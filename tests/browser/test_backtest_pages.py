"""A backtest's page follows its run: progress put in place while it runs, then the report, without a reload
by the reader and without a meta refresh (the script reads the page again; <noscript> keeps the refresh)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scoring.backtests import services
from scoring.models import Decision
from tests.browser.test_officer_flow import log_in
from tests.support.applications import decided

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_queued_backtest_page_shows_the_report_once_a_worker_has_run_it(
    page, live_server, officer, model_admin, live_active_version
):
    for decision in Decision.values:
        decided(officer, decision)
    today = timezone.localdate()
    with mock.patch.object(services.run_backtest, "delay"):  # no worker yet: it waits in the queue
        queued = services.request_backtest(
            model_version=live_active_version, user=model_admin, date_from=today, date_to=today
        )
    log_in(page, live_server, "modeladmin")
    page.goto(f"{live_server.url}/monitoring/backtests/{queued.pk}/")
    box = page.locator("[data-follow-progress]")
    expect(box).to_be_visible()
    assert page.locator("meta[http-equiv=refresh]").count() == 0  # only inside <noscript>, not parsed with scripts
    expect(page.locator("#decisions-h")).to_have_count(0)

    services.run(backtest_id=queued.pk)  # a worker runs it meanwhile

    expect(page.locator("#decisions-h")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-follow-progress]")).to_have_count(0)
