"""A model with other features than the German-credit one goes live through the Hub and everything follows it.

The officer form, the API's input schema, batch columns, drift and fairness are all built from
the active bundle's metadata: no code knows the synthetic lender's features.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from scoring.engine.training import categorical_reference, numeric_reference
from scoring.lifecycle import loads, registry, versions
from scoring.models import BatchJob, ModelVersion, Prediction
from scoring.monitoring import reports
from tests.support import hub_server
from tests.support.synthetic_bundle import FEATURES, PROTECTED, write_synthetic_bundle

OWN_FEATURES = [f["name"] for f in FEATURES]


def values(spec) -> list[str]:
    """A categorical field's values, whether its choices are plain values or {value, label} pairs."""
    return [c["value"] if isinstance(c, dict) else c for c in spec["choices"]]


def with_reference(bundle):
    """Reference distributions for drift, from the bundle's own sample (as prepare_bundle writes them)."""
    sample = pd.read_csv(bundle / "validation_sample.csv")
    mlmodel = yaml.safe_load((bundle / "MLmodel").read_text())
    mlmodel["metadata"].setdefault(
        "reference",
        {
            "rows": len(sample),
            "features": {
                f["name"]: categorical_reference(sample[f["name"]], values(f))
                if f["kind"] == "categorical"
                else numeric_reference(sample[f["name"]].to_numpy())
                for f in FEATURES
            },
        },
    )
    (bundle / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    return bundle


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def own_version(active_version, local_hub, hub_settings, tmp_path):
    """The synthetic lender's model, loaded from the Hub over the German one, validated and activated."""
    hub_server.commit_folder(local_hub.root, "acme/household", with_reference(write_synthetic_bundle(tmp_path / "b")))
    load = loads.load_from_hub(repo_id="acme/household", user=None)
    version = load.version
    assert version.status == ModelVersion.Status.VALIDATED, version.rejection_reason
    versions.activate(version=version, user=None)
    assert registry.get_active().version == version
    return version


def applications(rows: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(3)
    return [
        {
            "monthly_income": round(float(rng.uniform(500, 9000)), 2),
            "employment_type": str(rng.choice(values(FEATURES[1]))),
            "years_at_address": int(rng.integers(0, 30)),
            "nationality": str(rng.choice(values(PROTECTED[0]))),
        }
        for _ in range(rows)
    ]


def test_it_is_validated_on_its_own_sample_and_compared_on_it(own_version):
    report = own_version.validation_report
    assert report["sample"]["rows"] == 120 and report["sample"]["target"] == "default"
    assert report["comparison"]["compatible"] is False


def test_the_officer_form_shows_its_fields(own_version, officer_client):
    page = BeautifulSoup(officer_client.get(reverse("scoring:application-new")).content, "html.parser")
    form = page.find("form", {"class": "application-form"})
    names = {el["name"] for el in form.find_all(["input", "select"]) if el.get("type") != "hidden"}
    assert names == {"external_ref", *OWN_FEATURES, "nationality"}
    assert "Net monthly income" in form.get_text()


def test_the_api_input_schema_and_scoring_follow_it(own_version, officer_api):
    active = officer_api.get("/api/v1/models/active").json()
    schema = active["input_schema"]
    assert set(schema["properties"]) == {*OWN_FEATURES, "nationality"}
    assert set(schema["required"]) == set(OWN_FEATURES)
    assert active["version"]["id"] == own_version.pk
    response = officer_api.post("/api/v1/score", {"inputs": applications(1)[0]}, format="json")
    assert response.status_code in (200, 201), response.content
    refused = officer_api.post(
        "/api/v1/score", {"inputs": {**applications(1)[0], "employment_type": "pirate"}}, format="json"
    )
    assert refused.status_code == 400 and "inputs.employment_type" in refused.json()["errors"]


def test_batch_takes_its_columns(own_version, officer_client, django_capture_on_commit_callbacks):
    page = officer_client.get(reverse("scoring:batch-new")).content.decode()
    assert all(name in page for name in OWN_FEATURES) and "credit_amount" not in page
    frame = pd.DataFrame(applications(5))
    frame.loc[4, "years_at_address"] = 99  # above the bundle's maximum of 60
    upload = SimpleUploadedFile("apps.csv", frame.to_csv(index=False).encode(), "text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        officer_client.post(reverse("scoring:batch-new"), {"file": upload})
    job = BatchJob.objects.get()
    assert job.model_version == own_version
    result = officer_client.get(reverse("scoring:batch-result", args=[job.pk]))
    assert result.status_code == 200, (job.state, job.error, result.content[:500])
    rows = list(csv.DictReader(io.StringIO(b"".join(result.streaming_content).decode())))
    assert len(rows) == 5
    assert [bool(r.get("error")) for r in rows] == [False, False, False, False, True]
    assert "years_at_address" in rows[4]["error"]


def test_drift_and_fairness_follow_its_features_and_protected_attributes(own_version, officer_api, settings):
    settings.DRIFT_MIN_OBSERVATIONS = 5
    settings.FAIRNESS_MIN_GROUP = 1
    for inputs in applications(12):
        assert officer_api.post("/api/v1/score", {"inputs": inputs}, format="json").status_code in (200, 201)
    assert Prediction.objects.filter(model_version=own_version).count() == 12
    report = reports.create_drift_report()
    assert report.model_version == own_version
    assert {f["name"] for f in report.features} == set(OWN_FEATURES)
    assert all(f["psi"] is not None for f in report.features)
    fairness = reports.fairness_report()
    assert [(t.attribute, t.label) for t in fairness.tables] == [("nationality", "Nationality")]
    assert sum(g.count for g in fairness.tables[0].groups) == 12


def test_the_admin_report_says_the_old_model_cannot_score_the_new_sample(own_version, client, model_admin):
    client.force_login(model_admin)
    page = client.get(reverse("admin:scoring_modelversion_change", args=[own_version.pk])).content.decode()
    assert "The active version cannot score this sample (its features differ)" in page
    assert "AUC (each on its own sample)" in page and "KS on the bundle&#x27;s sample" in page
