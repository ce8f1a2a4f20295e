"""Security hardening: login lockout and access log, CSP, deploy checks, password rules, proxies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse

from accounts.backends import client_ip
from accounts.models import AccessEvent

ROOT = Path(settings.BASE_DIR)


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, HTTP_USER_AGENT="pytest"
    )


def test_login_and_logout_are_recorded(client, officer):
    response = _login(client, "officer", "a-long-test-password")
    assert response.status_code == 302
    client.post(reverse("logout"))
    kinds = list(AccessEvent.objects.order_by("id").values_list("kind", "username", "ip_address"))
    assert kinds == [("login", "officer", "10.0.0.1"), ("logout", "officer", "127.0.0.1")]
    assert AccessEvent.objects.filter(kind="login").get().user == officer


def test_five_failed_logins_lock_the_account_and_are_visible_to_auditors(client, officer, auditor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _login(client, "officer", "wrong password")
    # The fifth failure already locks: the right password is refused too, with the lockout page.
    response = _login(client, "officer", "a-long-test-password")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    assert AccessEvent.objects.filter(kind="login_failed", username="officer").count() >= 5
    assert AccessEvent.objects.filter(kind="locked_out", username="officer").exists()
    assert AccessEvent.objects.filter(kind="login_failed").first().user == officer

    # Another address is locked out for this username as well, and the event says where it came from.
    assert _login(client, "officer", "a-long-test-password", ip="10.9.9.9").status_code == 429

    client.force_login(auditor)
    page = client.get(reverse("audit:access-log"), {"kind": "locked_out"})
    assert page.status_code == 200
    assert b"Locked out" in page.content and b"officer" in page.content
    failed = client.get(reverse("audit:access-log"), {"username": "officer", "kind": "login_failed"})
    assert len(failed.context["page"].items) >= 5


def test_failures_from_one_address_lock_that_address(client, officer, other_officer, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"nobody{n}", "guess", ip="10.6.6.6")
    assert _login(client, "officer2", "a-long-test-password", ip="10.6.6.6").status_code == 429
    assert _login(client, "officer2", "a-long-test-password", ip="10.7.7.7").status_code == 302


def test_a_successful_login_resets_the_failure_count(client, officer, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "officer", "wrong password")
    assert _login(client, "officer", "a-long-test-password").status_code == 302
    client.logout()
    assert _login(client, "officer", "wrong password").status_code == 200
    assert _login(client, "officer", "a-long-test-password").status_code == 302


def test_lockout_settings_come_from_the_environment():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'creditscore.settings'; django.setup(); "
        "from django.conf import settings as s; print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), "
        "s.SESSION_COOKIE_AGE, s.SESSION_SAVE_EVERY_REQUEST)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"AXES_FAILURE_LIMIT": "7", "AXES_COOLOFF_MINUTES": "2.5", "SESSION_IDLE_SECONDS": "600"}
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["7", "150", "600", "True"]


def test_pages_carry_a_csp_without_unsafe_inline(client, auditor):
    client.force_login(auditor)
    for url in (reverse("login"), reverse("audit:prediction-list"), reverse("admin:login")):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"


def test_templates_have_no_inline_scripts_or_styles():
    offending = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        inline_script = re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
        if inline_script or "<style" in text or re.search(r"\sstyle\s*=", text) or re.search(r"\son[a-z]+\s*=", text):
            offending.append(str(template.relative_to(ROOT)))
    assert offending == []


def test_check_deploy_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env |= {
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "s" * 20 + "-production-secret-key-for-check-1234",
        "ALLOWED_HOSTS": "bank.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_weak_passwords_are_refused(officer):
    for weak in ("password1234", "12345678901234", "officer12345", "short"):
        with pytest.raises(ValidationError):
            validate_password(weak, user=officer)
    validate_password("plum-harbour-quietly-41", user=officer)


@pytest.mark.parametrize(
    ("count", "forwarded", "remote", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.5", "10.0.0.5"),  # no proxy configured: the header is ignored
        (1, "6.6.6.6, 2.2.2.2", "10.0.0.5", "2.2.2.2"),  # the client forged the left-most entry
        (2, "2.2.2.2, 10.0.0.9", "10.0.0.5", "2.2.2.2"),
        (2, "", "10.0.0.5", "10.0.0.5"),
    ],
)
def test_client_ip_trusts_only_our_proxies(settings, count, forwarded, remote, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    assert client_ip(request) == expected


def test_roles_are_recreated_after_a_flush_empties_them(db):
    """pytest-django's flush after transactional tests empties the groups the data migration made."""
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.db.models.signals import post_migrate

    Group.objects.all().delete()
    # what flush sends at its end (per app with models; the roles handler listens for scoring's)
    post_migrate.send(
        sender=apps.get_app_config("scoring"),
        app_config=apps.get_app_config("scoring"),
        verbosity=0,
        interactive=False,
        using="default",
        apps=apps,
        plan=None,
    )
    roles = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert set(roles) == {"loan_officer", "auditor", "model_admin", "credit_manager", "credit_policy_manager"}
    assert "activate_policyversion" in roles["credit_policy_manager"] & roles["credit_manager"]
    assert "view_prediction" in roles["auditor"] and "add_prediction" not in roles["auditor"]
