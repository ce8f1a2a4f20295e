"""Officer and auditor pages as a reviewer found them: focus after a failed review, the home actions,
the favicon, the audit detail's inputs, error-summary order, units, and searching "My decisions" by reference."""

from __future__ import annotations

import copy
import re

import pytest
from bs4 import BeautifulSoup
from django.test import Client, override_settings
from django.urls import reverse

from scoring.decisions import services
from scoring.decisions.forms import ApplicationForm, describe_range
from scoring.engine.schema import Feature
from scoring.lifecycle import registry
from scoring.models import Channel
from tests.support.applications import decided, inputs_by_decision

MINE = reverse("scoring:prediction-mine")


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


# --- the review form after a failed submit ---------------------------------------------


def test_a_failed_review_shows_a_focused_error_summary_at_the_form_linking_each_field(
    officer_client, officer, active_version
):
    prediction = decided(officer, "refer")
    url = reverse("scoring:prediction-review", args=[prediction.pk])
    page = soup(officer_client.post(url, {}))
    form = page.find("form", {"class": "review-form"})
    summary = form.find(id="error-summary")
    # app.js focuses #error-summary, which scrolls the page to it; it must be inside the review form.
    assert summary is not None and summary["tabindex"] == "-1" and summary["role"] == "alert"
    assert [a["href"] for a in summary.find_all("a")] == ["#id_outcome_0"]
    assert page.find(id="id_outcome_0")["name"] == "outcome"

    # A referral needs a reason and a justification too: the service says so, the summary lists both.
    second = soup(officer_client.post(url, {"outcome": "decline"}))
    links = second.find("form", {"class": "review-form"}).find(id="error-summary").find_all("a")
    assert [a.get_text().split(":")[0] for a in links] == ["Reason", "Justification"]
    for a in links:
        target = second.find(id=a["href"].removeprefix("#"))
        assert target is not None and target.name in ("input", "select", "textarea")
    assert second.find("select", {"name": "reason_code"}).has_attr("autofocus")
    # Without JavaScript the browser focuses (and scrolls to) the first invalid field.
    autofocused = page.find_all(attrs={"autofocus": True})
    assert autofocused and all(el["name"] == "outcome" for el in autofocused)
    assert form.find("input", {"name": "outcome"})["aria-invalid"] == "true"


def test_a_review_refused_by_the_service_also_lands_at_the_form(officer_client, officer, active_version):
    prediction = decided(officer, "decline")
    response = officer_client.post(
        reverse("scoring:prediction-review", args=[prediction.pk]), {"outcome": "approve", "reason_code": "collateral"}
    )
    summary = soup(response).find("form", {"class": "review-form"}).find(id="error-summary")
    assert "Justification" in summary.get_text()
    assert summary.find("a", href="#id_justification")


# --- home actions and favicon --------------------------------------------------------------


def test_the_home_page_offers_a_batch_upload_to_officers_only(client, officer, auditor, active_version):
    client.force_login(officer)
    button = soup(client.get("/")).find("a", string="Upload a batch")
    assert button is not None and button["href"] == reverse("scoring:batch-new")
    assert client.get(button["href"]).status_code == 200
    client.force_login(auditor)
    assert soup(client.get("/")).find("a", string="Upload a batch") is None


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)  # tests run without collectstatic
def test_the_favicon_answers_on_every_path_a_browser_asks(officer, active_version):
    client = Client()
    client.force_login(officer)
    page = soup(client.get("/"))
    linked = page.find("link", rel="icon")["href"]
    icon = client.get(linked)
    assert icon.status_code == 200 and icon["Content-Type"].startswith("image/svg+xml")
    fallback = Client().get("/favicon.ico", follow=True)  # admin and JSON pages link no icon
    assert fallback.status_code == 200 and fallback.redirect_chain
    assert b"<svg" in b"".join(fallback.streaming_content if fallback.streaming else [fallback.content])


# --- the audit detail lists each input once ----------------------------------------------


def test_the_audit_detail_lists_each_field_once(client, officer, auditor, active_version):
    model = registry.get_active().model
    protected = {f.name: f for f in model.protected}
    assert protected, "the test bundle has fairness-monitoring fields"
    inputs = dict(inputs_by_decision()["approve"])
    for name, feature in protected.items():
        inputs[name] = feature.choices[0] if feature.choices else 30
    prediction = services.score_application(user=officer, inputs=inputs, channel=Channel.WEB)
    assert prediction.protected
    client.force_login(auditor)
    page = soup(client.get(reverse("audit:prediction-detail", args=[prediction.pk])))
    headers = [th.get_text() for th in page.find_all("th", scope="row")]
    labels = {feature.label for feature in protected.values()}
    for label in labels:
        assert headers.count(label) == 1, label
    monitoring = page.find("h3", string=re.compile("Monitoring-only")).find_next("table")
    assert {th.get_text() for th in monitoring.find_all("th")} == labels


