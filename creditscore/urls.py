"""Top-level URL map: the web app, accounts, Django admin, the API, health probes and the metrics endpoint."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.urls import profile_urlpatterns
from scoring.api import health
from scoring.monitoring.views import metrics_view


class FaviconRedirect(RedirectView):
    """Browsers ask for /favicon.ico on pages that link no icon (admin, the API's JSON): send them to ours."""

    permanent = False  # the static name changes with its content (hashed by the manifest storage)
    http_method_names = ["get", "head"]

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("img/favicon.svg")


urlpatterns = [
    path("favicon.ico", FaviconRedirect.as_view(), name="favicon"),
    # Admin's own "Change password" would bypass the access log: one page for everyone's own password.
    path("admin/password_change/", RedirectView.as_view(pattern_name="password_change"), name="admin-password-change"),
    path("admin/", admin.site.urls),
    path("api/", include("scoring.api.urls")),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("accounts/", include("accounts.urls")),
    path("account/", include((profile_urlpatterns, "accounts"))),
    path("", include("scoring.urls")),
    # The Prometheus scrape endpoint, outside the app namespace.
    path("metrics", metrics_view, name="prometheus-metrics"),
    # Auditor history, exports, model timeline, access log.
    path("audit/", include("scoring.audit.urls")),
]
