"""Batch jobs API: submit a CSV (multipart), read a job's state, stream its result CSV."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework import permissions as drf_permissions
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from accounts import permissions
from scoring.api.base import ApiView
from scoring.api.problems import Conflict, problem_response
from scoring.batch import jobs, worker
from scoring.batch import selectors as batch_selectors
from scoring.files import csv_export, uploads
from scoring.models import BatchJob


class CanSubmitBatch(drf_permissions.BasePermission):
    message = _("Only loan officers can submit batch jobs.")

    def has_permission(self, request, view):
        return permissions.can_submit_batch(request.user)


class BatchJobStateSerializer(serializers.Serializer):
    """What the API answers about a job (the same dict the progress page polls)."""

    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=BatchJob.State.choices)
    state_label = serializers.CharField()
    finished = serializers.BooleanField()
    original_name = serializers.CharField()
    user = serializers.CharField()
    model_version = inline_serializer(
        "BatchModelVersion", {"id": serializers.IntegerField(), "label": serializers.CharField()}
    )
    row_count = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    rows_scored = serializers.IntegerField()
    rows_rejected = serializers.IntegerField()
    rows_not_scored = serializers.IntegerField()
    percent = serializers.FloatField()
    rows_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True, help_text="Null while no worker holds a chunk.")
    waiting_for_worker = serializers.BooleanField(
        help_text="Chunks are left but no worker is working on one (none started yet, or their workers are gone)."
    )
    activity = serializers.CharField(allow_blank=True, help_text="'Waiting for a worker', or the ETA in words.")
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    summary = serializers.DictField(allow_null=True)
    url = serializers.URLField()
    result_url = serializers.URLField(allow_null=True)


def _state(request, job: BatchJob) -> dict[str, object]:
    body = batch_selectors.batch_job_progress(job)
    body["url"] = request.build_absolute_uri(reverse("api:batch-job-detail", args=[job.pk]))
    body["result_url"] = (
        request.build_absolute_uri(reverse("api:batch-job-result", args=[job.pk])) if body["finished"] else None
    )
    return body


def _job(request, job_id: int) -> BatchJob:
    job = batch_selectors.batch_job_get(user=request.user, job_id=job_id)
    if job is None:
        raise exceptions.NotFound(gettext("No such batch job."))
    return job


def _refuse_upload(request, refused: uploads.Refusal):
    """A refused upload as a problem naming the field (also before authentication: nothing was read)."""
    return problem_response(refused.status, refused.message, kind="upload-refused", errors={"file": [refused.message]})


@extend_schema_field(OpenApiTypes.BINARY)
class UploadedFileField(serializers.FileField):
    """A file part of a multipart body; drf-spectacular would otherwise call it a URI string."""


class BatchJobCreateApi(ApiView):
    """POST a CSV as the multipart field ``file``: 202 with the queued job, or 400 naming what is wrong."""

    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [drf_permissions.IsAuthenticated, CanSubmitBatch]
    upload_limit = uploads.UploadLimit(setting="BATCH_MAX_BYTES", refuse=_refuse_upload)

    class BatchUploadSerializer(serializers.Serializer):
        file = UploadedFileField(help_text="CSV whose header names the model's features (and external_ref).")

    @extend_schema(
        request={"multipart/form-data": BatchUploadSerializer},
        responses={
            202: BatchJobStateSerializer,
            411: OpenApiResponse(description="No Content-Length: the upload limit is checked before reading."),
        },
        summary="Submit a CSV of applications as a batch job",
    )
    def post(self, request):
        if refused := uploads.refusal(request):
            return _refuse_upload(request, refused)
        data = self.BatchUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        job = jobs.submit_batch_job(user=request.user, upload=upload, original_name=upload.name)
        job.refresh_from_db()
        response = Response(_state(request, job), status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api:batch-job-detail", args=[job.pk])
        return response


class BatchJobDetailApi(ApiView):
    @extend_schema(responses={200: BatchJobStateSerializer}, summary="A batch job's state and counters")
    def get(self, request, job_id: int):
        return Response(_state(request, _job(request, job_id)))


class CsvRenderer(BaseRenderer):
    """Declares that the result view answers text/csv, for content negotiation and the schema.

    The view streams its CSV itself, so this renderer never renders a body; errors are problems (problems.py).
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):  # CSV text handed over whole
            return data.encode(self.charset)
        raise TypeError("CsvRenderer renders CSV text only; the result view streams its own CSV.")


class BatchJobResultApi(ApiView):
    renderer_classes = [CsvRenderer]
    query_parameters = frozenset({csv_export.BOM_PARAMETER})

    @extend_schema(
        responses={
            200: OpenApiResponse(OpenApiTypes.STR, description="Result CSV, one line per input line"),
            409: OpenApiResponse(description="The job has not finished yet; try again later."),
        },
        summary="The finished job's result CSV",
        parameters=[
            OpenApiParameter(
                csv_export.BOM_PARAMETER, OpenApiTypes.BOOL, required=False, description=csv_export.BOM_HELP
            )
        ],
    )
    def get(self, request, job_id: int):
        try:
            bom = csv_export.bom_requested(request.query_params)
        except ValueError as exc:
            raise exceptions.ValidationError({csv_export.BOM_PARAMETER: [str(exc)]}) from exc
        job = _job(request, job_id)
        if job.state in worker.ACTIVE_STATES:
            raise Conflict(
                gettext("The job is %(state)s; try again later.") % {"state": job.get_state_display().lower()}
            )
        return csv_export.csv_download(
            batch_selectors.batch_result_lines(job), filename=f"batch-{job.pk}-result.csv", bom=bom
        )
