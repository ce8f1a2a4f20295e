"""API tokens: issuing (the key is returned once), revoking, and the DRF authentication that checks them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from accounts.models import ApiToken

KEY_PREFIX = "cs_"
# Recording every use would turn each API read into a write; once a minute is enough to spot stale tokens.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def issue_api_token(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; the clear key is returned here and never stored or shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name.strip()[:100], prefix=key[:10], key_sha256=hash_key(key))
    return token, key


def revoke_api_tokens(*, tokens) -> int:
    """Revoke the given tokens (a queryset); revoked tokens stay listed for the record."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` (or ``Bearer <key>``) checked against the stored sha256."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) == 2 and parts[0].lower() == b"bearer":
            return self._authenticate_key(parts[1])
        return super().authenticate(request)

    def _authenticate_key(self, raw: bytes):
        try:
            return self.authenticate_credentials(raw.decode())
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc

    def authenticate_credentials(self, key):
        if len(key) > 100 or not key.isascii():
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = ApiToken.objects.select_related("user").filter(key_sha256=hash_key(key)).first()
        if token is None or token.is_revoked:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
