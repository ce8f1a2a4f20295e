"""The model card of the bundled model: every section read from what is stored, as a page, a PDF and in the API."""

from __future__ import annotations

import io
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader
from sklearn.metrics import brier_score_loss, roc_auc_score

from accounts.models import AccessEvent
from accounts.names import display_name
from scoring import display
from scoring.engine import BundleRejected
from scoring.lifecycle import model_cards, versions
from scoring.models import DriftReport, LoanOutcome, ModelLoad, ModelVersion
from scoring.monitoring import reports
from tests.conftest import token_client
from tests.support import DEFAULT_BUNDLE
from tests.support.monitoring_data import holdout_frame, record_population
from tests.support.shared_loads import bundle_loads_shared


def _pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


@pytest.fixture
def previous_version(db, tmp_path):
    """The same model under another name, live before the bundled one: the bundled one's comparison at load."""
    folder = tmp_path / "previous"
    shutil.copytree(DEFAULT_BUNDLE, folder)
    mlmodel = folder / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("  name: german-credit-catboost\n", "  name: credit-previous\n", 1))
    with bundle_loads_shared():
        version = versions.register_bundle(path=folder)
    versions.activate(version=version, user=None)
    return version


@pytest.fixture
def carded(settings, previous_version, model_admin, other_model_admin, officer, django_user_model):
    """The bundled model loaded from the Hub by one person, validated by another, activated by a third (four
    eyes), with 250 decisions, a drift report from the daily task and outcomes reported for 120 decisions."""
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = True
    requester = django_user_model.objects.create_user("requester", first_name="Rita", last_name="Requester")
    with bundle_loads_shared():
        version = versions.register_bundle(path=DEFAULT_BUNDLE)
    load = ModelLoad.objects.create(
        repo_id="acme/german-credit",
        revision="v1",
        requested_by=requester,
        state=ModelLoad.State.DONE,
        commit="c" * 40,
        version=version,
    )
    version = versions.validate_version(version=version, user=model_admin)
    versions.activate(version=version, user=other_model_admin, note="quarterly model review")
    version.refresh_from_db()

    predictions = record_population(officer, holdout_frame(1))
    report = DriftReport.objects.get(pk=reports.drift_report())
    # Outcomes for 120 decisions: the riskiest third default, 10 loans were never booked.
    labelled = sorted(predictions[:120], key=lambda p: p.probability)
    for i, prediction in enumerate(labelled):
        outcome = (
            LoanOutcome.Outcome.WITHDRAWN
            if i % 12 == 0
            else LoanOutcome.Outcome.DEFAULTED
            if i >= 80
            else LoanOutcome.Outcome.REPAID
        )
        LoanOutcome.objects.create(
            prediction=prediction,
            outcome=outcome,
            observed_on="2026-11-30",
            source=LoanOutcome.Source.API,
            created_by=officer,
        )
    return SimpleNamespace(
        version=version, previous=previous_version, load=load, report=report, labelled=labelled, requester=requester
    )


