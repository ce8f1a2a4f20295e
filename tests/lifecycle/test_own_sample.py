"""Validation on the bundle's own labelled sample: limits from settings, every problem at once, every path refuses."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from scoring.exceptions import BundleRejected
from scoring.lifecycle import loads, registry, versions
from scoring.models import ModelActivation, ModelLoad, ModelVersion
from tests.support import DEFAULT_BUNDLE, hub_server
from tests.support.lifecycle_fixtures import bundle_variant
from tests.support.synthetic_bundle import write_synthetic_bundle


def edit_metadata(bundle, **changes):
    mlmodel = yaml.safe_load((bundle / "MLmodel").read_text())
    for key, value in changes.items():
        if value is None:
            mlmodel["metadata"].pop(key, None)
        else:
            mlmodel["metadata"][key] = value
    (bundle / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    return bundle


@pytest.fixture
def unlabelled(tmp_path):
    """The committed model without a labelled sample of its own (as a plain MLflow model comes)."""
    bundle = bundle_variant(tmp_path / "unlabelled")
    (bundle / "validation_sample.csv").unlink(missing_ok=True)
    return edit_metadata(bundle, validation_sample=None)


def test_every_limit_comes_from_settings_and_every_failure_is_listed_at_once(db, settings):
    settings.VALIDATION_MIN_AUC = 0.9
    settings.VALIDATION_MIN_KS = 0.6
    settings.VALIDATION_MAX_BRIER = 0.1
    settings.VALIDATION_APPROVAL_RATE_RANGE = (0.5, 0.9)
    with pytest.raises(CommandError) as refused:
        call_command("activate_bundle", str(DEFAULT_BUNDLE))
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.REJECTED
    assert not ModelActivation.objects.exists()
    for name in ("AUC", "KS", "Brier score (calibration)", "approval rate"):
        assert f"{name} on the bundle's sample" in version.rejection_reason
        assert f"{name} on the bundle's sample" in str(refused.value)
    checks = {c["name"]: c for c in version.validation_report["checks"]}
    assert checks["AUC on the bundle's sample"] | {"detail": ""} == {
        "name": "AUC on the bundle's sample",
        "ok": False,
        "detail": "",
        "value": pytest.approx(0.78, abs=0.01),
        "limit": 0.9,
        "op": ">=",
    }
    assert checks["approval rate on the bundle's sample"]["detail"] == "0.216 (required 0.5 to 0.9)"


def test_the_default_limits_accept_the_bundled_model(db):
    version = versions.register_bundle(path=DEFAULT_BUNDLE)
    assert version.status == ModelVersion.Status.VALIDATED, version.rejection_reason
    sample = version.validation_report["sample"]
    assert sample["file"] == "validation_sample.csv" and sample["target"] == "creditability"
    assert (sample["auc"], sample["ks"], sample["brier"], sample["approval_rate"]) == pytest.approx(
        (0.78, 0.4324, 0.1662, 0.216), abs=1e-4
    )


def test_an_unusable_sample_is_refused_with_every_problem_named(db, tmp_path):
    bundle = edit_metadata(
        write_synthetic_bundle(tmp_path / "synthetic"), validation_sample={"file": "validation_sample.csv"}
    )
    with pytest.raises(BundleRejected) as refused:
        versions.register_bundle(path=bundle)
    # Both missing items in one refusal, with the command that fixes them; nothing is recorded.
    assert "validation_sample.target" in str(refused.value)
    assert "validation_sample.bad_value" in str(refused.value)
    assert "prepare_bundle" in str(refused.value)
    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize(
    ("sample", "problem"),
    [
        ({"file": "../outside.csv", "target": "default", "bad_value": 1}, "'../outside.csv': missing from the bundle"),
        ({"file": "validation_sample.csv", "target": "outcome", "bad_value": 1}, "lacks the target column 'outcome'"),
        ({"file": "validation_sample.csv", "target": "default", "bad_value": "yes"}, "needs both defaults"),
    ],
)
def test_a_sample_outside_the_bundle_or_without_usable_labels_is_refused(db, tmp_path, sample, problem):
    (tmp_path / "outside.csv").write_text("monthly_income,default\n1,1\n")
    bundle = edit_metadata(write_synthetic_bundle(tmp_path / "synthetic"), validation_sample=sample)
    with pytest.raises(BundleRejected) as refused:
        versions.register_bundle(path=bundle)
    assert problem in str(refused.value)
    assert not ModelVersion.objects.exists()


def test_other_features_are_compared_on_the_candidates_sample_and_the_report_says_the_active_cannot_score_it(
    active_version, tmp_path
):
    version = versions.register_bundle(path=write_synthetic_bundle(tmp_path / "synthetic"))
    assert version.status == ModelVersion.Status.VALIDATED, version.rejection_reason
    comparison = version.validation_report["comparison"]
    assert comparison["compatible"] is False
    on_candidate = comparison["samples"][0]
    assert on_candidate["sample"] == "candidate's sample" and on_candidate["compared"] is False
    assert "The active version cannot score this sample (its features differ)" in on_candidate["active_error"]
    assert on_candidate["active"] is None and on_candidate["candidate"]["auc"] is not None
    # Each model's figures on its own sample are still set side by side.
    own = comparison["own_samples"]
    assert own["auc"] == {"from": pytest.approx(0.78, abs=1e-4), "to": version.validation_report["sample"]["auc"]}
    assert own["approval_rate"]["from"] == pytest.approx(0.216)
    assert "credit_amount" in comparison["features_removed"] and "monthly_income" in comparison["features_added"]


def test_activate_bundle_refuses_a_bundle_without_its_own_sample_and_leaves_the_active_version(
    active_version, unlabelled
):
    with pytest.raises(CommandError, match="validation_sample"):
        call_command("activate_bundle", str(unlabelled))
    assert registry.get_active().version == active_version
    assert not ModelVersion.objects.exclude(pk=active_version.pk).exists()  # refused before anything is recorded
    assert ModelActivation.objects.count() == 1


def test_load_model_refuses_to_activate_a_bundle_without_its_own_sample(
    active_version, unlabelled, local_hub, hub_settings
):
    hub_server.commit_folder(local_hub.root, "acme/unlabelled-cli", unlabelled)
    with pytest.raises(CommandError, match=r"(?s)Rejected: .*validation_sample"):
        call_command("load_model", repo="acme/unlabelled-cli", activate=True)
    assert registry.get_active().version == active_version
    assert ModelActivation.objects.count() == 1


def test_a_hub_load_through_the_api_records_the_refusal_and_nothing_goes_live(
    active_version, unlabelled, model_admin, local_hub, hub_settings, django_capture_on_commit_callbacks
):
    hub_server.commit_folder(local_hub.root, "acme/unlabelled-api", unlabelled)
    api = APIClient()
    api.force_authenticate(model_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/models/reload", {"repo": "acme/unlabelled-api"}, format="json")
    assert response.status_code in (200, 202)
    load = ModelLoad.objects.get(pk=response.json()["id"])
    assert load.version.status == ModelVersion.Status.REJECTED
    assert "validation_sample" in load.version.rejection_reason
    assert registry.get_active().version == active_version


def test_a_hub_load_of_a_bundle_with_its_own_sample_fetches_and_validates_on_it(db, local_hub, hub_settings, tmp_path):
    bundle = write_synthetic_bundle(tmp_path / "synthetic")
    hub_server.commit_folder(local_hub.root, "acme/own-sample", bundle)
    load = loads.load_from_hub(repo_id="acme/own-sample", user=None)
    assert load.version.status == ModelVersion.Status.VALIDATED, load.version.rejection_reason
    assert "validation_sample.csv" in load.version.file_hashes
    assert load.version.validation_report["sample"]["rows"] == 120
