"""Session rules applied to every request: an absolute session lifetime, and no changes by read-only roles."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import auth
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import permissions

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# When the session's user logged in (seconds since the epoch); set by the login signal.
LOGIN_AT_KEY = "creditscore_login_at"


def _now() -> float:
    """The clock sessions are aged by; tests patch it."""
    return time.time()


def start_session_clock(request) -> None:
    """Note the login time in the new session, so its absolute lifetime counts from here."""
    session = getattr(request, "session", None)
    if session is not None:
        session[LOGIN_AT_KEY] = _now()


class SessionLifetimeMiddleware:
    """Log out a session SESSION_ABSOLUTE_SECONDS after its login, however active it has been.

    The session cookie's age is an idle timeout renewed by every request, so on its own a session in
    daily use (or a stolen cookie kept busy) would never end. A session without a login time predates
    this rule: its clock starts now rather than ending every session at once on deploy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            login_at = request.session.get(LOGIN_AT_KEY)
            if not isinstance(login_at, int | float):
                start_session_clock(request)
            elif _now() - login_at > settings.SESSION_ABSOLUTE_SECONDS:
                # Flushes the session and records the logout; the request goes on as anonymous, so a
                # page sends the user to the login form and the API answers 401.
                auth.logout(request)
        return self.get_response(request)


def _outcome_paths() -> tuple[str, ...]:
    """Where loan outcomes are reported. Auditors may do that: an outcome records what happened to a loan,
    not a decision, and it is appended (a correction is a new row), never an edit (docs/outcomes.md)."""
    return (reverse("scoring:outcome-upload"), reverse("api:outcome-create"))


def _own_account_paths() -> tuple[str, ...]:
    """Pages that change only the user's own session, credentials or settings."""
    return tuple(
        reverse(name) for name in ("logout", "login", "password_change", "accounts:profile", "accounts:language")
    )


class ReadOnlyRoleMiddleware:
    """Defence in depth: views check permissions too, but a read-only user cannot change anything
    even through a view that forgot to. Logging in and out, changing their own password and their page
    language are allowed (they change only the user's own session, credentials and settings), and so is
    reporting loan outcomes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method not in SAFE_METHODS
            and permissions.is_read_only(request.user)
            and request.path not in _own_account_paths()
            and not (request.path in _outcome_paths() and permissions.can_record_outcomes(request.user))
        ):
            raise PermissionDenied(_("Your role can read but not change anything."))
        return self.get_response(request)
