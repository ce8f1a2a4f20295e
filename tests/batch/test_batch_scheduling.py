"""Chunk scheduling and recovery: jobs take turns, a dead worker's chunk comes back within a lease,
and a chunk that keeps failing fails its job with the reason instead of running for ever."""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from scoring.batch import jobs, worker
from scoring.batch import rows as batch_rows
from scoring.models import BatchChunk, BatchJob, Prediction
from tests.support.batch_files import csv_bytes, synthetic_frame


def _submit(user, rows: int) -> BatchJob:
    return jobs.submit_batch_job(user=user, upload=SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(rows))))


def _sent(delay) -> list[int]:
    return [call.args[0] for call in delay.call_args_list]


def _chunk_ids(job: BatchJob) -> list[int]:
    return list(job.chunks.order_by("index").values_list("pk", flat=True))


@pytest.fixture
def clock():
    """Moves the clock forward without touching stored timestamps."""
    offset = [timedelta()]
    real_now = timezone.now

    def now():
        return real_now() + offset[0]

    with mock.patch("django.utils.timezone.now", now):
        yield lambda seconds: offset.__setitem__(0, offset[0] + timedelta(seconds=seconds))


@pytest.mark.django_db
def test_a_small_job_is_dispatched_before_the_rest_of_a_large_one(
    officer, other_officer, active_version, settings, django_capture_on_commit_callbacks
):
    settings.BATCH_CHUNK_ROWS = 10
    settings.BATCH_CHUNKS_IN_FLIGHT_PER_JOB = 2
    with mock.patch.object(worker.process_batch_chunk, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            large = _submit(other_officer, 200)  # 20 chunks, queued first
        with django_capture_on_commit_callbacks(execute=True):
            small = _submit(officer, 15)  # 2 chunks
        large_ids, small_ids = _chunk_ids(large), _chunk_ids(small)
        assert _sent(delay) == [*large_ids[:2], *small_ids]  # the large job holds two, not twenty
        worker.process_chunk(chunk_id=large_ids[0])  # one finishes: the next of the large job goes
        assert _sent(delay) == [*large_ids[:2], *small_ids, large_ids[2]]
        for chunk_id in small_ids:
            worker.process_chunk(chunk_id=chunk_id)
    small.refresh_from_db()
    assert small.state == BatchJob.State.SUCCEEDED  # done while 17 of the large job's chunks wait
    assert large.chunks.filter(state=BatchChunk.State.PENDING, enqueued_at__isnull=True).count() == 17


@pytest.mark.django_db
def test_waiting_jobs_take_turns_when_chunks_are_sent(officer, other_officer, active_version, settings):
    settings.BATCH_CHUNK_ROWS = 10
    settings.BATCH_CHUNKS_IN_FLIGHT_PER_JOB = 3
    with mock.patch.object(worker.process_batch_chunk, "delay", side_effect=worker.BROKER_ERRORS[0]("down")):
        large, small = _submit(other_officer, 100), _submit(officer, 20)
        assert worker.dispatch_chunks() == 0  # the broker is down: nothing is marked sent
    assert not BatchChunk.objects.filter(enqueued_at__isnull=False).exists()
    with mock.patch.object(worker.process_batch_chunk, "delay") as delay:
        assert jobs.sweep_batch_jobs() == 5
    large_ids, small_ids = _chunk_ids(large), _chunk_ids(small)
    assert _sent(delay) == [large_ids[0], small_ids[0], large_ids[1], small_ids[1], large_ids[2]]


@pytest.mark.django_db
def test_a_dead_workers_chunk_is_taken_back_when_its_lease_runs_out(client, officer, active_version, settings, clock):
    settings.BATCH_CHUNK_LEASE_SECONDS = 30
    with mock.patch.object(worker.process_batch_chunk, "delay") as delay:
        job = _submit(officer, 30)
        chunk = job.chunks.get()
        assert worker.claim_chunk(chunk.pk)  # a worker takes the chunk ... and is killed
        assert not worker.claim_chunk(chunk.pk)  # a second delivery leaves it to the lease holder
        client.force_login(officer)
        page = client.get(reverse("scoring:batch-detail", args=[job.pk]))
        assert b"Waiting for a worker" not in page.content and b"ETA" in page.content
        assert jobs.sweep_batch_jobs() == 0  # the lease still holds

        clock(31)
        page = client.get(reverse("scoring:batch-detail", args=[job.pk]))
        assert b"Waiting for a worker" in page.content and b"ETA" not in page.content
        api = APIClient()
        api.force_authenticate(officer)
        state = api.get(f"/api/v1/batch-jobs/{job.pk}").json()
        assert state["waiting_for_worker"] is True and state["activity"] == "Waiting for a worker"
        assert state["eta_seconds"] is None

        delay.reset_mock()
        assert jobs.sweep_batch_jobs() == 1
        assert _sent(delay) == [chunk.pk]
        chunk.refresh_from_db()
        assert (chunk.failures, chunk.leased_until) == (1, None)
        assert "stopped" in chunk.last_error
        worker.process_chunk(chunk_id=chunk.pk)
    job.refresh_from_db()
    assert job.state == BatchJob.State.SUCCEEDED
    assert Prediction.objects.filter(batch_job=job).count() == 30


@pytest.mark.django_db
def test_a_chunk_that_keeps_failing_fails_the_job_with_its_reason(client, officer, active_version, settings):
    settings.BATCH_CHUNK_MAX_ATTEMPTS = 3
    settings.BATCH_CHUNK_ROWS = 10
    boom = mock.patch.object(batch_rows, "score_chunk", side_effect=RuntimeError("the scorer ran out of memory"))
    with mock.patch.object(worker.process_batch_chunk, "delay") as delay:
        job = _submit(officer, 15)
        first, second = _chunk_ids(job)
        worker.process_chunk(chunk_id=second)  # a good chunk
        with boom:
            for attempt in range(1, 4):
                job.refresh_from_db()
                assert job.state in (BatchJob.State.QUEUED, BatchJob.State.RUNNING), attempt
                worker.process_chunk(chunk_id=first)
        delay.reset_mock()
        assert jobs.sweep_batch_jobs() == 0  # not sent again past the cap
        assert not delay.called
    job.refresh_from_db()
    assert job.state == BatchJob.State.FAILED and job.finished_at is not None
    assert "failed 3 time(s)" in job.error and "RuntimeError: the scorer ran out of memory" in job.error
    assert BatchChunk.objects.get(pk=first).attempts == 3
    client.force_login(officer)
    page = client.get(reverse("scoring:batch-detail", args=[job.pk]))
    assert b"the scorer ran out of memory" in page.content and b"Failed" in page.content
    api = APIClient()
    api.force_authenticate(officer)
    state = api.get(f"/api/v1/batch-jobs/{job.pk}").json()
    assert state["state"] == "failed" and "ran out of memory" in state["error"]
    assert state["rows_scored"] == 5  # the good chunk's rows are kept


@pytest.mark.django_db
def test_the_sweeper_gives_up_on_a_chunk_that_kills_its_workers(officer, active_version, settings, clock):
    settings.BATCH_CHUNK_MAX_ATTEMPTS = 2
    settings.BATCH_CHUNK_LEASE_SECONDS = 30
    with mock.patch.object(worker.process_batch_chunk, "delay") as delay:
        job = _submit(officer, 10)
        chunk = job.chunks.get()
        for _ in range(2):
            assert worker.claim_chunk(chunk.pk)  # taken, then the worker dies (say, out of memory)
            clock(31)
            jobs.sweep_batch_jobs()
        delay.reset_mock()
        clock(31)
        assert jobs.sweep_batch_jobs() == 0
        assert not delay.called
    job.refresh_from_db()
    assert job.state == BatchJob.State.FAILED
    assert "failed 2 time(s)" in job.error and "worker stopped" in job.error


def test_a_working_worker_renews_its_lease(settings):
    """The heartbeat renews the lease every third of its length while the chunk is worked on, then stops."""
    settings.BATCH_CHUNK_LEASE_SECONDS = 0.3
    with mock.patch.object(worker, "renew_lease") as renew, mock.patch.object(worker.connections, "close_all"):
        with worker._lease_kept(42):
            time.sleep(0.75)
        renewed = renew.call_count
        time.sleep(0.3)
    assert renewed >= 2
    assert renew.call_count == renewed  # stopped with the work
    assert {call.args for call in renew.call_args_list} == {(42,)}
