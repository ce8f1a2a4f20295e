"""/metrics: closed without the token or an allowed address; custom metrics move with decisions, reviews, drift."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from scoring.decisions import services
from scoring.lifecycle import versions
from scoring.monitoring import reports
from tests.support.monitoring_data import holdout_frame, record_population

TOKEN = "a-metrics-token-for-tests-0123456789"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return TOKEN


def _scrape(client, token=TOKEN, **extra):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def _sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_it_refuses_a_scrape_without_a_token(client, metrics_token, db):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"creditscore_" not in response.content


def test_it_refuses_a_wrong_token(client, metrics_token, db):
    assert _scrape(client, token="not-the-token").status_code == 403


def test_it_refuses_everyone_when_neither_a_token_nor_addresses_are_configured(client, settings, db):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert _scrape(client, token="").status_code == 401
    assert _scrape(client, token="anything").status_code == 403


def test_a_logged_in_auditor_is_not_enough(client, metrics_token, auditor):
    client.force_login(auditor)
    assert client.get("/metrics").status_code == 401


def test_allowed_addresses_and_networks_need_no_token(client, settings, db):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.168.1.5"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.6").status_code == 401
    # a forwarded-for header is the client's say-so and is ignored
    assert client.get("/metrics", REMOTE_ADDR="8.8.8.8", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 401


def test_it_exports_the_custom_and_django_metrics(client, metrics_token, db):
    response = _scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    for name in (
        "creditscore_predictions_total",
        "creditscore_scoring_seconds",
        "creditscore_probability_of_default",
        "creditscore_reviews_total",
        "creditscore_overrides_total",
        "creditscore_batch_rows_total",
        "creditscore_batch_job_seconds",
        "creditscore_model_loads_total",
        "creditscore_model_validations_total",
        "creditscore_active_model_info",
        "creditscore_drift_psi",
        "django_http_requests_total_by_method_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in body, name


def test_a_decision_counts_once_with_its_labels_and_latencies(officer, active_version, example_inputs):
    labels = {"channel": "web", "model_version": str(active_version.pk)}
    engine_before = _sample("creditscore_scoring_seconds_count", stage="engine", channel="web")
    total_before = _sample("creditscore_scoring_seconds_count", stage="total", channel="web")

    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")

    # Label sets repeat across tests (version ids restart), so count the second, identical decision.
    counted = {"decision": prediction.decision, "risk_band": prediction.risk_band, **labels}
    first = _sample("creditscore_predictions_total", **counted)
    assert first >= 1
    services.score_application(user=officer, inputs=example_inputs, channel="web")
    assert _sample("creditscore_predictions_total", **counted) == first + 1
    assert _sample("creditscore_scoring_seconds_count", stage="engine", channel="web") == engine_before + 2
    assert _sample("creditscore_scoring_seconds_count", stage="total", channel="web") == total_before + 2
    engine = _sample("creditscore_scoring_seconds_sum", stage="engine", channel="web")
    total = _sample("creditscore_scoring_seconds_sum", stage="total", channel="web")
    assert 0 < engine <= total
    assert (
        _sample(
            "creditscore_active_model_info", model_version=str(active_version.pk), sha256=active_version.sha256[:12]
        )
        == 1
    )


def test_an_override_counts_by_reason(officer, active_version, example_inputs):
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    outcome = "decline" if prediction.decision != "decline" else "approve"
    before = _sample("creditscore_overrides_total", reason="affordability")

    services.record_review(
        user=officer,
        prediction=prediction,
        outcome=outcome,
        reason_code="affordability",
        justification="Income does not cover the repayments.",
    )

    assert _sample("creditscore_overrides_total", reason="affordability") == before + 1
    assert _sample("creditscore_reviews_total", outcome=outcome, overridden="yes", reason="affordability") >= 1


def test_the_active_version_drops_to_zero_when_the_process_moves_on(active_version):
    from scoring.monitoring import metrics

    other = type(active_version)(pk=active_version.pk + 1000, sha256="f" * 64)
    metrics.record_active_model(active_version)
    metrics.record_active_model(other)
    old = {"model_version": str(active_version.pk), "sha256": active_version.sha256[:12]}
    assert _sample("creditscore_active_model_info", **old) == 0
    assert _sample("creditscore_active_model_info", model_version=str(other.pk), sha256="f" * 12) == 1


def test_a_rejected_bundle_counts_as_a_rejected_validation(tmp_path, db):
    from scoring.engine import BundleRejected

    (tmp_path / "model.cb").write_bytes(b"not a model")
    before = _sample("creditscore_model_validations_total", outcome="rejected")
    with pytest.raises(BundleRejected):
        versions.register_bundle(path=tmp_path)
    assert _sample("creditscore_model_validations_total", outcome="rejected") == before + 1


def test_the_latest_drift_report_is_exported(client, metrics_token, officer, active_version):
    record_population(officer, holdout_frame(1))
    report = reports.create_drift_report()

    body = _scrape(client).content.decode()

    line = f'creditscore_drift_psi{{feature="duration_in_month",model_version="{active_version.pk}"}}'
    assert line in body
    value = float(body.split(line, 1)[1].split()[0])
    assert value == pytest.approx(report.psi_by_feature()["duration_in_month"])
    assert f'creditscore_drift_psi{{feature="score",model_version="{active_version.pk}"}}' in body


def test_the_decision_log_line_has_ids_and_never_the_inputs(officer, active_version, example_inputs, caplog):
    with caplog.at_level(logging.INFO, logger="creditscore.decisions"):
        prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    [record] = [r for r in caplog.records if r.name == "creditscore.decisions"]
    assert record.prediction_id == prediction.pk
    assert record.model_version == active_version.pk
    assert record.decision == prediction.decision
    logged = " ".join(str(v) for v in vars(record).values())
    for name in ("credit_amount", "purpose", "personal_status_and_sex"):
        assert name not in logged
    assert str(example_inputs["purpose"]) not in logged
