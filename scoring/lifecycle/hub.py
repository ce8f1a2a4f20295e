"""Talking to the Hugging Face Hub: resolve a revision, download a model bundle, publish one.

Everything goes through ``huggingface_hub`` with the endpoint, token and timeout
from settings; every failure comes out as ``HubError`` with a message a model
administrator can act on (wrong token, unknown repo or revision, Hub down).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx2
from django.conf import settings
from huggingface_hub import HfApi, constants, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

# The files of an MLflow CatBoost bundle; nothing else in the repo is fetched.
# The labelled validation sample is part of the bundle contract (docs/model-bundle.md): without it a bundle is refused.
BUNDLE_FILES = ("MLmodel", "model.cb", "input_example.json", "validation_sample.csv")


class HubError(Exception):
    """The Hub could not give us the bundle (or take it); the message says why."""


@dataclass(frozen=True)
class Download:
    path: Path  # local folder holding the bundle files (the subfolder, if one was asked for)
    commit: str  # the commit sha actually fetched


def _api(token: str | None) -> HfApi:
    return HfApi(endpoint=settings.HF_ENDPOINT, token=token if token is not None else (settings.HF_TOKEN or False))


def _apply_timeouts() -> None:
    # huggingface_hub reads its timeouts from module constants (set from env at import); keep them in step.
    timeout = float(settings.HF_TIMEOUT)
    constants.HF_HUB_ETAG_TIMEOUT = timeout
    constants.HF_HUB_DOWNLOAD_TIMEOUT = timeout


def resolve_commit(*, repo_id: str, revision: str, token: str | None = None) -> str:
    """The commit sha a branch, tag or commit points to now, so a load pins exactly what it fetched."""
    _apply_timeouts()
    try:
        info = _api(token).model_info(repo_id, revision=revision or "main", timeout=float(settings.HF_TIMEOUT))
    except Exception as exc:
        raise _explain(exc, repo_id=repo_id, revision=revision) from exc
    if not info.sha:
        raise HubError(f"The Hub did not say which commit {repo_id}@{revision} is.")
    return info.sha


def download_bundle(
    *, repo_id: str, commit: str, subfolder: str = "", target: Path, token: str | None = None
) -> Download:
    """Fetch the bundle files of ``repo_id`` at ``commit`` (see ``resolve_commit``) into ``target``."""
    _apply_timeouts()
    revision = commit
    prefix = f"{subfolder.strip('/')}/" if subfolder.strip("/") else ""
    try:
        snapshot_download(
            repo_id,
            revision=commit,
            allow_patterns=[prefix + name for name in BUNDLE_FILES],
            endpoint=settings.HF_ENDPOINT,
            token=token if token is not None else (settings.HF_TOKEN or False),
            local_dir=target,
            etag_timeout=float(settings.HF_TIMEOUT),
            max_workers=2,
        )
    except Exception as exc:
        raise _explain(exc, repo_id=repo_id, revision=revision) from exc
    # local_dir downloads keep bookkeeping under .cache; it is not part of the bundle.
    shutil.rmtree(Path(target) / ".cache", ignore_errors=True)
    folder = Path(target) / prefix if prefix else Path(target)
    if not (folder / "model.cb").is_file():
        where = f"{repo_id}@{commit[:12]}" + (f" in {subfolder!r}" if prefix else "")
        raise HubError(f"{where} has no model.cb: not a CatBoost model bundle.")
    return Download(path=folder, commit=commit)


def publish_bundle(
    *, path: Path, repo_id: str, revision: str = "main", message: str, token: str | None = None, private: bool = False
) -> str:
    """Upload a bundle folder to a Hub repo (created if missing); returns the new commit sha."""
    _apply_timeouts()
    api = _api(token)
    try:
        api.create_repo(repo_id, exist_ok=True, private=private)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(path),
            revision=revision or "main",
            commit_message=message,
            allow_patterns=list(BUNDLE_FILES),
        )
    except Exception as exc:
        raise _explain(exc, repo_id=repo_id, revision=revision) from exc
    return info.oid


def _explain(exc: Exception, *, repo_id: str, revision: str) -> Exception:
    """A message an administrator can act on for whatever the client raised."""
    where = f"{repo_id}@{revision or 'main'}"
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, RevisionNotFoundError):
        return HubError(f"The Hub has no revision {revision!r} (branch, tag or commit) in {repo_id}.")
    if isinstance(exc, GatedRepoError):
        return HubError(f"{repo_id} is gated: the token in HF_TOKEN has not been granted access.")
    if isinstance(exc, RepositoryNotFoundError):
        return HubError(
            f"{repo_id} was not found, or it is private and HF_TOKEN is missing or not allowed to read it "
            f"(HTTP {_status(exc)})."
        )
    if isinstance(exc, EntryNotFoundError):
        return HubError(f"A bundle file is missing from {where}: {exc}")
    if isinstance(exc, LocalEntryNotFoundError | httpx2.ConnectError | httpx2.TimeoutException | OSError):
        endpoint = settings.HF_ENDPOINT
        return HubError(f"The Hub at {endpoint} could not be reached ({type(exc).__name__}); nothing was changed.")
    if isinstance(exc, HfHubHTTPError):
        status = _status(exc)
        if status in (401, 403):
            return HubError(f"The Hub refused access to {repo_id} (HTTP {status}): check HF_TOKEN.")
        return HubError(f"The Hub answered HTTP {status} for {where}: {str(exc).splitlines()[0]}")
    return HubError(f"Loading {where} failed: {type(exc).__name__}: {exc}")


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)
