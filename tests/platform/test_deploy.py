"""Deployment files: every metric the Grafana dashboard and alert rules query is in the app's /metrics output."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from scoring.decisions import services
from scoring.monitoring import metrics, reports
from tests.support.monitoring_data import holdout_frame, record_population

ROOT = Path(settings.BASE_DIR)
DEPLOY = ROOT / "deploy"
TOKEN = "deploy-test-token-0123456789abcdef"
# Our metrics and django-prometheus's; PromQL functions and label names never start with these.
METRIC = re.compile(r"\b((?:creditscore|django)_[a-zA-Z0-9_]+)")


def _dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "creditscore.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def _alert_queries() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _exported_sample_names(client) -> set[str]:
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    return {line.split("{")[0].split()[0] for line in body.splitlines() if line and not line.startswith("#")}


@pytest.fixture
def busy_app(client, settings, officer, active_version, example_inputs):
    """An app that has done one of everything the dashboards watch."""
    settings.METRICS_TOKEN = TOKEN
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    services.record_review(
        user=officer,
        prediction=prediction,
        outcome="decline" if prediction.decision != "decline" else "approve",
        reason_code="policy",
        justification="Credit policy rule 7 applies.",
    )
    metrics.record_batch_rows(scored=9, rejected=1)
    metrics.record_batch_job(state="failed", seconds=3.5)
    metrics.record_shadow_failure("task")
    record_population(officer, holdout_frame(1))
    reports.create_drift_report()
    client.get("/accounts/login/")  # a request, so django-prometheus has request and response samples
    return client


def test_every_metric_in_the_dashboard_and_alerts_is_exported(busy_app):
    queries = _dashboard_queries() + _alert_queries()
    named = {name for query in queries for name in METRIC.findall(query)}
    assert len(named) >= 10, named

    exported = _exported_sample_names(busy_app)

    missing = sorted(named - exported)
    assert not missing, f"queried but not exported: {missing}"


def test_the_dashboard_covers_volume_latency_rates_psi_and_versions():
    text = " ".join(_dashboard_queries())
    for needle in (
        "creditscore_predictions_total",
        "creditscore_scoring_seconds_bucket",
        'decision="approve"',
        "creditscore_overrides_total",
        "creditscore_drift_psi",
        "creditscore_active_model_info",
    ):
        assert needle in text, needle


def test_the_alert_rules_cover_what_the_issue_asks_for():
    names = {
        rule["alert"]
        for group in yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    assert {
        "CreditscoreHighErrorRate",
        "CreditscoreSlowRequests",
        "CreditscoreNoPredictions",
        "CreditscoreFeatureDrift",
        "CreditscoreApprovalRateOutOfBand",
        "CreditscoreHighOverrideRate",
        "CreditscoreModelVersionMismatch",
        "CreditscoreBatchJobFailed",
    } <= names


def test_prometheus_scrapes_the_web_app_with_the_token_and_the_worker():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web = jobs["creditscore-web"]
    assert web["static_configs"][0]["targets"] == ["web:8000"] and web["metrics_path"] == "/metrics"
    assert web["authorization"]["credentials_file"]
    assert jobs["creditscore-worker"]["static_configs"][0]["targets"] == ["worker:9808"]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def _compose_config() -> dict:
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x" * 50, "METRICS_TOKEN": "t" * 32, "GRAFANA_ADMIN_PASSWORD": "p"}
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_runs_the_full_stack_with_healthchecks():
    services_ = _compose_config()["services"]
    assert {"db", "redis", "web", "worker", "beat", "prometheus", "grafana"} <= set(services_)
    web = services_["web"]
    for step in ("collectstatic", "gunicorn -c gunicorn.conf.py"):
        assert step in str(web["command"]), step
    assert "/health/ready" in str(web["healthcheck"]["test"])
    assert "beat" in services_["beat"]["command"]
    assert services_["worker"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert services_["db"]["healthcheck"] and services_["redis"]["healthcheck"]


def test_compose_migrates_as_the_owner_and_runs_the_app_as_the_app_role():
    services_ = _compose_config()["services"]
    assert "migrate" not in str(services_["web"]["command"])
    assert services_["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services_["migrate"]["environment"]["DATABASE_URL"].endswith("?assume_role=creditscore_owner")
    for name in ("web", "worker", "beat"):
        assert services_[name]["environment"]["DATABASE_URL"].startswith("postgres://creditscore_app:"), name
    # deploy/postgres-roles.sql before migrate (the roles) and after it (the grants), then the app.
    assert "deploy/postgres-roles.sql" in str(services_["db-roles"]["command"])
    assert services_["migrate"]["depends_on"]["db-roles"]["condition"] == "service_completed_successfully"
    assert services_["db-grants"]["command"] == services_["db-roles"]["command"]
    assert services_["db-grants"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services_["web"]["depends_on"]["db-grants"]["condition"] == "service_completed_successfully"


def test_compose_refuses_to_start_without_the_metrics_token():
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x" * 50, "GRAFANA_ADMIN_PASSWORD": "p"}
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "METRICS_TOKEN" in result.stderr


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard():
    datasource = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())[
        "datasources"
    ][0]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    dashboard = json.loads((DEPLOY / "grafana/dashboards/creditscore.json").read_text())
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert uids == {datasource["uid"]}
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/creditscore.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_the_image_runs_as_a_non_root_user_from_a_pinned_base():
    dockerfile = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(bases) >= 2, "multi-stage build"
    assert all(re.search(r":\d+\.\d+\.\d+", b) for b in bases), bases
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "gunicorn.conf.py" in dockerfile
