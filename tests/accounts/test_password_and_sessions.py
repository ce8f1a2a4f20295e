"""Signed-in users change their own password; a session ends a fixed time after its login, however busy."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import middleware
from accounts.models import AccessEvent

OLD = "a-long-test-password"
NEW = "plum-harbour-quietly-41"


def _change(client, old=OLD, new1=NEW, new2=NEW):
    return client.post(reverse("password_change"), {"old_password": old, "new_password1": new1, "new_password2": new2})


@pytest.mark.parametrize("persona", ["officer", "auditor", "model_admin"])
def test_every_role_can_change_its_own_password_and_stays_signed_in(client, persona, request):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    home = client.get(reverse("scoring:home"))
    assert reverse("password_change").encode() in home.content  # the user menu links to it

    response = _change(client)

    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert b"Password changed" in client.get(response["Location"]).content
    user.refresh_from_db()
    assert user.check_password(NEW) and not user.check_password(OLD)
    # Django's view rotates the session hash: this session is still signed in, no new login needed.
    assert client.get(reverse("scoring:home")).status_code == 200
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.PASSWORD_CHANGED)
    assert event.user == user and event.username == user.get_username()


def test_the_change_is_visible_in_the_access_log(client, officer, auditor):
    client.force_login(officer)
    _change(client)
    client.force_login(auditor)
    page = client.get(reverse("audit:access-log"), {"kind": "password_changed"})
    assert page.status_code == 200
    assert b"Changed password" in page.content and b"officer" in page.content


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"old": "not my password"}, "old_password", "incorrectly"),
        ({"new1": "short", "new2": "short"}, "new_password2", "too short"),
        ({"new1": "password1234", "new2": "password1234"}, "new_password2", "too common"),
        ({"new2": "plum-harbour-quietly-42"}, "new_password2", "match"),
    ],
)
def test_a_refused_change_names_the_field_and_keeps_the_old_password(client, officer, fields, field, message):
    client.force_login(officer)

    response = _change(client, **fields)

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    assert message.encode() in response.content
    officer.refresh_from_db()
    assert officer.check_password(OLD)
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.PASSWORD_CHANGED).exists()


def test_the_password_change_page_needs_a_login(client, db):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


class _Clock:
    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = _Clock(1_800_000_000.0)
    monkeypatch.setattr(middleware, "_now", fake)
    return fake


def _log_in(client):
    return client.post(reverse("login"), {"username": "officer", "password": OLD})


def test_an_active_session_ends_at_its_absolute_lifetime(client, officer, clock, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 3600
    assert _log_in(client).status_code == 302
    # Busy all along: a request every 20 minutes keeps renewing the idle timeout.
    for _ in range(3):
        clock.now += 20 * 60
        assert client.get(reverse("scoring:home")).status_code == 200
    clock.now += 20 * 60 + 1  # just past one hour since the login

    response = client.get(reverse("scoring:home"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.LOGOUT, user=officer).exists()
    # Logging in again starts a new lifetime.
    assert _log_in(client).status_code == 302
    assert client.get(reverse("scoring:home")).status_code == 200


def test_the_absolute_lifetime_applies_to_the_api_session_too(client, officer, clock, settings, active_version):
    settings.SESSION_ABSOLUTE_SECONDS = 60
    _log_in(client)
    assert client.get("/api/v1/models/active").status_code == 200
    clock.now += 61
    assert client.get("/api/v1/models/active").status_code == 401


def test_a_session_from_before_the_rule_gets_a_lifetime_from_now(client, officer, clock, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 3600
    _log_in(client)
    session = client.session
    del session[middleware.LOGIN_AT_KEY]
    session.save()

    assert client.get(reverse("scoring:home")).status_code == 200
    clock.now += 3601
    assert client.get(reverse("scoring:home")).status_code == 302


def test_every_way_to_set_a_password_is_in_the_access_log(admin_client, officer):
    # Django admin's own "Change password" leads to the same page as the user menu.
    own = admin_client.get("/admin/password_change/")
    assert own.status_code == 302 and own["Location"] == reverse("password_change")
    # An administrator setting another user's password.
    url = reverse("admin:auth_user_password_change", args=[officer.pk])
    refused = admin_client.post(url, {"password1": "short", "password2": "short"})
    assert refused.status_code == 200
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.PASSWORD_CHANGED).exists()

    response = admin_client.post(url, {"password1": NEW, "password2": NEW})

    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.check_password(NEW)
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.PASSWORD_CHANGED)
    assert (event.user, event.username, event.path) == (officer, "officer", url)