def test_every_section_of_the_bundled_model_s_card_is_the_stored_data(carded, model_admin, other_model_admin):
    version, metadata = carded.version, carded.version.metadata
    card = model_cards.model_card(version, user=None)

    assert card.identity["id"] == version.pk and card.identity["sha256"] == version.sha256
    assert card.identity["name"] == "german-credit-catboost"
    assert {f["name"]: f["sha256"] for f in card.identity["files"]} == version.file_hashes
    assert card.purpose["description"] == metadata["description"]
    # The bundle states no intended use: it is read from the target, and said to be.
    assert card.purpose["intended_use_stated"] is False
    assert "probability of default" in card.purpose["intended_use"] and "creditability" in card.purpose["intended_use"]
    assert card.purpose["limitations"] == ""
    assert card.data["description"] == metadata["training"]["data"]
    assert card.data["rows"] == 1000
    assert (card.data["target"], card.data["positive_class"]) == ("creditability", "bad")
    assert {"name": "iterations", "value": "600"} in card.data["settings"]
    assert {"name": "auc", "value": str(metadata["metrics"]["auc"])} in card.data["holdout_metrics"]

    assert [f["label"] for f in card.features] == [display.text(f["label"]) for f in metadata["features"]]
    duration = next(f for f in card.features if f["name"] == "duration_in_month")
    assert (duration["unit"], duration["kind"], duration["min"], duration["max"]) == ("months", "integer", 1, 120)
    checking = next(f for f in card.features if f["name"] == "status_of_existing_checking_account")
    assert checking["choices"] == 4 and checking["section"] == "Finances and assets"
    assert [f["name"] for f in card.protected_attributes] == [
        "personal_status_and_sex",
        "age_in_years",
        "foreign_worker",
    ]
    assert not {f["name"] for f in card.protected_attributes} & {f["name"] for f in card.features}

    report = version.validation_report
    assert card.validation["validated_by"]["username"] == model_admin.username
    assert card.validation["validated_at"] == version.validated_at
    assert [(c["name"], c["ok"]) for c in card.validation["checks"]] == [(c["name"], c["ok"]) for c in report["checks"]]
    assert card.validation["sample"]["auc"] == report["sample"]["auc"]
    comparison = card.validation["comparison"]
    assert comparison["active_version_id"] == carded.previous.pk == report["comparison"]["active_version_id"]
    assert comparison["threshold"] == {"before": 0.1695, "after": 0.1695}
    auc = next(m for m in comparison["metrics"] if m["name"] == "auc")
    assert auc["after"] == report["comparison"]["own_samples"]["auc"]["to"]
    assert comparison["samples"][0]["decisions_flipped"] == 0  # the same model under another name

    assert card.policy["threshold"] == metadata["threshold"]
    assert (card.policy["refer_from"], card.policy["refer_to"]) == (0.1096, 0.1695)
    assert [(b["name"], b["pd_from"], b["pd_to"]) for b in card.policy["risk_bands"]] == [
        ("A", 0.0, 0.068),
        ("B", 0.068, 0.1096),
        ("C", 0.1096, 0.1695),
        ("D", 0.1695, 0.416),
        ("E", 0.416, 1.0),
    ]

    def reasons_in(language):  # the bundle's statements are {en, fr}: the card gives the reader's language
        def given(reason):
            return {"code": reason["code"], "statement": reason["statement"][language]}

        return [(f["name"], given(f["reasons"]["raises"]), given(f["reasons"]["lowers"])) for f in metadata["features"]]

    assert [(r["feature"], r["raises"], r["lowers"]) for r in card.reasons] == reasons_in("en")
    with translation.override("fr"):
        french = model_cards.model_card(version, user=None)
    assert [(r["feature"], r["raises"], r["lowers"]) for r in french.reasons] == reasons_in("fr")

    stored = carded.report
    assert card.drift["report_id"] == stored.pk and card.drift["observed_count"] == 250
    assert card.drift["score_psi"] == stored.score_psi and card.drift["max_psi"] == stored.max_psi
    worst = sorted(stored.psi_by_feature().items(), key=lambda item: (-item[1], item[0]))[: model_cards.WORST_FEATURES]
    assert [(f["name"], f["psi"]) for f in card.drift["worst_features"]] == worst

    booked = [p for i, p in enumerate(carded.labelled) if i % 12]
    y = np.array([1 if i >= 80 else 0 for i in range(120) if i % 12])
    pd_ = np.array([p.probability for p in booked])
    performance = card.performance
    assert (performance["with_outcome"], performance["not_booked"], performance["booked"]) == (120, 10, 110)
    assert performance["defaults"] == int(y.sum())
    assert performance["default_rate"] == pytest.approx(y.mean(), abs=1e-4)
    assert performance["mean_pd"] == pytest.approx(pd_.mean(), abs=1e-4)
    assert performance["auc"] == pytest.approx(roc_auc_score(y, pd_), abs=1e-4)
    assert performance["brier"] == pytest.approx(brier_score_loss(y, pd_), abs=1e-4)
    assert performance["ks"] is not None

    fairness = stored.fairness
    assert card.fairness["report_id"] == stored.pk and card.fairness["decisions"] == fairness["decisions"] == 250
    assert [
        (t["attribute"], [(g["name"], g["count"], g["approved"]) for g in t["groups"]]) for t in card.fairness["tables"]
    ] == [(t["attribute"], [(g["name"], g["count"], g["approved"]) for g in t["groups"]]) for t in fairness["tables"]]

    trail = [(e["action"], e["by"]["username"] if e["by"] else None) for e in card.trail]
    assert trail == [
        ("registered", None),
        ("loaded", "requester"),
        ("validated", model_admin.username),
        ("activated", other_model_admin.username),
    ]
    assert "acme/german-credit@v1" in card.trail[1]["detail"]
    assert "quarterly model review" in card.trail[3]["detail"]


def test_the_trail_names_a_roll_back_and_the_version_put_back(carded, model_admin, other_model_admin):
    versions.roll_back(user=model_admin)
    versions.activate(version=carded.version, user=other_model_admin, note="fixed")
    card = model_cards.model_card(carded.version, user=None)
    actions = [(e["action"], e["by"]["username"] if e["by"] else None) for e in card.trail]
    assert actions[-2:] == [("rolled_back", model_admin.username), ("activated", other_model_admin.username)]
    previous = model_cards.model_card(ModelVersion.objects.get(name="credit-previous"), user=None)
    assert [e["action"] for e in previous.trail] == [
        "registered",
        "validated",
        "activated",
        "replaced",
        "put_back",
        "replaced",
    ]


