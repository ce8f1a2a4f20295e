"""Batch scoring end to end on the eager Celery path: uploads, malformed rows, exactly once, cancel, sweeper, API."""

from __future__ import annotations

import csv
import io
import re
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerDown

from scoring.batch import jobs, worker
from scoring.models import BatchChunk, BatchJob, BatchRowError, DailyStat, Prediction
from tests.support.batch_files import csv_bytes, reference_frame, synthetic_frame


def _result(client, job) -> list[list[str]]:
    response = client.get(reverse("scoring:batch-result", args=[job.pk]))
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _submit(client, content: bytes, name="applications.csv"):
    return client.post(reverse("scoring:batch-new"), {"file": SimpleUploadedFile(name, content, "text/csv")})


def _stored_files(settings) -> int:
    return sum(1 for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()) if settings.MEDIA_ROOT.exists() else 0


def _malformed_file() -> tuple[bytes, dict[int, str]]:
    """Twelve data lines with every kind of trouble, CRLF line ends and a BOM; returns the bad rows' expected errors."""
    frame = synthetic_frame(8)
    header = list(frame.columns)
    good = [line for line in frame.to_csv(index=False, header=False, lineterminator="\n").splitlines()]
    fields = next(csv.reader([good[0]]))
    bad_type = fields.copy()
    bad_type[header.index("duration_in_month")] = "twelve"
    out_of_range = fields.copy()
    out_of_range[header.index("credit_amount")] = "5"
    quoted = fields.copy()
    quoted[header.index("external_ref")] = "REF, with a comma"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    lines = [
        good[0],  # 1
        ",".join(bad_type),  # 2
        good[1],  # 3
        "",  # 4 empty line
        ",".join(out_of_range),  # 5
        good[2] + ",extra",  # 6 too many columns
        ",".join(fields[:5]),  # 7 too few columns
        good[3],  # 8
        None,  # 9 quoted comma (valid)
        good[4],  # 10
        "   ",  # 11 blank
        good[5],  # 12
    ]
    for line in lines:
        if line is None:
            writer.writerow(quoted)
        else:
            buf.write(line + "\r\n")
    expected = {
        2: "Expected a whole number",
        4: "Empty line",
        5: "Must be at least",
        6: f"Expected {len(header)} columns, found {len(header) + 1}",
        7: f"Expected {len(header)} columns, found 5",
        11: "Empty line",
    }
    return b"\xef\xbb\xbf" + buf.getvalue().encode(), expected


@pytest.mark.django_db
def test_it_scores_a_malformed_file_row_by_row(
    client, officer, active_version, settings, django_capture_on_commit_callbacks
):
    settings.BATCH_CHUNK_ROWS = 5  # several chunks, errors on both sides of a boundary
    content, expected = _malformed_file()
    client.force_login(officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(client, content)
    job = BatchJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:batch-detail", args=[job.pk])
    assert job.state == BatchJob.State.SUCCEEDED
    assert job.model_version == active_version
    assert (job.row_count, job.rows_scored, job.rows_rejected) == (12, 6, 6)
    assert job.chunks.count() == 3
    assert Prediction.objects.filter(batch_job=job).count() == 6
    assert sorted(Prediction.objects.filter(batch_job=job).values_list("row_number", flat=True)) == [1, 3, 8, 9, 10, 12]
    quoted = Prediction.objects.get(batch_job=job, row_number=9)
    assert quoted.external_ref == "REF, with a comma"
    assert quoted.channel == "batch" and quoted.user == officer
    assert isinstance(quoted.features["duration_in_month"], int)
    declined = Prediction.objects.filter(batch_job=job, decision="decline")
    assert all(p.reasons for p in declined)
    assert not any(p.reasons for p in Prediction.objects.filter(batch_job=job).exclude(decision="decline"))

    rows = _result(client, job)
    assert rows[0] == ["row_number", "external_ref", "probability", "decision", "risk_band", "reasons", "error"]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 13))  # one line per input line, in input order
    for number, message in expected.items():
        assert message in rows[number][6], (number, rows[number])
        assert rows[number][3] == ""
    assert rows[9][1] == "REF, with a comma" and rows[9][3] in ("approve", "refer", "decline")
    assert rows[1][1] == "APP-0000001"  # the BOM did not leak into the first column
    for row in rows[1:]:
        if row[3] == "decline":
            assert row[5]

    errors = BatchRowError.objects.filter(job=job)
    assert sorted(errors.values_list("row_number", flat=True)) == sorted(expected)
    assert errors.get(row_number=2).errors == {
        "duration_in_month": ["Expected a whole number: digits only, no spaces or thousands separators."]
    }
    assert errors.get(row_number=2).external_ref == rows[2][1] == "APP-0000001"  # the bad row's own reference
    assert sum(DailyStat.objects.filter(channel="batch").values_list("count", flat=True)) == 6

    page = client.get(reverse("scoring:batch-detail", args=[job.pk]))
    assert b"Succeeded" in page.content and b"Download the result CSV" in page.content
    assert b'http-equiv="refresh"' not in page.content
    assert re.search(rb"took [0-9.]+ s", page.content) and b"ETA" not in page.content  # how long, not an ETA


