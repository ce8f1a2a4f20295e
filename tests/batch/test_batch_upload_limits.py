"""The batch upload limit holds before the body is read: declared lengths, length-less bodies, files over the limit."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from scoring.files import uploads
from scoring.models import BatchJob
from tests.support.batch_files import csv_bytes, synthetic_frame


class CountingStream(io.BytesIO):
    """The request body as the server hands it over, counting what the app reads of it."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.consumed = 0

    def read(self, size=-1):
        data = super().read(size)
        self.consumed += len(data)
        return data

    def readline(self, size=-1):
        data = super().readline(size)
        self.consumed += len(data)
        return data


def _multipart(content: bytes) -> bytes:
    return encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("big.csv", content, "text/csv")})


def _post(client, url: str, body: bytes, **environ):
    stream = CountingStream(body)
    response = client.generic("POST", url, body, content_type=MULTIPART_CONTENT, **{"wsgi.input": stream, **environ})
    return response, stream


@pytest.fixture
def web(officer):
    client = Client(enforce_csrf_checks=True)  # the CSRF check would read the body first if nothing stopped it
    client.force_login(officer)
    return client


@pytest.fixture
def small_limit(settings, tmp_path):
    settings.BATCH_MAX_BYTES = 20_000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1_000  # anything read would be spooled to a file here
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    return tmp_path


def _assert_nothing_kept(spool_dir) -> None:
    assert not BatchJob.objects.exists()
    assert not any(spool_dir.iterdir())


@pytest.mark.django_db
def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(
    web, officer_api, active_version, small_limit
):
    body = _multipart(b"x" * 1000)
    page, stream = _post(web, reverse("scoring:batch-new"), body, CONTENT_LENGTH=str(260 * 1024 * 1024))
    assert page.status_code == 413 and stream.consumed == 0
    expected = "The upload is 260.0 MB; a file may be at most 20,000 bytes. Nothing was stored."
    assert page.context["form"].errors["file"] == [expected]
    assert b"Score a CSV file" in page.content  # the upload page, with the reason next to the field

    api, stream = _post(officer_api, reverse("api:batch-job-create"), body, CONTENT_LENGTH=str(260 * 1024 * 1024))
    assert api.status_code == 413 and stream.consumed == 0
    assert api["Content-Type"] == "application/problem+json"
    assert "at most 20,000 bytes" in api.json()["errors"]["file"][0]
    _assert_nothing_kept(small_limit)


@pytest.mark.django_db
def test_anonymous_oversized_uploads_are_refused_unread_too(active_version, small_limit):
    body = _multipart(b"x" * 1000)
    page, stream = _post(Client(), reverse("scoring:batch-new"), body, CONTENT_LENGTH=str(10**9))
    assert page.status_code == 413 and stream.consumed == 0 and b"Score a CSV file" not in page.content


@pytest.mark.django_db
def test_a_body_without_a_length_is_refused_unread(web, officer_api, active_version, small_limit):
    """Chunked: without a Content-Length the body would be dropped unread and the page would say "no file"."""
    body = _multipart(b"x" * 100_000)
    chunked = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}
    page, stream = _post(web, reverse("scoring:batch-new"), body, **chunked)
    assert page.status_code == 411 and stream.consumed == 0
    assert "Content-Length" in page.context["form"].errors["file"][0]
    api, stream = _post(officer_api, reverse("api:batch-job-create"), body, **chunked)
    assert api.status_code == 411 and stream.consumed == 0 and "file" in api.json()["errors"]
    _assert_nothing_kept(small_limit)


@pytest.mark.django_db
def test_a_file_over_the_limit_inside_an_allowed_length_is_stopped_at_the_limit(
    officer, officer_api, active_version, small_limit, monkeypatch
):
    """The declared length allows for multipart framing; the file's own bytes are counted as they arrive.

    The allowance is widened here so a 1 MB file passes the length check, as a body whose length the
    check cannot judge would: reading must still stop within one block of the 20,000-byte limit.
    """
    monkeypatch.setattr(uploads, "MULTIPART_ALLOWANCE_BYTES", 10 * 1024 * 1024)
    body = _multipart(b"x" * 1024 * 1024)
    read_at_most = 20_000 + 64 * 1024  # the limit plus the block in which it was passed
    web = Client()
    web.force_login(officer)
    page, stream = _post(web, reverse("scoring:batch-new"), body)
    assert page.status_code == 413 and stream.consumed <= read_at_most
    assert "larger than the limit" in page.context["form"].errors["file"][0]
    api, stream = _post(officer_api, reverse("api:batch-job-create"), body)
    assert api.status_code == 413 and stream.consumed <= read_at_most
    assert "larger than the limit" in api.json()["errors"]["file"][0]
    _assert_nothing_kept(small_limit)


@pytest.mark.django_db
def test_a_file_of_exactly_the_limit_is_accepted(officer_api, active_version, settings):
    content = csv_bytes(synthetic_frame(5))
    settings.BATCH_MAX_BYTES = len(content)
    response, _ = _post(officer_api, reverse("api:batch-job-create"), _multipart(content))
    assert response.status_code == 202, response.content
