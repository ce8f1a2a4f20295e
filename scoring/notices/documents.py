"""A notice as a document: the stored letter inside a print-ready page, and as PDF (WeasyPrint)."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string

from scoring.models import AdverseActionNotice

PRINT_CSS = "css/notice.css"


def notice_filename(notice: AdverseActionNotice, extension: str) -> str:
    return f"adverse-action-notice-{notice.prediction_id}-{notice.pk}.{extension}"


def notice_pdf(notice: AdverseActionNotice) -> bytes:
    """The PDF of the notice exactly as issued: its stored letter, laid out on A4 by the notice's print CSS."""
    # Imported here: WeasyPrint loads Pango through cffi, which only the pages that make a PDF need.
    from weasyprint import CSS, HTML

    page = render_to_string("scoring/notices/notice_pdf.html", {"notice": notice})
    stylesheet = finders.find(PRINT_CSS)
    return HTML(string=page).write_pdf(stylesheets=[CSS(filename=stylesheet)] if stylesheet else None)


def notice_pdf_response(notice: AdverseActionNotice) -> HttpResponse:
    """The PDF as a download, named after the decision and the notice."""
    response = HttpResponse(notice_pdf(notice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{notice_filename(notice, "pdf")}"'
    return response
