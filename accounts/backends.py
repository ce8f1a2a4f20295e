"""Login throttling (django-axes) and the client address it counts failures by."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for logins over HTTP.

    Axes refuses ``authenticate()`` calls without a request. Those come only from
    code running inside the server (the test client, the shell, management
    commands), never from the network, so they are not a brute-force channel:
    they skip the throttle instead of failing. Every web and API login passes a request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the outermost one saw.

    Only the right-most entries of X-Forwarded-For were written by our proxies;
    anything to their left came from the client and could be forged.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")
