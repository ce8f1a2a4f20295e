"""Shadow challengers: who may start one, what it scores, and that no decision ever changes because of it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from prometheus_client import REGISTRY

from scoring.batch import jobs
from scoring.decisions import services
from scoring.exceptions import ChallengerRefused
from scoring.lifecycle import challengers, loads, registry, shadow, versions
from scoring.models import BatchJob, ChallengerAssignment, Channel, ModelVersion, Prediction, ShadowScore
from tests.support import hub_server
from tests.support.batch_files import csv_bytes, synthetic_frame
from tests.support.challengers import CHALLENGER_REFER_LOWER, CHALLENGER_THRESHOLD, lenient_bundle, typed_applications
from tests.support.lifecycle_fixtures import bundle_variant
from tests.support.synthetic_bundle import write_synthetic_bundle


@pytest.fixture
def challenger_version(active_version, tmp_path, model_admin):
    version = versions.register_bundle(path=lenient_bundle(tmp_path / "lenient"), user=model_admin)
    assert version.status == ModelVersion.Status.VALIDATED, version.rejection_reason
    return version


@pytest.fixture
def running(challenger_version, model_admin):
    challengers.start_challenger(version=challenger_version, user=model_admin)
    return challenger_version


def challenger_decision(p: float) -> str:
    """The challenger's decision computed here, from its bundle's figures, not by the engine."""
    if p >= CHALLENGER_THRESHOLD:
        return "decline"
    return "refer" if p >= CHALLENGER_REFER_LOWER else "approve"


# --- designation ---------------------------------------------------------------


def test_a_validated_version_starts_and_stops_with_an_append_only_history(challenger_version, model_admin):
    assert challengers.current_challenger_id() is None
    started = challengers.start_challenger(version=challenger_version, user=model_admin, note="trial")
    assert challengers.current_challenger_id() == challenger_version.pk
    stopped = challengers.stop_challenger(user=model_admin, version=challenger_version)
    assert challengers.current_challenger_id() is None
    history = list(ChallengerAssignment.objects.order_by("id").values_list("action", "version_id", "previous_id"))
    assert history == [("start", challenger_version.pk, None), ("stop", challenger_version.pk, started.pk)]
    assert stopped.previous_id == started.pk and stopped.user == model_admin


def test_only_a_version_that_passed_validation_can_be_a_challenger(active_version, challenger_version):
    with pytest.raises(ChallengerRefused, match="only a version that passed validation"):
        challengers.start_challenger(version=active_version, user=None)
    for status in (ModelVersion.Status.PENDING, ModelVersion.Status.REJECTED):
        unchecked = ModelVersion.objects.create(name=f"{status} one", sha256="0" * 64, status=status)
        with pytest.raises(ChallengerRefused, match=f"is {unchecked.get_status_display().lower()}: only a version"):
            challengers.start_challenger(version=unchecked, user=None)
    assert not ChallengerAssignment.objects.exists()


def test_a_version_whose_stored_files_no_longer_load_is_refused(active_version, tmp_path):
    damaged = versions.register_bundle(path=bundle_variant(tmp_path / "damaged", threshold="0.25"))
    assert damaged.status == ModelVersion.Status.VALIDATED
    # The artifact store keeps one copy per file content, which every version of this model shares: put it back.
    stored = registry.local_bundle_path(damaged) / "model.cb"
    original = stored.read_bytes()
    stored.write_bytes(b"not a model any more")
    try:
        with pytest.raises(ChallengerRefused, match="cannot be loaded"):
            challengers.start_challenger(version=damaged, user=None)
    finally:
        stored.write_bytes(original)
    assert not ChallengerAssignment.objects.exists()


def test_at_most_one_challenger_at_a_time(running, active_version, tmp_path):
    other = versions.register_bundle(path=bundle_variant(tmp_path / "other", threshold="0.2"))
    with pytest.raises(ChallengerRefused, match="stop it before starting another"):
        challengers.start_challenger(version=other, user=None)
    with pytest.raises(ChallengerRefused, match="already the challenger"):
        challengers.start_challenger(version=running, user=None)
    with pytest.raises(ChallengerRefused, match="is not the challenger"):
        challengers.stop_challenger(user=None, version=other)
    challengers.stop_challenger(user=None)
    with pytest.raises(ChallengerRefused, match="No challenger is running"):
        challengers.stop_challenger(user=None)
    challengers.start_challenger(version=other, user=None)
    assert challengers.current_challenger_id() == other.pk
    assert ChallengerAssignment.objects.count() == 3


def test_the_chain_of_changes_refuses_a_second_row_after_the_same_one(running):
    """Two changes made at the same moment both follow the same row: the database keeps one."""
    from django.db import IntegrityError, transaction

    latest = ChallengerAssignment.objects.get()
    ChallengerAssignment.objects.create(version=running, action="stop", previous=latest)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChallengerAssignment.objects.create(version=running, action="stop", previous=latest)


def test_a_challenger_needing_features_the_live_inputs_lack_is_refused_naming_them(
    active_version, local_hub, hub_settings, tmp_path
):
    from tests.lifecycle.test_own_features import with_reference

    hub_server.commit_folder(local_hub.root, "acme/household", with_reference(write_synthetic_bundle(tmp_path / "b")))
    other = loads.load_from_hub(repo_id="acme/household", user=None).version
    assert other.status == ModelVersion.Status.VALIDATED, other.rejection_reason
    with pytest.raises(ChallengerRefused) as refused:
        challengers.start_challenger(version=other, user=None)
    message = str(refused.value)
    assert "do not provide these features: monthly_income, employment_type, years_at_address" in message
    assert not ChallengerAssignment.objects.exists()


def test_the_current_challenger_is_read_once_per_check_interval(running, settings, django_assert_num_queries):
    settings.MODEL_CHECK_INTERVAL = 60
    challengers.reset()
    with django_assert_num_queries(1):
        assert [challengers.current_challenger_id() for _ in range(5)] == [running.pk] * 5
    challengers.reset()


# --- shadow scoring of every live channel ----------------------------------------


def _form_decisions(client, user, applications) -> None:
    client.force_login(user)
    for reference, inputs in applications:
        page = client.get(reverse("scoring:application-new")).content.decode()
        token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
        fields = {k: str(v) for k, v in inputs.items()} | {"external_ref": reference, "form_token": token}
        assert client.post(reverse("scoring:application-new"), fields).status_code == 302


def _live_decisions(user, api, client, applications, captured) -> None:
    """The same applications through every live channel: web form, API one, API many, batch."""
    with captured(execute=True):
        _form_decisions(client, user, applications[:4])
        for reference, inputs in applications[4:8]:
            response = api.post("/api/v1/score", {"inputs": inputs, "external_ref": reference}, format="json")
            assert response.status_code == 201, response.content
        many = [{"inputs": inputs, "external_ref": reference, "force": True} for reference, inputs in applications[8:]]
        assert api.post("/api/v1/score/many", {"applications": many}, format="json").status_code == 200
        frame = synthetic_frame(12, seed=5)
        jobs.submit_batch_job(user=user, upload=SimpleUploadedFile("b.csv", csv_bytes(frame)))


def _outcomes(user) -> list[tuple]:
    """Everything a decision says, by channel and order of recording (batch rows by line)."""
    rows = Prediction.objects.filter(user=user).order_by("channel", "row_number", "id")
    return [
        (
            p.channel,
            p.external_ref,
            p.row_number,
            p.model_version_id,
            p.probability,
            p.decision,
            p.model_decision,
            p.risk_band,
            p.reasons,
            p.threshold,
        )
        for p in rows
    ]


def test_a_challenger_scores_every_live_decision_in_shadow_and_no_decision_changes(
    active_version,
    challenger_version,
    model_admin,
    officer,
    other_officer,
    officer_api,
    other_officer_api,
    client,
    django_capture_on_commit_callbacks,
):
    applications = typed_applications(20)
    _live_decisions(officer, officer_api, client, applications, django_capture_on_commit_callbacks)
    assert not ShadowScore.objects.exists()

    challengers.start_challenger(version=challenger_version, user=model_admin)
    _live_decisions(other_officer, other_officer_api, client, applications, django_capture_on_commit_callbacks)

    without, with_challenger = _outcomes(officer), _outcomes(other_officer)
    assert len(without) == 4 + 4 + 12 + 12
    assert {row[0] for row in without} == {Channel.WEB, Channel.API, Channel.BATCH}
    assert assert_same_decisions(without, with_challenger)
    assert BatchJob.objects.filter(user=other_officer, state=BatchJob.State.SUCCEEDED).count() == 1

    shadowed = Prediction.objects.filter(user=other_officer)
    scores = {s.prediction_id: s for s in ShadowScore.objects.filter(model_version=challenger_version)}
    assert sorted(scores) == sorted(shadowed.values_list("pk", flat=True))  # one per decision, every channel
    assert not ShadowScore.objects.filter(prediction__user=officer).exists()
    for prediction in shadowed:
        score = scores[prediction.pk]
        # The same model file: the same probability, decided by the challenger's own threshold and refer band.
        assert score.probability == pytest.approx(prediction.probability, abs=1e-9)
        assert score.decision == challenger_decision(score.probability)
        assert (score.threshold, score.refer_lower) == (CHALLENGER_THRESHOLD, CHALLENGER_REFER_LOWER)
    assert any(s.decision != p.model_decision for p in shadowed for s in [scores[p.pk]])


def assert_same_decisions(without, with_challenger) -> bool:
    # The references of the form and API decisions are the same; only the officer differs.
    assert [row[:4] for row in without] == [row[:4] for row in with_challenger]
    assert [row[4:] for row in without] == [row[4:] for row in with_challenger]
    return True


def test_a_retried_task_stores_nothing_twice(running, officer, example_inputs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        prediction = services.score_application(user=officer, inputs=example_inputs, channel="api")
    assert ShadowScore.objects.filter(prediction=prediction).count() == 1
    shadow.shadow_score_decisions.apply(args=[[prediction.pk], running.pk])
    # Even a task that missed the check before writing (two deliveries at once) inserts nothing new.
    model = registry.get_loaded(running)
    shadow._score_rows(model, running.pk, [(prediction.pk, prediction.features)])
    assert ShadowScore.objects.filter(prediction=prediction).count() == 1


def test_a_broken_challenger_leaves_decisions_intact(
    running, officer, officer_api, example_inputs, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise RuntimeError("the challenger's model file is damaged")

    for method in ("probabilities_of", "probabilities", "score_frame"):
        monkeypatch.setattr(registry.get_loaded(running), method, broken)
    failures_before = _failures("task")
    reference = services.score_application(user=officer, inputs=example_inputs, channel="api")  # no commit hooks run
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_api.post("/api/v1/score", {"inputs": example_inputs, "force": True}, format="json")
        many = officer_api.post(
            "/api/v1/score/many", {"applications": [{"inputs": example_inputs, "force": True}] * 3}, format="json"
        )
    assert response.status_code == 201 and many.status_code == 200
    decided = Prediction.objects.exclude(pk=reference.pk)
    assert decided.count() == 4
    assert {(p.decision, p.probability, p.risk_band) for p in decided} == {
        (reference.decision, reference.probability, reference.risk_band)
    }
    assert response.json()["decision"] == reference.decision
    assert not ShadowScore.objects.exists()
    assert _failures("task") == failures_before + 2


@pytest.mark.parametrize("count", [1, shadow.FEW_ROWS + 5])  # one by one, and as one frame
def test_a_decision_the_challenger_cannot_validate_gets_no_shadow_score_and_is_counted(running, officer, count):
    applications = [(inputs, ref) for ref, inputs in typed_applications(count)]
    predictions = services.score_applications(user=officer, applications=applications, channel="api")
    rows = [(p.pk, dict(p.features)) for p in predictions]
    rows[0][1]["duration_in_month"] = None  # as if the champion had not recorded it
    before = _failures("row")
    assert shadow._score_rows(registry.get_loaded(running), running.pk, rows) == count - 1
    assert _failures("row") == before + 1
    stored = set(ShadowScore.objects.values_list("prediction_id", flat=True))
    assert stored == {p.pk for p in predictions[1:]}
    for score in ShadowScore.objects.select_related("prediction"):
        assert score.probability == pytest.approx(score.prediction.probability, abs=1e-9)
        assert score.decision == challenger_decision(score.probability)


def test_decisions_made_by_the_challenger_itself_are_not_shadowed(running, officer, example_inputs):
    versions.activate(version=running, user=None)
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="api")
    assert prediction.model_version_id == running.pk
    assert shadow.score_in_shadow(prediction_ids=[prediction.pk], version_id=running.pk) == 0


def test_no_challenger_no_task(active_version, officer, example_inputs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.score_application(user=officer, inputs=example_inputs, channel="api")
    assert callbacks == []


def _failures(stage: str) -> float:
    return REGISTRY.get_sample_value("creditscore_shadow_failures_total", {"stage": stage}) or 0.0


# --- admin ------------------------------------------------------------------------


def test_a_model_admin_starts_and_stops_it_from_the_version_page(client, model_admin, challenger_version):
    client.force_login(model_admin)
    page = client.get(reverse("admin:scoring_modelversion_change", args=[challenger_version.pk])).content.decode()
    assert "Start as shadow challenger" in page
    response = client.post(reverse("admin:scoring_modelversion_challenger_start", args=[challenger_version.pk]))
    assert response.status_code == 302
    assert challengers.current_challenger_id() == challenger_version.pk
    page = client.get(reverse("admin:scoring_modelversion_change", args=[challenger_version.pk])).content.decode()
    assert "Stop shadow challenger" in page and "scores every live decision in shadow" in page
    client.post(reverse("admin:scoring_modelversion_challenger_stop", args=[challenger_version.pk]))
    assert challengers.current_challenger_id() is None
    assert list(ChallengerAssignment.objects.order_by("id").values_list("action", "user")) == [
        ("start", model_admin.pk),
        ("stop", model_admin.pk),
    ]


def test_the_admin_shows_a_refusal_and_changes_nothing(client, model_admin, active_version):
    client.force_login(model_admin)
    response = client.post(
        reverse("admin:scoring_modelversion_challenger_start", args=[active_version.pk]), follow=True
    )
    assert "only a version that passed validation can be a challenger" in response.content.decode()
    assert not ChallengerAssignment.objects.exists()


@pytest.mark.parametrize("persona", ["officer", "auditor"])
def test_only_model_admins_start_a_challenger(client, request, persona, challenger_version):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(reverse("admin:scoring_modelversion_challenger_start", args=[challenger_version.pk]))
    assert response.status_code in (302, 403)  # the admin site sends non-staff users to its login page
    if response.status_code == 302:
        assert "/login/" in response["Location"]
    assert not ChallengerAssignment.objects.exists()


def test_shadow_scores_never_reach_officer_pages(running, officer, example_inputs, client, officer_api):
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="api")
    shadow.score_in_shadow(prediction_ids=[prediction.pk], version_id=running.pk)
    score = ShadowScore.objects.get()
    client.force_login(officer)
    page = client.get(reverse("scoring:prediction-detail", args=[prediction.pk])).content.decode()
    assert "shadow" not in page.lower() and "challenger" not in page.lower()
    body = officer_api.get(f"/api/v1/predictions/{prediction.pk}")
    assert body.status_code == 200
    assert "shadow" not in body.content.decode().lower()
    assert body.json()["probability"] == prediction.probability and score.model_version_id == running.pk


def test_scoring_a_few_rows_without_a_frame_gives_the_frames_probabilities():
    from scoring.engine import frame_from_records, load_bundle
    from tests.support import DEFAULT_BUNDLE

    model = load_bundle(DEFAULT_BUNDLE)
    rows = [
        model.validate(r, text=True).features
        for r in synthetic_frame(7).drop(columns="external_ref").to_dict("records")
    ]
    np.testing.assert_allclose(model.probabilities_of(rows), model.probabilities(frame_from_records(model, rows)))
