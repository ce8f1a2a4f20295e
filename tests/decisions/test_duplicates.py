"""Scoring an application the officer already decided recently asks first, in the form and in the API."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone

from scoring.decisions import selectors, services
from scoring.models import Channel, Prediction
from tests.support.applications import as_post, inputs_by_decision

NEW = reverse("scoring:application-new")


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def submit(client, inputs: dict[str, object], **extra):
    page = BeautifulSoup(client.get(NEW).content, "html.parser")
    token = page.find("input", {"name": "form_token"})["value"]
    return client.post(NEW, {**as_post(inputs), "form_token": token, **extra})


def page_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def score(api, body: dict, **headers):
    return api.post("/api/v1/score", body, format="json", **headers)


# --- the form ---------------------------------------------------------------------------


def test_the_form_warns_about_a_recent_decision_of_the_same_reference_and_records_nothing(
    officer_client, officer, active_version
):
    earlier = services.score_application(
        user=officer, inputs=inputs_by_decision()["approve"], channel=Channel.WEB, external_ref="LOS-1"
    )
    # Other answers, same reference: the reference names the application.
    response = submit(officer_client, inputs_by_decision()["decline"], external_ref="LOS-1")

    assert response.status_code == 200
    assert Prediction.objects.count() == 1
    page = page_of(response)
    warning = page.find(id="duplicate-warning")
    assert f"already decided as #{earlier.pk} on" in warning.get_text(" ", strip=True)
    assert warning.find("a")["href"] == reverse("scoring:prediction-detail", args=[earlier.pk])
    assert page.find("input", {"name": "confirm_duplicate"})["value"] == str(earlier.pk)
    assert (
        page.find("form", class_="application-form").find("button", {"type": "submit"}).get_text(strip=True)
        == "Score again"
    )
    assert page.find("input", {"name": "external_ref"})["value"] == "LOS-1"  # what was typed is kept


def test_score_again_records_a_second_decision(officer_client, officer, active_version):
    inputs = inputs_by_decision()["approve"]
    earlier = services.score_application(user=officer, inputs=inputs, channel=Channel.WEB)
    warned = page_of(submit(officer_client, inputs))
    token = warned.find("input", {"name": "form_token"})["value"]
    confirm = warned.find("input", {"name": "confirm_duplicate"})["value"]

    response = officer_client.post(NEW, {**as_post(inputs), "form_token": token, "confirm_duplicate": confirm})

    again = Prediction.objects.exclude(pk=earlier.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:prediction-detail", args=[again.pk])


def test_confirming_one_decision_does_not_pass_a_duplicate_of_another(officer_client, officer, active_version):
    first = services.score_application(
        user=officer, inputs=inputs_by_decision()["approve"], channel=Channel.WEB, external_ref="A-1"
    )
    second = services.score_application(user=officer, inputs=inputs_by_decision()["decline"], channel=Channel.WEB)

    response = submit(officer_client, inputs_by_decision()["decline"], confirm_duplicate=str(first.pk))

    assert response.status_code == 200
    assert Prediction.objects.count() == 2
    assert page_of(response).find("input", {"name": "confirm_duplicate"})["value"] == str(second.pk)


def test_inputs_are_compared_as_validated_not_as_typed(officer_client, officer, active_version, example_inputs):
    """Sent as JSON numbers to the API, then typed as text in the form: the same application."""
    earlier = services.score_application(user=officer, inputs=example_inputs, channel=Channel.API)
    typed = {k: f" {v} " if isinstance(v, int) else v for k, v in example_inputs.items()}

    response = submit(officer_client, typed)

    assert response.status_code == 200
    assert f"#{earlier.pk}" in page_of(response).find(id="duplicate-warning").get_text()


def test_another_officers_decision_is_not_a_duplicate(officer_client, other_officer, active_version):
    inputs = inputs_by_decision()["approve"]
    services.score_application(user=other_officer, inputs=inputs, channel=Channel.WEB, external_ref="LOS-9")

    response = submit(officer_client, inputs, external_ref="LOS-9")

    assert response.status_code == 302
    assert Prediction.objects.count() == 2


# --- the API ------------------------------------------------------------------------------


def test_the_api_answers_409_with_the_existing_decision_and_force_scores_again(
    officer_api, officer, active_version, example_inputs
):
    created = score(officer_api, {"inputs": example_inputs, "external_ref": "R-7"})
    assert created.status_code == 201
    first = created.json()["id"]

    refused = score(officer_api, {"inputs": example_inputs})

    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("duplicate-application")
    assert problem["existing"]["id"] == first
    assert problem["existing"]["url"] == f"http://testserver/api/v1/predictions/{first}"
    assert f"#{first}" in problem["detail"] and "force" in problem["detail"]
    assert Prediction.objects.count() == 1
    assert officer_api.get(problem["existing"]["url"]).json()["id"] == first

    forced = score(officer_api, {"inputs": example_inputs, "force": True})
    assert forced.status_code == 201
    assert forced.json()["id"] != first
    assert Prediction.objects.count() == 2


@pytest.mark.parametrize("force", ["true", 1, None])
def test_force_must_be_a_json_boolean(officer_api, active_version, example_inputs, force):
    response = score(officer_api, {"inputs": example_inputs, "force": force})

    assert response.status_code == 400
    assert "force" in response.json()["errors"]
    assert Prediction.objects.count() == 0


def test_an_idempotent_replay_is_not_a_duplicate(officer_api, active_version, example_inputs):
    body = {"inputs": example_inputs, "external_ref": "K-1"}
    first = score(officer_api, body, HTTP_IDEMPOTENCY_KEY="key-1")
    replay = score(officer_api, body, HTTP_IDEMPOTENCY_KEY="key-1")
    fresh_key = score(officer_api, body, HTTP_IDEMPOTENCY_KEY="key-2")

    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert fresh_key.status_code == 409  # a new key for the same application is a new decision: ask first
    assert fresh_key.json()["existing"]["id"] == first.json()["id"]
    assert Prediction.objects.count() == 1


def test_a_replay_racing_its_first_request_returns_the_first(officer, active_version, example_inputs, monkeypatch):
    """The first request committed between the replay check and the duplicate check: still a replay."""
    first, _ = services.score_application_once(
        user=officer, inputs=example_inputs, channel=Channel.API, idempotency_key="k", check_duplicates=True
    )
    real, calls = services._idempotent_replay, []

    def too_early(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(services, "_idempotent_replay", too_early)
    again, created = services.score_application_once(
        user=officer, inputs=example_inputs, channel=Channel.API, idempotency_key="k", check_duplicates=True
    )

    assert (again.pk, created) == (first.pk, False)
    assert Prediction.objects.count() == 1


def test_score_many_answers_each_duplicate_in_its_item(officer_api, active_version, example_inputs):
    approve, refer = inputs_by_decision()["approve"], inputs_by_decision()["refer"]
    earlier = score(officer_api, {"inputs": example_inputs, "external_ref": "M-1"}).json()["id"]
    body = {
        "applications": [
            {"inputs": approve, "external_ref": "M-1"},  # same reference
            {"inputs": refer},  # new
            {"inputs": example_inputs, "force": True},  # same inputs, scored again on purpose
        ]
    }

    response = officer_api.post("/api/v1/score/many", body, format="json")

    assert response.status_code == 200
    data = response.json()
    assert (data["scored"], data["rejected"]) == (2, 1)
    duplicate, new, forced = data["results"]
    assert duplicate["prediction"] is None
    assert duplicate["duplicate_of"]["id"] == earlier
    assert duplicate["duplicate_of"]["url"].endswith(f"/api/v1/predictions/{earlier}")
    assert f"#{earlier}" in duplicate["errors"]["force"][0]
    assert new["prediction"] is not None and new["duplicate_of"] is None
    assert forced["prediction"]["id"] != earlier
    assert Prediction.objects.count() == 3


def test_another_officers_decision_is_not_a_duplicate_in_the_api(
    officer_api, other_officer_api, active_version, example_inputs
):
    assert score(other_officer_api, {"inputs": example_inputs, "external_ref": "S-1"}).status_code == 201
    assert score(officer_api, {"inputs": example_inputs, "external_ref": "S-1"}).status_code == 201


# --- the window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "status"), [(timedelta(days=30, minutes=-1), 409), (timedelta(days=30, minutes=1), 201)]
)
def test_only_decisions_within_the_window_count(
    officer_api, officer, active_version, example_inputs, settings, monkeypatch, age, status
):
    settings.DUPLICATE_WINDOW_DAYS = 30
    services.score_application(user=officer, inputs=example_inputs, channel=Channel.API)
    # The same request made `age` after the first decision.
    later = timezone.now() + age
    monkeypatch.setattr(selectors, "timezone", types.SimpleNamespace(now=lambda: later))

    assert score(officer_api, {"inputs": example_inputs}).status_code == status


def test_a_window_of_zero_days_turns_the_check_off(officer_api, active_version, example_inputs, settings):
    settings.DUPLICATE_WINDOW_DAYS = 0
    assert score(officer_api, {"inputs": example_inputs}).status_code == 201
    assert score(officer_api, {"inputs": example_inputs}).status_code == 201


def test_a_negative_window_is_refused_at_start_up():
    env = {**os.environ, "DUPLICATE_WINDOW_DAYS": "-1", "DJANGO_SETTINGS_MODULE": "creditscore.settings"}
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode != 0
    assert "DUPLICATE_WINDOW_DAYS must be 0 (no check) or more days." in run.stderr
