"""One log line per request (request id, user, path, status, duration), and the request id on every log line."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

log = logging.getLogger("creditscore.requests")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# Accept a caller's (or the proxy's) id only when it looks like an id, so logs cannot be forged.
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Scrapes and probes every few seconds would drown the log; they are logged at DEBUG.
_QUIET_PATHS = ("/metrics", "/health/")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record logged while a request is served (empty outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _VALID_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
            level = logging.DEBUG if request.path.startswith(_QUIET_PATHS) else logging.INFO
            log.log(
                level,
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "event": "request",
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "user_id": user_id,
                },
            )
            return response
        finally:
            _request_id.reset(token)
