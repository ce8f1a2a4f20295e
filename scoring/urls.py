"""URLs of the scoring web pages (namespace ``scoring``), one list per capability package."""

from django.urls import include, path

app_name = "scoring"

urlpatterns = [
    path("", include("scoring.decisions.urls")),
    path("", include("scoring.notices.urls")),
    path("", include("scoring.batch.urls")),
    path("", include("scoring.monitoring.urls")),
    path("", include("scoring.policy.urls")),
    path("", include("scoring.outcomes.urls")),
    path("", include("scoring.backtests.urls")),
]
