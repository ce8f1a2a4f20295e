"""API tokens: issuing (the key is returned once), revoking, and the DRF authentication that checks them."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from accounts.languages import supported
from accounts.models import ApiToken, Profile
from accounts.permissions import ROLES

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
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc

    def authenticate_credentials(self, key):
        if len(key) > 100 or not key.isascii():
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        found = _TokenLookup.get(router.db_for_read(ApiToken)).find(hash_key(key))
        if found is None or found.is_revoked:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        if not found.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        return found.user, found


_ROLE_CHECK = (
    "EXISTS (SELECT 1 FROM {memberships} m JOIN {groups} g ON g.{group_pk} = m.{member_group}"
    " WHERE m.{member} = u.{user_pk} AND g.{group_name} = %s)"
)
# The user's page language (accounts.models.Profile), for API answers without an Accept-Language header.
_LANGUAGE = "(SELECT p.{language} FROM {profiles} p WHERE p.{profile_user} = u.{user_pk})"
_LOOKUP = "SELECT {columns} FROM {tokens} t JOIN {users} u ON u.{user_pk} = t.{token_user} WHERE t.{key} = %s"


class _TokenLookup:
    """The token, its user, the user's roles and page language in one query: the API asks this on every request.

    Through the ORM it was two queries (the token with its user, then the user's groups) and most of a
    request's framework time. The statement is written once per database from the models' metadata;
    values pass through the same converters the ORM applies, so the instances are what ``objects`` gives.
    """

    @classmethod
    @functools.cache
    def get(cls, alias: str) -> _TokenLookup:
        return cls(alias)

    def __init__(self, alias: str):
        self.alias = alias
        connection = connections[alias]
        qn = connection.ops.quote_name
        user_model = get_user_model()
        self.user_model = user_model
        self.token_fields = list(ApiToken._meta.concrete_fields)
        self.user_fields = list(user_model._meta.concrete_fields)
        groups = user_model._meta.get_field("groups")
        # Identifiers from the models' metadata, quoted by the backend; the only values are parameters.
        names = {
            "tokens": qn(ApiToken._meta.db_table),
            "users": qn(user_model._meta.db_table),
            "user_pk": qn(user_model._meta.pk.column),
            "token_user": qn(ApiToken._meta.get_field("user").column),
            "key": qn(ApiToken._meta.get_field("key_sha256").column),
            "memberships": qn(groups.remote_field.through._meta.db_table),
            "member": qn(groups.m2m_column_name()),
            "member_group": qn(groups.m2m_reverse_name()),
            "groups": qn(Group._meta.db_table),
            "group_pk": qn(Group._meta.pk.column),
            "group_name": qn(Group._meta.get_field("name").column),
            "profiles": qn(Profile._meta.db_table),
            "language": qn(Profile._meta.get_field("language").column),
            "profile_user": qn(Profile._meta.get_field("user").column),
        }
        columns = [f"t.{qn(f.column)}" for f in self.token_fields] + [f"u.{qn(f.column)}" for f in self.user_fields]
        columns += [_ROLE_CHECK.format(**names)] * len(ROLES)
        columns.append(_LANGUAGE.format(**names))
        self.sql = _LOOKUP.format(columns=", ".join(columns), **names)
        self.converters = []
        for index, (model, field) in enumerate(
            [(ApiToken, f) for f in self.token_fields] + [(user_model, f) for f in self.user_fields]
        ):
            column = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self.converters.append((index, found, column))

    def find(self, key_sha256: str) -> ApiToken | None:
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [*ROLES, key_sha256])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, converters, column in self.converters:
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        split = len(self.token_fields)
        token = ApiToken.from_db(self.alias, [f.attname for f in self.token_fields], values[:split])
        user_values = values[split : split + len(self.user_fields)]
        user = self.user_model.from_db(self.alias, [f.attname for f in self.user_fields], user_values)
        roles = row[-len(ROLES) - 1 : -1]
        user._creditscore_roles = {role for role, held in zip(ROLES, roles, strict=True) if held}
        user._profile_language = supported(row[-1])
        token.user = user
        return token
