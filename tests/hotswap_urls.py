"""Test-only URLs: the project's, plus one JSON scoring endpoint (DRF token) for the hot-swap test and bench.

The real JSON API (POST /api/v1/score) is built in another branch; at merge the
hot-swap test and bench switch to it and this module goes.
"""

import json
import os

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token

from accounts import permissions
from creditscore.urls import urlpatterns as project_urlpatterns
from scoring import registry, services
from scoring.exceptions import InvalidApplication, ModelUnavailable


@csrf_exempt
def score(request):
    # A token, as the real API takes: a password check per request would cost more than the scoring.
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    token = Token.objects.select_related("user").filter(key=key).first() if scheme == "Token" and key else None
    user = token.user if token and token.user.is_active else None
    if user is None or not permissions.can_score(user):
        return JsonResponse({"detail": "not allowed"}, status=403)
    try:
        prediction = services.score_application(user=user, inputs=json.loads(request.body), channel="api")
    except InvalidApplication as exc:
        return JsonResponse({"errors": exc.errors}, status=400)
    except ModelUnavailable as exc:
        return JsonResponse({"detail": str(exc)}, status=503)
    return JsonResponse({"prediction_id": prediction.pk, "version_id": prediction.model_version_id, "pid": os.getpid()})


def served(request):
    """Which version this process serves right now (as a request would get it)."""
    return JsonResponse({"version_id": registry.get_active().version.pk, "pid": os.getpid(), **registry.status()})


urlpatterns = [path("test-score", score), path("test-served", served), *project_urlpatterns]
