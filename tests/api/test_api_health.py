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
    assert checks["model"].startswith("ok")
    assert checks["broker"].startswith("not configured")


def test_not_ready_without_an_active_model(client, db):
    ModelVersion.objects.all().delete()

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "Not ready: model failing."
    assert body["checks"]["database"] == "ok"


def test_not_ready_when_the_database_is_unreachable(client, active_version):
    def unreachable(execute, sql, params, many, context):
        raise OperationalError("could not connect to server")

    with connection.execute_wrapper(unreachable):
        response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("failing")
    assert "database" in response.json()["detail"]


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
