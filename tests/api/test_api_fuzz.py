"""Schemathesis against the live OpenAPI schema, in-process: no 5xx, and every response matches the schema.

Every operation the schema lists is fuzzed (so new endpoints are covered without
editing this file), with data that fits the schema and with data that does not,
as an officer (who may score and review) and as an auditor (who may only read).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from accounts.tokens import issue_api_token

SCHEMA_URL = "/api/v1/schema/?format=json"
# Bounded so the file stays under a minute per database in CI: examples per operation, per mode, fixed seed.
EXAMPLES = {"officer": 60, "auditor": 25}
# Each example of /score/many carries up to hundreds of applications: fewer examples keep the time bounded.
EXAMPLES_SCORE_MANY = {"officer": 20, "auditor": 12}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture
def api_schema(db, active_version, settings, django_user_model):
    settings.API_THROTTLE_USER_RATE = "1000000/minute"  # the fuzzer is one user sending thousands of requests
    cache.clear()
    # Requests go through the plain WSGI handler, which closes "obsolete" connections at each request;
    # inside the test's transaction that would close the test's own connection (as Django's test client
    # knows, and so disconnects this handler too). For the same reason nothing here may use Django's
    # test client: it reconnects the handler after each of its requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    reader = django_user_model.objects.create_user("schema-reader", password=None)
    _, key = issue_api_token(user=reader, name="schema")
    yield schemathesis.openapi.from_wsgi(SCHEMA_URL, get_wsgi_application(), headers={"Authorization": f"Token {key}"})
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def fuzz(operation, *, mode: GenerationMode, examples: int, headers: dict[str, str]) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def has_inputs(operation) -> bool:
    """Whether an operation takes parameters or a body: without any, no invalid request can be generated."""
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", ["officer", "auditor"])
def test_no_server_errors_and_responses_match_the_schema(api_schema, mode, role, request):
    user = request.getfixturevalue(role)
    _, key = issue_api_token(user=user, name="fuzz")
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /api/v1/score", "GET /api/v1/models/active"}
    failures = []
    for operation in operations:
        examples = (EXAMPLES_SCORE_MANY if operation.path.endswith("/score/many") else EXAMPLES)[role]
        try:
            fuzz(operation, mode=mode, examples=examples, headers={"Authorization": f"Token {key}"})
        except Unsatisfiable:
            if mode == GenerationMode.POSITIVE or has_inputs(operation):
                failures.append(f"{operation.label}: no {mode} example could be generated")
        except Exception as exc:  # collect every operation's failure, not only the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
