"""API tokens: shown once, stored as a hash, revocable from admin, created by a management command."""

from __future__ import annotations

import io

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


def test_admin_creates_a_token_showing_its_key_once_and_revokes(admin_client, officer, active_version):
    response = admin_client.post("/admin/accounts/apitoken/add/", {"user": officer.pk, "name": "los"}, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    key = next(word for m in messages for word in m.split() if word.startswith("cs_"))
    token = ApiToken.objects.get()
    assert token.key_sha256 == hash_key(key)
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
