"""The model lifecycle in Django admin: load from the (local) Hub, read the report, activate, roll back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.lifecycle import registry
from scoring.models import ModelActivation, ModelLoad, ModelVersion
from tests.support import DEFAULT_BUNDLE, hub_server
from tests.support.lifecycle_fixtures import DEFAULT_THRESHOLD, bundle_variant


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def candidate_repo(local_hub, hub_settings, tmp_path, request):
    repo_id = f"acme/admin-{request.node.name[:40]}"
    hub_server.commit_folder(local_hub.root, repo_id, bundle_variant(tmp_path / "c", threshold="0.2"))
    return repo_id


def post_load(client, django_capture_on_commit_callbacks, **data):
    """Submit the form; the queued task runs when the request's transaction commits; then read the page."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:scoring_modelversion_load"), data)
    if response.status_code != 302:
        return response
    return client.get(response.url)


def test_model_admin_loads_reads_the_report_activates_and_rolls_back(
    admin_client_for, model_admin, active_version, candidate_repo, django_capture_on_commit_callbacks
):
    client = admin_client_for(model_admin)
    listing = client.get(reverse("admin:scoring_modelversion_changelist"))
    assert b"Load from Hugging Face Hub" in listing.content

    page = post_load(client, django_capture_on_commit_callbacks, repo_id=candidate_repo, revision="main")
    assert page.status_code == 200
    version = ModelVersion.objects.get(source_uri=candidate_repo)
    assert version.status == ModelVersion.Status.VALIDATED
    assert str(version) in page.content.decode() and b"Validated" in page.content

    detail = client.get(reverse("admin:scoring_modelversion_change", args=[version.pk]))
    text = detail.content.decode()
    assert "AUC on the bundle&#x27;s sample" in text and "Brier score (calibration)" in text
    assert "On the candidate&#x27;s sample" in text and "decisions flip" in text
    assert f"{DEFAULT_THRESHOLD * 100:.1f} % → 20.0 %" in text  # thresholds as percentages, as on every page
    assert ">Activate<" in text

    client.post(reverse("admin:scoring_modelversion_activate", args=[version.pk]))
    assert registry.get_active().version == version
    detail = client.get(reverse("admin:scoring_modelversion_change", args=[version.pk]))
    assert f"Roll back to previous (#{active_version.pk})" in detail.content.decode()

    client.post(reverse("admin:scoring_modelversion_rollback", args=[version.pk]))
    assert registry.get_active().version == active_version
    assert list(ModelActivation.objects.values_list("user", flat=True)[:2]) == [model_admin.pk, model_admin.pk]


def test_hub_errors_are_shown_on_the_load_page(
    admin_client_for, model_admin, local_hub, hub_settings, django_capture_on_commit_callbacks
):
    client = admin_client_for(model_admin)
    page = post_load(client, django_capture_on_commit_callbacks, repo_id="acme/missing", revision="main")
    assert b"was not found" in page.content
    assert ModelLoad.objects.get().state == ModelLoad.State.FAILED
    bad = post_load(client, django_capture_on_commit_callbacks, repo_id="not-a-repo", revision="main")
    assert b"Give the repo as owner/name" in bad.content


def test_rejected_version_shows_its_reason_and_no_activate_button(
    admin_client_for, model_admin, local_hub, hub_settings, tmp_path, django_capture_on_commit_callbacks
):
    hub_server.commit_folder(local_hub.root, "acme/admin-bad", bundle_variant(tmp_path / "b", rename_feature=True))
    client = admin_client_for(model_admin)
    post_load(client, django_capture_on_commit_callbacks, repo_id="acme/admin-bad", revision="main")
    version = ModelVersion.objects.get(source_uri="acme/admin-bad")
    text = client.get(reverse("admin:scoring_modelversion_change", args=[version.pk])).content.decode()
    assert "FAILED" in text and "model contract" in text
    assert ">Activate<" not in text
    response = client.post(reverse("admin:scoring_modelversion_activate", args=[version.pk]), follow=True)
    assert b"cannot be activated" in response.content
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.REJECTED


def test_four_eyes_in_admin(
    admin_client_for,
    model_admin,
    django_user_model,
    active_version,
    candidate_repo,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = True
    client = admin_client_for(model_admin)
    post_load(client, django_capture_on_commit_callbacks, repo_id=candidate_repo, revision="main")
    version = ModelVersion.objects.get(source_uri=candidate_repo)
    refused = client.post(reverse("admin:scoring_modelversion_activate", args=[version.pk]), follow=True)
    assert b"Four-eyes" in refused.content
    assert registry.get_active().version == active_version


def test_auditor_sees_versions_but_cannot_change_them(admin_client_for, auditor, active_version):
    auditor.is_staff = True
    auditor.save()
    client = admin_client_for(auditor)
    detail = client.get(reverse("admin:scoring_modelversion_change", args=[active_version.pk]))
    assert detail.status_code == 200 and b">Validate<" not in detail.content
    assert client.get(reverse("admin:scoring_modelversion_load")).status_code == 403
    assert client.post(reverse("admin:scoring_modelversion_validate", args=[active_version.pk])).status_code == 403


def test_officer_cannot_reach_the_lifecycle_pages(admin_client_for, officer, active_version):
    client = admin_client_for(officer)
    response = client.post(reverse("admin:scoring_modelversion_activate", args=[active_version.pk]))
    assert response.status_code in (302, 403)
    assert ModelActivation.objects.count() == 1


def test_default_bundle_is_still_the_one_registered(active_version):
    assert active_version.source == ModelVersion.Source.LOCAL and DEFAULT_BUNDLE.exists()


def test_the_load_page_follows_a_running_load_by_itself(admin_client_for, model_admin, active_version):
    client = admin_client_for(model_admin)
    load = ModelLoad.objects.create(repo_id="acme/slow", revision="main", requested_by=model_admin)
    page = client.get(reverse("admin:scoring_modelversion_load")).content.decode()
    status_url = reverse("admin:scoring_modelversion_load_status")
    # With JavaScript the page polls the status endpoint; without it, the page refreshes itself.
    assert f'data-status-url="{status_url}"' in page and "js/model-load-progress.js" in page
    assert '<noscript><meta http-equiv="refresh"' in page
    assert "refresh this page" not in page

    status = client.get(status_url).json()
    assert status["running"] is True
    assert status["loads"][0] | {"error": ""} == {
        "id": load.pk,
        "repo_id": "acme/slow",
        "revision": "main",
        "state": "queued",
        "state_display": "Queued",
        "finished": False,
        "version": None,
        "version_status": None,
        "error": "",
    }

    ModelLoad.objects.filter(pk=load.pk).update(state=ModelLoad.State.FAILED, error="The Hub could not be reached.")
    status = client.get(status_url).json()
    assert status["running"] is False and status["loads"][0]["finished"] is True
    assert status["loads"][0]["error"] == "The Hub could not be reached."
    page = client.get(reverse("admin:scoring_modelversion_load")).content.decode()
    assert 'http-equiv="refresh"' not in page and "model-load-progress.js" not in page


def test_the_load_status_is_for_model_admins_only(admin_client_for, auditor, active_version):
    auditor.is_staff = True
    auditor.save()
    client = admin_client_for(auditor)
    response = client.get(reverse("admin:scoring_modelversion_load_status"))
    assert response.status_code == 403
