"""A model card as a document: the print-ready page's body, the whole page for the API, and the PDF (WeasyPrint)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string

from scoring.files.pdf import html_to_pdf, pdf_response
from scoring.lifecycle.model_cards import ModelCard

PAGE_TEMPLATE = "scoring/audit/model_card.html"
PDF_TEMPLATE = "scoring/audit/model_card_pdf.html"
# The print rules every page shares (the lender's header), then the card's own layout on A4.
PRINT_CSS = ("css/print.css", "css/model_card.css")


def model_card_filename(card: ModelCard, extension: str) -> str:
    return f"model-card-{card.identity['id']}-{card.identity['sha256'][:12]}.{extension}"


def model_card_page(card: ModelCard, *, request) -> str:
    """The card as the web page shows it (the API's text/html answer)."""
    return render_to_string(PAGE_TEMPLATE, {"card": card}, request=request)


def model_card_pdf(card: ModelCard, *, user) -> bytes:
    """The card on A4, headed with the lender and who printed it, like every printed page of the app."""
    page = render_to_string(
        PDF_TEMPLATE,
        {"card": card, "user": user, "lender_name": settings.LENDER_NAME, "lender_address": settings.LENDER_ADDRESS},
    )
    return html_to_pdf(page, stylesheets=PRINT_CSS)


def model_card_pdf_response(card: ModelCard, *, user) -> HttpResponse:
    return pdf_response(model_card_pdf(card, user=user), filename=model_card_filename(card, "pdf"))
