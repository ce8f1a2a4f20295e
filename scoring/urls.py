"""URLs of the scoring web pages."""

from django.urls import path

from scoring import batch_views, monitoring_views, views

app_name = "scoring"

urlpatterns = [
    path("", views.home, name="home"),
    # --- officer web app (issue #4) ---
    path("applications/new/", views.application_new, name="application-new"),
    path("predictions/mine/", views.prediction_mine, name="prediction-mine"),
    path("predictions/<int:pk>/", views.prediction_detail, name="prediction-detail"),
    path("predictions/<int:pk>/review/", views.prediction_review, name="prediction-review"),
    # Monitoring (issue #9)
    path("monitoring/", monitoring_views.monitoring_page, name="monitoring"),
    # --- Batch jobs (issue #7) ---
    path("batches/", batch_views.batch_list, name="batch-list"),
    path("batches/new/", batch_views.batch_new, name="batch-new"),
    path("batches/<int:job_id>/", batch_views.batch_detail, name="batch-detail"),
    path("batches/<int:job_id>/progress.json", batch_views.batch_progress, name="batch-progress"),
    path("batches/<int:job_id>/result.csv", batch_views.batch_result, name="batch-result"),
    path("batches/<int:job_id>/cancel/", batch_views.batch_cancel, name="batch-cancel"),
]
