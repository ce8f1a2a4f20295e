"""Database round trips of the hot paths: a decision costs a fixed, small number of queries, and list
pages cost the same whatever the number of rows they show (no N+1)."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.urls import reverse

from scoring.decisions import services
from scoring.engine import InvalidApplication
from scoring.lifecycle import registry
from scoring.models import Channel, Prediction
from tests.support.applications import as_post

# Transaction control: inside a test's own transaction each atomic block is a savepoint and its release.
_TRANSACTION = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b")


def _transaction_statements(captured) -> int:
    return sum(bool(_TRANSACTION.match(q["sql"])) for q in captured.captured_queries)


def _statements(captured) -> list[str]:
    """The statements run, without transaction control, each as 'VERB table'."""
    out = []
    for q in captured.captured_queries:
        sql = q["sql"]
        if _TRANSACTION.match(sql):
            continue
        verb = sql.split()[0].upper()
        outer = sql
        while (
            verb == "SELECT" and (inner := re.sub(r"\([^()]*\)", "", outer)) != outer
        ):  # a SELECT's subqueries away: its table
            outer = inner
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', outer)
        out.append(f"{verb} {table.group(1) if table else '?'}")
    return out


@pytest.fixture
def steady_state(settings, active_version, example_inputs):
    """The model loaded and its version checked recently, as in a process that has served a while."""
    registry.get_active()
    settings.MODEL_CHECK_INTERVAL = 3600
    return example_inputs


def _first_decision_of_the_day(user, inputs):
    """Create today's aggregate rows, so the measured request updates them as almost every request does.

    With another application of the same decision and band: the same one again would be a duplicate.
    """
    services.score_application(user=user, inputs=_neighbour(inputs), channel=Channel.API)


def _neighbour(inputs: dict[str, object]) -> dict[str, object]:
    """An application one unit away in a number, decided the same way and in the same band."""
    model = registry.get_active().model

    def outcome(values):
        score = model.score_one(model.validate(values, text=False).features)
        return score.decision, score.risk_band

    wanted = outcome(inputs)
    for name, value in inputs.items():
        if isinstance(value, int) and not isinstance(value, bool):
            for step in (1, -1):
                candidate = {**inputs, name: value + step}
                try:
                    if outcome(candidate) == wanted:
                        return candidate
                except InvalidApplication:
                    continue
    raise AssertionError("no neighbouring application with the same outcome")


# Recording a decision: on PostgreSQL one statement inserts it and adds it to its three aggregate
# rows; elsewhere the ORM's INSERT and three UPDATEs in a transaction. Either way a savepoint and
# its release here, inside the test's own transaction (in production the PostgreSQL statement is
# its own transaction and sends nothing else).
if connection.vendor == "postgresql":
    RECORD = ["WITH scoring_prediction"]
else:
    RECORD = [
        "INSERT scoring_prediction",
        "UPDATE scoring_dailystat",
        "UPDATE scoring_monthlystat",
        "UPDATE scoring_dailytotal",
    ]
RECORD_TRANSACTION = 2


def test_api_score_costs_three_round_trips_on_postgresql(officer_api, steady_state, django_assert_num_queries):
    body = json.dumps({"inputs": steady_state})
    # The first request of the day creates the aggregate rows and notes when the token was last used.
    first = json.dumps({"inputs": _neighbour(steady_state)})
    assert officer_api.post("/api/v1/score", first, content_type="application/json").status_code == 201
    expected = [
        "SELECT accounts_apitoken",  # the token, its user and the user's roles
        "SELECT scoring_prediction",  # did this officer decide the same application recently?
        *RECORD,  # the decision and its counts
    ]
    with django_assert_num_queries(len(expected) + RECORD_TRANSACTION) as captured:
        response = officer_api.post("/api/v1/score", body, content_type="application/json")
    assert response.status_code == 201
    assert _statements(captured) == expected
    assert _transaction_statements(captured) == RECORD_TRANSACTION


def test_form_submit_scores_with_a_fixed_number_of_queries(client, officer, steady_state, django_assert_num_queries):
    _first_decision_of_the_day(officer, steady_state)
    services.score_application(user=officer, inputs=_neighbour(steady_state), channel=Channel.WEB)
    client.force_login(officer)
    page = client.get(reverse("scoring:application-new")).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    expected = [
        "SELECT django_session",
        "SELECT auth_user",
        "SELECT auth_group",
        "SELECT scoring_prediction",  # was this form already scored (double submit)?
        "SELECT scoring_prediction",  # did this officer decide the same application recently?
        *RECORD,
        "UPDATE django_session",  # the used form token is forgotten
    ]
    transactions = RECORD_TRANSACTION + 2  # and the session save's
    with django_assert_num_queries(len(expected) + transactions) as captured:
        response = client.post(reverse("scoring:application-new"), {**as_post(steady_state), "form_token": token})
    assert response.status_code == 302
    assert _statements(captured) == expected
    assert Prediction.objects.filter(user=officer, channel=Channel.WEB).count() == 2


def _queries_for(client_or_api, url, django_assert_max_num_queries) -> int:
    client_or_api.get(url)  # warm: a token's first use of the day is noted once
    with django_assert_max_num_queries(50) as captured:
        response = client_or_api.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("auditor", "/audit/predictions/"),
        ("officer", "/predictions/mine/"),
        ("officer", "/"),
        ("auditor", "/"),
        ("model_admin", "/"),
        ("auditor_api", "/api/v1/predictions"),
    ],
)
def test_list_pages_cost_the_same_for_few_and_many_rows(
    who, url, request, officer, auditor, model_admin, steady_state, django_assert_max_num_queries
):
    def add(n: int) -> None:
        """n decisions (the example application is declined), a third of them overridden."""
        for i in range(n):
            p = services.score_application(user=officer, inputs=steady_state, channel=Channel.WEB, external_ref=f"R{i}")
            if i % 3 == 0:
                services.record_review(
                    user=officer,
                    prediction=p,
                    outcome="approve",
                    reason_code="collateral",
                    justification="Collateral offered.",
                )

    if who.endswith("_api"):
        viewer = request.getfixturevalue(who)
    else:
        viewer = request.getfixturevalue("client")
        viewer.force_login(request.getfixturevalue(who))
    add(2)
    few = _queries_for(viewer, url, django_assert_max_num_queries)
    add(18)
    many = _queries_for(viewer, url, django_assert_max_num_queries)
    assert many == few, f"{url}: {few} queries for 2 rows, {many} for 20"