# --- the application form: summary order and units ------------------------------------------


def test_the_error_summary_follows_the_order_of_the_fields_on_the_page(officer_client, active_version):
    _, token = _open(officer_client)
    response = officer_client.post(reverse("scoring:application-new"), {"form_token": token})
    page = soup(response)
    in_summary = [a["href"].removeprefix("#") for a in page.find(id="error-summary").find_all("a")]
    on_page = [el["id"] for el in page.find_all(["input", "select", "textarea"]) if el.get("id") in in_summary]
    assert len(in_summary) > 3 and in_summary == on_page


def test_the_field_order_follows_the_sections_when_the_schema_interleaves_them(active_version):
    model = registry.get_active().model
    sections = {f.section for f in model.features}
    assert len(sections) > 1
    # Reverse the schema order so the sections interleave unlike the page's grouping.
    shuffled = copy.copy(model)
    shuffled.features = list(reversed(model.features))
    form = ApplicationForm(model=shuffled)
    shown = [bf.name for section in form.sections() for bf in section.fields]
    assert [name for name in form.fields if name in shown] == shown


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (1, None, "At least 1 month."),
        (2, None, "At least 2 months."),
        (None, 1, "At most 1 month."),
        (1, 72, "Between 1 and 72 months."),
    ],
)
def test_ranges_read_singular_for_one_unit(low, high, expected):
    feature = Feature(name="duration", kind="integer", label="Duration", unit="months", min=low, max=high)
    assert describe_range(feature) == expected


@pytest.mark.parametrize(("value", "text"), [(1, "1 month"), (1.0, "1 month"), (3, "3 months"), (0, "0 months")])
def test_values_with_units_read_singular_for_one(value, text):
    feature = Feature(name="duration", kind="integer", label="Duration", unit="months")
    assert feature.format_value(value) == text
    assert Feature(name="amount", kind="number", label="Amount", unit="DM").format_value(value).endswith(" DM")


def test_a_too_small_value_is_refused_in_the_singular(officer_client, active_version):
    model = registry.get_active().model
    feature = next(f for f in model.features if f.unit == "months" and f.min == 1)
    inputs = {**inputs_by_decision()["approve"], feature.name: 0}
    with pytest.raises(Exception) as caught:
        model.validate(inputs)
    assert "Must be at least 1 month." in str(caught.value)


def _open(client):
    page = soup(client.get(reverse("scoring:application-new")))
    return page, page.find("input", {"name": "form_token"})["value"]


# --- "My decisions" searched by reference -------------------------------------------------------


def _listed(client, url):
    rows = soup(client.get(url)).find("tbody").find_all("a")
    return [int(re.search(r"/predictions/(\d+)/", a["href"]).group(1)) for a in rows]


def test_my_decisions_finds_a_reference_by_its_beginning_whatever_the_capitals(
    officer_client, officer, other_officer, active_version
):
    a1 = decided(officer, "approve", external_ref="LN-2026-001")
    a2 = decided(officer, "decline", external_ref="ln-2026-002")
    decided(officer, "approve", external_ref="XLN-2026-003")
    decided(other_officer, "approve", external_ref="LN-2026-004")
    assert _listed(officer_client, MINE + "?reference=ln-2026") == [a2.pk, a1.pk]
    assert _listed(officer_client, MINE + "?reference=LN-2026-001") == [a1.pk]
    assert _listed(officer_client, MINE + "?reference=ln-2026&decision=decline") == [a2.pk]
    assert _listed(officer_client, MINE + "?reference=50%25") == []  # a wildcard is a character, not a pattern
    page = soup(officer_client.get(MINE + "?reference=ln"))
    assert page.find("input", {"name": "reference"})["value"] == "ln"


def test_a_reference_too_long_to_exist_is_an_error_next_to_the_field(officer_client, active_version):
    page = soup(officer_client.get(MINE + "?reference=" + "x" * 500))
    field = page.find("input", {"name": "reference"}).find_parent("div", {"class": "field"})
    assert "field-error" in field["class"] and "at most" in field.get_text()


def test_my_decisions_pages_by_cursor_within_a_reference_search(officer_client, officer, active_version, monkeypatch):
    monkeypatch.setattr("scoring.decisions.views.MINE_PAGE_SIZE", 2)
    made = [decided(officer, "approve", external_ref=f"Q-{i}") for i in range(5)]
    decided(officer, "approve", external_ref="OTHER")
    seen, url = [], MINE + "?reference=q-"
    while url:
        page = soup(officer_client.get(url))
        seen += _listed_from(page)
        older = page.find("a", {"rel": "next"})
        url = older["href"] if older else None
        if url:
            assert "reference=q-" in url
    assert seen == [p.pk for p in reversed(made)]


def _listed_from(page):
    return [int(re.search(r"/predictions/(\d+)/", a["href"]).group(1)) for a in page.find("tbody").find_all("a")]
