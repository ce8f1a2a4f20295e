"""Top-level URL map: the web app, accounts, Django admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("scoring.urls")),
    # Auditor history, exports, model timeline, access log (issue #5).
    path("audit/", include("scoring.audit_urls")),
]
