"""Settings: embedded defaults, PostgreSQL and Redis by URL, production refuses unsafe starts."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

ROOT = settings.BASE_DIR


def _settings_in_subprocess(env: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'creditscore.settings'; django.setup(); "
        f"from django.conf import settings as s; print({expression})"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=clean | env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_defaults_need_nothing_installed():
    result = _settings_in_subprocess({}, "s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django_prometheus.db.backends.sqlite3", "True", "True"]


def test_urls_switch_to_postgres_and_redis():
    result = _settings_in_subprocess(
        {"DATABASE_URL": "postgres://u:p@db:5432/cs", "CELERY_BROKER_URL": "redis://r:6379/0"},
        "s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django_prometheus.db.backends.postgresql", "cs", "False", "redis://r:6379/0"]


def test_production_refuses_to_start_without_secret_key_or_hosts():
    no_secret = _settings_in_subprocess({"DJANGO_DEBUG": "false", "ALLOWED_HOSTS": "bank.example"}, "1")
    assert no_secret.returncode != 0 and "SECRET_KEY must be set" in no_secret.stderr
    no_hosts = _settings_in_subprocess({"DJANGO_DEBUG": "false", "SECRET_KEY": "x" * 50}, "1")
    assert no_hosts.returncode != 0 and "ALLOWED_HOSTS must be set" in no_hosts.stderr
    ok = _settings_in_subprocess(
        {"DJANGO_DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "bank.example"}, "s.SESSION_COOKIE_SECURE"
    )
    assert ok.returncode == 0 and "True" in ok.stdout


def test_x_forwarded_proto_is_believed_only_behind_a_trusted_proxy():
    production = {"DJANGO_DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "bank.example"}
    expression = "getattr(s, 'SECURE_PROXY_SSL_HEADER', None)"
    # No proxy of ours: a client's own X-Forwarded-Proto must not make plain HTTP count as HTTPS.
    direct = _settings_in_subprocess(production | {"TRUSTED_PROXY_COUNT": "0"}, expression)
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout.split()[-1] == "None"
    behind = _settings_in_subprocess(production | {"TRUSTED_PROXY_COUNT": "1"}, expression)
    assert behind.returncode == 0, behind.stderr
    assert "HTTP_X_FORWARDED_PROTO" in behind.stdout
    opted_out = _settings_in_subprocess(
        production | {"TRUSTED_PROXY_COUNT": "1", "USE_X_FORWARDED_PROTO": "false"}, expression
    )
    assert opted_out.stdout.split()[-1] == "None"
