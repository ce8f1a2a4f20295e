"""HTML to PDF with WeasyPrint, for the app's print-ready documents (notices, model cards)."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.http import HttpResponse


def html_to_pdf(page: str, *, stylesheets: tuple[str, ...] = ()) -> bytes:
    """The PDF of a whole HTML page, laid out by the named static stylesheets (their print rules apply)."""
    # Imported here: WeasyPrint loads Pango through cffi, which only the pages that make a PDF need.
    from weasyprint import CSS, HTML

    found = [path for path in (finders.find(name) for name in stylesheets) if path]
    return HTML(string=page).write_pdf(stylesheets=[CSS(filename=path) for path in found] or None)


def pdf_response(content: bytes, *, filename: str) -> HttpResponse:
    """A PDF as a download under ``filename``."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
