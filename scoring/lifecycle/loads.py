"""Loading model bundles from the Hugging Face Hub: request a load, run it on a worker, record what came of it.

The only writer of ModelLoad rows. A load downloads a repo's revision, stores its files,
records a pending version and runs the same validation as every other path
(``versions.validate_version``). Its Celery task sits beside the service it wraps.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from celery import shared_task
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from scoring.engine import bundle_digest
from scoring.lifecycle import hub, versions
from scoring.models import ModelLoad, ModelVersion

log = logging.getLogger(__name__)


def request_load(
    *, repo_id: str, revision: str = "main", subfolder: str = "", user: AbstractBaseUser | None, queue: bool = True
) -> ModelLoad:
    """Record a load request and (unless ``queue`` is false) queue its task once the request is committed."""
    repo_id, revision = repo_id.strip(), (revision or "main").strip()
    try:
        # The client's own rule, checked here so a name the Hub would refuse is a field error, not a failed load.
        validate_repo_id(repo_id)
    except HFValidationError:
        valid = False
    else:
        valid = repo_id.count("/") == 1
    if not valid:
        raise ValidationError({"repo_id": [gettext("Give the repo as owner/name, for example acme/credit-model.")]})
    try:
        subfolder = hub.clean_subfolder(subfolder)
    except ValueError as exc:
        raise ValidationError({"subfolder": [str(exc)]}) from exc
    with transaction.atomic():
        load = ModelLoad.objects.create(repo_id=repo_id, revision=revision, subfolder=subfolder, requested_by=user)
        if queue:
            transaction.on_commit(lambda: load_model_from_hub.delay(load.pk))
    return load


def run_load(*, load_id: int) -> ModelLoad:
    """Resolve, download, store and validate one requested load; safe to run twice (claims the row first)."""
    claimed = ModelLoad.objects.filter(pk=load_id, state=ModelLoad.State.QUEUED).update(state=ModelLoad.State.RUNNING)
    load = ModelLoad.objects.get(pk=load_id)
    if not claimed:
        return load
    # One deadline for every Hub request of this load, retries included (HF_LOAD_DEADLINE_SECONDS).
    deadline = hub.Deadline.start()
    try:
        commit = hub.resolve_commit(repo_id=load.repo_id, revision=load.revision, deadline=deadline)
        load.commit = commit
        existing = ModelVersion.objects.filter(
            source=ModelVersion.Source.HUB, source_uri=load.repo_id, hub_commit=commit, hub_subfolder=load.subfolder
        ).first()
        if existing is not None:
            return _finish(load, version=existing, reused=True)
        # A download abandoned at its deadline may still remove its folder itself: cleanup tolerates that.
        with tempfile.TemporaryDirectory(prefix="hub-", ignore_cleanup_errors=True) as tmp:
            download = hub.download_bundle(
                repo_id=load.repo_id, commit=commit, subfolder=load.subfolder, target=Path(tmp), deadline=deadline
            )
            version, created = _register_download(load, download)
        if created:
            versions.validate_version(version=version, user=None)
            version.refresh_from_db()
        return _finish(load, version=version, reused=not created)
    except hub.HubError as exc:
        log.warning("model load %s failed: %s", load.pk, exc)
        return _fail(load, str(exc))
    except Exception as exc:
        # A claimed load must never stay "running": record what broke (artifact store, disk, a bug).
        log.exception("model load %s failed unexpectedly", load.pk)
        return _fail(load, f"Unexpected error while loading: {type(exc).__name__}: {exc}")


def _fail(load: ModelLoad, message: str) -> ModelLoad:
    load.state = ModelLoad.State.FAILED
    load.error = message
    load.finished_at = timezone.now()
    load.save(update_fields=["state", "error", "commit", "finished_at"])
    return load


def load_from_hub(
    *, repo_id: str, revision: str = "main", subfolder: str = "", user: AbstractBaseUser | None
) -> ModelLoad:
    """Record a load and run it here and now, without a worker (the management command; tests)."""
    load = request_load(repo_id=repo_id, revision=revision, subfolder=subfolder, user=user, queue=False)
    return run_load(load_id=load.pk)


def _finish(load: ModelLoad, *, version: ModelVersion, reused: bool) -> ModelLoad:
    load.state = ModelLoad.State.DONE
    load.version = version
    load.reused = reused
    load.finished_at = timezone.now()
    load.save(update_fields=["state", "version", "reused", "commit", "finished_at"])
    return load


def _register_download(load: ModelLoad, download: hub.Download) -> tuple[ModelVersion, bool]:
    """Store the downloaded files and record a pending version; the same files already known are reused.

    Exactly the files the download fetched are hashed, stored and recorded, nothing else in its folder.
    """
    hashes = dict(download.file_hashes)
    digest = bundle_digest(hashes)
    existing = ModelVersion.objects.filter(artifact_path=digest).first()
    if existing is not None:
        return existing, False
    folder = versions.store_files(download.path, hashes, digest)
    name = load.repo_id.split("/")[-1] + (f"/{load.subfolder}" if load.subfolder else "")
    with transaction.atomic():
        version = ModelVersion.objects.create(
            name=name[:200],
            source=ModelVersion.Source.HUB,
            source_uri=load.repo_id,
            hub_revision=load.revision,
            hub_commit=download.commit,
            hub_subfolder=load.subfolder,
            artifact_path=folder,
            sha256=hashes.get("model.cb", ""),
            file_hashes=hashes,
            status=ModelVersion.Status.PENDING,
            created_by=load.requested_by,
        )
    return version, True


# No automatic retry: the service claims the load first and records every failure on it,
# so a retry would find nothing to do; a new load is one click away.
@shared_task(name="scoring.load_model_from_hub")
def load_model_from_hub(load_id: int) -> str:
    load = run_load(load_id=load_id)
    return load.state