@pytest.mark.django_db
def test_a_bad_header_is_refused_before_anything_is_stored(client, officer, active_version, settings):
    frame = synthetic_frame(3).drop(columns=["purpose"])
    frame["favourite_colour"] = "blue"
    client.force_login(officer)
    stored_before = _stored_files(settings)
    response = _submit(client, csv_bytes(frame))
    assert response.status_code == 400
    assert b"Missing column(s): purpose." in response.content
    assert b"Unknown column(s): &#x27;favourite_colour&#x27;" in response.content
    assert not BatchJob.objects.exists()
    assert _stored_files(settings) == stored_before


@pytest.mark.django_db
def test_size_and_row_limits_are_settings(client, officer, active_version, settings):
    client.force_login(officer)
    settings.BATCH_MAX_ROWS = 4
    response = _submit(client, csv_bytes(synthetic_frame(5)))
    assert response.status_code == 400 and b"more than 4 rows" in response.content
    settings.BATCH_MAX_ROWS = 100
    settings.BATCH_MAX_BYTES = 100
    response = _submit(client, csv_bytes(synthetic_frame(5)))
    assert response.status_code == 413 and b"may be at most 100 bytes" in response.content
    assert not response.context["form"].is_valid()
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
def test_empty_files_get_a_clear_error(client, officer, active_version):
    client.force_login(officer)
    assert b"is empty" in _submit(client, b"").content
    header_only = ",".join(reference_frame().columns).encode() + b"\n"
    assert b"no rows to score" in _submit(client, header_only).content


@pytest.mark.django_db
def test_running_a_chunk_twice_writes_nothing_twice(officer, active_version, settings):
    settings.BATCH_CHUNK_ROWS = 10
    upload = SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(25)))
    with mock.patch.object(worker.process_batch_chunk, "delay"):  # queued, not run
        job = jobs.submit_batch_job(user=officer, upload=upload)
    chunks = list(job.chunks.order_by("index"))
    assert [(c.first_row, c.row_count) for c in chunks] == [(1, 10), (11, 10), (21, 5)]
    for chunk in [*chunks, chunks[0], chunks[1]]:  # redelivered messages
        worker.process_chunk(chunk_id=chunk.pk)
    job.refresh_from_db()
    assert job.state == BatchJob.State.SUCCEEDED
    assert (job.rows_scored, job.rows_rejected) == (25, 0)
    assert Prediction.objects.filter(batch_job=job).count() == 25
    assert [c.attempts for c in job.chunks.order_by("index")] == [1, 1, 1]


@pytest.mark.django_db
def test_a_database_failure_mid_chunk_leaves_nothing_and_the_task_retries(officer, active_version, settings):
    upload = SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(30)))
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = jobs.submit_batch_job(user=officer, upload=upload)
    chunk = job.chunks.get()
    real = worker._count_chunk
    real_write = worker._write_predictions
    calls = []

    def flaky(*args, **kwargs):  # the connection drops after the rows are written, before the commit
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    with mock.patch.object(worker, "_count_chunk", flaky), mock.patch.object(worker, "_write_predictions") as write:
        write.side_effect = real_write
        with pytest.raises(OperationalError):
            worker.process_chunk(chunk_id=chunk.pk)
        assert write.call_count == 1
        assert not Prediction.objects.filter(batch_job=job).exists()  # rolled back with the chunk
        chunk.refresh_from_db()
        assert chunk.state == BatchChunk.State.PENDING and chunk.attempts == 1
        # The task retries on the transient error and the retry writes the chunk once.
        calls.clear()
        result = worker.process_batch_chunk.apply(args=[chunk.pk], throw=False)
    assert result.successful()  # eager Celery runs the retry at once
    job.refresh_from_db()
    assert job.state == BatchJob.State.SUCCEEDED
    assert Prediction.objects.filter(batch_job=job).count() == 30
    assert len(calls) == 2


