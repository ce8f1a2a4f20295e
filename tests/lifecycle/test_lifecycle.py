"""Model lifecycle through the real huggingface_hub client against a local Hub: load, validate, activate, roll back."""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command

from scoring.decisions import services
from scoring.exceptions import BundleRejected, ModelUnavailable, NotAllowed
from scoring.lifecycle import loads, registry, versions
from scoring.models import ModelActivation, ModelLoad, ModelVersion, Prediction
from tests.support import DEFAULT_BUNDLE, hub_server
from tests.support.lifecycle_fixtures import DEFAULT_THRESHOLD, bundle_variant, start_hub

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def repo(local_hub, hub_settings, tmp_path, request):
    """A fresh public repo: main = default bundle (tagged v1), then a branch 'candidate' with threshold 0.2."""
    repo_id = f"acme/{request.node.name[:60].replace('[', '-').replace(']', '')}"
    first = hub_server.commit_folder(local_hub.root, repo_id, DEFAULT_BUNDLE)
    hub_server.tag(local_hub.root, repo_id, "v1", first)
    second = hub_server.commit_folder(
        local_hub.root, repo_id, bundle_variant(tmp_path / "v2", threshold="0.2"), branch="candidate"
    )
    return {"id": repo_id, "first": first, "second": second}


@pytest.fixture
def own_artifacts(settings, tmp_path):
    """An artifact store of this test's own, for tests that tamper with stored files."""
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"


def load(repo_id, revision="main", user=None, subfolder=""):
    return loads.load_from_hub(repo_id=repo_id, revision=revision, subfolder=subfolder, user=user)


def test_it_loads_a_branch_pins_its_commit_and_validates(repo, model_admin):
    result = load(repo["id"], "main", user=model_admin)
    assert result.state == ModelLoad.State.DONE, result.error
    version = result.version
    assert version.status == ModelVersion.Status.VALIDATED
    assert version.hub_revision == "main" and version.hub_commit == repo["first"]
    assert set(version.file_hashes) == {"MLmodel", "model.cb", "input_example.json", "validation_sample.csv"}
    assert all(len(h) == 64 for h in version.file_hashes.values())
    report = version.validation_report
    assert report["ok"] and all(c["ok"] for c in report["checks"])
    assert report["sample"]["rows_scored"] == 250
    assert 0.6 < report["sample"]["auc"] <= 1.0
    assert version.created_by == model_admin


def test_it_loads_by_tag_and_by_commit(repo):
    by_tag = load(repo["id"], "v1")
    assert by_tag.version.hub_commit == repo["first"]
    by_commit = load(repo["id"], repo["second"])
    assert by_commit.state == ModelLoad.State.DONE, by_commit.error
    assert by_commit.version.hub_commit == repo["second"]
    assert by_commit.version.threshold == pytest.approx(0.2)


def test_repeat_load_of_the_same_commit_is_recognised(repo):
    first = load(repo["id"], "main")
    again = load(repo["id"], "v1")  # same commit under another name
    assert again.reused and again.version == first.version
    assert ModelVersion.objects.count() == 1


def test_comparison_with_the_active_version_is_reported(repo, active_version):
    candidate = load(repo["id"], "candidate").version
    comparison = candidate.validation_report["comparison"]
    assert comparison["active_version_id"] == active_version.pk
    assert comparison["threshold"] == {"from": pytest.approx(DEFAULT_THRESHOLD), "to": pytest.approx(0.2)}
    assert comparison["features_added"] == [] and comparison["features_removed"] == []
    # Same features: each model scores the other's sample, so decisions are compared on both.
    assert comparison["compatible"] is True
    assert [s["sample"] for s in comparison["samples"]] == ["candidate's sample", "active version's sample"]
    for on_sample in comparison["samples"]:
        assert on_sample["rows_compared"] == 250
        # A higher decline threshold moves some decline cases to refer, never the other way.
        assert on_sample["decisions_flipped"] > 0
        assert set(on_sample["flips"]) == {"decline → refer"}
        assert on_sample["agreement_rate"] == pytest.approx(1 - on_sample["decisions_flipped"] / 250)
        assert on_sample["candidate"]["auc"] == pytest.approx(on_sample["active"]["auc"])
    assert comparison["own_samples"]["approval_rate"]["to"] >= comparison["own_samples"]["approval_rate"]["from"]


def test_private_repo_needs_the_right_token(local_hub, hub_settings, settings):
    hub_server.create_repo(local_hub.root, "acme/private", private=True, token="right-token")
    hub_server.commit_folder(local_hub.root, "acme/private", DEFAULT_BUNDLE)
    missing = load("acme/private")
    assert missing.state == ModelLoad.State.FAILED
    assert "private" in missing.error and "HF_TOKEN" in missing.error
    settings.HF_TOKEN = "wrong-token"
    assert "HF_TOKEN" in load("acme/private").error
    settings.HF_TOKEN = "right-token"
    assert load("acme/private").state == ModelLoad.State.DONE
    assert ModelVersion.objects.count() == 1


