"""`manage.py activate_bundle` goes through the one lifecycle path: stored, fully validated, four-eyes when on."""

from __future__ import annotations

import shutil

import pytest
import yaml
from django.core.management import CommandError, call_command

from scoring.models import ModelActivation, ModelVersion
from tests.support import DEFAULT_BUNDLE
from tests.support.synthetic_bundle import write_synthetic_bundle


def test_the_bundled_model_gets_a_full_validation_record(db):
    call_command("activate_bundle", str(DEFAULT_BUNDLE))
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.validated_at is not None
    report = version.validation_report
    assert report["ok"] is True
    names = [check["name"] for check in report["checks"]]
    assert "files match their recorded sha256" in names
    assert "sample scores within [0, 1]" in names
    limits = {check["name"]: check for check in report["checks"] if "limit" in check}
    assert limits["AUC on the bundle's sample"]["value"] > limits["AUC on the bundle's sample"]["limit"]
    assert set(limits) >= {
        "KS on the bundle's sample",
        "Brier score (calibration) on the bundle's sample",
        "approval rate on the bundle's sample",
    }
    assert report["sample"]["rows_scored"] == 250


def test_with_four_eyes_the_admin_who_loaded_a_version_cannot_activate_it(settings, model_admin, other_model_admin):
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = True
    with pytest.raises(CommandError, match="Four-eyes rule"):
        call_command("activate_bundle", str(DEFAULT_BUNDLE), user=model_admin.username)
    version = ModelVersion.objects.get()
    assert version.created_by == model_admin
    assert version.status == ModelVersion.Status.VALIDATED
    assert not ModelActivation.objects.exists()

    # Another administrator activates the same files: the version is found, not registered again.
    call_command("activate_bundle", str(DEFAULT_BUNDLE), user=other_model_admin.username)
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.activated_by == other_model_admin
    assert ModelVersion.objects.count() == 1


def test_without_four_eyes_one_admin_may_load_and_activate(settings, model_admin):
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = False
    call_command("activate_bundle", str(DEFAULT_BUNDLE), user=model_admin.username)
    assert ModelVersion.objects.get().activated_by == model_admin


def test_a_bundle_without_its_validation_sample_is_refused_and_records_nothing(db, tmp_path):
    bundle = write_synthetic_bundle(tmp_path / "synthetic")
    mlmodel = yaml.safe_load((bundle / "MLmodel").read_text())
    del mlmodel["metadata"]["validation_sample"]
    (bundle / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    with pytest.raises(CommandError, match=r"metadata\.validation_sample: missing"):
        call_command("activate_bundle", str(bundle))
    assert not ModelVersion.objects.exists()
    assert not ModelActivation.objects.exists()


def test_a_bundle_naming_a_sample_it_does_not_ship_is_refused(db, tmp_path):
    bundle = write_synthetic_bundle(tmp_path / "synthetic")
    (bundle / "validation_sample.csv").unlink()
    with pytest.raises(CommandError, match=r"validation sample 'validation_sample\.csv': missing"):
        call_command("activate_bundle", str(bundle))
    assert not ModelVersion.objects.exists()


def test_files_that_are_not_a_bundle_record_nothing(db, tmp_path):
    shutil.copytree(DEFAULT_BUNDLE, tmp_path / "broken")
    (tmp_path / "broken" / "MLmodel").write_text("flavors: [not, a, mapping")
    with pytest.raises(CommandError, match="Bundle rejected"):
        call_command("activate_bundle", str(tmp_path / "broken"))
    assert not ModelVersion.objects.exists()


def test_an_unknown_user_is_refused(db):
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("activate_bundle", str(DEFAULT_BUNDLE), user="nobody")
    assert not ModelVersion.objects.exists()


def test_a_bundle_with_its_own_labelled_sample_is_validated_on_it(db, tmp_path):
    call_command("activate_bundle", str(write_synthetic_bundle(tmp_path / "synthetic")))
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.validation_report["sample"]["rows"] == 120  # the bundle's sample, not the German one
    assert version.validation_report["sample"]["auc"] is not None
