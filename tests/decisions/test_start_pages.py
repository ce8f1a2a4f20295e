"""The auditor's and the model administrator's home pages: recent activity, open items and the live model's health."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from bs4 import BeautifulSoup
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from scoring.batch import jobs, worker
from scoring.decisions import services
from scoring.lifecycle import versions
from scoring.models import BatchJob, Decision, DriftReport, ModelLoad
from tests.support.applications import decided
from tests.support.batch_files import csv_bytes, synthetic_frame
from tests.support.lifecycle_fixtures import bundle_variant


def _main_text(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("scoring:home"))
    assert response.status_code == 200
    return " ".join(BeautifulSoup(response.content, "html.parser").find("main").get_text(" ").split())


def test_auditor_starts_with_open_items_recent_activity_and_the_model_health(client, officer, auditor, active_version):
    officer.last_name = "Okafor"
    officer.save()
    decided(officer, Decision.REFER)
    decided(officer, Decision.REFER)
    overridden = decided(officer, Decision.DECLINE, external_ref="LOAN-77")
    services.record_review(
        user=officer,
        prediction=overridden,
        outcome="approve",
        reason_code="collateral",
        justification="A house as collateral.",
    )
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = jobs.submit_batch_job(
            user=officer, upload=SimpleUploadedFile("april-portfolio.csv", csv_bytes(synthetic_frame(3)))
        )
    BatchJob.objects.filter(pk=job.pk).update(state=BatchJob.State.FAILED, error="The worker lost the file.")
    now = timezone.now()
    DriftReport.objects.create(
        model_version=active_version,
        window_start=now - timedelta(days=30),
        window_end=now,
        observed_count=400,
        act_count=2,
        watch_count=1,
    )

    text = _main_text(client, auditor)
    assert "Referrals without an officer's decision 2" in text
    assert "Drift to act on in the latest report 2" in text
    assert "Failed batch #" in text and "april-portfolio.csv" in text
    assert f"{overridden.probability * 100:.1f}%" in text and "Olivia Okafor" in text
    assert "LOAN-77 Approve override" in text
    assert f"{active_version.name}, version #{active_version.pk}" in text
    assert "AUC 0." in text and "2 features to act on" in text


def test_auditor_sees_the_overrides_waiting_for_approval(client, officer, auditor, active_version, settings):
    settings.OVERRIDE_PD_LIMIT = 0.0  # every override needs a credit manager
    waiting = decided(officer, Decision.DECLINE)
    assert "No overrides waiting for approval" in _main_text(client, auditor)
    services.record_review(
        user=officer,
        prediction=waiting,
        outcome="approve",
        reason_code="collateral",
        justification="A house as collateral.",
    )
    text = _main_text(client, auditor)
    assert f"Decision #{waiting.pk}: change to Approve waiting for a credit manager's approval" in text


def test_model_admin_starts_with_the_model_versions_waiting_and_the_hub_loads(
    client, settings, model_admin, other_model_admin, active_version, tmp_path
):
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = True
    candidate = versions.register_bundle(path=bundle_variant(tmp_path / "v2", threshold="0.2"), user=model_admin)
    versions.validate_version(version=candidate, user=model_admin)
    ModelLoad.objects.create(
        repo_id="acme/credit-model",
        revision="main",
        state=ModelLoad.State.FAILED,
        error="The Hub did not answer in time.",
        requested_by=model_admin,
    )

    mine = _main_text(client, model_admin)
    assert f"#{candidate.pk}" in mine and "another administrator activates it" in mine
    assert "1 failed" in mine and "acme/credit-model @ main" in mine and "The Hub did not answer in time." in mine
    assert f"{active_version.name}, version #{active_version.pk}" in mine
    assert "Model versions" in mine and "Load from Hugging Face Hub" in mine
    # The other administrator is the one who may activate it.
    assert "you can activate it" in _main_text(client, other_model_admin)


@pytest.mark.parametrize("role", ["officer", "auditor", "model_admin"])
def test_each_role_sees_only_its_own_start(client, request, role, active_version):
    text = _main_text(client, request.getfixturevalue(role))
    assert ("Open items" in text) == (role == "auditor")
    assert ("Validated, waiting to be activated" in text) == (role == "model_admin")
    assert ("Active model and its health" in text) == (role != "officer")
