"""Top-level URL map: the web app, accounts, Django admin, the API and health probes."""

from django.contrib import admin
from django.urls import include, path

from scoring import health
from scoring.metrics_views import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # API and health probes (issue 6)
    path("api/", include("scoring.api.urls")),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("accounts/", include("accounts.urls")),
    path("", include("scoring.urls")),
    # Monitoring (issue #9): the Prometheus scrape endpoint, outside the app namespace.
    path("metrics", metrics_view, name="prometheus-metrics"),
    # Auditor history, exports, model timeline, access log (issue #5).
    path("audit/", include("scoring.audit_urls")),
]
