"""The officer web app through Django's test client: form from the schema, decisions, reviews, history, access."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scoring.decisions import selectors, services
from scoring.lifecycle import registry, versions
from scoring.models import Prediction, Review
from tests.support.applications import as_post, decided, inputs_by_decision
from tests.support.synthetic_bundle import write_synthetic_bundle

NEW = reverse("scoring:application-new")
MINE = reverse("scoring:prediction-mine")


def detail_url(prediction) -> str:
    return reverse("scoring:prediction-detail", args=[prediction.pk])


def review_url(prediction) -> str:
    return reverse("scoring:prediction-review", args=[prediction.pk])


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def open_form(client) -> tuple[BeautifulSoup, str]:
    response = client.get(NEW)
    assert response.status_code == 200
    page = soup(response)
    return page, page.find("input", {"name": "form_token"})["value"]


def submit(client, inputs: dict[str, object], **extra) -> object:
    _, token = open_form(client)
    return client.post(NEW, {**as_post(inputs), "form_token": token, **extra})


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


# --- login and layout ---------------------------------------------------------------


def test_pages_need_a_login(client, active_version):
    for url in ("/", NEW, MINE):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_logs_in_with_our_template_and_logs_out_only_by_post(client, officer):
    page = soup(client.get(reverse("login")))
    assert page.find("label", {"for": "id_username"}) and page.find("label", {"for": "id_password"})
    response = client.post(reverse("login"), {"username": "officer", "password": "a-long-test-password"})
    assert response.status_code == 302
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_forms_are_csrf_protected(officer, active_version):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(officer)
    assert strict.post(NEW, as_post(inputs_by_decision()["approve"])).status_code == 403
    assert Prediction.objects.count() == 0


def test_navigation_follows_the_role(client, officer, auditor, active_version):
    client.force_login(officer)
    nav = soup(client.get("/")).find("nav", {"aria-label": "Main"}).get_text(" ")
    assert "New application" in nav and "My decisions" in nav and "Batch jobs" in nav
    assert "Monitoring" not in nav
    client.force_login(auditor)
    nav = soup(client.get("/")).find("nav", {"aria-label": "Main"}).get_text(" ")
    assert "New application" not in nav and "My decisions" not in nav
    assert "Batch jobs" in nav and "Monitoring" in nav


def test_only_officers_may_open_the_form_or_their_history(client, auditor, model_admin, active_version):
    for user in (auditor, model_admin):
        client.force_login(user)
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, {}).status_code == 403
        assert client.get(MINE).status_code == 403
    assert Prediction.objects.count() == 0


# --- the application form --------------------------------------------------------------


def test_form_is_built_from_the_active_models_schema(officer_client, active_version):
    model = registry.get_active().model
    page, token = open_form(officer_client)
    assert token
    form = page.find("form", {"class": "application-form"})
    names = [el["name"] for el in form.find_all(["input", "select"]) if el.get("type") != "hidden"]
    assert names == ["external_ref", *[f.name for f in _in_section_order(model)]]
    amount = form.find("input", {"name": "credit_amount"})
    # Text typed the page's language's way ("2,500" / "2 500"), not type="number" (the browser's format).
    assert (amount["type"], amount["inputmode"]) == ("text", "numeric")
    assert form.find("label", {"for": "id_credit_amount"}).get_text(" ", strip=True).startswith("Loan amount (DM)")
    assert "Between 100 and 100,000 DM." in form.find(id="id_credit_amount_help").get_text()
    purpose = form.find("select", {"name": "purpose"})
    assert [o["value"] for o in purpose.find_all("option")][1:] == list(model._by_name["purpose"].choices)
    # The officer reads the label; the form sends the value the model was trained on.
    assert ("car (new)", "New car") in [(o["value"], o.get_text()) for o in purpose.find_all("option")]
    legends = [legend.get_text(strip=True) for legend in form.find_all("legend")]
    sections = ["The loan", "The applicant", "Finances and assets", "Credit history"]
    assert legends == ["Application", *sections, "Fairness monitoring (optional)"]
    monitoring = form.find_all("fieldset")[-1]
    assert "not used in the decision" in monitoring.get_text()
    assert {el["name"] for el in monitoring.find_all(["input", "select"])} == {f.name for f in model.protected}
    assert not monitoring.find(attrs={"required": True})


@pytest.mark.parametrize(
    "name, options",
    [
        (
            "installment_rate_in_percentage_of_disposable_income",
            [
                ("under_20_pct", "Under 20 %"),
                ("20_to_25_pct", "20 to 25 %"),
                ("25_to_35_pct", "25 to 35 %"),
                ("35_pct_or_more", "35 % or more"),
            ],
        ),
        (
            "present_residence_since",
            [
                ("under_1_year", "Less than 1 year"),
                ("1_to_4_years", "1 to 4 years"),
                ("4_to_7_years", "4 to 7 years"),
                ("7_years_or_more", "7 years or more"),
            ],
        ),
        (
            "number_of_existing_credits_at_this_bank",
            [
                ("1_credit", "1"),
                ("2_or_3_credits", "2 or 3"),
                ("4_or_5_credits", "4 or 5"),
                ("6_or_more_credits", "6 or more"),
            ],
        ),
        (
            "number_of_people_being_liable_to_provide_maintenance_for",
            [("0_to_2_people", "0 to 2"), ("3_or_more_people", "3 or more")],
        ),
    ],
)
def test_band_coded_fields_are_drop_downs_of_what_an_officer_knows_low_to_high(
    officer_client, active_version, name, options
):
    page, _ = open_form(officer_client)
    select = page.find("select", {"name": name})
    assert [(o["value"], o.get_text(strip=True)) for o in select.find_all("option") if o["value"]] == options
    # The help says what the field means, not a code table.
    assert "Band" not in page.find(id=f"id_{name}_help").get_text()


def _in_section_order(model):
    order = [s["name"] for s in model.sections]
    return [
        *sorted(model.features, key=lambda f: order.index(f.section)),  # sorted() is stable: schema order kept
        *model.protected,
    ]


def test_a_bundle_with_other_features_changes_the_form_without_code_changes(
    officer_client, officer, active_version, tmp_path
):
    version = versions.register_bundle(path=write_synthetic_bundle(tmp_path / "synthetic"))
    versions.activate(version=version, user=None)
    page, token = open_form(officer_client)
    form = page.find("form", {"class": "application-form"})
    names = [el["name"] for el in form.find_all(["input", "select"]) if el.get("type") != "hidden"]
    assert names == ["external_ref", "employment_type", "monthly_income", "years_at_address", "nationality"]
    assert "credit_amount" not in form.decode()
    assert [legend.get_text(strip=True) for legend in form.find_all("legend")] == [
        "Application",
        "Work",
        "Household",
        "Fairness monitoring (optional)",
    ]
    label = form.find("label", {"for": "id_monthly_income"}).get_text(" ", strip=True)
    assert label.startswith("Net monthly income (EUR)")
    income = form.find("input", {"name": "monthly_income"})
    # The range is stated in the help (in the page's number format); the input takes text typed that way.
    assert income["inputmode"] == "decimal" and "50,000" in form.find(id="id_monthly_income_help").get_text()
    years = form.find("input", {"name": "years_at_address"})
    assert years["inputmode"] == "numeric" and "60" in form.find(id="id_years_at_address_help").get_text()
    choices = [o["value"] for o in form.find("select", {"name": "employment_type"}).find_all("option")]
    assert choices == ["", "salaried", "self-employed", "retired", "student"]

    response = officer_client.post(
        NEW,
        {"form_token": token, "monthly_income": "2500.50", "employment_type": "student", "years_at_address": "3"},
    )
    prediction = Prediction.objects.get()
    assert response["Location"] == detail_url(prediction)
    assert prediction.model_version == version
    assert prediction.features == {"monthly_income": 2500.5, "employment_type": "student", "years_at_address": 3}
    detail = soup(officer_client.get(detail_url(prediction))).get_text(" ")
    assert "Net monthly income" in detail and "2,500.5 EUR" in detail


def test_a_valid_application_is_scored_once_and_shown(officer_client, officer, active_version):
    inputs = inputs_by_decision()["decline"]
    response = submit(officer_client, inputs, external_ref="LN-2024-001")
    prediction = Prediction.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(prediction)
    assert (prediction.user, prediction.channel, prediction.external_ref) == (officer, "web", "LN-2024-001")
    assert prediction.protected == {k: inputs[k] for k in ("personal_status_and_sex", "age_in_years", "foreign_worker")}

    page = soup(officer_client.get(detail_url(prediction)))
    banner = page.find("section", {"class": "decision"})
    assert "decision-decline" in banner["class"]
    assert "Decline" in banner.find("h2").get_text()
    text = page.get_text(" ")
    assert f"{prediction.probability * 100:.1f}%" in text
    assert prediction.risk_band in banner.get_text()
    assert "High risk" in text or "Very high risk" in text or "Moderate risk" in text
    items = page.find("ol", {"class": "reasons"}).find_all("li")
    reasons = [li.get_text(" ", strip=True) for li in items]
    # Each reason is the library's statement with the value that drove it, as the officer entered it.
    assert reasons == [r["sentence"] for r in prediction.reasons][:4]
    assert 1 <= len(reasons) <= 4
    library = {f["name"]: f["reasons"]["raises"] for f in active_version.metadata["features"]}
    for li, recorded in zip(items, prediction.reasons, strict=False):
        assert li.find(class_="reason-statement").get_text() == library[recorded["feature"]]["statement"]["en"]
    checking = next(li for li in items if "Balance of checking account too low" in li.get_text())
    assert checking.find(class_="reason-value").get_text() == "\u2014 Overdrawn (below 0 DM)"
    assert "as an adverse-action notice lists them" not in text  # the notice is produced on its own page
    assert "Main reasons for the decline" in text
    assert f"#{active_version.pk}" in text and "LN-2024-001" in text
    # The full input is echoed with the schema's labels and units.
    assert "Loan amount" in text and f"{inputs['credit_amount']:,} DM" in text
    assert "Personal status and sex" in text
    # The gauge is an SVG drawn from attributes: marker at the PD, threshold line at the threshold.
    svg = page.find("svg", {"class": "gauge-bar"})
    assert float(svg.find("rect", {"class": "marker"})["x"]) == pytest.approx(prediction.probability * 100, abs=0.01)
    assert float(svg.find("line", {"class": "threshold-line"})["x1"]) == pytest.approx(prediction.threshold * 100)


def test_bad_values_show_errors_next_to_fields_keep_the_input_and_record_nothing(officer_client, active_version):
    inputs = inputs_by_decision()["approve"] | {"credit_amount": "-5", "purpose": "yacht", "duration_in_month": ""}
    response = submit(officer_client, inputs, external_ref="kept-ref")
    assert response.status_code == 200
    assert Prediction.objects.count() == 0
    page = soup(response)
    amount_field = page.find("input", {"name": "credit_amount"}).find_parent("div", {"class": "field"})
    assert "Must be at least 100 DM." in amount_field.get_text()
    assert page.find("input", {"name": "credit_amount"})["value"] == "-5"
    assert page.find("input", {"name": "credit_amount"})["aria-invalid"] == "true"
    assert "This field is required." in page.find(id="id_duration_in_month_error").get_text()
    assert "not one of the allowed choices" in page.find(id="id_purpose_error").get_text()
    assert page.find("input", {"name": "external_ref"})["value"] == "kept-ref"
    kept = page.find("select", {"name": "housing"}).find("option", selected=True)
    assert kept["value"] == inputs["housing"]
    assert "Please correct 3 fields" in page.find(id="error-summary").get_text()


def test_a_double_submit_creates_one_decision(officer_client, active_version):
    _, token = open_form(officer_client)
    data = {**as_post(inputs_by_decision()["approve"]), "form_token": token}
    first = officer_client.post(NEW, data)
    second = officer_client.post(NEW, data)
    assert Prediction.objects.count() == 1
    assert first["Location"] == second["Location"] == detail_url(Prediction.objects.get())


def test_a_second_submit_racing_the_first_shows_the_first_decision(
    officer_client, active_version, monkeypatch, settings
):
    settings.DUPLICATE_WINDOW_DAYS = 0  # the unique key, not the duplicate check, is what stops the second insert
    _, token = open_form(officer_client)
    data = {**as_post(inputs_by_decision()["approve"]), "form_token": token}
    officer_client.post(NEW, data)
    # The racing request loaded its session, token still open, and looked for a decision before the first committed.
    session = officer_client.session
    session["application_form_tokens"] = [token]
    session.save()
    real_lookup, calls = selectors.prediction_with_key, []

    def too_early(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_lookup(**kwargs)

    monkeypatch.setattr(selectors, "prediction_with_key", too_early)
    response = officer_client.post(NEW, data)
    assert Prediction.objects.count() == 1
    assert response["Location"] == detail_url(Prediction.objects.get())
    assert len(calls) == 2  # the unique key stopped the second insert, and the page shows the first decision


def test_a_form_without_a_live_token_is_not_scored(officer_client, active_version):
    response = officer_client.post(NEW, {**as_post(inputs_by_decision()["approve"]), "form_token": "made-up"})
    assert response.status_code == 200
    assert Prediction.objects.count() == 0
    page = soup(response)
    assert "expired or was already used" in page.get_text()
    fresh = page.find("input", {"name": "form_token"})["value"]
    assert fresh != "made-up"
    # The values are kept, so submitting again with the fresh token works.
    officer_client.post(NEW, {**as_post(inputs_by_decision()["approve"]), "form_token": fresh})
    assert Prediction.objects.count() == 1


def test_no_active_model_gives_a_clear_page_not_an_error(officer_client):
    response = officer_client.get(NEW)
    assert response.status_code == 503
    assert "No model version is active" in response.content.decode()
    response = officer_client.post(NEW, {"form_token": "x"})
    assert response.status_code == 503
    assert Prediction.objects.count() == 0


# --- access to decisions ---------------------------------------------------------------


def test_an_officer_sees_only_own_decisions_and_an_auditor_all_read_only(
    client, officer, other_officer, auditor, model_admin, active_version
):
    prediction = decided(officer, "approve")
    client.force_login(other_officer)
    assert client.get(detail_url(prediction)).status_code == 404
    assert client.post(review_url(prediction), {"outcome": "agree"}).status_code == 404
    client.force_login(model_admin)
    assert client.get(detail_url(prediction)).status_code == 404
    client.force_login(auditor)
    response = client.get(detail_url(prediction))
    assert response.status_code == 200
    assert not soup(response).find("form", {"class": "review-form"})
    assert client.post(review_url(prediction), {"outcome": "agree"}).status_code == 403
    assert Review.objects.count() == 0


# --- reviews ----------------------------------------------------------------------------


def test_an_override_needs_a_justification_and_then_shows_in_history_and_lists(
    officer_client, officer, active_version, settings
):
    settings.OVERRIDE_PD_LIMIT = 1.0  # within the officer's authority: the override stands at once
    prediction = decided(officer, "decline")
    response = officer_client.post(review_url(prediction), {"outcome": "approve", "reason_code": "collateral"})
    assert response.status_code == 200
    assert Review.objects.count() == 0
    error = soup(response).find("textarea", {"name": "justification"}).find_parent("div", {"class": "field"})
    assert "needs a written justification" in error.get_text()

    response = officer_client.post(
        review_url(prediction),
        {"outcome": "approve", "reason_code": "collateral", "justification": "Parent guarantees the full amount."},
    )
    assert response["Location"] == detail_url(prediction)
    review = Review.objects.get()
    assert (review.user, review.final_decision, review.overridden) == (officer, "approve", True)
    prediction.refresh_from_db()
    assert prediction.decision == "decline"  # the decision itself is never edited

    page = soup(officer_client.get(detail_url(prediction)))
    history = page.find("ol", {"class": "review-history"}).get_text(" ")
    assert "Parent guarantees the full amount." in history
    assert "Additional collateral or guarantor" in history
    card = page.find("section", {"class": "decision"}).get_text(" ")
    assert "Final outcome" in card and "Approve" in card and "overrides the model" in card
    assert "Decided by Olivia" in card and "Model: Decline, PD" in card
    row = soup(officer_client.get(MINE)).find("tbody").find("tr")
    assert "Decline" in row.get_text() and "override" in row.get_text()
    assert "badge-approve" in str(row.find_all("td")[5])


def test_agreeing_records_a_review_without_reason(officer_client, officer, active_version):
    prediction = decided(officer, "approve")
    options = [
        i["value"] for i in soup(officer_client.get(detail_url(prediction))).find_all("input", {"name": "outcome"})
    ]
    assert options == ["agree", "decline"]
    officer_client.post(review_url(prediction), {"outcome": "agree"})
    review = Review.objects.get()
    assert (review.final_decision, review.overridden) == ("approve", False)


def test_a_referred_case_waits_for_the_officers_decision(officer_client, officer, active_version):
    prediction = decided(officer, "refer", external_ref="REF-7")
    home = soup(officer_client.get("/"))
    referrals = home.find("section", {"aria-labelledby": "referrals-title"})
    assert "REF-7" in referrals.get_text()
    page = soup(officer_client.get(detail_url(prediction)))
    assert "Needs your decision" in page.get_text()
    assert [i["value"] for i in page.find_all("input", {"name": "outcome"})] == ["approve", "decline"]

    response = officer_client.post(review_url(prediction), {"outcome": "decline"})
    assert Review.objects.count() == 0
    assert "Choose a reason" in soup(response).get_text()
    officer_client.post(
        review_url(prediction),
        {"outcome": "decline", "reason_code": "affordability", "justification": "Rent takes most of the income."},
    )
    assert Review.objects.get().final_decision == "decline"
    assert not soup(officer_client.get("/")).find("section", {"aria-labelledby": "referrals-title"})
    assert "Needs your decision" not in soup(officer_client.get(detail_url(prediction))).get_text()


# --- my decisions and home --------------------------------------------------------------------


def test_my_decisions_lists_own_decisions_newest_first_with_filters(
    officer_client, officer, other_officer, active_version
):
    approve = decided(officer, "approve")
    decline = decided(officer, "decline")
    refer = decided(officer, "refer")
    decided(other_officer, "approve")
    services.record_review(user=officer, prediction=decline, outcome="agree")

    def listed(query=""):
        response = officer_client.get(MINE + query)
        links = soup(response).find("tbody").find_all("a")
        return [int(re.search(r"/predictions/(\d+)/", a["href"]).group(1)) for a in links]

    assert listed() == [refer.pk, decline.pk, approve.pk]
    assert listed("?decision=approve") == [approve.pk]
    assert listed("?reviewed=yes") == [decline.pk]
    assert listed("?reviewed=no") == [refer.pk, approve.pk]
    today = timezone.localdate()
    assert listed(f"?date_from={today}&date_to={today}") == [refer.pk, decline.pk, approve.pk]
    assert listed(f"?date_to={today - timedelta(days=1)}") == []
    response = officer_client.get(MINE + f"?date_from={today}&date_to={today - timedelta(days=1)}")
    assert "end date is before the start date" in response.content.decode()


def test_my_decisions_pages_by_cursor(officer_client, officer, active_version, monkeypatch):
    monkeypatch.setattr("scoring.decisions.views.MINE_PAGE_SIZE", 2)
    made = [decided(officer, "approve") for _ in range(5)]
    expected = [p.pk for p in reversed(made)]
    seen, url = [], MINE + "?decision=approve"
    while url:
        page = soup(officer_client.get(url))
        seen += [int(re.search(r"/predictions/(\d+)/", a["href"]).group(1)) for a in page.find("tbody").find_all("a")]
        older = page.find("a", {"rel": "next"})
        url = older["href"] if older else None
        if url:
            assert "decision=approve" in url
    assert seen == expected


def test_home_shows_actions_latest_decisions_and_active_model(officer_client, officer, active_version):
    prediction = decided(officer, "approve", external_ref="H-1")
    page = soup(officer_client.get("/"))
    text = page.get_text(" ")
    assert page.find("a", string="New application")["href"] == NEW
    assert active_version.name in text and f"#{active_version.pk}" in text
    assert page.find("a", href=detail_url(prediction))


def test_the_decision_page_has_a_print_view(officer_client, officer, active_version):
    prediction = decided(officer, "approve")
    normal = soup(officer_client.get(detail_url(prediction)))
    assert normal.find("link", {"media": "print"})
    printable = soup(officer_client.get(detail_url(prediction) + "?print=1"))
    assert any(
        link.get("href", "").endswith("print.css") and not link.get("media")
        for link in printable.find_all("link", rel="stylesheet")
    )


def test_templates_have_no_inline_script_or_style(officer_client, officer, active_version):
    prediction = decided(officer, "refer")
    for url in ("/", NEW, MINE, detail_url(prediction)):
        page = soup(officer_client.get(url))
        assert not page.find("style")
        assert not page.find(attrs={"style": True})
        assert all(script.get("src") for script in page.find_all("script"))
