"""Top-level URL map: the web app, accounts, Django admin."""

from django.contrib import admin
from django.urls import include, path

from scoring.api.lifecycle import ModelReloadApi
from scoring.metrics_views import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # --- Model lifecycle (issue #8) ---
    path("api/v1/models/reload", ModelReloadApi.as_view(), name="api-model-reload"),
    # --- end model lifecycle ---
    path("", include("scoring.urls")),
    # Monitoring (issue #9): the Prometheus scrape endpoint, outside the app namespace.
    path("metrics", metrics_view, name="prometheus-metrics"),
]