def test_unknown_revision_and_repo_are_clear_errors(repo):
    assert "no revision 'nope'" in load(repo["id"], "nope").error
    assert "was not found" in load("acme/does-not-exist").error


def test_bundle_in_a_subfolder(local_hub, hub_settings):
    hub_server.commit_folder(local_hub.root, "acme/mono", DEFAULT_BUNDLE, subfolder="models/credit")
    result = load("acme/mono", subfolder="models/credit")
    assert result.state == ModelLoad.State.DONE, result.error
    assert result.version.hub_subfolder == "models/credit"
    assert result.version.status == ModelVersion.Status.VALIDATED


def test_corrupt_model_file_is_rejected_and_cannot_be_activated(local_hub, hub_settings, active_version, tmp_path):
    bad = bundle_variant(tmp_path / "bad")
    (bad / "model.cb").write_bytes(b"this is not a catboost model")
    hub_server.commit_folder(local_hub.root, "acme/corrupt", bad)
    version = load("acme/corrupt").version
    assert version.status == ModelVersion.Status.REJECTED
    assert "could not be loaded by CatBoost" in version.rejection_reason
    with pytest.raises(BundleRejected):
        versions.activate(version=version, user=None)
    assert registry.get_active().version == active_version


def test_schema_mismatch_is_rejected_with_the_reason(local_hub, hub_settings, tmp_path):
    hub_server.commit_folder(local_hub.root, "acme/schema", bundle_variant(tmp_path / "s", rename_feature=True))
    version = load("acme/schema").version
    assert version.status == ModelVersion.Status.REJECTED
    assert "the model also takes ['duration_in_month']" in version.rejection_reason
    failed = [c["name"] for c in version.validation_report["checks"] if not c["ok"]]
    assert failed == ["bundle meets the model contract"]


def test_tampered_artifact_fails_validation_and_is_never_served(own_artifacts, repo, model_admin, settings, tmp_path):
    version = load(repo["id"]).version
    path = registry.local_bundle_path(version) / "model.cb"
    path.write_bytes(path.read_bytes() + b"\0")
    rechecked = versions.validate_version(version=version, user=model_admin)
    assert rechecked.status == ModelVersion.Status.REJECTED
    assert "model.cb" in rechecked.rejection_reason
    # A rejected version never goes live (PostgreSQL refuses even a raw UPDATE:
    # tests/audit/test_database_roles.py); and if a live version's file changes, the registry
    # refuses the changed file.
    live = versions.register_bundle(path=bundle_variant(tmp_path / "live", threshold="0.3"))
    versions.activate(version=live, user=None)
    live_file = registry.local_bundle_path(live) / "model.cb"
    live_file.write_bytes(live_file.read_bytes() + b"\0")
    with pytest.raises(ModelUnavailable, match="sha256"):
        registry.get_active()


def test_hub_down_fails_fast_and_the_active_model_keeps_serving(
    hub_settings, settings, active_version, officer, example_inputs, tmp_path
):
    down = start_hub(tmp_path / "hub-down")
    hub_server.commit_folder(down.root, "acme/down", DEFAULT_BUNDLE)
    settings.HF_ENDPOINT = down.endpoint
    down.stop()
    started = time.monotonic()
    result = load("acme/down")
    assert time.monotonic() - started < 5
    assert result.state == ModelLoad.State.FAILED
    assert "could not be reached" in result.error
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="api")
    assert prediction.model_version == active_version


def test_activation_swaps_the_served_version_and_rollback_restores_it(
    repo, active_version, officer, example_inputs, model_admin
):
    candidate = load(repo["id"], "candidate").version
    before = services.score_application(user=officer, inputs=example_inputs, channel="api")
    activation = versions.activate(version=candidate, user=model_admin, note="go live")
    assert activation.previous == active_version and activation.user == model_admin
    after = services.score_application(user=officer, inputs=example_inputs, channel="api")
    assert before.model_version == active_version and before.threshold == pytest.approx(DEFAULT_THRESHOLD)
    assert after.model_version == candidate and after.threshold == pytest.approx(0.2)
    active_version.refresh_from_db()
    assert active_version.status == ModelVersion.Status.RETIRED

    back = versions.roll_back(user=model_admin)
    assert back.version == active_version and back.previous == candidate
    restored = services.score_application(user=officer, inputs=example_inputs, channel="api")
    assert restored.model_version == active_version
    assert ModelActivation.objects.count() == 3
    assert Prediction.objects.filter(model_version=candidate).count() == 1


def test_a_request_in_flight_finishes_on_the_version_it_started_with(repo, active_version):
    held = registry.get_active()
    versions.activate(version=load(repo["id"], "candidate").version, user=None)
    assert registry.get_active().version != held.version
    assert held.model.threshold == pytest.approx(DEFAULT_THRESHOLD)  # the old reference is intact


def test_a_version_that_cannot_be_loaded_leaves_the_old_one_serving(own_artifacts, repo, active_version):
    candidate = load(repo["id"], "candidate").version
    assert registry.get_active().version == active_version
    versions.activate(version=candidate, user=None)
    (registry.local_bundle_path(candidate) / "model.cb").write_bytes(b"gone bad")
    assert registry.get_active().version == active_version
    status = registry.status()
    assert status["ok"] is False and status["failed_version_id"] == candidate.pk
    assert "sha256" in status["load_error"] or "could not be loaded" in status["load_error"]


