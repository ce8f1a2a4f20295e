"""Bad requests of every kind get a 4xx problem and store nothing; outages get a 503 and store nothing."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import OperationalError, connection

from scoring.decisions import services
from scoring.models import DailyStat, Prediction

PROBLEM = "application/problem+json"


def _body(example_inputs, **changes) -> dict:
    return {"inputs": example_inputs | changes}


def _raw(example_inputs, replace_value_of: str, raw_value: str) -> bytes:
    """A JSON body with one input's value replaced by raw text (which json.dumps would never write)."""
    marker = "__RAW__"
    text = json.dumps(_body(example_inputs, **{replace_value_of: marker}))
    return text.replace(f'"{marker}"', raw_value).encode()


BAD_BODIES = {
    "malformed JSON": (b'{"inputs": {', "application/json"),
    "empty body": (b"", "application/json"),
    "JSON that is not an object": (b"[1, 2, 3]", "application/json"),
    "non-UTF-8 bytes": (b'{"inputs": {"purpose": "\xff\xfe"}}', "application/json"),
    "latin-1 declared": (b'{"inputs": {}}', "application/json; charset=latin-1"),
    "deeply nested": (b'{"inputs": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),
    "moderately nested": (b'{"inputs": ' + b'{"a": ' * 30 + b"1" + b"}" * 30 + b"}", "application/json"),
    "NUL in text": (b'{"inputs": {}, "external_ref": "a\\u0000b"}', "application/json"),
    "lone surrogate": (b'{"inputs": {"purpose": "\\ud800"}}', "application/json"),
    "form encoded": (b"inputs=1", "application/x-www-form-urlencoded"),
    "text/plain": (b'{"inputs": {}}', "text/plain"),
    "multipart": (b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_malformed_requests_are_4xx_problems(officer_api, active_version, name):
    body, content_type = BAD_BODIES[name]

    response = officer_api.generic("POST", "/api/v1/score", body, content_type=content_type)

    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["title"] and problem["detail"] and problem["type"]
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("credit_amount", "NaN"),
        ("credit_amount", "Infinity"),
        ("credit_amount", "-Infinity"),
        ("credit_amount", "1e400"),
        ("credit_amount", "9" * 5000),
        ("credit_amount", "9" * 4000),
        ("credit_amount", "1e308"),
        ("credit_amount", "true"),
        ("credit_amount", "[1]"),
        ("credit_amount", '{"a": 1}'),
        ("purpose", json.dumps("x" * 100_000)),
        ("purpose", "12"),
        ("purpose", "null"),
    ],
)
def test_odd_values_are_400s_not_500s(officer_api, active_version, example_inputs, field, raw):
    response = officer_api.generic(
        "POST", "/api/v1/score", _raw(example_inputs, field, raw), content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    assert Prediction.objects.count() == 0


def test_a_body_over_the_limit_is_a_413(officer_api, active_version, example_inputs, settings):
    settings.API_MAX_BODY_BYTES = 1000
    body = json.dumps({"inputs": example_inputs, "external_ref": "x" * 2000}).encode()

    response = officer_api.generic("POST", "/api/v1/score", body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert Prediction.objects.count() == 0


def test_errors_name_every_bad_field(officer_api, active_version, example_inputs):
    response = officer_api.post("/api/v1/score", {"inputs": {"purpose": "yacht"}}, format="json")

    errors = response.json()["errors"]
    assert errors["inputs.purpose"] == ["'yacht' is not one of the allowed choices."]
    assert errors["inputs.credit_amount"] == ["This field is required."]


def test_a_database_failure_is_a_503_and_no_decision_leaves_without_its_row(
    officer_api, active_version, example_inputs, monkeypatch, failing_write
):
    failing_write("aggregates")

    # score/many writes with the ORM on every database
    def failing_count(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_count", failing_count)

    one = officer_api.post("/api/v1/score", {"inputs": example_inputs}, format="json")
    many = officer_api.post("/api/v1/score/many", {"applications": [{"inputs": example_inputs}]}, format="json")

    for response in (one, many):
        assert response.status_code == 503
        assert response["Content-Type"] == PROBLEM
        assert "decision" not in response.json() and "results" not in response.json()
    assert Prediction.objects.count() == 0
    assert DailyStat.objects.count() == 0


# --- idempotency under concurrency (PostgreSQL) --------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_store_one_prediction(
    officer, active_version, example_inputs, monkeypatch
):
    from tests.conftest import token_client

    # Hold both requests after their "is this key known?" look-up, so both really race to insert.
    both_scoring = threading.Barrier(2)
    score_application = services.score_application

    def score_together(**kwargs):
        both_scoring.wait(timeout=20)
        return score_application(**kwargs)

    monkeypatch.setattr(services, "score_application", score_together)
    clients = [token_client(officer), token_client(officer)]
    responses = [None, None]

    def send(i):
        try:
            responses[i] = clients[i].post(
                "/api/v1/score", {"inputs": example_inputs}, format="json", HTTP_IDEMPOTENCY_KEY="concurrent-1"
            )
        finally:
            connection.close()  # each thread has its own connection; do not leak it past the test

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(r.status_code for r in responses) == [200, 201]
    assert responses[0].json() == responses[1].json()
    assert Prediction.objects.filter(idempotency_key="concurrent-1").count() == 1
    assert DailyStat.objects.get().count == 1
