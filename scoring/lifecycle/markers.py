"""Which row is active, as a shared-cache key every process reads: the model version's, the credit policy's.

A process asks the key (at most every check interval); when it is unset or the cache is down, the
database answers and refills it. An activation publishes the new id once it commits. The key also
expires, so a missed publish heals within a minute. A per-process cache (LocMem, Dummy) cannot carry
it: the database is then the marker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings

log = logging.getLogger(__name__)

MARKER_TTL = 60


def _shared_cache():
    """The cache, when every process shares it; a per-process cache cannot carry the marker."""
    from django.core.cache import cache

    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.endswith(("LocMemCache", "DummyCache")):
        return None
    return cache


class ActiveMarker:
    """The key saying which ``what`` is active; ``lookup`` asks the database."""

    def __init__(self, key: str, what: str, lookup: Callable[[], int | None]):
        self.key = key
        self.what = what
        self.lookup = lookup

    def read(self) -> int | None:
        """The active id: the shared cache key when set, else (and to refill it) the database."""
        cache = _shared_cache()
        if cache is not None:
            try:
                value = cache.get(self.key)
            except Exception:  # a cache outage must not stop scoring; the database still knows
                log.warning("%s marker unavailable in the cache; asking the database", self.what, exc_info=True)
                cache, value = None, None
            if value is not None:
                return int(value) or None
        active_id = self.lookup()
        if cache is not None:
            try:
                cache.set(self.key, active_id or 0, timeout=MARKER_TTL)
            except Exception:
                log.warning("could not refill the %s marker", self.what, exc_info=True)
        return active_id

    def publish(self, active_id: int | None) -> None:
        """Tell every process which id is now active (called after the activation commits)."""
        cache = _shared_cache()
        if cache is None:
            return
        try:
            cache.set(self.key, active_id or 0, timeout=MARKER_TTL)
        except Exception:  # processes fall back to the database when the key expires
            log.warning("could not publish the active %s to the cache", self.what, exc_info=True)
