"""Web pages for loan outcomes: the CSV upload with its result, the template, recent uploads and the audit export."""

from __future__ import annotations

from pathlib import PurePath

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from accounts import permissions
from scoring.files import csv_export, uploads
from scoring.models import LoanOutcome
from scoring.outcomes import csv_file, selectors, services


class OutcomeUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8 text, comma- or semicolon-separated, with the header line of the template."),
    )


def _refuse_upload(request, refused: uploads.Refusal):
    """The upload page with the reason on the file field, for those who may upload; a plain answer otherwise."""
    if not permissions.can_record_outcomes(request.user):
        return HttpResponse(refused.message, status=refused.status, content_type="text/plain; charset=utf-8")
    form = OutcomeUploadForm(data={}, files={})
    form.errors["file"] = form.error_class([refused.message])
    return _upload_page(request, form, status=refused.status)


@uploads.upload_limit(uploads.UploadLimit(setting="OUTCOMES_MAX_BYTES", refuse=_refuse_upload))
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def outcome_upload(request):
    if not permissions.can_record_outcomes(request.user):
        raise PermissionDenied
    if request.method == "POST" and (refused := uploads.refusal(request)):
        return _refuse_upload(request, refused)
    form = OutcomeUploadForm(request.POST or None, request.FILES or None)
    if request.method != "POST" or not form.is_valid():
        return _upload_page(request, form, status=400 if form.errors else 200)
    upload = form.cleaned_data["file"]
    name = PurePath(upload.name or "outcomes.csv").name
    try:
        read = csv_file.read_outcome_file(
            upload.open("rb"), max_bytes=settings.OUTCOMES_MAX_BYTES, max_rows=settings.OUTCOMES_MAX_ROWS
        )
    except csv_file.InvalidOutcomeFile as exc:
        return _upload_page(request, form, status=400, errors=exc.errors, file_name=name)
    result = services.record_outcomes(
        read.rows,
        user=request.user,
        source=LoanOutcome.Source.UPLOAD,
        source_ref=name,
        sha256=read.sha256,
        numbers=read.numbers,
    )
    if not result.ok:
        return _upload_page(request, form, status=400, errors=result.errors, file_name=name)
    return _upload_page(request, OutcomeUploadForm(), status=200, result=result, file_name=name)


def _upload_page(request, form, *, status: int, errors=None, result=None, file_name: str = ""):
    return render(
        request,
        "scoring/outcomes/upload.html",
        {
            "form": form,
            "errors": errors or [],
            "result": result,
            "file_name": file_name,
            "columns": csv_file.COLUMNS,
            "outcomes": LoanOutcome.Outcome.choices,
            "max_mb": settings.OUTCOMES_MAX_BYTES // (1024 * 1024),
            "max_rows": settings.OUTCOMES_MAX_ROWS,
        },
        status=status,
    )


@login_required
@require_safe
def outcome_template(request):
    if not permissions.can_record_outcomes(request.user):
        raise PermissionDenied
    return csv_export.csv_download(csv_file.template_lines(), filename="outcomes-template.csv")


@login_required
@require_safe
def outcome_upload_list(request):
    if not (permissions.can_record_outcomes(request.user) or permissions.can_audit(request.user)):
        raise PermissionDenied
    return render(
        request,
        "scoring/outcomes/upload_list.html",
        {"uploads": selectors.outcome_upload_list()[:200], "can_upload": permissions.can_record_outcomes(request.user)},
    )


@login_required
@require_safe
def outcome_export(request):
    if not permissions.can_audit(request.user):
        raise PermissionDenied
    try:
        bom = csv_export.bom_requested(request.GET)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    log, last_id = services.start_outcome_export(user=request.user)
    stamp = timezone.localtime(log.created_at).strftime("%Y%m%d-%H%M%S")
    response = csv_export.csv_download(
        selectors.outcome_export_lines(last_id=last_id), filename=f"loan-outcomes-{stamp}-export{log.pk}.csv", bom=bom
    )
    response["X-Export-Rows"] = str(log.row_count)
    return response
