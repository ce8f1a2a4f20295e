"""Failed API authentications counted per client address: an address that fails too often gets 429s for a while.

DRF authenticates before it throttles, so a request with a missing, invalid or revoked token is a
401 that no throttle ever sees: keys could be guessed at full speed. This middleware counts those
401s per client address (``accounts.backends.client_ip``, so ``TRUSTED_PROXY_COUNT`` applies) in
fixed windows of ``API_AUTH_FAILURE_RATE``, in the shared cache, and once an address reaches the
limit every API request from it is refused with a 429 problem and ``Retry-After`` until the window
ends, before any token is looked at: a guess that happens to be right is refused too, so guessing
stays slow. Clients with working keys at other addresses are not affected.

As with the request throttles, a cache that does not answer lets requests through (and is logged):
the limit protects the service, and refusing every decision because a counter is unreachable would be worse.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext

from accounts.backends import client_ip
from scoring.api.problems import problem_response

log = logging.getLogger(__name__)

API_PATH_PREFIX = "/api/"
KEY_PREFIX = "creditscore:auth-failures"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _now() -> float:
    """The clock the windows are counted by; tests patch it."""
    return time.time()


def parse_rate(rate: str) -> tuple[int, int]:
    """``"<n>/<second|minute|hour|day>"`` (DRF's notation) as (failures allowed, window in seconds)."""
    count, _, period = rate.partition("/")
    if not count.strip().isdigit() or period.strip()[:1] not in PERIODS:
        raise ValueError(f"API_AUTH_FAILURE_RATE must look like '20/minute', not {rate!r}.")
    return int(count), PERIODS[period.strip()[0]]


class AuthFailureLimitMiddleware:
    """Refuse API requests from an address over its failure limit; count the API's 401s per address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PATH_PREFIX):
            return self.get_response(request)
        limit, period = parse_rate(settings.API_AUTH_FAILURE_RATE)
        address = client_ip(request) or "unknown"
        now = _now()
        window = int(now // period)
        key = f"{KEY_PREFIX}:{address}:{period}:{window}"
        try:
            failures = cache.get(key, 0)
        except Exception as exc:  # any cache backend's connection error
            log.warning("authentication failure counter unavailable, request allowed: %s", exc)
            return self.get_response(request)
        if failures >= limit:
            return _too_many(retry_after=(window + 1) * period - now)
        response = self.get_response(request)
        if response.status_code == 401:
            _count_failure(key, period, address=address, limit=limit)
        return response


def _count_failure(key: str, period: int, *, address: str, limit: int) -> None:
    try:
        cache.add(key, 0, timeout=period + 1)
        failures = cache.incr(key)
    except Exception as exc:
        log.warning("authentication failure counter unavailable, failure not counted: %s", exc)
        return
    if failures == limit:
        log.warning("API authentication failures from %s reached %d; refusing it until the window ends", address, limit)


def _too_many(*, retry_after: float):
    seconds = max(1, math.ceil(retry_after))
    response = problem_response(
        429,
        gettext("Too many failed authentications from this address. Try again in %(seconds)s seconds.")
        % {"seconds": seconds},
        kind="throttled",
    )
    response["Retry-After"] = str(seconds)
    return response
