"""Benchmark-only URLs: the project's, plus a DRF view that does nothing, the framework floor of bench/api.py."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from creditscore.urls import urlpatterns as project_urlpatterns


class NoopApi(APIView):
    """Parses a JSON body and answers 201 with a small JSON body: Django, DRF and gunicorn, nothing else."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def post(self, request):
        return Response({"ok": bool(request.data)}, status=201)


urlpatterns = [path("bench/noop", NoopApi.as_view()), *project_urlpatterns]
