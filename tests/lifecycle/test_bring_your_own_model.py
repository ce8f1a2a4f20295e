"""A bank's own models through the Hub: one from train_model, one plain MLflow model prepared with
prepare_bundle (other features), one plain MLflow model left unprepared.

The first two load, validate, go live and score through the form, the API and batch; the third is
refused with the list of what it lacks, and nothing changes.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from scoring.lifecycle import loads, registry, versions
from scoring.models import BatchJob, ModelLoad, ModelVersion, Prediction
from tests.support import hub_server
from tests.support.plain_mlflow import FEATURES, LABELS, PROTECTED, TARGET, write_plain_model

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(scope="module")
def published(tmp_path_factory, local_hub):
    """The three bundles, each committed to its own repo on the local Hub stand-in."""
    base = tmp_path_factory.mktemp("own-models")
    call_command("train_model", out=base / "trained", iterations=100, stdout=io.StringIO())
    plain = write_plain_model(base / "lender")
    call_command(
        "prepare_bundle",
        str(plain.folder),
        sample=plain.sample,
        target=TARGET,
        labels=plain.labels,
        out=base / "prepared",
        stdout=io.StringIO(),
    )
    unprepared = write_plain_model(base / "raw").folder
    repos = {"trained": "bank/trained", "prepared": "bank/prepared", "unprepared": "bank/unprepared"}
    folders = {"trained": base / "trained", "prepared": base / "prepared", "unprepared": unprepared}
    for key, repo in repos.items():
        hub_server.commit_folder(local_hub.root, repo, folders[key])
    return repos, plain


@pytest.fixture(autouse=True)
def _no_duplicate_warning(settings):
    """These tests score the same application through each channel on purpose."""
    settings.DUPLICATE_WINDOW_DAYS = 0


def go_live(repo: str) -> ModelVersion:
    load = loads.load_from_hub(repo_id=repo, user=None)
    assert load.state == ModelLoad.State.DONE, load.error
    version = load.version
    assert version.status == ModelVersion.Status.VALIDATED, version.rejection_reason
    versions.activate(version=version, user=None)
    assert registry.get_active().version == version
    return version


def lender_application(**changes) -> dict[str, object]:
    application = {
        "annual_income": 42000.5,
        "loan_amount": 12000,
        "term_months": 36,
        "debt_to_income": 0.25,
        "credit_utilisation": 0.4,
        "years_employed": 6,
        "open_credit_lines": 4,
        "recent_inquiries": 1,
        "home_ownership": "rent",
        "loan_purpose": "car",
        "employment_status": "employed",
    }
    return application | changes


def post_form(client, inputs: dict[str, object]):
    """Fill the officer form as a browser does: get it (for its one-time token), then post the values."""
    page = BeautifulSoup(client.get(reverse("scoring:application-new")).content, "html.parser")
    token = page.find("input", {"name": "form_token"})["value"]
    return client.post(
        reverse("scoring:application-new"), {**{k: str(v) for k, v in inputs.items()}, "form_token": token}
    )


def form_errors(response) -> dict[str, str]:
    page = BeautifulSoup(response.content, "html.parser")
    return {
        e["id"].removeprefix("id_").removesuffix("_error"): e.get_text(" ", strip=True)
        for e in page.select("[id$=_error]")
    }


def score_batch(client, frame: pd.DataFrame, capture) -> list[dict[str, str]]:
    upload = SimpleUploadedFile("apps.csv", frame.to_csv(index=False).encode(), "text/csv")
    with capture(execute=True):
        response = client.post(reverse("scoring:batch-new"), {"file": upload})
    assert response.status_code == 302, response.content[:800]
    job = BatchJob.objects.latest("pk")
    result = client.get(reverse("scoring:batch-result", args=[job.pk]))
    assert result.status_code == 200, (job.state, job.error)
    return list(csv.DictReader(io.StringIO(b"".join(result.streaming_content).decode())))


def test_a_model_from_train_model_goes_live_and_scores_everywhere(
    published, active_version, hub_settings, client, officer, officer_api, django_capture_on_commit_callbacks
):
    repos, _ = published
    version = go_live(repos["trained"])
    client.force_login(officer)
    schema = officer_api.get("/api/v1/models/active").json()
    assert schema["version"]["id"] == version.pk
    example = schema["input_example"]
    api = officer_api.post("/api/v1/score", {"inputs": example}, format="json")
    assert api.status_code == 201, api.content
    form = post_form(client, example)
    assert form.status_code == 302, form_errors(form)
    rows = score_batch(client, pd.DataFrame([example, example]), django_capture_on_commit_callbacks)
    assert [r["error"] for r in rows] == ["", ""] and all(r["decision"] for r in rows)
    assert Prediction.objects.filter(model_version=version).count() == 4


def test_a_prepared_plain_mlflow_model_with_other_features_goes_live_with_labels(
    published, active_version, hub_settings, client, officer, officer_api, django_capture_on_commit_callbacks
):
    repos, _ = published
    version = go_live(repos["prepared"])
    client.force_login(officer)

    page = BeautifulSoup(client.get(reverse("scoring:application-new")).content, "html.parser")
    form = page.find("form", {"class": "application-form"})
    names = {el["name"] for el in form.find_all(["input", "select"]) if el.get("type") != "hidden"}
    assert names == {"external_ref", *FEATURES, PROTECTED}
    text = form.get_text()
    for field in ("loan_amount", "term_months", "annual_income", "home_ownership", "loan_purpose"):
        assert LABELS["fields"][field]["label"] in text
    ownership = {
        o["value"]: o.get_text(strip=True) for o in form.find("select", {"name": "home_ownership"}).find_all("option")
    }
    for value, label in LABELS["fields"]["home_ownership"]["choices"].items():
        assert ownership[value] == label

    assert officer_api.post("/api/v1/score", {"inputs": lender_application()}, format="json").status_code == 201
    posted = post_form(client, lender_application())
    assert posted.status_code == 302, form_errors(posted)

    # An unknown category and an out-of-range value are refused in the form, the API and batch.
    bad = {"home_ownership": "castle", "term_months": 600}
    api = officer_api.post("/api/v1/score", {"inputs": lender_application(**bad)}, format="json")
    assert api.status_code == 400 and {"inputs.home_ownership", "inputs.term_months"} <= set(api.json()["errors"])
    refused = post_form(client, lender_application(**bad))
    assert refused.status_code == 200
    assert {"home_ownership", "term_months"} <= set(form_errors(refused)), form_errors(refused)
    frame = pd.DataFrame(
        [lender_application(), lender_application(home_ownership="castle"), lender_application(term_months=600)]
    )
    rows = score_batch(client, frame, django_capture_on_commit_callbacks)
    assert rows[0]["error"] == "" and rows[0]["decision"]
    assert "home_ownership" in rows[1]["error"] and "term_months" in rows[2]["error"]
    assert Prediction.objects.filter(model_version=version).count() == 3


def test_an_unprepared_plain_mlflow_model_is_refused_listing_what_it_lacks(published, active_version, hub_settings):
    repos, _ = published
    before = (ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).get(), Prediction.objects.count())
    load = loads.load_from_hub(repo_id=repos["unprepared"], user=None)
    reason = load.error or (load.version.rejection_reason if load.version else "")
    assert load.state == ModelLoad.State.FAILED or load.version.status == ModelVersion.Status.REJECTED
    for lacking in ("validation_sample", "threshold", "features"):
        assert lacking in reason, reason
    assert "prepare_bundle" in reason
    assert registry.get_active().version == before[0] == active_version
    assert Prediction.objects.count() == before[1]
    assert not ModelVersion.objects.filter(status=ModelVersion.Status.VALIDATED).exclude(pk=active_version.pk).exists()
