"""Refuse every unsafe request (POST, PUT, PATCH, DELETE) from read-only roles such as auditors."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts import permissions

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class ReadOnlyRoleMiddleware:
    """Defence in depth: views check permissions too, but a read-only user cannot change anything
    even through a view that forgot to. Logging out is allowed (it changes only their own session)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method not in SAFE_METHODS
            and permissions.is_read_only(request.user)
            and request.path not in (reverse("logout"), reverse("login"))
        ):
            raise PermissionDenied("Your role can read but not change anything.")
        return self.get_response(request)
