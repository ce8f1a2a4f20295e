"""An officer watches a batch job in headless Chromium: the bar and counters move by polling, then the summary."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from scoring.batch import jobs, worker
from scoring.models import BatchJob
from tests.browser.conftest import screenshot
from tests.browser.test_officer_flow import log_in
from tests.support.batch_files import csv_bytes, synthetic_frame

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_job_page_follows_the_work_and_ends_with_the_summary(
    page, live_server, officer, live_active_version, settings
):
    settings.BATCH_CHUNK_ROWS = 1000
    # Queued but not run: the test plays the worker, one chunk at a time, while the page polls.
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = jobs.submit_batch_job(
            user=officer, upload=SimpleUploadedFile("portfolio.csv", csv_bytes(synthetic_frame(3000)))
        )
    chunks = list(job.chunks.order_by("pk").values_list("pk", flat=True))
    assert len(chunks) == 3

    log_in(page, live_server, "officer")
    page.goto(f"{live_server.url}/batches/{job.pk}/")
    progress = page.locator("#batch-progress")
    expect(progress).to_contain_text(re.compile(r"0 of 3,000 rows\s+\(0\.0%\)"))
    expect(progress).to_contain_text("Waiting for a worker")  # no worker holds a chunk yet: no ETA
    expect(page.locator("[data-hide-when-js]")).to_be_hidden()  # JavaScript polls; no refresh hint

    with mock.patch.object(worker.process_batch_chunk, "delay"):  # the next chunks stay queued
        worker.process_chunk(chunk_id=chunks[0])
    # The counters change without a reload, in the page's own number format.
    expect(progress.locator("[data-field=rows_done]")).to_have_text("1,000", timeout=10_000)
    expect(progress.locator("[data-field=percent]")).to_have_text("33.3")
    assert page.locator("progress").evaluate("el => el.value") == 1000
    expect(progress.locator("[data-field=rows_per_second]")).to_have_text(re.compile(r"^[0-9,]+$"))
    screenshot(page, "batch-progress-running")

    with mock.patch.object(worker.process_batch_chunk, "delay"):
        for pk in chunks[1:]:
            worker.process_chunk(chunk_id=pk)
    # Finished: the page reloads itself into the summary and the result link.
    expect(page.get_by_role("heading", name="Summary")).to_be_visible(timeout=10_000)
    expect(progress).to_contain_text("Succeeded")
    expect(progress).to_contain_text(re.compile(r"3,000 of 3,000 rows\s+\(100\.0%\) ·\s+scored 3,000 ·\s+rejected 0"))
    expect(progress).to_contain_text(re.compile(r"took [0-9.]+ s"))
    # The summary names decisions and rates as every page does.
    expect(page.locator("main")).to_contain_text(re.compile(r"Approval rate: [0-9]+\.[0-9]%"))
    expect(page.locator("table.batch-table").first).to_contain_text(re.compile(r"Approve|Refer|Decline"))
    expect(page.get_by_role("link", name="Download the result CSV")).to_be_visible()
    screenshot(page, "batch-progress-finished")
    assert BatchJob.objects.get(pk=job.pk).rows_scored == 3000
