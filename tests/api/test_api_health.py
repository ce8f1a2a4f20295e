"""Health probes: liveness without dependencies, readiness naming the failing component."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection

from scoring.models import ModelVersion


def test_liveness_needs_nothing(client):
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_database_and_model_are(client, active_version):
    response = client.get("/health/ready")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["model"] == "ok"
    assert checks["broker"].startswith("not configured")


def test_not_ready_without_an_active_model(client, db):
    ModelVersion.objects.all().delete()

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "Not ready: model failing."
    assert body["checks"]["database"] == "ok"


def test_not_ready_when_the_database_is_unreachable(client, active_version, caplog):
    reason = 'connection to server at "db.internal" (10.1.2.3), port 6543 failed: password authentication failed'

    def unreachable(execute, sql, params, many, context):
        raise OperationalError(reason)

    with connection.execute_wrapper(unreachable), caplog.at_level("WARNING", logger="scoring.api.health"):
        response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "failing"
    assert "database" in response.json()["detail"]
    # The anonymous probe says which dependency fails, not where it lives or what the driver said: the log does.
    body = response.content.decode()
    for detail in ("db.internal", "10.1.2.3", "6543", "password", "connection to server"):
        assert detail not in body
    assert reason in caplog.text


def test_a_failing_probe_never_shows_the_broker_address_or_the_model_error(client, db, settings, caplog):
    ModelVersion.objects.all().delete()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://:s3cret@127.0.0.1:1/6"

    with caplog.at_level("WARNING", logger="scoring.api.health"):
        response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "model": "failing", "broker": "failing"}
    body = response.content.decode()
    assert "127.0.0.1" not in body and "s3cret" not in body and "No model version" not in body
    assert "No model version is active" in caplog.text and "readiness check broker failed" in caplog.text


def test_not_ready_when_a_configured_broker_is_unreachable(client, active_version, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/6"  # nothing listens on port 1

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["detail"] == "Not ready: broker failing."


@pytest.mark.redis
def test_ready_with_a_reachable_redis_broker(client, active_version, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/6"

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == "ok"


def test_probes_need_no_login_and_are_not_cached(client, active_version):
    response = client.get("/health/ready")

    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert client.post("/health/live").status_code == 405
