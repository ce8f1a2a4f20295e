"""Top-level URL map: the web app, accounts, Django admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("scoring.api.batch_urls")),  # issue #7: batch jobs API (api/v1/batch-jobs...)
    path("", include("scoring.urls")),
]
