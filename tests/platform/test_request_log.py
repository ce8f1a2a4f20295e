"""Structured logs: one line per request with its id, user, path, status and duration; JSON in production."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from creditscore.request_log import RequestIdFilter
from scoring.decisions import services


def _request_records(caplog):
    return [r for r in caplog.records if r.name == "creditscore.requests"]


def test_each_request_logs_one_line_with_user_status_and_duration(client, auditor, caplog):
    client.force_login(auditor)
    with caplog.at_level(logging.INFO, logger="creditscore.requests"):
        response = client.get("/monitoring/", HTTP_X_REQUEST_ID="trace-abc-12345")
    [record] = _request_records(caplog)
    assert response["X-Request-ID"] == "trace-abc-12345"
    assert record.request_id == "trace-abc-12345"
    assert (record.method, record.path, record.status, record.user_id) == ("GET", "/monitoring/", 200, auditor.pk)
    assert record.duration_ms > 0


def test_a_malformed_request_id_is_replaced(client, db, caplog):
    with caplog.at_level(logging.INFO, logger="creditscore.requests"):
        response = client.get("/accounts/login/", HTTP_X_REQUEST_ID='bad id"\n{forged}')
    [record] = _request_records(caplog)
    assert record.request_id == response["X-Request-ID"] != 'bad id"\n{forged}'
    assert len(record.request_id) == 32 and record.user_id is None


def test_the_decision_line_in_json_carries_the_request_id_and_no_inputs(
    client, officer, active_version, example_inputs, caplog
):
    formatter = JsonFormatter(**{k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"})
    with caplog.at_level(logging.INFO):
        caplog.handler.addFilter(RequestIdFilter())
        services.score_application(user=officer, inputs=example_inputs, channel="web")
    [record] = [r for r in caplog.records if r.name == "creditscore.decisions"]
    line = json.loads(formatter.format(record))
    assert line["logger"] == "creditscore.decisions" and line["level"] == "INFO"
    assert line["event"] == "decision" and line["model_version"] == active_version.pk
    assert isinstance(line["prediction_id"], int)
    assert "request_id" in line
    assert not set(example_inputs) & set(line)
    assert str(example_inputs["credit_amount"]) not in json.dumps(line)


def _log_one_line(debug: str) -> str:
    code = (
        "import django, logging, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'creditscore.settings'; django.setup(); "
        "logging.getLogger('creditscore.decisions').info('decision recorded', extra={'prediction_id': 7})"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "LOG_FORMAT", "SECRET_KEY"}}
    env |= {"DJANGO_DEBUG": debug, "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "bank.example"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_production_logs_are_json_lines_and_debug_logs_are_readable():
    line = json.loads(_log_one_line("false"))
    assert line["message"] == "decision recorded" and line["prediction_id"] == 7 and line["level"] == "INFO"
    plain = _log_one_line("true")
    assert plain.endswith("INFO creditscore.decisions [] decision recorded")
