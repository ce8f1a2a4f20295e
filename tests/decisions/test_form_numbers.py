"""The application form reads numbers the page's language's way, strictly: typed text is scored as written, or refused.

English: "2500", "2,500", "1,234.5"; French: "2500", "2 500" (any space between groups of three), "1 234,5".
Anything else (a decimal comma in English, a decimal point in French, groups not of three, letters,
other scripts' digits) is refused next to the field with an example in the page's language.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from scoring.lifecycle import versions
from scoring.models import Prediction
from tests.support.applications import as_post, inputs_by_decision
from tests.support.synthetic_bundle import write_synthetic_bundle

NEW = reverse("scoring:application-new")
WHOLE_NUMBER_EN = "Expected a whole number such as 2500 or 2,500."
NUMBER_EN = "Expected a number such as 1234.5 or 1,234.5."
NUMBER_FR = "Nombre attendu, par exemple 1234,5 ou 1\u202f234,5."


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
    [
        "999,99",
        "1 500",
        "1,50",
        "15,00,000",
        "1.500,5",
        "1_500",
        "1e3",
        "\u0661\u0665\u0660\u0660",
        "\uff11\uff15\uff10\uff10",
        "1500 DM",
    ],
)
def test_a_loan_amount_that_is_not_exactly_a_number_is_refused_next_to_the_field(officer_client, active_version, typed):
    response, page = _submit(officer_client, as_post(inputs_by_decision()["approve"]) | {"credit_amount": typed})

    assert response.status_code == 200
    assert not Prediction.objects.exists()
    assert page.find(id="id_credit_amount_error").get_text(strip=True) == WHOLE_NUMBER_EN
    assert page.find("input", {"name": "credit_amount"})["value"] == typed  # kept as typed, to correct


@pytest.mark.parametrize(("typed", "scored"), [("1,500", 1500), ("12,500", 12500), ("2500", 2500)])
def test_english_thousands_separators_are_read_between_groups_of_three(officer_client, active_version, typed, scored):
    response, _ = _submit(officer_client, as_post(inputs_by_decision()["approve"]) | {"credit_amount": typed})

    assert response.status_code == 302
    assert Prediction.objects.get().features["credit_amount"] == scored


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


@pytest.mark.parametrize(
    ("typed", "scored"), [("2500,50", None), ("2.500,5", None), ("2,500.50", 2500.5), ("2500.50", 2500.5)]
)
def test_in_english_a_decimal_is_written_with_a_point(officer_client, active_version, tmp_path, typed, scored):
    version = versions.register_bundle(path=write_synthetic_bundle(tmp_path / "synthetic"))
    versions.activate(version=version, user=None)

    response, page = _submit(
        officer_client, {"monthly_income": typed, "employment_type": "student", "years_at_address": "3"}
    )

    if scored is None:
        assert not Prediction.objects.exists()
        assert page.find(id="id_monthly_income_error").get_text(strip=True) == NUMBER_EN
    else:
        assert response.status_code == 302
        assert Prediction.objects.get().features["monthly_income"] == scored


@pytest.mark.parametrize(
    ("typed", "scored"),
    [
        ("2500,5", 2500.5),
        ("2 500,5", 2500.5),
        ("2\u202f500,5", 2500.5),
        ("2\u00a0500,5", 2500.5),
        ("2500", 2500),
        ("2500.5", None),  # a point is not the French decimal separator: refused, not guessed
        ("2,500.5", None),
        ("25 00,5", None),
    ],
)
def test_in_french_a_decimal_is_written_with_a_comma(officer_client, active_version, tmp_path, typed, scored):
    version = versions.register_bundle(path=write_synthetic_bundle(tmp_path / "synthetic"))
    versions.activate(version=version, user=None)
    officer_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"

    response, page = _submit(
        officer_client, {"monthly_income": typed, "employment_type": "student", "years_at_address": "3"}
    )

    if scored is None:
        assert not Prediction.objects.exists()
        assert page.find(id="id_monthly_income_error").get_text(strip=True) == NUMBER_FR
        assert page.find("input", {"name": "monthly_income"})["value"] == typed
    else:
        assert response.status_code == 302
        assert Prediction.objects.get().features["monthly_income"] == scored
