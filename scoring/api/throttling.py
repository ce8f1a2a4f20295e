"""Per-user (and per-address for anonymous clients) request rates, read from settings at request time.

With Redis (``REDIS_URL``) a client's requests are counted in fixed windows of the rate's period:
one pipelined ``INCR`` + ``EXPIRE`` per request, a single round trip. DRF's own throttle keeps a
list of timestamps per client in the cache (a read and a write, both pickled): twice the round
trips, and a race between processes that lets requests through uncounted. A fixed window lets a
client send up to twice its rate across a window's edge; for a per-minute abuse limit that is the
accepted trade. Without Redis (the demo, the tests' local-memory cache) DRF's throttle is used.

If Redis does not answer, the request is let through and the failure logged: the limit protects
the service, and refusing every decision because a counter is unreachable would be worse.
"""

from __future__ import annotations

import functools
import logging
import time

import redis
from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)

KEY_PREFIX = "creditscore:throttle"


def _redis() -> redis.Redis | None:
    url = getattr(settings, "REDIS_URL", "")
    return _client(url) if url else None


@functools.cache
def _client(url: str) -> redis.Redis:
    """One client (and connection pool) per process and address; redis-py clients are thread-safe."""
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


class _WindowCounter:
    """Mixin for DRF's rate throttles: the rate from settings, counted in Redis when there is one."""

    rate_setting = ""

    def get_rate(self):
        return getattr(settings, self.rate_setting)

    def allow_request(self, request, view):
        # Re-read the rate each time so a settings change (or a test override) applies at once.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self._window_ends = None
        client = _redis()
        if client is None:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        # The cache's KEY_PREFIX and VERSION apply, as to DRF's own keys: deployments sharing a Redis stay apart.
        key = self.cache.make_key(f"{KEY_PREFIX}:{self.key}:{self.duration}:{window}")
        try:
            pipe = client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, self.duration + 1)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            logger.warning("throttle counter unavailable, request allowed: %s", exc)
            return True
        if count > self.num_requests:
            self._window_ends = (window + 1) * self.duration
            return False
        return True

    def wait(self):
        if self._window_ends is not None:
            return max(self._window_ends - time.time(), 0.0)
        return super().wait()


class UserThrottle(_WindowCounter, UserRateThrottle):
    """Authenticated clients: API_THROTTLE_USER_RATE per user, whatever token or session they use."""

    rate_setting = "API_THROTTLE_USER_RATE"


class AnonThrottle(_WindowCounter, AnonRateThrottle):
    """Unauthenticated requests that reach the throttles: API_THROTTLE_ANON_RATE per client address.

    Every view of ours needs a user, so an unauthenticated request is a 401 before throttles run;
    those failures are limited by scoring.api.auth_failures instead."""

    rate_setting = "API_THROTTLE_ANON_RATE"
