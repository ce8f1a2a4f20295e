"""Batch jobs API: submit a CSV (multipart), read a job's state, stream its result CSV."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import reverse
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from scoring import batch, batch_selectors
from scoring.exceptions import InvalidBatchFile, ModelUnavailable
from scoring.models import BatchJob


def _problem(status_code: int, title: str, detail: str, **extra) -> Response:
    body = {"type": "about:blank", "title": title, "status": status_code, "detail": detail, **extra}
    return Response(body, status=status_code, content_type="application/problem+json")


def _state(request, job: BatchJob) -> dict[str, object]:
    body = batch_selectors.batch_job_progress(job)
    body["url"] = request.build_absolute_uri(reverse("api:batch-job-detail", args=[job.pk]))
    body["result_url"] = (
        request.build_absolute_uri(reverse("api:batch-job-result", args=[job.pk])) if body["finished"] else None
    )
    return body


class BatchJobCreateApi(APIView):
    """POST a CSV as the multipart field ``file``: 202 with the queued job, or 400 naming what is wrong."""

    parser_classes = [MultiPartParser, FormParser]

    def post(self, request):
        if not permissions.can_submit_batch(request.user):
            return _problem(403, "Forbidden", "Only loan officers can submit batch jobs.")
        upload = request.FILES.get("file")
        if upload is None:
            return _problem(
                400,
                "Invalid batch file",
                "Send the CSV as the multipart field 'file'.",
                errors={"file": ["This field is required."]},
            )
        try:
            job = batch.submit_batch_job(user=request.user, upload=upload, original_name=upload.name)
        except InvalidBatchFile as exc:
            return _problem(400, "Invalid batch file", str(exc), errors=exc.errors)
        except ModelUnavailable as exc:
            return _problem(503, "Model unavailable", str(exc))
        job.refresh_from_db()
        response = Response(_state(request, job), status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api:batch-job-detail", args=[job.pk])
        return response


class BatchJobDetailApi(APIView):
    def get(self, request, job_id: int):
        job = batch_selectors.batch_job_get(user=request.user, job_id=job_id)
        if job is None:
            return _problem(404, "Not found", "No such batch job.")
        return Response(_state(request, job))


class BatchJobResultApi(APIView):
    def get(self, request, job_id: int):
        job = batch_selectors.batch_job_get(user=request.user, job_id=job_id)
        if job is None:
            return _problem(404, "Not found", "No such batch job.")
        if job.state in batch.ACTIVE_STATES:
            return _problem(409, "Not finished", f"The job is {job.get_state_display().lower()}; try again later.")
        response = StreamingHttpResponse(batch_selectors.batch_result_lines(job), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="batch-{job.pk}-result.csv"'
        return response
