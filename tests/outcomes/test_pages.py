"""The outcome pages: upload (happy and sad paths), the template, recent uploads, the audit export, the links."""

from __future__ import annotations

import csv
import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from scoring.models import ExportLog, LoanOutcome, OutcomeUpload
from scoring.outcomes.csv_file import COLUMNS
from scoring.outcomes.services import record_outcomes

TODAY = timezone.localdate().isoformat()
HEADER = ",".join(COLUMNS)


def upload(client, text: str | bytes, name: str = "outcomes.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(reverse("scoring:outcome-upload"), {"file": SimpleUploadedFile(name, data, "text/csv")})


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


def test_an_auditor_uploads_outcomes_and_sees_the_counts(auditor_client, decisions, auditor):
    text = f"{HEADER}\n{decisions[0].pk},,repaid,{TODAY},0,\n,LOAN-2,defaulted,{TODAY},91,\n"

    response = upload(auditor_client, text)

    assert response.status_code == 200
    page = response.content.decode()
    assert "outcomes.csv was taken in" in page and "Recorded as upload #" in page
    assert response.context["result"].stored == 2
    upload_row = OutcomeUpload.objects.get()
    assert upload_row.source == "upload" and upload_row.file_name == "outcomes.csv" and len(upload_row.sha256) == 64
    assert LoanOutcome.objects.filter(source_ref=str(upload_row.pk)).count() == 2


def test_a_model_admin_may_upload_a_semicolon_file_with_a_bom(client, model_admin, decisions):
    client.force_login(model_admin)
    text = "\ufeff" + HEADER.replace(",", ";") + f"\n;LOAN-1;repaid;{TODAY};;\n"

    response = upload(client, text.encode("utf-8"))

    assert response.status_code == 200, response.context["errors"]
    assert LoanOutcome.objects.get().prediction == decisions[0]


def test_a_rejected_file_shows_every_error_and_stores_nothing(auditor_client, decisions):
    text = f"{HEADER}\n,LOAN-1,Repaid,{TODAY},,\n\n,NOPE,repaid,{TODAY},1.0,\n,LOAN-2,repaid,{TODAY},,\n"

    response = upload(auditor_client, text)

    assert response.status_code == 400
    found = [(e.row, e.field) for e in response.context["errors"]]
    # Row numbers count the blank line, as the file's lines after the header do.
    assert found == [(1, "outcome"), (3, "days_past_due")] or found == [
        (1, "outcome"),
        (3, "external_ref"),
        (3, "days_past_due"),
    ]
    page = response.content.decode()
    assert "was refused" in page and "Nothing was stored." in page
    assert not LoanOutcome.objects.exists() and not OutcomeUpload.objects.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "The submitted file is empty."),
        (b"\xef\xbb\xbf\r\n\r\n", "The file is empty"),
        (
            b"decision_id,outcome,observed_on,colour\n1,repaid,2025-01-01,red\n",
            "Unknown column(s): “colour”",
        ),
        (b"decision_id,outcome\n1,repaid\n", "Missing column(s): observed_on"),
        (b"outcome,observed_on\nrepaid,2025-01-01\n", "decision_id or external_ref"),
        (b"decision_id,outcome,observed_on,outcome\n1,repaid,2025-01-01,repaid\n", "named twice: outcome"),
        (b"Decision_ID,outcome,observed_on\n1,repaid,2025-01-01\n", "Unknown column(s)"),
        ("decision_id,outcome,observed_on,reason\n1,repaid,2025-01-01,d\xe9j\xe0\n".encode("latin-1"), "not UTF-8"),
        (b"decision_id,outcome,observed_on\n", "no rows"),
        (b"decision_id,outcome,observed_on\n1,repaid\n", "Expected 3 cells, found 2"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_naming_the_problem(auditor_client, decisions, content, words):
    response = upload(auditor_client, content)

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert words in page, [e.message for e in response.context["errors"]]
    assert not LoanOutcome.objects.exists()


def test_formula_looking_cells_are_only_data(auditor_client, decisions):
    text = f'{HEADER}\n,=HYPERLINK("x"),repaid,{TODAY},,\n'

    response = upload(auditor_client, text)

    assert response.status_code == 400
    assert [e.field for e in response.context["errors"]] == ["external_ref"]
    assert "matches no decision" in response.context["errors"][0].message


def test_too_many_rows_or_bytes_are_refused(auditor_client, decisions, settings):
    settings.OUTCOMES_MAX_ROWS = 1
    response = upload(auditor_client, f"{HEADER}\n,LOAN-1,repaid,{TODAY},,\n,LOAN-2,repaid,{TODAY},,\n")
    assert response.status_code == 400 and "more than 1 rows" in response.content.decode()

    settings.OUTCOMES_MAX_BYTES = 10
    response = upload(auditor_client, f"{HEADER}\n,LOAN-1,repaid,{TODAY},,\n")
    assert response.status_code == 413
    assert not LoanOutcome.objects.exists()


def test_officers_and_anonymous_visitors_may_not_upload(client, officer, decisions):
    response = upload(client, f"{HEADER}\n,LOAN-1,repaid,{TODAY},,\n")
    assert response.status_code == 302 and "login" in response["Location"]

    client.force_login(officer)
    assert client.get(reverse("scoring:outcome-upload")).status_code == 403
    assert upload(client, f"{HEADER}\n,LOAN-1,repaid,{TODAY},,\n").status_code == 403
    assert client.get(reverse("scoring:outcome-template")).status_code == 403
    assert client.get(reverse("scoring:outcome-upload-list")).status_code == 403
    assert client.get(reverse("scoring:outcome-export")).status_code == 403
    assert not LoanOutcome.objects.exists()


def test_the_template_is_the_header_line_the_upload_takes(auditor_client):
    response = auditor_client.get(reverse("scoring:outcome-template"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    assert text == HEADER + "\n"


def test_the_recent_uploads_list_who_when_what_and_counts(auditor_client, auditor, decisions):
    record_outcomes(
        [{"external_ref": "LOAN-1", "outcome": "repaid", "observed_on": TODAY}],
        user=auditor,
        source=LoanOutcome.Source.UPLOAD,
        source_ref="june.csv",
        sha256="ab" * 32,
    )

    response = auditor_client.get(reverse("scoring:outcome-upload-list"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "june.csv" in page and "ab" * 32 in page and "CSV upload" in page


def test_the_export_has_every_row_with_iso_dates_and_neutralised_formulas(auditor_client, auditor, decisions):
    decision = decisions[0]
    record_outcomes(
        [{"decision_id": decision.pk, "outcome": "defaulted", "observed_on": TODAY, "days_past_due": "5"}],
        user=auditor,
        source=LoanOutcome.Source.UPLOAD,
    )
    record_outcomes(
        [{"decision_id": decision.pk, "outcome": "repaid", "observed_on": TODAY, "reason": "=cmd|' /C calc'!A0"}],
        user=auditor,
        source=LoanOutcome.Source.UPLOAD,
    )

    response = auditor_client.get(reverse("scoring:outcome-export"))

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["outcome"] for r in rows] == ["defaulted", "repaid"]
    assert [r["standing"] for r in rows] == ["no", "yes"]
    assert rows[1]["supersedes"] == rows[0]["outcome_id"]
    assert rows[1]["reason"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["observed_on"] == TODAY and rows[0]["days_past_due"] == "5"
    assert rows[0]["recorded_at"].startswith(timezone.now().date().isoformat()[:4])
    log = ExportLog.objects.get()
    assert (log.user, log.row_count, log.filters) == (auditor, 2, {"export": "loan outcomes"})
    assert response["X-Export-Rows"] == "2"


def test_a_model_admin_may_not_export_the_audit_file(client, model_admin):
    client.force_login(model_admin)

    assert client.get(reverse("scoring:outcome-export")).status_code == 403


def test_the_auditor_decision_page_shows_the_outcome_and_its_corrections(auditor_client, auditor, decisions):
    decision = decisions[0]
    record_outcomes(
        [{"decision_id": decision.pk, "outcome": "defaulted", "observed_on": TODAY}],
        user=auditor,
        source=LoanOutcome.Source.API,
    )
    record_outcomes(
        [{"decision_id": decision.pk, "outcome": "repaid", "observed_on": TODAY, "reason": "Late payment arrived."}],
        user=auditor,
        source=LoanOutcome.Source.UPLOAD,
    )

    page = auditor_client.get(reverse("audit:prediction-detail", args=[decision.pk])).content.decode()

    assert "Standing outcome</dt><dd>Repaid" in page
    assert "Late payment arrived." in page and "First report" in page


def test_home_pages_and_monitoring_link_to_the_upload(client, auditor, model_admin, active_version):
    target = reverse("scoring:outcome-upload")
    for user in (auditor, model_admin):
        client.force_login(user)
        assert target in client.get(reverse("scoring:home")).content.decode(), user
        assert target in client.get(reverse("scoring:monitoring")).content.decode(), user
