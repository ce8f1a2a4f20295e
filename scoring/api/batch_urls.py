"""URLs of the batch jobs API, included by scoring/api/urls.py under v1/ (namespace api)."""

from django.urls import path

from scoring.api import batch

urlpatterns = [
    path("batch-jobs", batch.BatchJobCreateApi.as_view(), name="batch-job-create"),
    path("batch-jobs/<int:job_id>", batch.BatchJobDetailApi.as_view(), name="batch-job-detail"),
    path("batch-jobs/<int:job_id>/result", batch.BatchJobResultApi.as_view(), name="batch-job-result"),
]
