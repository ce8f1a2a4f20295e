"""URLs of the batch jobs API, mounted under api/v1/."""

from django.urls import path

from scoring.api import batch

urlpatterns = [
    path("batch-jobs", batch.BatchJobCreateApi.as_view(), name="api-batch-job-create"),
    path("batch-jobs/<int:job_id>", batch.BatchJobDetailApi.as_view(), name="api-batch-job-detail"),
    path("batch-jobs/<int:job_id>/result", batch.BatchJobResultApi.as_view(), name="api-batch-job-result"),
]
