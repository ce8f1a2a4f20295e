"""URLs of the auditor pages (namespace ``audit``)."""

from django.urls import path

from scoring.audit import views

app_name = "audit"

urlpatterns = [
    path("predictions/", views.prediction_list, name="prediction-list"),
    path("predictions/export.csv", views.prediction_export, name="prediction-export"),
    path("predictions/<int:pk>/", views.prediction_detail, name="prediction-detail"),
    path("models/", views.model_timeline, name="model-timeline"),
    path("models/<int:model_version_id>/card/", views.model_card_page, name="model-card"),
    path("models/<int:model_version_id>/card.pdf", views.model_card_pdf, name="model-card-pdf"),
    path("policies/", views.policy_timeline, name="policy-timeline"),
    path("access/", views.access_log, name="access-log"),
]
