"""Liveness and readiness probes for load balancers and orchestrators: unauthenticated, no side effects."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from scoring.api.problems import PROBLEM_CONTENT_TYPE, problem
from scoring.exceptions import ModelUnavailable
from scoring.lifecycle import registry

log = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0


@never_cache
@require_GET
def live(request):
    """The process answers; no dependency is touched, so a database outage does not restart every web process."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    """Can this process serve decisions now: database, active model loaded, broker when one is configured.

    Each check answers "ok" or "failing" (the broker "not configured" when tasks run in-process), nothing more.
    """
    checks: dict[str, str] = {}
    failing: list[str] = []
    for name, check in (("database", _database), ("model", _model), ("broker", _broker)):
        try:
            checks[name] = check()
        except Exception as exc:
            # The probe is anonymous: the reason (host names, ports, driver messages) is for the log only.
            log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
            checks[name] = "failing"
            failing.append(name)
    if failing:
        body = problem(
            503, gettext("Not ready: %(checks)s failing.") % {"checks": ", ".join(failing)}, kind="not-ready"
        ) | {"checks": checks}
        return JsonResponse(body, status=503, content_type=PROBLEM_CONTENT_TYPE)
    return JsonResponse({"status": "ok", "checks": checks})


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _model() -> str:
    try:
        registry.get_active()
    except ModelUnavailable as exc:
        raise RuntimeError(str(exc)) from exc
    return "ok"


def _broker() -> str:
    url = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER or url.startswith("memory://"):
        return "not configured (tasks run in-process)"
    with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    return "ok"
