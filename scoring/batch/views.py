"""Web pages for batch jobs: upload, list, live progress, result CSV and cancel; thin views over scoring.batch."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import permissions
from scoring.batch import jobs, worker
from scoring.batch import selectors as batch_selectors
from scoring.exceptions import BatchJobFinished, InvalidBatchFile, ModelUnavailable
from scoring.files import csv_export, uploads
from scoring.lifecycle import registry
from scoring.models import BatchJob


class BatchUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "First line: the model's feature names, plus optional external_ref and protected-attribute columns."
        ),
    )


@login_required
def batch_list(request):
    if not (permissions.can_submit_batch(request.user) or permissions.can_view_all_predictions(request.user)):
        raise PermissionDenied
    jobs = batch_selectors.batch_job_list(user=request.user)[:200]
    return render(
        request,
        "scoring/batch/list.html",
        {"jobs": jobs, "can_submit": permissions.can_submit_batch(request.user)},
    )


def _refuse_upload(request, refused: uploads.Refusal):
    """The upload page with the reason on the file field, for those who may submit; a plain answer otherwise."""
    if not permissions.can_submit_batch(request.user):
        return HttpResponse(refused.message, status=refused.status, content_type="text/plain; charset=utf-8")
    form = BatchUploadForm(data={}, files={})
    form.errors["file"] = form.error_class([refused.message])
    return _upload_page(request, form, status=refused.status)


@uploads.upload_limit(uploads.UploadLimit(setting="BATCH_MAX_BYTES", refuse=_refuse_upload))
@login_required
def batch_new(request):
    if not permissions.can_submit_batch(request.user):
        raise PermissionDenied
    if request.method == "POST" and (refused := uploads.refusal(request)):
        return _refuse_upload(request, refused)
    form = BatchUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = jobs.submit_batch_job(user=request.user, upload=upload, original_name=upload.name)
        except InvalidBatchFile as exc:
            for messages_ in exc.errors.values():
                for message in messages_:
                    form.add_error("file", message)
        except ModelUnavailable as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                gettext("Batch %(pk)s is queued: %(rows)s rows.") % {"pk": job.pk, "rows": f"{job.row_count:,}"},
            )
            return redirect("scoring:batch-detail", job_id=job.pk)
    return _upload_page(request, form, status=400 if form.errors else 200)


def _upload_page(request, form: BatchUploadForm, *, status: int):
    return render(
        request,
        "scoring/batch/new.html",
        {
            "form": form,
            "columns": _expected_columns(),
            "max_mb": settings.BATCH_MAX_BYTES // (1024 * 1024),
            "max_rows": settings.BATCH_MAX_ROWS,
        },
        status=status,
    )


@login_required
def batch_detail(request, job_id: int):
    job = _visible_job(request, job_id)
    return render(
        request,
        "scoring/batch/detail.html",
        {
            "job": job,
            "progress": batch_selectors.batch_job_progress(job),
            "can_cancel": permissions.can_cancel_batch_job(request.user, job) and not _finished(job),
        },
    )


@login_required
def batch_progress(request, job_id: int):
    return JsonResponse(batch_selectors.batch_job_progress(_visible_job(request, job_id)))


@login_required
def batch_result(request, job_id: int):
    job = _visible_job(request, job_id)
    if not _finished(job):
        return HttpResponse(
            gettext("The job has not finished yet."), status=409, content_type="text/plain; charset=utf-8"
        )
    try:
        bom = csv_export.bom_requested(request.GET)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return csv_export.csv_download(
        batch_selectors.batch_result_lines(job), filename=f"batch-{job.pk}-result.csv", bom=bom
    )


@login_required
@require_POST
def batch_cancel(request, job_id: int):
    job = _visible_job(request, job_id)
    if not permissions.can_cancel_batch_job(request.user, job):
        raise PermissionDenied
    try:
        job = jobs.cancel_batch_job(job=job)
    except BatchJobFinished:
        messages.info(request, gettext("The job had already finished."))
    else:
        messages.success(
            request,
            gettext("Batch %(pk)s cancelled; %(rows)s rows had been scored.")
            % {"pk": job.pk, "rows": f"{job.rows_scored:,}"},
        )
    return redirect("scoring:batch-detail", job_id=job.pk)


def _visible_job(request, job_id: int) -> BatchJob:
    job = batch_selectors.batch_job_get(user=request.user, job_id=job_id)
    if job is None:
        raise Http404("No such batch job.")
    return job


def _finished(job: BatchJob) -> bool:
    return job.state not in worker.ACTIVE_STATES


def _expected_columns() -> dict[str, list[str]]:
    try:
        model = registry.get_active().model
    except ModelUnavailable:
        return {}
    return {
        "required": model.feature_names,
        "optional": [jobs.EXTERNAL_REF, *(f.name for f in model.protected)],
    }
