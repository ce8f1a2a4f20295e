"""The "What could be offered" panel and the counter-offer it starts, through the officer's pages."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from django.urls import reverse

from scoring.decisions import services
from scoring.lifecycle import registry, versions
from scoring.models import Channel, Prediction
from tests.offers.bundles import bundle_without_actionable
from tests.offers.cases import declines
from tests.support.applications import as_post, decided

NEW = reverse("scoring:application-new")


def detail(client, prediction) -> BeautifulSoup:
    response = client.get(reverse("scoring:prediction-detail", args=[prediction.pk]))
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def declined(officer, which: str = "with_offers") -> Prediction:
    prediction = services.score_application(user=officer, inputs=declines()[which], channel=Channel.WEB)
    assert prediction.decision == "decline"
    return prediction


@pytest.fixture
def officer_client(client, officer, active_version):
    client.force_login(officer)
    return client


def test_a_declined_decision_shows_alternatives_with_a_link_that_prefills_the_form(officer_client, officer):
    original = declined(officer)
    page = detail(officer_client, original)
    panel = page.find("section", {"aria-labelledby": "offers-title"})
    assert panel.find("h2").get_text() == "What could be offered"
    offers = panel.select("li.offer")
    assert 1 <= len(offers) <= 3
    first = offers[0]
    changes = [li.get_text() for li in first.select("ul.offer-changes li")]
    assert changes and all(" instead of " in c for c in changes)
    assert "Approve" in first.get_text()
    link = first.find("a", string="Start an application with these terms")["href"]
    query = parse_qs(urlparse(link).query)
    assert query["counter_offer_of"] == [str(original.pk)]

    form = BeautifulSoup(officer_client.get(link).content, "html.parser")
    assert form.find(id="counter-offer-note") is not None
    assert form.find("input", {"name": "counter_offer_of"})["value"] == str(original.pk)
    for name, values in query.items():
        if name == "counter_offer_of":
            continue
        field = form.find(attrs={"name": name})
        shown = field["value"] if field.name == "input" else field.find("option", selected=True)["value"]
        assert shown == values[0]
    unchanged = "status_of_existing_checking_account"
    assert form.find("select", {"name": unchanged}).find("option", selected=True)["value"] == str(
        original.features[unchanged]
    )


def test_submitting_the_counter_offer_records_a_new_linked_decision_and_leaves_the_original(officer_client, officer):
    original = declined(officer)
    before = Prediction.objects.filter(pk=original.pk).values().get()
    link = detail(officer_client, original).select_one("li.offer a.button")["href"]
    form = BeautifulSoup(officer_client.get(link).content, "html.parser")
    data = {}
    for field in form.select("form.application-form input, form.application-form select"):
        if field.name == "select":
            chosen = field.find("option", selected=True)
            data[field["name"]] = chosen["value"] if chosen else ""
        elif field.get("name") and field.get("type") != "submit":
            data[field["name"]] = field.get("value", "")
    response = officer_client.post(NEW, data)
    assert response.status_code == 302
    offer = Prediction.objects.latest("id")
    assert offer.pk != original.pk
    assert offer.counter_offer_of_id == original.pk
    assert offer.decision == "approve"
    assert Prediction.objects.filter(pk=original.pk).values().get() == before
    # Linked both ways on the officer's pages.
    assert f"Counter-offer of #{original.pk}" in detail(officer_client, offer).get_text(" ", strip=True)
    assert f"#{offer.pk} (approve)" in detail(officer_client, original).get_text(" ", strip=True)


def test_an_officer_cannot_start_a_counter_offer_of_another_officers_decision(
    client, other_officer, officer, active_version
):
    original = declined(officer)
    client.force_login(other_officer)
    assert client.get(f"{NEW}?counter_offer_of={original.pk}").status_code == 404
    response = client.post(NEW, {**as_post(declines()["with_offers"]), "counter_offer_of": str(original.pk)})
    assert response.status_code == 404
    assert not Prediction.objects.filter(counter_offer_of=original).exists()


def test_the_panel_says_so_when_nothing_within_the_limits_is_approved(officer_client, officer):
    page = detail(officer_client, declined(officer, "without_offers"))
    panel = page.find("section", {"aria-labelledby": "offers-title"})
    assert not panel.select("li.offer")
    assert "No alternative within the limits" in panel.get_text()


def test_the_panel_says_so_when_the_model_declares_nothing_an_offer_may_change(officer_client, officer, tmp_path):
    original = declined(officer)
    version = versions.register_bundle(path=bundle_without_actionable(tmp_path))
    versions.activate(version=version, user=None)
    panel = detail(officer_client, original).find("section", {"aria-labelledby": "offers-title"})
    assert not panel.select("li.offer")
    assert "declares no terms an offer may change" in panel.get_text()


def test_an_approved_decision_has_no_panel(officer_client, officer):
    assert detail(officer_client, decided(officer, "approve")).find(id="offers-title") is None


def test_the_auditor_sees_counter_offers_linked_both_ways(client, officer, auditor, active_version):
    original = declined(officer)
    offer = services.score_application(
        user=officer, inputs=declines()["with_offers"], channel=Channel.WEB, counter_offer_of=original
    )
    client.force_login(auditor)
    text = BeautifulSoup(client.get(reverse("audit:prediction-detail", args=[offer.pk])).content, "html.parser")
    assert f"Counter-offer of #{original.pk}" in text.get_text(" ", strip=True)
    page = client.get(reverse("audit:prediction-detail", args=[original.pk]))
    assert f"Counter-offers #{offer.pk} (decline)" in BeautifulSoup(page.content, "html.parser").get_text(
        " ", strip=True
    )


def test_a_french_reader_sees_the_terms_in_french_with_french_numbers(officer, active_version):
    french = Client(HTTP_ACCEPT_LANGUAGE="fr")
    french.force_login(officer)
    model = registry.get_active().model
    english_labels = {f.label.lower() for f in model.features if f.actionable is not None}

    panel = detail(french, declined(officer)).find("section", {"aria-labelledby": "offers-title"})
    # ASCII white space collapsed only: str.split() would also take the narrow no-break spaces of French numbers.
    changes = [re.sub(r"[ \t\r\n]+", " ", li.get_text()).strip() for li in panel.select("li.offer ul.offer-changes li")]
    assert changes and all(" au lieu de " in c for c in changes)
    assert not any(label in c.lower() for c in changes for label in english_labels)
    amounts = [c for c in changes if "DM" in c]
    # Amounts of four digits or more are grouped the French way ("2 100 DM"); this decline's offers have one.
    large = [c for c in amounts if re.search(r"\d{4}", c.replace("\u202f", ""))]
    assert large and all(re.search(r"\d\u202f\d{3}\u00a0DM", c) for c in large)

    nothing = detail(french, declined(officer, "without_offers")).find("section", {"aria-labelledby": "offers-title"})
    text = " ".join(nothing.get_text().split())
    assert "Aucune alternative dans les limites" in text
    french_labels = [f.in_language("fr").label.lower() for f in model.features if f.actionable is not None]
    assert all(label in text for label in french_labels), text
    assert not any(label in text for label in english_labels), text
