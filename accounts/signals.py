"""Record logins, logouts, failed logins, lockouts, password changes, notice re-downloads and model card
openings in the access log; start the session clock."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.backends import client_ip
from accounts.middleware import start_session_clock
from accounts.models import AccessEvent


def _record(kind: str, request, *, user=None, username: str = "") -> None:
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    username = (username or (user.get_username() if user is not None else ""))[:150]
    if user is None and username:
        # A failed login for an existing account is linked to it, so the account's history shows it.
        user = get_user_model().objects.filter(username=username).first()
    meta = getattr(request, "META", {}) if request is not None else {}
    AccessEvent.objects.create(
        kind=kind,
        username=username,
        user=user,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=meta.get("HTTP_USER_AGENT", "")[:300],
        path=(getattr(request, "path", "") or "")[:300],
    )


@receiver(user_logged_in, dispatch_uid="accounts_access_login")
def record_login(sender, request, user, **kwargs):
    start_session_clock(request)
    _record(AccessEvent.Kind.LOGIN, request, user=user)


@receiver(user_logged_out, dispatch_uid="accounts_access_logout")
def record_logout(sender, request, user, **kwargs):
    _record(AccessEvent.Kind.LOGOUT, request, user=user)


@receiver(user_login_failed, dispatch_uid="accounts_access_login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs):
    _record(AccessEvent.Kind.LOGIN_FAILED, request, username=str(credentials.get("username") or ""))


@receiver(user_locked_out, dispatch_uid="accounts_access_locked_out")
def record_locked_out(sender, request, username=None, ip_address=None, **kwargs):
    _record(AccessEvent.Kind.LOCKED_OUT, request, username=str(username or ""))


def record_password_changed(*, request, user) -> None:
    """Called by the password change view: Django sends no signal for it."""
    _record(AccessEvent.Kind.PASSWORD_CHANGED, request, user=user)


def record_notice_downloaded(*, request, user) -> None:
    """Called when an issued adverse-action notice is opened again (page, PDF or API); the path names it."""
    _record(AccessEvent.Kind.NOTICE_DOWNLOADED, request, user=user)


def record_model_card_viewed(*, request, user) -> None:
    """Called when a model version's card is opened (page, PDF or API); the path names the version and form."""
    _record(AccessEvent.Kind.MODEL_CARD_VIEWED, request, user=user)
