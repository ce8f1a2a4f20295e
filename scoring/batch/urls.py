"""URLs of the batch pages: the job list, an upload, a job's progress, result and cancellation."""

from django.urls import path

from scoring.batch import views

urlpatterns = [
    path("batches/", views.batch_list, name="batch-list"),
    path("batches/new/", views.batch_new, name="batch-new"),
    path("batches/<int:job_id>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:job_id>/progress.json", views.batch_progress, name="batch-progress"),
    path("batches/<int:job_id>/result.csv", views.batch_result, name="batch-result"),
    path("batches/<int:job_id>/cancel/", views.batch_cancel, name="batch-cancel"),
]
