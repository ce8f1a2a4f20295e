"""Talking to the Hugging Face Hub: resolve a revision, download a model bundle, publish one.

Everything goes through ``huggingface_hub`` with the endpoint, token and timeout
from settings; every failure comes out as ``HubError`` with a message a model
administrator can act on (wrong token, unknown repo or revision, Hub down), and
a load's Hub work as a whole ends by one deadline (``HF_LOAD_DEADLINE_SECONDS``).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx2
import yaml
from django.conf import settings
from huggingface_hub import HfApi, constants, hf_hub_download, set_client_factory
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

# The library's own client (offline mode, request ids) is the base the deadline hooks are added to;
# it is not re-exported, hence the private import (huggingface_hub is pinned in requirements.txt).
from huggingface_hub.utils._http import default_client_factory

from scoring.engine import file_sha256

# The fixed files of an MLflow CatBoost bundle; with the validation sample its MLmodel names,
# they are all that is fetched or published (``declared_files``).
BUNDLE_FILES = ("MLmodel", "model.cb", "input_example.json")
# Files a bundle may lack (the contract check says what that means); the rest must be there.
OPTIONAL_FILES = frozenset({"input_example.json"})

T = TypeVar("T")


class HubError(Exception):
    """The Hub could not give us the bundle (or take it); the message says why."""


@dataclass(frozen=True)
class Download:
    path: Path  # local folder holding the bundle files (the subfolder, if one was asked for)
    commit: str  # the commit sha actually fetched
    file_hashes: dict[str, str] = field(default_factory=dict)  # exactly the files fetched: name -> sha256


@dataclass(frozen=True)
class Deadline:
    """The moment a load's Hub work must be over, however many requests and retries it takes."""

    at: float  # time.monotonic() value
    seconds: float

    @classmethod
    def start(cls, seconds: float | None = None) -> Deadline:
        seconds = float(settings.HF_LOAD_DEADLINE_SECONDS if seconds is None else seconds)
        return cls(at=time.monotonic() + seconds, seconds=seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()


# --- paths inside a snapshot --------------------------------------------------------


# A plain relative path inside a repo, as JSON Schema (ECMA-262) and Python both read it: parts of
# anything but "/", "\\" and control characters, no part "." or "..", no leading "/", one optional
# trailing "/". The API states it in its schema; ``clean_subfolder`` applies it.
_PART = r"(?!\.\.?(?:/|$))[^/\\\x00-\x1f\x7f]+"
SUBFOLDER_PATTERN = rf"^(?:{_PART}(?:/{_PART})*/?)?$"
_SUBFOLDER = re.compile(SUBFOLDER_PATTERN)


def clean_subfolder(subfolder: str) -> str:
    """The subfolder as a plain relative POSIX path inside the repo ("" for the top), or ValueError saying why.

    A trailing "/" names the same folder and is dropped; anything that could point outside the
    snapshot ("..", an absolute path, a backslash, "." or empty parts) is refused, never rewritten.
    """
    _check_relative(subfolder, what="The subfolder", trailing_slash=True)
    return subfolder.removesuffix("/")


def _check_relative(value: str, *, what: str, trailing_slash: bool = False) -> None:
    if not value or (_SUBFOLDER.fullmatch(value) is not None and (trailing_slash or not value.endswith("/"))):
        return
    if any(ord(ch) < 32 or ch in "\\\x7f" for ch in value):
        raise ValueError(f"{what} {value!r} may not contain backslashes or control characters.")
    if value.startswith("/"):
        raise ValueError(f"{what} {value!r} must be a path relative to the top of the repo, not an absolute one.")
    raise ValueError(f"{what} {value!r} must be a plain path inside the repo: no '..', '.' or empty parts.")


def _inside(root: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def declared_files(folder: Path) -> list[str]:
    """The bundle's files: the fixed ones plus the validation sample its MLmodel metadata names (checked path)."""
    names = list(BUNDLE_FILES)
    mlmodel = folder / "MLmodel"
    if not mlmodel.is_file():
        return names
    try:
        document = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        return names  # the contract check reports an unreadable MLmodel; nothing more to fetch
    metadata = document.get("metadata") if isinstance(document, dict) else None
    sample = metadata.get("validation_sample") if isinstance(metadata, dict) else None
    name = sample.get("file") if isinstance(sample, dict) else None
    if isinstance(name, str) and name and name not in names:
        _check_relative(name, what="The validation sample file")
        names.append(name)
    return names


# --- one deadline for all the requests of a load ----------------------------------------


@dataclass
class _Watch:
    """What the Hub requests of one load share: when to stop, and the last HTTP error seen (for the message)."""

    deadline: Deadline
    cancelled: threading.Event = field(default_factory=threading.Event)
    last_status: int | None = None


class _Stopped(Exception):
    """Raised inside huggingface_hub's request loop so that no retry outlives the load's deadline."""


_current = threading.local()
_hooks_installed = False
_hooks_lock = threading.Lock()


def _before_request(request: httpx2.Request) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None and (watch.cancelled.is_set() or watch.deadline.remaining() <= 0):
        raise _Stopped(f"{request.method} {request.url} after the load's deadline")


def _after_response(response: httpx2.Response) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None and response.status_code >= 400:
        watch.last_status = response.status_code


def _client_with_deadline() -> httpx2.Client:
    client = default_client_factory()
    hooks = client.event_hooks
    client.event_hooks = {
        "request": [*hooks.get("request", []), _before_request],
        "response": [*hooks.get("response", []), _after_response],
    }
    return client


def _install_hooks() -> None:
    # huggingface_hub retries timeouts and 5xx answers on its own (five times, with back-off), so only
    # a hook on its shared client can stop a retry that would run past the deadline.
    global _hooks_installed
    with _hooks_lock:
        if not _hooks_installed:
            set_client_factory(_client_with_deadline)
            _hooks_installed = True


def _within(deadline: Deadline, work: Callable[[], T], *, repo_id: str, revision: str) -> T:
    """Run ``work`` (Hub requests only, no database) and give up when the deadline passes.

    The work runs in a thread so that the caller returns at the deadline even while a socket read
    is stalled; the abandoned thread stops at its next request and its reads time out after HF_TIMEOUT.
    """
    _install_hooks()
    _apply_timeouts(deadline)
    watch = _Watch(deadline=deadline)
    outcome: dict[str, object] = {}

    def run() -> None:
        _current.watch = watch
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the caller, who explains it
            outcome["error"] = exc
        finally:
            _current.watch = None

    worker = threading.Thread(target=run, name=f"hub-load-{repo_id}", daemon=True)
    worker.start()
    worker.join(timeout=max(deadline.remaining(), 0.0))
    if worker.is_alive() or isinstance(outcome.get("error"), _Stopped):
        watch.cancelled.set()
        raise HubError(_deadline_message(watch, repo_id=repo_id, revision=revision))
    error = outcome.get("error")
    if isinstance(error, HubError):
        raise error
    if error is not None:
        raise _explain(error, repo_id=repo_id, revision=revision) from error
    return outcome["value"]


def _deadline_message(watch: _Watch, *, repo_id: str, revision: str) -> str:
    where = f"{repo_id}@{revision or 'main'}"
    seconds = f"{watch.deadline.seconds:g}"
    if watch.last_status is not None and watch.last_status >= 500:
        why = f"it kept answering HTTP {watch.last_status} (a server error on the Hub's side)"
    elif watch.last_status is not None:
        why = f"its last answer was HTTP {watch.last_status}"
    else:
        why = "the download stalled or was too slow"
    return (
        f"Loading {where} from the Hub at {settings.HF_ENDPOINT} did not finish within "
        f"HF_LOAD_DEADLINE_SECONDS={seconds} s: {why}. Nothing was changed; try again later, "
        f"or raise HF_LOAD_DEADLINE_SECONDS for a large bundle or a slow link."
    )


# --- the Hub calls ------------------------------------------------------------------


def _api(token: str | None) -> HfApi:
    return HfApi(endpoint=settings.HF_ENDPOINT, token=_token(token))


def _token(token: str | None) -> str | bool:
    return token if token is not None else (settings.HF_TOKEN or False)


def _request_timeout(deadline: Deadline | None) -> float:
    timeout = float(settings.HF_TIMEOUT)
    return max(min(timeout, deadline.remaining()), 0.1) if deadline is not None else timeout


def _apply_timeouts(deadline: Deadline | None = None) -> None:
    # huggingface_hub reads its timeouts from module constants (set from env at import); keep them in step.
    timeout = _request_timeout(deadline)
    constants.HF_HUB_ETAG_TIMEOUT = timeout
    constants.HF_HUB_DOWNLOAD_TIMEOUT = timeout


def resolve_commit(*, repo_id: str, revision: str, token: str | None = None, deadline: Deadline | None = None) -> str:
    """The commit sha a branch, tag or commit points to now, so a load pins exactly what it fetched."""
    deadline = deadline or Deadline.start()
    timeout = _request_timeout(deadline)
    info = _within(
        deadline,
        lambda: _api(token).model_info(repo_id, revision=revision or "main", timeout=timeout),
        repo_id=repo_id,
        revision=revision,
    )
    if not info.sha:
        raise HubError(f"The Hub did not say which commit {repo_id}@{revision} is.")
    return info.sha


def download_bundle(
    *,
    repo_id: str,
    commit: str,
    subfolder: str = "",
    target: Path,
    token: str | None = None,
    deadline: Deadline | None = None,
) -> Download:
    """Fetch the declared bundle files of ``repo_id`` at ``commit`` (see ``resolve_commit``) into ``target``.

    Only ``declared_files`` are fetched, one by one, from inside the (checked) subfolder; what comes
    back is exactly those files with their sha256, so a version records what the Hub gave and nothing else.
    """
    try:
        sub = clean_subfolder(subfolder)
    except ValueError as exc:
        raise HubError(f"{exc} Nothing was fetched.") from exc
    root = Path(target)
    folder = root / sub if sub else root
    if not _inside(root, folder):
        raise HubError(f"The subfolder {subfolder!r} points outside the downloaded repo; nothing was fetched.")
    deadline = deadline or Deadline.start()
    where = f"{repo_id}@{commit[:12]}" + (f" in {sub!r}" if sub else "")

    def fetch(name: str, *, required: bool) -> bool:
        try:
            hf_hub_download(
                repo_id,
                name,
                subfolder=sub or None,
                revision=commit,
                endpoint=settings.HF_ENDPOINT,
                token=_token(token),
                local_dir=root,
                etag_timeout=_request_timeout(deadline),
            )
        except RemoteEntryNotFoundError:
            if required:
                raise HubError(f"{where} has no {name}: not a complete model bundle.") from None
            return False
        return True

    def fetch_all() -> list[str]:
        try:
            fetched = [name for name in ("MLmodel", "model.cb") if fetch(name, required=name == "model.cb")]
            try:
                names = declared_files(folder)
            except ValueError as exc:
                raise HubError(f"The MLmodel of {where} is refused: {exc}") from exc
            for name in names:
                if name not in fetched and fetch(name, required=name not in OPTIONAL_FILES):
                    fetched.append(name)
            return fetched
        finally:
            if _current.watch.cancelled.is_set():
                # Abandoned at the deadline: the caller has let go of target, so what this thread wrote goes too.
                shutil.rmtree(root, ignore_errors=True)

    fetched = _within(deadline, fetch_all, repo_id=repo_id, revision=commit)
    # local_dir downloads keep bookkeeping under .cache; it is not part of the bundle.
    shutil.rmtree(root / ".cache", ignore_errors=True)
    hashes = {}
    for name in sorted(fetched):
        path = folder / name
        if path.is_symlink() or not path.is_file() or not _inside(folder, path):
            raise HubError(f"{name} of {where} is not a plain file inside the bundle; nothing was stored.")
        hashes[name] = file_sha256(path)
    return Download(path=folder, commit=commit, file_hashes=hashes)


def publish_bundle(
    *, path: Path, repo_id: str, revision: str = "main", message: str, token: str | None = None, private: bool = False
) -> str:
    """Upload a bundle folder's declared files to a Hub repo (created if missing); returns the new commit sha."""
    try:
        names = declared_files(Path(path))
    except ValueError as exc:
        raise HubError(f"The MLmodel in {path} is refused: {exc}") from exc
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
            allow_patterns=names,
        )
    except Exception as exc:
        raise _explain(exc, repo_id=repo_id, revision=revision) from exc
    return info.oid


# --- what to tell the administrator ---------------------------------------------------


def _explain(exc: BaseException, *, repo_id: str, revision: str) -> Exception:
    """A message an administrator can act on for whatever the client raised.

    The HTTP answers come first: huggingface_hub's HTTP errors are also ``OSError``s, and the file
    download wraps them in a "not found locally" error, so the cause chain is searched for one.
    """
    if isinstance(exc, HubError):
        return exc
    where = f"{repo_id}@{revision or 'main'}"
    endpoint = settings.HF_ENDPOINT
    http = _http_error(exc)
    if isinstance(http, RevisionNotFoundError):
        return HubError(f"The Hub has no revision {revision!r} (branch, tag or commit) in {repo_id}.")
    if isinstance(http, GatedRepoError):
        return HubError(f"{repo_id} is gated: the token in HF_TOKEN has not been granted access; ask on its page.")
    if isinstance(http, RepositoryNotFoundError):
        return HubError(
            f"{repo_id} was not found on the Hub at {endpoint}, or it is private and HF_TOKEN is missing or not "
            f"allowed to read it (HTTP {_status(http)}): check the repo name and the token."
        )
    if isinstance(http, RemoteEntryNotFoundError):
        return HubError(f"A bundle file is missing from {where}: {str(http).splitlines()[0]}")
    if http is not None:
        return HubError(_status_message(_status(http), repo_id=repo_id, where=where))
    if isinstance(exc, OSError | httpx2.HTTPError):
        return HubError(f"The Hub at {endpoint} could not be reached ({type(exc).__name__}); nothing was changed.")
    return HubError(f"Loading {where} failed: {type(exc).__name__}: {exc}")


def _status_message(status: int | None, *, repo_id: str, where: str) -> str:
    endpoint = settings.HF_ENDPOINT
    if status == 401:
        token = "the token in HF_TOKEN was refused (wrong or expired)" if settings.HF_TOKEN else "HF_TOKEN is not set"
        return f"The Hub at {endpoint} asks who we are for {repo_id} (HTTP 401): {token}. Set a valid read token."
    if status == 403:
        return (
            f"The Hub at {endpoint} forbids reading {repo_id} with this token (HTTP 403): give the token in "
            f"HF_TOKEN read access to the repo or its organisation, or use one that has it."
        )
    if status == 404:
        return (
            f"The Hub at {endpoint} answered HTTP 404 for {where}: check that HF_ENDPOINT points at a Hugging "
            f"Face Hub (or mirror) and that the repo and revision exist."
        )
    if status == 429:
        return f"The Hub at {endpoint} is rate-limiting us (HTTP 429) for {where}: try again in a few minutes."
    if status is not None and status >= 500:
        return (
            f"The Hub at {endpoint} failed with HTTP {status} (a server error on the Hub's side) for {where}; "
            f"nothing was changed: try again later."
        )
    return f"The Hub answered HTTP {status} for {where}; nothing was changed."


def _http_error(exc: BaseException) -> HfHubHTTPError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, HfHubHTTPError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)