@pytest.mark.django_db
def test_broker_down_at_submission_keeps_the_job_for_the_sweeper(
    client, officer, active_version, settings, django_capture_on_commit_callbacks
):
    settings.BATCH_CHUNK_ROWS = 10
    client.force_login(officer)
    with (
        mock.patch.object(worker.process_batch_chunk, "delay", side_effect=BrokerDown("Error 111 connecting")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _submit(client, csv_bytes(synthetic_frame(20)))
    job = BatchJob.objects.get()
    assert response.status_code == 302
    assert job.state == BatchJob.State.QUEUED
    assert job.file.storage.exists(job.file.name)  # the upload is kept
    assert list(job.chunks.values_list("enqueued_at", flat=True)) == [None, None]
    with mock.patch.object(worker.process_batch_chunk, "delay") as delay:
        assert jobs.sweep_batch_jobs() == 2  # the broker is back: the sweeper queues them
    for (chunk_id,), _ in delay.call_args_list:
        worker.process_chunk(chunk_id=chunk_id)
    job.refresh_from_db()
    assert job.state == BatchJob.State.SUCCEEDED
    assert Prediction.objects.filter(batch_job=job).count() == 20
    assert jobs.sweep_batch_jobs() == 0


@pytest.mark.django_db
def test_cancel_skips_chunks_not_started(client, officer, active_version, settings):
    settings.BATCH_CHUNK_ROWS = 10
    upload = SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(30)))
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = jobs.submit_batch_job(user=officer, upload=upload)
        first = job.chunks.get(index=0)
        worker.process_chunk(chunk_id=first.pk)
    client.force_login(officer)
    response = client.post(reverse("scoring:batch-cancel", args=[job.pk]), follow=True)
    assert b"10 rows had been scored" in response.content
    job.refresh_from_db()
    assert job.state == BatchJob.State.CANCELLED and job.finished_at is not None
    assert list(job.chunks.order_by("index").values_list("state", flat=True)) == ["done", "skipped", "skipped"]
    for chunk in job.chunks.all():  # late deliveries do nothing
        worker.process_chunk(chunk_id=chunk.pk)
    assert Prediction.objects.filter(batch_job=job).count() == 10
    rows = _result(client, job)
    assert len(rows) == 31
    assert rows[11][6] == "Not scored: the job was cancelled."
    assert [r[1] for r in rows[11:]] == [f"APP-{n:07d}" for n in range(11, 31)]  # their references kept
    assert client.post(reverse("scoring:batch-cancel", args=[job.pk]), follow=True).status_code == 200


@pytest.mark.django_db
def test_the_pinned_version_scores_the_whole_job(officer, active_version, settings):
    from scoring.lifecycle import versions
    from tests.support import DEFAULT_BUNDLE

    settings.BATCH_CHUNK_ROWS = 5
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(10))))
    # Another version goes live mid-job (a copy of the same bundle under another name).
    other = versions.register_bundle(path=DEFAULT_BUNDLE)
    assert other.pk == active_version.pk  # the same files are one version; force a second row instead
    newer = type(other).objects.create(
        name="newer",
        sha256=other.sha256,
        artifact_path=other.artifact_path,
        file_hashes=other.file_hashes,
        metadata=other.metadata,
        status="validated",
    )
    versions.activate(version=newer, user=None)
    for chunk in job.chunks.all():
        worker.process_chunk(chunk_id=chunk.pk)
    assert set(Prediction.objects.filter(batch_job=job).values_list("model_version_id", flat=True)) == {
        active_version.pk
    }


