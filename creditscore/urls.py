"""Top-level URL map: the web app, accounts, Django admin, the API and health probes."""

from django.contrib import admin
from django.urls import include, path

from scoring import health

urlpatterns = [
    path("admin/", admin.site.urls),
    # API and health probes (issue 6)
    path("api/", include("scoring.api.urls")),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("accounts/", include("accounts.urls")),
    path("", include("scoring.urls")),
]
