"""API tokens: shown once, stored as a hash, revocable from admin, created by a management command."""

from __future__ import annotations

import base64
import io
import zlib

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import hash_key, issue_api_token


def test_only_the_hash_of_a_key_is_stored(officer):
    token, key = issue_api_token(user=officer, name="loan origination")

    stored = ApiToken.objects.get()
    assert key.startswith("cs_") and len(key) > 40
    assert stored.key_sha256 == hash_key(key)
    assert key not in {getattr(stored, f.name) for f in ApiToken._meta.fields}
    assert stored.prefix == key[:10]
    assert str(token).startswith(key[:10])


def test_the_command_prints_a_working_key_once(officer, active_version):
    out = io.StringIO()

    call_command("create_api_token", "officer", "--name", "notebooks", stdout=out)

    key = out.getvalue().splitlines()[1]
    assert ApiToken.objects.get().name == "notebooks"
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/models/active").status_code == 200


def test_the_command_refuses_unknown_users(db):
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody", stdout=io.StringIO())


def _cookie_texts(cookies) -> list[str]:
    """Each cookie's value as sent and as anyone holding it can read it: Django signs cookies (messages
    included) but does not encrypt them; the payload before the first ':' is base64, zlib when it starts with '.'."""
    texts = []
    for morsel in cookies.values():
        texts.append(morsel.value)
        payload = morsel.value.split(":", 1)[0]
        compressed = payload.startswith(".")
        raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
        texts.append((zlib.decompress(raw) if compressed else raw).decode("utf-8", "replace"))
    return texts


def test_admin_creates_a_token_showing_its_key_once_and_revokes(admin_client, officer, active_version):
    created = admin_client.post("/admin/accounts/apitoken/add/", {"user": officer.pk, "name": "los"})
    assert created.status_code == 302
    shown = admin_client.get(created["Location"])

    key = shown.context["key"]
    assert key.startswith("cs_") and key in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    token = ApiToken.objects.get()
    assert token.key_sha256 == hash_key(key)
    # The key never travels in a cookie (the messages cookie is signed, not encrypted): only on the page.
    for response in (created, shown):
        assert not [text for text in _cookie_texts(response.cookies) if key in text]
    assert not [text for text in _cookie_texts(admin_client.cookies) if key in text]
    # Shown once: the same page again, or a reload, says the key is gone.
    again = admin_client.get(created["Location"])
    assert again.status_code == 200 and key not in again.content.decode()
    assert b"no longer available" in again.content
    listing = admin_client.get("/admin/accounts/apitoken/").content.decode()
    assert key not in listing and token.prefix in listing
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/models/active").status_code == 200

    admin_client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/models/active").status_code == 401


def test_tokens_of_inactive_users_are_refused(officer, active_version):
    _, key = issue_api_token(user=officer, name="x")
    officer.is_active = False
    officer.save()

    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/models/active").status_code == 401


def test_the_one_query_lookup_gives_what_the_orm_gives(officer, auditor, django_assert_num_queries):
    from django.contrib.auth import get_user_model

    from accounts.permissions import AUDITOR, OFFICER, roles_of
    from accounts.tokens import ApiTokenAuthentication

    _, key = issue_api_token(user=officer, name="x")
    get_user_model().objects.filter(pk=officer.pk).update(last_login="2026-01-02T03:04:05Z")
    ApiToken.objects.update(last_used_at="2026-11-30T12:00:00Z")  # so this use notes the time (an UPDATE)
    auditor.groups.add(*officer.groups.all())  # two roles, to see both come back

    with django_assert_num_queries(2):  # the lookup, and noting the use
        user, token = ApiTokenAuthentication().authenticate_credentials(key)
    assert roles_of(user) == {OFFICER}

    stored_user = get_user_model().objects.get(pk=officer.pk)
    stored_token = ApiToken.objects.get()
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(stored_user, field.attname), field.name
    assert user.last_login.tzinfo is not None and user.is_active is True
    assert (token.pk, token.user_id, token.key_sha256, token.name) == (
        stored_token.pk,
        officer.pk,
        stored_token.key_sha256,
        stored_token.name,
    )
    assert token.user is user and token.revoked_at is None and token.last_used_at.year == 2026
    assert not token._state.adding

    _, auditor_key = issue_api_token(user=auditor, name="y")
    auditor_user, _ = ApiTokenAuthentication().authenticate_credentials(auditor_key)
    assert roles_of(auditor_user) == {OFFICER, AUDITOR}


def test_unknown_keys_are_refused_without_a_match(officer):
    from rest_framework.exceptions import AuthenticationFailed

    from accounts.tokens import ApiTokenAuthentication

    issue_api_token(user=officer, name="x")
    with pytest.raises(AuthenticationFailed):
        ApiTokenAuthentication().authenticate_credentials("cs_" + "x" * 43)