@pytest.mark.django_db
def test_officers_see_their_own_jobs_and_auditors_all(client, officer, other_officer, auditor, active_version):
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(3))))
    client.force_login(other_officer)
    assert client.get(reverse("scoring:batch-detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("scoring:batch-progress", args=[job.pk])).status_code == 404
    assert b"a.csv" not in client.get(reverse("scoring:batch-list")).content
    assert client.post(reverse("scoring:batch-cancel", args=[job.pk])).status_code == 404
    client.force_login(auditor)
    assert b"a.csv" in client.get(reverse("scoring:batch-list")).content
    assert client.get(reverse("scoring:batch-progress", args=[job.pk])).json()["state"] == "queued"
    assert client.get(reverse("scoring:batch-new")).status_code == 403
    assert client.post(reverse("scoring:batch-cancel", args=[job.pk])).status_code == 403
    client.force_login(officer)
    page = client.get(reverse("scoring:batch-detail", args=[job.pk]))
    assert b'<noscript><meta http-equiv="refresh"' in page.content  # refreshes itself without JS while running
    assert b"js/batch-progress.js" in page.content
    assert b"Waiting for a worker" in page.content and b"took" not in page.content  # queued, no worker on it yet
    assert client.get(reverse("scoring:batch-result", args=[job.pk])).status_code == 409


@pytest.mark.django_db
def test_the_api_submits_reports_and_returns_the_result(client, officer, other_officer, auditor, active_version):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(officer)
    content = csv_bytes(synthetic_frame(7))
    with mock.patch.object(worker, "dispatch_chunks", wraps=worker.dispatch_chunks):
        response = api.post("/api/v1/batch-jobs", {"file": SimpleUploadedFile("p.csv", content)}, format="multipart")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response["Location"] == f"/api/v1/batch-jobs/{job_id}"
    # On the eager path the chunks run on commit; in this test's transaction, run what was queued.
    for chunk in BatchChunk.objects.filter(job_id=job_id):
        worker.process_chunk(chunk_id=chunk.pk)
    state = api.get(f"/api/v1/batch-jobs/{job_id}").json()
    assert state["state"] == "succeeded" and state["rows_scored"] == 7 and state["row_count"] == 7
    assert sum(state["summary"]["decisions"].values()) == 7
    assert state["result_url"].endswith(f"/api/v1/batch-jobs/{job_id}/result")
    result = api.get(f"/api/v1/batch-jobs/{job_id}/result")
    lines = b"".join(result.streaming_content).decode().splitlines()
    assert result["Content-Type"] == "text/csv; charset=utf-8" and len(lines) == 8

    bad = api.post("/api/v1/batch-jobs", {"file": SimpleUploadedFile("p.csv", b"a,b\n1,2\n")}, format="multipart")
    assert bad.status_code == 400
    assert "missing_columns" in bad.json()["errors"] and "unknown_columns" in bad.json()["errors"]
    assert api.post("/api/v1/batch-jobs", {}, format="multipart").status_code == 400

    api.force_authenticate(other_officer)
    assert api.get(f"/api/v1/batch-jobs/{job_id}").status_code == 404
    assert api.get(f"/api/v1/batch-jobs/{job_id}/result").status_code == 404
    api.force_authenticate(auditor)
    assert api.get(f"/api/v1/batch-jobs/{job_id}").status_code == 200
    denied = api.post("/api/v1/batch-jobs", {"file": SimpleUploadedFile("p.csv", content)}, format="multipart")
    assert denied.status_code == 403
    api.force_authenticate(None)
    assert api.get(f"/api/v1/batch-jobs/{job_id}").status_code in (401, 403)


@pytest.mark.postgres
@pytest.mark.django_db
def test_chunks_are_written_with_copy_on_postgresql(officer, active_version, settings, django_assert_max_num_queries):
    from django.db import connection

    assert connection.vendor == "postgresql"
    content = csv_bytes(synthetic_frame(300))
    upload = SimpleUploadedFile("a.csv", content)
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = jobs.submit_batch_job(user=officer, upload=upload)
    with mock.patch.object(Prediction.objects, "bulk_create", side_effect=AssertionError("not COPY")):
        worker.process_chunk(chunk_id=job.chunks.get().pk)
    stored = Prediction.objects.filter(batch_job=job)
    assert stored.count() == 300
    first = stored.select_related("batch_job").get(row_number=1)
    assert first.external_ref == "APP-0000001"
    assert first.input_line == content.decode().splitlines()[1]  # the line exactly as in the file
    assert first.given_inputs["external_ref"] == "APP-0000001" and isinstance(first.features["credit_amount"], int)
    assert first.idempotency_key is None and first.created_at is not None
