"""Loads from a Hub that misbehaves: paths out of the snapshot, HTTP errors, stalls; nothing changes when one fails."""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.urls import reverse

from scoring.lifecycle import hub, loads, registry
from scoring.models import ModelLoad, ModelVersion
from tests.support import DEFAULT_BUNDLE, hub_server
from tests.support.lifecycle_fixtures import bundle_variant

pytestmark = pytest.mark.django_db(transaction=False)

# The fixed files and the labelled validation sample every complete bundle ships.
BUNDLE_FILES = {"MLmodel", "model.cb", "input_example.json", "validation_sample.csv"}


@pytest.fixture
def own_artifacts(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    return settings.ARTIFACT_ROOT


def stored_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def load(repo_id, revision="main", subfolder=""):
    return loads.load_from_hub(repo_id=repo_id, revision=revision, subfolder=subfolder, user=None)


# --- the subfolder stays inside the snapshot, and only the bundle's files are fetched ------------


def test_a_subfolder_leading_out_of_the_snapshot_is_refused_and_nothing_is_registered(
    local_hub, hub_settings, own_artifacts, tmp_path
):
    """A local bundle reached by '../' from the download folder must never pass for the Hub's files."""
    local = tmp_path / "some" / "local" / "dir"
    shutil.copytree(DEFAULT_BUNDLE, local)
    hub_server.commit_folder(local_hub.root, "acme/escape", DEFAULT_BUNDLE, subfolder="models/credit")
    # From tempfile's "hub-xxxx" folder, up one level and down into this test's folder.
    escape = "../" + os.path.relpath(local, tempfile.gettempdir())
    with pytest.raises(ValidationError) as info:
        load("acme/escape", subfolder=escape)
    assert list(info.value.message_dict) == ["subfolder"]
    assert not ModelLoad.objects.exists() and not ModelVersion.objects.exists()
    assert stored_files(own_artifacts) == []


@pytest.mark.parametrize(
    "subfolder", ["../../some/local/dir", "/etc", "models/../../x", "models/./credit", "models//credit", "a\\..\\b"]
)
def test_every_path_that_could_leave_the_snapshot_is_refused_as_the_subfolder(db, subfolder):
    with pytest.raises(ValidationError) as info:
        loads.request_load(repo_id="acme/x", subfolder=subfolder, user=None)
    assert "subfolder" in info.value.message_dict
    assert not ModelLoad.objects.exists()


def test_a_recorded_load_with_a_bad_subfolder_fails_without_fetching(local_hub, hub_settings, own_artifacts):
    """A load row written before the check existed (or by hand) is refused by the download itself."""
    hub_server.commit_folder(local_hub.root, "acme/old-row", DEFAULT_BUNDLE)
    row = ModelLoad.objects.create(repo_id="acme/old-row", revision="main", subfolder="../../some/local/dir")
    result = loads.run_load(load_id=row.pk)
    assert result.state == ModelLoad.State.FAILED and "subfolder" in result.error and ".." in result.error
    assert not ModelVersion.objects.exists() and stored_files(own_artifacts) == []


def test_only_the_declared_files_are_fetched_stored_and_recorded(local_hub, hub_settings, own_artifacts, tmp_path):
    bundle = bundle_variant(tmp_path / "b", threshold="0.3")
    (bundle / "notes.txt").write_text("not part of the bundle")
    (bundle / "secrets").mkdir()
    (bundle / "secrets" / "token").write_text("hf_secret")
    hub_server.commit_folder(local_hub.root, "acme/extra", bundle, subfolder="models/credit")
    result = load("acme/extra", subfolder="models/credit")
    assert result.state == ModelLoad.State.DONE, result.error
    version = result.version
    assert set(version.file_hashes) == BUNDLE_FILES
    assert version.file_hashes["model.cb"] == version.sha256 == hub.file_sha256(bundle / "model.cb")
    stored = registry.local_bundle_path(version)
    assert {p.name for p in stored.iterdir()} == BUNDLE_FILES


def with_validation_sample(folder, name):
    """Point the bundle's metadata at the validation sample ``name`` (the file is left where it is)."""
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    mlmodel["metadata"]["validation_sample"] = {"file": name, "target": "creditability", "bad_value": "bad"}
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))