def test_four_eyes_needs_a_second_admin(repo, model_admin, django_user_model, settings, active_version):
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = True
    version = load(repo["id"], "candidate", user=model_admin).version
    with pytest.raises(NotAllowed, match="Four-eyes"):
        versions.activate(version=version, user=model_admin)
    second = django_user_model.objects.create_user("second-admin", password="a-long-test-password")
    assert versions.activate(version=version, user=second).user == second


def test_rollback_without_a_previous_version_is_refused(active_version):
    with pytest.raises(NotAllowed, match="no previous version"):
        versions.roll_back(user=None)


def test_bad_repo_id_is_a_field_error(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        loads.request_load(repo_id="no-slash", user=None)
    assert "repo_id" in info.value.message_dict


def test_load_model_command_loads_and_activates(repo, active_version, capsys):
    call_command("load_model", "--repo", repo["id"], "--revision", "candidate", "--activate")
    out = capsys.readouterr().out
    assert "Activated" in out and "[ok] files load" in out
    assert registry.get_active().model.threshold == pytest.approx(0.2)


def test_load_model_command_reports_a_rejection(local_hub, hub_settings, tmp_path):
    hub_server.commit_folder(local_hub.root, "acme/cmd-bad", bundle_variant(tmp_path / "b", rename_feature=True))
    with pytest.raises(CommandError, match="Rejected"):
        call_command("load_model", "--repo", "acme/cmd-bad")


def test_publish_model_round_trip(local_hub, hub_settings, settings, tmp_path):
    settings.HF_TOKEN = "publisher-token"
    bundle = bundle_variant(tmp_path / "pub", threshold="0.3")
    call_command("publish_model", str(bundle), "--repo", "acme/published")
    meta = hub_server.read_repo(local_hub.root, "acme/published")
    commit = meta["refs"]["main"]
    assert "auc" in meta["messages"][commit]
    version = load("acme/published").version
    assert version.hub_commit == commit and version.status == ModelVersion.Status.VALIDATED
    assert version.threshold == pytest.approx(0.3)


def test_publish_model_refuses_a_bundle_with_bands_that_contradict_the_threshold(local_hub, hub_settings, tmp_path):
    bundle = bundle_variant(tmp_path / "pub")
    text = (bundle / "MLmodel").read_text()
    (bundle / "MLmodel").write_text(text.replace("en: High risk", "en: Low risk", 1))
    with pytest.raises(CommandError, match=r"risk_bands\[D\]: labelled 'Low risk' but ends above the threshold"):
        call_command("publish_model", str(bundle), "--repo", "acme/bands")
    assert hub_server.read_repo(local_hub.root, "acme/bands") is None


@pytest.mark.slow
def test_publish_model_refuses_a_plain_mlflow_model_and_says_what_it_lacks(local_hub, hub_settings, settings, tmp_path):
    """A data scientist's plain mlflow.catboost.save_model folder never reaches the Hub unprepared."""
    import mlflow.catboost
    import pandas as pd
    from catboost import CatBoostClassifier
    from mlflow.models import infer_signature

    frame = pd.read_csv(settings.BASE_DIR / "scoring" / "data" / "germancredit.csv")
    target = (frame.pop("creditability") == "bad").astype(int)
    cats = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    model = CatBoostClassifier(iterations=60, depth=4, verbose=False, random_seed=1, cat_features=cats)
    model.fit(frame, target)
    out = tmp_path / "mlflow-model"
    signature = infer_signature(frame, model.predict_proba(frame)[:, 1])
    mlflow.catboost.save_model(model, str(out), signature=signature, input_example=frame.head(2))

    settings.HF_TOKEN = "scientist-token"
    with pytest.raises(CommandError) as refused:
        call_command("publish_model", str(out), "--repo", "acme/mlflow-model")
    message = str(refused.value)
    for item in ("threshold", "refer_band", "risk_bands", "features", "validation_sample"):
        assert f"metadata.{item}: missing" in message
    assert message.endswith("manage.py prepare_bundle DIR --sample CSV --target COLUMN")
    assert hub_server.read_repo(local_hub.root, "acme/mlflow-model") is None


def test_an_unexpected_failure_is_recorded_on_the_load(repo, monkeypatch):
    def broken_store(*args, **kwargs):
        raise OSError("artifact store is read-only")

    monkeypatch.setattr(versions, "store_files", broken_store)
    result = load(repo["id"])
    assert result.state == ModelLoad.State.FAILED
    assert "artifact store is read-only" in result.error
    assert not ModelVersion.objects.exists()


def test_running_a_load_twice_does_nothing_the_second_time(repo):
    first = load(repo["id"])
    again = loads.run_load(load_id=first.pk)
    assert again.state == ModelLoad.State.DONE and again.version == first.version
    assert ModelVersion.objects.count() == 1
