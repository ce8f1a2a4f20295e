"""The application form reads numbers by the engine's strict grammar: typed text is scored as written, or refused."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from scoring.engine.validation import NOT_A_NUMBER, NOT_A_WHOLE_NUMBER
from scoring.lifecycle import versions
from scoring.models import Prediction
from tests.support.applications import as_post, inputs_by_decision
from tests.support.synthetic_bundle import write_synthetic_bundle

NEW = reverse("scoring:application-new")


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def _submit(client, values: dict[str, object]):
    page = BeautifulSoup(client.get(NEW).content, "html.parser")
    token = page.find("input", {"name": "form_token"})["value"]
    response = client.post(NEW, {**values, "form_token": token})
    return response, BeautifulSoup(response.content, "html.parser")


@pytest.mark.parametrize(
    "typed",
    ["999,99", "1,500", "1 500", "1_500", "1e3", "\u0661\u0665\u0660\u0660", "\uff11\uff15\uff10\uff10", "1500 DM"],
)
def test_a_loan_amount_that_is_not_exactly_a_number_is_refused_next_to_the_field(officer_client, active_version, typed):
    response, page = _submit(officer_client, as_post(inputs_by_decision()["approve"]) | {"credit_amount": typed})

    assert response.status_code == 200
    assert not Prediction.objects.exists()
    assert page.find(id="id_credit_amount_error").get_text(strip=True) == NOT_A_WHOLE_NUMBER
    assert page.find("input", {"name": "credit_amount"})["value"] == typed  # kept as typed, to correct


def test_a_fraction_of_a_month_is_refused_not_cut(officer_client, active_version):
    _, page = _submit(officer_client, as_post(inputs_by_decision()["approve"]) | {"duration_in_month": "2.5"})

    assert not Prediction.objects.exists()
    assert page.find(id="id_duration_in_month_error").get_text(strip=True) == "Expected a whole number."


def test_typed_whole_numbers_are_scored_as_written(officer_client, active_version):
    inputs = as_post(inputs_by_decision()["approve"]) | {"credit_amount": " 2500 ", "duration_in_month": "024"}

    response, _ = _submit(officer_client, inputs)

    assert response.status_code == 302
    features = Prediction.objects.get().features
    assert (features["credit_amount"], features["duration_in_month"]) == (2500, 24)


@pytest.mark.parametrize(("typed", "scored"), [("2500,50", None), ("2,500.50", None), ("2500.50", 2500.5)])
def test_a_decimal_is_written_with_a_point(officer_client, active_version, tmp_path, typed, scored):
    version = versions.register_bundle(path=write_synthetic_bundle(tmp_path / "synthetic"))
    versions.activate(version=version, user=None)

    response, page = _submit(
        officer_client, {"monthly_income": typed, "employment_type": "student", "years_at_address": "3"}
    )

    if scored is None:
        assert not Prediction.objects.exists()
        assert page.find(id="id_monthly_income_error").get_text(strip=True) == NOT_A_NUMBER
    else:
        assert response.status_code == 302
        assert Prediction.objects.get().features["monthly_income"] == scored