def test_the_validation_sample_the_metadata_names_is_fetched_too(local_hub, hub_settings, tmp_path):
    bundle = bundle_variant(tmp_path / "b")
    with_validation_sample(bundle, "validation_sample.csv")
    (bundle / "validation_sample.csv").write_text("duration_in_month,creditability\n12,good\n")
    (bundle / "other.csv").write_text("a\n1\n")
    hub_server.commit_folder(local_hub.root, "acme/sampled", bundle)
    hub_server.commit_folder(local_hub.root, "acme/sampled", None, files={"MLmodel.bak": b"x"})
    # The download itself, whatever the validation (another part of the contract) makes of the sample.
    commit = hub.resolve_commit(repo_id="acme/sampled", revision="main")
    download = hub.download_bundle(repo_id="acme/sampled", commit=commit, target=tmp_path / "dl")
    assert set(download.file_hashes) == BUNDLE_FILES | {"validation_sample.csv"}
    assert download.file_hashes["validation_sample.csv"] == hub.file_sha256(bundle / "validation_sample.csv")


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/passwd", "data/../../x.csv"])
def test_a_validation_sample_outside_the_bundle_is_refused(local_hub, hub_settings, own_artifacts, tmp_path, name):
    bundle = bundle_variant(tmp_path / "b")
    with_validation_sample(bundle, name)
    repo = f"acme/sample-escape-{abs(hash(name)) % 1000}"
    hub_server.commit_folder(local_hub.root, repo, bundle)
    result = load(repo)
    assert result.state == ModelLoad.State.FAILED
    assert "validation sample" in result.error and name in result.error
    assert not ModelVersion.objects.exists() and stored_files(own_artifacts) == []


def test_a_file_that_is_a_link_out_of_the_snapshot_is_refused(hub_settings, tmp_path, monkeypatch):
    outside = tmp_path / "outside.cb"
    outside.write_bytes((DEFAULT_BUNDLE / "model.cb").read_bytes())

    def fake_download(repo_id, filename, *, local_dir, subfolder=None, **kwargs):
        target = local_dir / (subfolder or "") / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        if filename == "model.cb":
            target.symlink_to(outside)
        else:
            shutil.copy(DEFAULT_BUNDLE / filename, target)
        return str(target)

    monkeypatch.setattr(hub, "hf_hub_download", fake_download)
    with pytest.raises(hub.HubError, match=r"model.cb .* not a plain file"):
        hub.download_bundle(repo_id="acme/link", commit="a" * 40, target=tmp_path / "dl")


# --- each HTTP error says what to do ----------------------------------------------------------------

STATUS_ADVICE = {
    401: ["HTTP 401", "HF_TOKEN"],
    403: ["HTTP 403", "HF_TOKEN", "read access"],
    404: ["HTTP 404", "HF_ENDPOINT"],
    500: ["HTTP 500", "server error", "try again later"],
}


@pytest.mark.parametrize("status", sorted(STATUS_ADVICE))
def test_each_hub_answer_gets_its_own_advice(local_hub, hub_settings, status):
    repo = f"acme/answers-{status}"
    hub_server.commit_folder(local_hub.root, repo, DEFAULT_BUNDLE)
    hub_server.misbehave(local_hub.root, repo, answer=status)
    result = load(repo)
    assert result.state == ModelLoad.State.FAILED
    assert "could not be reached" not in result.error
    for words in STATUS_ADVICE[status]:
        assert words in result.error
    assert not ModelVersion.objects.exists()


def test_a_refusal_while_downloading_a_file_is_explained_too(local_hub, hub_settings):
    """The file download wraps the Hub's answer in a "not found locally" error; the answer still shows."""
    hub_server.commit_folder(local_hub.root, "acme/files-403", DEFAULT_BUNDLE)
    hub_server.misbehave(local_hub.root, "acme/files-403", answer=403, files_only=True)
    result = load("acme/files-403")
    assert result.state == ModelLoad.State.FAILED
    assert "HTTP 403" in result.error and "read access" in result.error
    assert "missing" not in result.error and "could not be reached" not in result.error


