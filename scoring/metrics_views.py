"""The Prometheus scrape endpoint, closed unless the caller shows the bearer token or comes from an allowed address."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from scoring import metrics


def _allowed_address(request: HttpRequest) -> bool:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says it is.
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = _bearer_token(request)
    expected = settings.METRICS_TOKEN
    token_ok = bool(expected) and token is not None and hmac.compare_digest(token.encode(), expected.encode())
    if not token_ok and not _allowed_address(request):
        if token is None:
            response = HttpResponse("Metrics need a bearer token.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse("Not allowed.\n", status=403, content_type="text/plain")
    body = generate_latest(metrics.process_registry()) + generate_latest(metrics.database_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
