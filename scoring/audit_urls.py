"""URLs of the auditor pages (namespace ``audit``)."""

from django.urls import path

from scoring import audit_views

app_name = "audit"

urlpatterns = [
    path("predictions/", audit_views.prediction_list, name="prediction-list"),
    path("predictions/export.csv", audit_views.prediction_export, name="prediction-export"),
    path("predictions/<int:pk>/", audit_views.prediction_detail, name="prediction-detail"),
    path("models/", audit_views.model_timeline, name="model-timeline"),
    path("access/", audit_views.access_log, name="access-log"),
]