def test_a_hub_that_keeps_failing_is_given_up_at_the_deadline_naming_its_answer(local_hub, hub_settings):
    """The client retries 5xx answers with back-off; the load still ends by its deadline and says why."""
    hub_settings.HF_LOAD_DEADLINE_SECONDS = 2
    hub_server.commit_folder(local_hub.root, "acme/files-500", DEFAULT_BUNDLE)
    hub_server.misbehave(local_hub.root, "acme/files-500", answer=500, files_only=True)
    started = time.monotonic()
    result = load("acme/files-500")
    assert time.monotonic() - started < 2 + 1.5
    assert result.state == ModelLoad.State.FAILED
    assert "HTTP 500" in result.error and "HF_LOAD_DEADLINE_SECONDS" in result.error
    assert not ModelVersion.objects.exists()


# --- one deadline for the whole load ----------------------------------------------------------------


def test_a_stalled_download_fails_by_the_load_deadline(local_hub, hub_settings, own_artifacts, active_version):
    hub_settings.HF_TIMEOUT = 10.0
    hub_settings.HF_LOAD_DEADLINE_SECONDS = 2
    hub_server.commit_folder(local_hub.root, "acme/stalls", DEFAULT_BUNDLE)
    hub_server.misbehave(local_hub.root, "acme/stalls", stall=30)
    started = time.monotonic()
    result = load("acme/stalls")
    elapsed = time.monotonic() - started
    assert elapsed < 2 + 1.5, f"the load took {elapsed:.1f} s"
    assert result.state == ModelLoad.State.FAILED
    assert "HF_LOAD_DEADLINE_SECONDS=2" in result.error and "stalled" in result.error
    assert ModelVersion.objects.get() == active_version  # nothing registered, the active model unchanged
    assert registry.get_active().version == active_version


def test_a_healthy_load_after_a_stalled_one_is_not_affected(local_hub, hub_settings):
    hub_settings.HF_LOAD_DEADLINE_SECONDS = 1
    hub_server.commit_folder(local_hub.root, "acme/stalls-once", DEFAULT_BUNDLE)
    hub_server.misbehave(local_hub.root, "acme/stalls-once", stall=30)
    assert load("acme/stalls-once").state == ModelLoad.State.FAILED
    hub_settings.HF_LOAD_DEADLINE_SECONDS = 60
    hub_server.commit_folder(local_hub.root, "acme/healthy", DEFAULT_BUNDLE)
    result = load("acme/healthy")
    assert result.state == ModelLoad.State.DONE, result.error


def test_the_admin_load_form_shows_the_subfolder_error_next_to_the_field(client, model_admin, hub_settings):
    client.force_login(model_admin)
    data = {"repo_id": "acme/x", "revision": "main", "subfolder": "../../some/local/dir"}
    page = client.post(reverse("admin:scoring_modelversion_load"), data)
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert list(errors) == ["subfolder"] and "inside the repo" in errors["subfolder"][0]
    assert not ModelLoad.objects.exists()


def test_publishing_uploads_the_declared_files_only(local_hub, hub_settings, settings, tmp_path):
    settings.HF_TOKEN = "publisher-token"
    bundle = bundle_variant(tmp_path / "pub")
    with_validation_sample(bundle, "validation_sample.csv")
    (bundle / "validation_sample.csv").write_text("duration_in_month,creditability\n12,good\n")
    (bundle / "scratch.ipynb").write_text("{}")
    commit = hub.publish_bundle(path=bundle, repo_id="acme/published-sample", message="test")
    published = hub_server.repo_dir(local_hub.root, "acme/published-sample") / commit
    assert sorted(p.name for p in published.iterdir()) == sorted(BUNDLE_FILES | {"validation_sample.csv"})
