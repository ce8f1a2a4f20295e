"""Lines no CSV row can come from (NUL, bare CR, random bytes, Latin-1, wrong width) are per-row errors;
the chunk's other rows are scored, on SQLite (bulk_create) and on PostgreSQL (COPY) alike."""

from __future__ import annotations

import csv
import io
import random
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from scoring.batch import jobs, worker
from scoring.models import BatchJob, BatchRowError, Prediction
from tests.support.batch_files import csv_bytes, synthetic_frame

GOOD_ROWS = 12


def _good_lines() -> tuple[bytes, list[bytes]]:
    header, *lines = csv_bytes(synthetic_frame(GOOD_ROWS)).splitlines()
    return header, lines


def _poisoned(line: bytes) -> bytes:
    """A line made from a good one with its reference kept: POISON-REF replaces APP-…"""
    _ref, rest = line.split(b",", 1)
    return b"POISON-REF," + rest


def _nul(line: bytes) -> bytes:
    return _poisoned(line)[:-3] + b"\x00" + _poisoned(line)[-3:]


def _bare_cr(line: bytes) -> bytes:
    fields = _poisoned(line).split(b",")
    fields[3] = fields[3][:1] + b"\r" + fields[3][1:]
    return b",".join(fields)


def _latin1(line: bytes) -> bytes:
    return _poisoned(line) + b",M\xfcller-Stra\xdfe"  # also one column too many: the encoding is what is named


POISON = {
    "nul-byte": (_nul, "NUL byte"),
    "bare-cr-in-a-field": (_bare_cr, "carriage return"),
    "latin-1-text": (_latin1, "is not valid UTF-8"),
    "too-many-columns": (lambda line: _poisoned(line) + b",extra", "columns, found"),
    "too-few-columns": (lambda line: b",".join(_poisoned(line).split(b",")[:4]), "columns, found 4"),
    "quote-inside-a-field": (lambda line: _poisoned(line).replace(b",", b',x"y,"z', 1), "columns"),
    "random-bytes": (lambda line: bytes(random.Random(5).randrange(256) for _ in range(300)).replace(b"\n", b""), ""),
}


def _run(officer, content: bytes, settings) -> BatchJob:
    settings.BATCH_CHUNK_ROWS = 100  # one chunk: the poison sits among good rows
    job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("p.csv", content))
    worker.process_chunk(chunk_id=job.chunks.get().pk)
    job.refresh_from_db()
    return job


def _result(client, job) -> list[list[str]]:
    response = client.get(reverse("scoring:batch-result", args=[job.pk]))
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(POISON))
def test_a_poison_line_is_a_row_error_and_the_rest_of_the_chunk_is_scored(
    client, officer, active_version, settings, kind
):
    make, message = POISON[kind]
    header, lines = _good_lines()
    poisoned = make(lines[5])
    content = b"\n".join([header, *lines[:5], poisoned, *lines[5:]]) + b"\n"
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = _run(officer, content, settings)
    assert job.state == BatchJob.State.SUCCEEDED
    assert (job.row_count, job.rows_scored, job.rows_rejected) == (GOOD_ROWS + 1, GOOD_ROWS, 1)
    numbers = sorted(Prediction.objects.filter(batch_job=job).values_list("row_number", flat=True))
    assert numbers == [n for n in range(1, GOOD_ROWS + 2) if n != 6]
    error = BatchRowError.objects.get(job=job)
    assert error.row_number == 6
    assert message in str(error.errors)
    client.force_login(officer)
    rows = _result(client, job)
    assert rows[6][0] == "6" and rows[6][6]  # the refused line has its error in the result
    if kind not in ("random-bytes", "latin-1-text"):
        assert rows[6][1] == error.external_ref == "POISON-REF"  # its reference, read from the raw line


@pytest.mark.django_db
def test_random_bytes_after_a_valid_header_never_make_a_chunk_raise(officer, active_version, settings):
    header, lines = _good_lines()
    rng = random.Random(11)
    junk = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).replace(b"\n", b"") for _ in range(40)]
    junk += [b'"' + line for line in lines[:3]] + [line.replace(b",", b'"', 2) for line in lines[3:6]]
    content = b"\n".join([header, *lines[:6], *junk, *lines[6:]]) + b"\n"
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = _run(officer, content, settings)
    assert job.state == BatchJob.State.SUCCEEDED
    assert job.rows_scored >= GOOD_ROWS
    assert job.rows_scored + job.rows_rejected == job.row_count


@pytest.mark.django_db
def test_a_latin_1_line_is_refused_not_altered(officer, active_version, settings):
    """No replacement characters: a line that is not UTF-8 is an error naming its row, never stored altered."""
    header, lines = _good_lines()
    fields = lines[0].split(b",")
    fields[0] = "Müller-Straße".encode("latin-1")
    utf8 = lines[1].split(b",")
    utf8[0] = "Müller-Straße".encode()
    content = b"\n".join([header, b",".join(fields), b",".join(utf8), *lines[2:]]) + b"\n"
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = _run(officer, content, settings)
    error = BatchRowError.objects.get(job=job)
    assert error.row_number == 1
    assert "Row 1 is not valid UTF-8" in error.errors["row"][0]
    assert not Prediction.objects.filter(batch_job=job, row_number=1).exists()
    kept = Prediction.objects.get(batch_job=job, row_number=2)
    assert kept.external_ref == "Müller-Straße"
    assert kept.input_line == b",".join(utf8).decode()  # exactly as given
    assert not Prediction.objects.filter(batch_job=job, input_line__contains="\ufffd").exists()


@pytest.mark.django_db
def test_a_header_that_is_not_utf_8_refuses_the_file(client, officer, active_version):
    header, lines = _good_lines()
    client.force_login(officer)
    content = header + b",Stra\xdfe\n" + b"\n".join(lines) + b"\n"
    response = client.post(reverse("scoring:batch-new"), {"file": SimpleUploadedFile("a.csv", content)})
    assert response.status_code == 400
    assert b"not UTF-8" in response.content
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
def test_a_file_with_cr_only_line_ends_is_a_clear_error_not_a_500(client, officer, active_version):
    header, lines = _good_lines()
    content = b"\r".join([header, *lines]) + b"\r"
    client.force_login(officer)
    page = client.post(reverse("scoring:batch-new"), {"file": SimpleUploadedFile("mac.csv", content)})
    assert page.status_code == 400
    assert b"must end with LF or CRLF" in page.content
    api = client.post(reverse("api:batch-job-create"), {"file": SimpleUploadedFile("mac.csv", content)})
    assert api.status_code == 400
    assert api["Content-Type"].startswith("application/problem+json")
    assert "must end with LF or CRLF" in api.content.decode()
    assert not BatchJob.objects.exists()