def test_a_version_with_nothing_since_activation_says_so_plainly(active_version, auditor, client):
    card = model_cards.model_card(active_version, user=None)
    assert card.drift is None and card.performance is None and card.fairness is None
    assert card.validation["comparison"] is None
    client.force_login(auditor)
    body = client.get(reverse("audit:model-card", args=[active_version.pk])).content.decode()
    assert "No loan outcomes reported yet" in body
    assert "No drift report has been computed for this version yet." in body
    assert "No fairness figures yet" in body
    assert "nothing to compare with" in body


def test_the_page_shows_the_stored_figures_and_its_opening_is_logged(carded, auditor, model_admin, client):
    client.force_login(auditor)
    url = reverse("audit:model-card", args=[carded.version.pk])
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    card = model_cards.model_card(carded.version, user=None)
    assert carded.version.sha256 in body
    assert "Balance of checking account too low" in body and "CHECKING_LOW" in body
    assert "Very low risk" in body and "0.0% to below 6.8%" in body
    assert f"Score PSI {carded.report.score_psi:.3f}" in body
    assert f"{card.performance['default_rate'] * 100:.1f}%" in body
    assert display_name(model_admin) in body
    assert "Rita Requester" in body
    assert reverse("audit:model-card-pdf", args=[carded.version.pk]) in body
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.MODEL_CARD_VIEWED)
    assert (event.user, event.path) == (auditor, url)


def test_the_pdf_holds_every_section_with_the_stored_values(carded, model_admin, client, settings):
    client.force_login(model_admin)
    response = client.get(reverse("audit:model-card-pdf", args=[carded.version.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert (
        f'filename="model-card-{carded.version.pk}-{carded.version.sha256[:12]}.pdf"' in response["Content-Disposition"]
    )
    content = response.content
    assert content.startswith(b"%PDF")
    text = _pdf_text(content)
    card = model_cards.model_card(carded.version, user=None)
    assert settings.LENDER_NAME in text
    for heading in ("1. Identity", "2. Intended use", "3. Training data", "4. Features", "5. Decision policy",
                    "6. Reason codes", "7. Validation", "8. Drift", "9. Realised performance", "10. Fairness",
                    "11. Approval trail"):  # fmt: skip
        assert heading in text
    assert "german-credit-catboost" in text and "Statlog German Credit" in text
    assert "Delinquent past or present credit obligations" in text
    assert "Decline at or above a probability of default of 17.0%" in text
    assert f"Score PSI {carded.report.score_psi:.3f}" in text
    assert f"{card.performance['default_rate'] * 100:.1f}% ({card.performance['defaults']} defaults)" in text
    assert "Rita Requester" in text and "quarterly model review" in text
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.MODEL_CARD_VIEWED, user=model_admin).count() == 1


@pytest.mark.parametrize(
    ("persona", "status"),
    [("auditor", 200), ("model_admin", 200), ("officer", 403), ("policy_manager", 403), ("credit_manager", 403)],
)
def test_who_may_open_the_card(request, active_version, client, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("audit:model-card", args=[active_version.pk])).status_code == status
    assert client.head(reverse("audit:model-card-pdf", args=[active_version.pk])).status_code == status
    logged = AccessEvent.objects.filter(kind=AccessEvent.Kind.MODEL_CARD_VIEWED).count()
    assert logged == (2 if status == 200 else 0)


def test_an_unknown_version_is_a_404_and_anonymous_users_log_in_first(model_admin, client, active_version):
    url = reverse("audit:model-card", args=[active_version.pk])
    assert client.get(url).status_code == 302
    client.force_login(model_admin)
    assert client.get(reverse("audit:model-card", args=[active_version.pk + 100])).status_code == 404
    assert client.post(url).status_code == 405  # the card changes nothing


def test_the_api_answers_json_pdf_and_html(carded, auditor_api):
    url = f"/api/v1/models/{carded.version.pk}/card"
    response = auditor_api.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    card = model_cards.model_card(carded.version, user=None)
    assert body["identity"]["sha256"] == carded.version.sha256
    assert body["policy"]["threshold"] == 0.1695
    assert body["drift"]["report_id"] == carded.report.pk
    assert body["performance"]["booked"] == 110 and body["performance"]["auc"] == card.performance["auc"]
    assert body["validation"]["validated_by"]["username"] == "modeladmin"
    assert [e["action"] for e in body["trail"]] == ["registered", "loaded", "validated", "activated"]
    assert body["reasons"][0]["raises"] == {"code": "CHECKING_LOW", "statement": "Balance of checking account too low"}
    assert body["links"]["pdf"].endswith(f"/audit/models/{carded.version.pk}/card.pdf")

    for pdf in (auditor_api.get(url, {"format": "pdf"}), auditor_api.get(url, HTTP_ACCEPT="application/pdf")):
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
    html = auditor_api.get(url, HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert carded.version.sha256 in html.content.decode() and "11. Approval trail" in html.content.decode()
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.MODEL_CARD_VIEWED).count() == 4


def test_the_api_refuses_other_roles_unknown_versions_and_formats(active_version, officer, model_admin_api):
    url = f"/api/v1/models/{active_version.pk}/card"
    forbidden = token_client(officer).get(url)
    assert forbidden.status_code == 403 and forbidden["Content-Type"] == "application/problem+json"
    missing = model_admin_api.get(f"/api/v1/models/{active_version.pk + 100}/card")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    wrong = model_admin_api.get(url, {"format": "xml"})
    assert wrong.status_code == 400 and "format" in wrong.json()["errors"]
    assert model_admin_api.get(url).status_code == 200
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.MODEL_CARD_VIEWED, user=officer).exists()


def test_the_card_is_linked_from_the_decision_the_timeline_and_the_admin(carded, auditor, model_admin, client):
    card_url = reverse("audit:model-card", args=[carded.version.pk])
    client.force_login(auditor)
    prediction = carded.labelled[0]
    assert card_url in client.get(reverse("audit:prediction-detail", args=[prediction.pk])).content.decode()
    assert card_url in client.get(reverse("audit:model-timeline")).content.decode()
    client.force_login(model_admin)
    admin_page = client.get(reverse("admin:scoring_modelversion_change", args=[carded.version.pk])).content.decode()
    assert card_url in admin_page


def _bundle_with(tmp_path, lines: str):
    folder = tmp_path / "stated"
    shutil.copytree(DEFAULT_BUNDLE, folder)
    mlmodel = folder / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("  target:\n", lines + "  target:\n", 1))
    return folder


