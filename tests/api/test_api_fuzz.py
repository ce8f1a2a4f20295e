"""Schemathesis against the live OpenAPI schema, in-process, with every check it has.

Every operation the schema lists is fuzzed (so new endpoints are covered without
editing this file), with data that fits the schema (which must then be accepted) and
with data that does not (which must then be refused with a 4xx), as an officer (who
may score and review), an auditor (who may only read) and a model administrator (who
may load models). Every response must match the schema: status, media type, body
and headers.
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
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from accounts.tokens import issue_api_token

SCHEMA_URL = "/api/v1/schema/?format=json"
# Bounded so the file stays around a minute per database in CI: examples per operation, per mode, fixed seed.
EXAMPLES = {"officer": 40, "auditor": 15, "model_admin": 15}
# Each example of /score/many carries up to hundreds of applications: fewer examples keep the time bounded.
EXAMPLES_SCORE_MANY = {"officer": 15, "auditor": 8, "model_admin": 8}
# No NUL in generated text: the API refuses it in any string, anywhere in a body or query (databases cannot
# store it), as docs/api.md says; OpenAPI has no way to state that once for every string, and this is the
# option schemathesis gives for such servers. Every check still runs.
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-x00": False}})
load_all_checks()
# Every check schemathesis registers, not a chosen subset: a new release's checks apply here at once.
ALL_CHECKS = list(CHECKS.get_all())
# The one check that cannot apply to one operation, and why. A batch file is valid when its header names the
# active model's features and its rows are applications: OpenAPI can say "a file" but not what a CSV must
# hold, so a schema-valid upload (any bytes) is rightly refused with a 400 naming what is wrong with the file.
# Every other check, and invalid data, still runs against it.
INAPPLICABLE = {"POST /api/v1/batch-jobs": {"positive_data_acceptance"}}


def no_server_error_but_the_hub_s(ctx, response, case):
    """not_a_server_error, except the documented 502 of /models/reload when the Hub fails the load.

    The fuzzer names repos the (local, test) Hub does not have; a load of one fails upstream and is
    answered as a 502 problem carrying the failed load. Any other 5xx is still a failure.
    """
    if case.operation.label == "POST /api/v1/models/reload" and response.status_code == 502:
        body = response.json()
        assert body["status"] == 502 and body["load"]["state"] == "failed", body
        return None
    return checks.not_a_server_error(ctx, response, case)


@pytest.fixture
def api_schema(db, active_version, settings, django_user_model, hub_settings):
    settings.API_THROTTLE_USER_RATE = "1000000/minute"  # the fuzzer is one user sending thousands of requests
    settings.API_THROTTLE_ANON_RATE = "1000000/minute"  # ignored_auth repeats requests without credentials
    settings.API_AUTH_FAILURE_RATE = "1000000/minute"  # ... and with invalid ones, all from one address
    cache.clear()
    # Requests go through the plain WSGI handler, which closes "obsolete" connections at each request;
    # inside the test's transaction that would close the test's own connection (as Django's test client
    # knows, and so disconnects this handler too). For the same reason nothing here may use Django's
    # test client: it reconnects the handler after each of its requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    reader = django_user_model.objects.create_user("schema-reader", password=None)
    _, key = issue_api_token(user=reader, name="schema")
    yield schemathesis.openapi.from_wsgi(
        SCHEMA_URL, get_wsgi_application(), headers={"Authorization": f"Token {key}"}, config=CONFIG
    )
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def fuzz(operation, *, mode: GenerationMode, examples: int, headers: dict[str, str]) -> None:
    skipped = INAPPLICABLE.get(operation.label, set())
    chosen = [check for check in ALL_CHECKS if check.__name__ not in skipped]
    chosen = [no_server_error_but_the_hub_s if check is checks.not_a_server_error else check for check in chosen]

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
        case.call_and_validate(headers=headers, checks=chosen)

    run()


def has_inputs(operation) -> bool:
    """Whether an operation takes parameters or a body: without any, no invalid request can be generated."""
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def test_every_check_schemathesis_has_is_run():
    names = {check.__name__ for check in ALL_CHECKS}
    assert {"not_a_server_error", "negative_data_rejection", "positive_data_acceptance", "ignored_auth"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", ["officer", "auditor", "model_admin"])
def test_every_operation_keeps_the_schema_s_promises(api_schema, mode, role, request):
    user = request.getfixturevalue(role)
    _, key = issue_api_token(user=user, name="fuzz")
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /api/v1/score", "GET /api/v1/batch-jobs/{job_id}/result"}
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
