"""URLs of the scoring web pages."""

from django.urls import path

from scoring import monitoring_views, views

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
]
