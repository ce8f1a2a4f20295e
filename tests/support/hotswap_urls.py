"""Test-only URLs: the project's, plus a probe saying which model version this worker process serves.

The hot-swap test and bench score through the real API (POST /api/v1/score); this
probe only lets them see every gunicorn worker's state, by its pid.
"""

import os

from django.http import JsonResponse
from django.urls import path

from creditscore.urls import urlpatterns as project_urlpatterns
from scoring.lifecycle import registry


def served(request):
    """Which version this process serves right now (as a request would get it)."""
    return JsonResponse({"version_id": registry.get_active().version.pk, "pid": os.getpid(), **registry.status()})


urlpatterns = [path("test-served", served), *project_urlpatterns]