def test_a_bundle_s_own_intended_use_and_limitations_are_on_the_card(db, tmp_path, auditor, client):
    folder = _bundle_with(
        tmp_path,
        "  intended_use: Unsecured consumer loans up to 20,000 EUR, branch and online.\n"
        "  limitations: Trained on 1970s German applications; not for business lending.\n",
    )
    version = versions.register_bundle(path=folder)
    card = model_cards.model_card(version, user=None)
    assert card.purpose == {
        "description": version.metadata["description"],
        "intended_use": "Unsecured consumer loans up to 20,000 EUR, branch and online.",
        "intended_use_stated": True,
        "limitations": "Trained on 1970s German applications; not for business lending.",
    }
    client.force_login(auditor)
    body = client.get(reverse("audit:model-card", args=[version.pk])).content.decode()
    assert "not for business lending" in body and "the bundle states no intended use" not in body


def test_an_intended_use_that_is_not_text_is_refused_by_the_contract(db, tmp_path):
    with pytest.raises(BundleRejected, match="intended_use"):
        versions.register_bundle(path=_bundle_with(tmp_path, "  intended_use: [loans]\n"))
    assert not ModelVersion.objects.exists()


def test_a_local_bundle_s_server_path_is_shown_to_model_administrators_only(active_version, auditor, model_admin_api):
    path = active_version.source_uri
    assert path and active_version.source == ModelVersion.Source.LOCAL
    assert model_cards.model_card(active_version, user=auditor).identity["source_uri"] == ""
    assert path not in " ".join(e["detail"] for e in model_cards.model_card(active_version, user=auditor).trail)
    assert token_client(auditor).get(f"/api/v1/models/{active_version.pk}/card").json()["identity"]["source_uri"] == ""
    assert model_admin_api.get(f"/api/v1/models/{active_version.pk}/card").json()["identity"]["source_uri"] == path


@pytest.mark.parametrize("accept", ["text/html", "application/pdf"])
def test_errors_are_problems_whatever_format_was_asked_for(active_version, officer, auditor_api, accept):
    missing = auditor_api.get(f"/api/v1/models/{active_version.pk + 100}/card", HTTP_ACCEPT=accept)
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    forbidden = token_client(officer).get(f"/api/v1/models/{active_version.pk}/card", HTTP_ACCEPT=accept)
    assert forbidden.status_code == 403 and forbidden["Content-Type"] == "application/problem+json"
