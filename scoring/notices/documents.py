"""A notice as a document: the stored letter inside a print-ready page, and as PDF (WeasyPrint)."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string

from scoring.files.pdf import html_to_pdf, pdf_response
from scoring.models import AdverseActionNotice

PRINT_CSS = "css/notice.css"


def notice_filename(notice: AdverseActionNotice, extension: str) -> str:
    return f"adverse-action-notice-{notice.prediction_id}-{notice.pk}.{extension}"


def notice_pdf(notice: AdverseActionNotice) -> bytes:
    """The PDF of the notice exactly as issued: its stored letter, laid out on A4 by the notice's print CSS."""
    page = render_to_string("scoring/notices/notice_pdf.html", {"notice": notice})
    return html_to_pdf(page, stylesheets=(PRINT_CSS,))


def notice_pdf_response(notice: AdverseActionNotice) -> HttpResponse:
    """The PDF as a download, named after the decision and the notice."""
    return pdf_response(notice_pdf(notice), filename=notice_filename(notice, "pdf"))
