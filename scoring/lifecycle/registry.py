"""Which model version is active, and the loaded models this process keeps: the one model cache.

Every process asks the database (at most every ``MODEL_CHECK_INTERVAL`` seconds)
which version is active. A process that already serves a version loads the next one
in a background thread (``MODEL_SWITCH_IN_BACKGROUND``), smoke-tests it, and only then
swaps its reference atomically: no request waits for a load, however long it takes. A
process with nothing loaded yet loads inline, as it has nothing else to serve. A caller
holds on to the ``ActiveModel`` it got, so a request in flight finishes on the version it
started with. When the new version cannot be loaded the process keeps serving the old
one and says so.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage

from scoring.engine import BundleRejected, InvalidApplication, LoadedModel, load_bundle
from scoring.exceptions import ModelUnavailable
from scoring.lifecycle.markers import ActiveMarker
from scoring.models import ModelVersion
from scoring.monitoring import metrics

log = logging.getLogger(__name__)

# Loaded bundles kept per process: the active one plus a few pinned by running batch jobs.
_MAX_LOADED = 4

# A version that failed to load in the background is tried again after this long, not on every check.
_RETRY_FAILED_LOAD_AFTER = 30.0

# What a failed load of stored files raises: the bundle itself is bad, or the store cannot be read.
_LOAD_ERRORS = (BundleRejected, InvalidApplication, OSError)


@dataclass(frozen=True)
class ActiveModel:
    version: ModelVersion
    model: LoadedModel


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: ActiveModel | None = None
        self.checked_at = float("-inf")
        self.loaded: OrderedDict[int, LoadedModel] = OrderedDict()
        self.load_error: str = ""
        self.failed_version_id: int | None = None
        self.failed_at = float("-inf")
        # The version a background thread is loading, and a counter that reset() bumps so a thread
        # started before a reset drops its result instead of installing it.
        self.switching_to: int | None = None
        self.generation = 0
        # The active version the last check saw: a background load is installed only if it still is.
        self.wanted_id: int | None = None


_state = _State()


def artifact_storage() -> Storage:
    """Where bundles are kept; a Django storage so a shared or S3-compatible store is a settings change."""
    return FileSystemStorage(location=settings.ARTIFACT_ROOT)


def check_interval() -> float:
    return float(getattr(settings, "MODEL_CHECK_INTERVAL", 1.0))


def get_active() -> ActiveModel:
    """The active version and its loaded model; raises ModelUnavailable when there is none.

    At most every ``MODEL_CHECK_INTERVAL`` seconds one cheap marker read (a shared cache key, else the
    database) says which version is active. When it changed, a background thread loads the new bundle
    while every request keeps the version in hand; the reference is swapped once the load is done.
    """
    current = _state.active
    now = time.monotonic()
    if current is not None and now - _state.checked_at < check_interval():
        return current
    # With a version in hand, never queue behind the thread that is checking the marker.
    if not _state.lock.acquire(blocking=current is None):
        return current
    try:
        current = _state.active
        if current is not None and time.monotonic() - _state.checked_at < check_interval():
            return current
        active_id = active_version_id()
        _state.checked_at = time.monotonic()
        _state.wanted_id = active_id
        if active_id is None:
            _state.active = None
            raise ModelUnavailable("No model version is active. A model administrator must activate one.")
        if current is not None and current.version.pk == active_id:
            return current
        if current is not None and switch_in_background() and active_id not in _state.loaded:
            _start_background_switch(active_id)
            return current
        try:
            version = ModelVersion.objects.get(pk=active_id)
            model = get_loaded(version)
        except (*_LOAD_ERRORS, ModelVersion.DoesNotExist) as exc:
            _record_failure(active_id, exc)
            if current is not None:
                return current
            raise ModelUnavailable(_state.load_error) from exc
        _install(version, model)
        return _state.active
    finally:
        _state.lock.release()


def switch_in_background() -> bool:
    return bool(getattr(settings, "MODEL_SWITCH_IN_BACKGROUND", True))


def _start_background_switch(active_id: int) -> None:
    """Under the lock: start loading ``active_id`` in a thread unless one is loading or it failed just now."""
    if _state.switching_to is not None:
        return  # one load at a time; the next check after it ends picks up a newer activation
    recently_failed = time.monotonic() - _state.failed_at < _RETRY_FAILED_LOAD_AFTER
    if _state.failed_version_id == active_id and recently_failed:
        return
    try:
        # Read here, in the request's thread: the loading thread then never touches the database.
        version = ModelVersion.objects.get(pk=active_id)
    except ModelVersion.DoesNotExist as exc:
        _record_failure(active_id, exc)
        return
    _state.switching_to = active_id
    thread = threading.Thread(
        target=_switch_in_background, args=(version, _state.generation), name=f"model-load-{active_id}", daemon=True
    )
    thread.start()


def _switch_in_background(version: ModelVersion, generation: int) -> None:
    """The loading thread: load and smoke-test ``version``, then swap to it if it is still the one wanted."""
    try:
        model = _load(version)
        error = None
    except Exception as exc:  # any error: a thread dying here would leave the process on the old version for good
        model, error = None, exc
    with _state.lock:
        if generation != _state.generation:
            return
        _state.switching_to = None
        # Whatever happened, the next request checks the marker again (it may have moved on meanwhile).
        _state.checked_at = float("-inf")
        if error is not None:
            _record_failure(version.pk, error)
            return
        _remember(version.pk, model)
        if _state.wanted_id == version.pk:
            _install(version, model)


def _install(version: ModelVersion, model: LoadedModel) -> None:
    """Under the lock: serve ``version`` from now on (one reference assignment, so requests see old or new)."""
    _state.load_error = ""
    _state.failed_version_id = None
    _state.active = ActiveModel(version=version, model=model)
    metrics.record_active_model(version)
    log.info("serving model version %s", version)


def _record_failure(version_id: int, exc: BaseException) -> None:
    _state.load_error = f"Could not load model version #{version_id}: {exc}"
    _state.failed_version_id = version_id
    _state.failed_at = time.monotonic()
    log.error("model swap failed, keeping the previous version: %s", _state.load_error)
    metrics.record_model_load("failure")


# --- the "which version is active" marker ---------------

_MARKER = ActiveMarker(
    "creditscore:active-model-version",
    "model version",
    lambda: ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).values_list("pk", flat=True).first(),
)


def active_version_id() -> int | None:
    """Which version is active: the shared cache key when set, else (and to refill it) the database."""
    return _MARKER.read()


def publish_active(version_id: int | None) -> None:
    """Tell every process which version is now active (called after the activation commits)."""
    _MARKER.publish(version_id)


def get_loaded(version: ModelVersion) -> LoadedModel:
    """The loaded model of any version (for example one a batch job is pinned to)."""
    cached = _state.loaded.get(version.pk)
    if cached is not None:
        _state.loaded.move_to_end(version.pk)
        return cached
    model = _load(version)
    _remember(version.pk, model)
    return model


def get_loaded_by_id(version_id: int) -> LoadedModel:
    """The loaded model of a version known by id: no database read when this process holds it already."""
    cached = _state.loaded.get(version_id)
    if cached is not None:
        _state.loaded.move_to_end(version_id)
        return cached
    return get_loaded(ModelVersion.objects.get(pk=version_id))


def _load(version: ModelVersion) -> LoadedModel:
    """Load a version's stored files, check they are the recorded ones, and smoke-test the result."""
    # A version registered under the earlier contract keeps serving after an upgrade.
    model = load_bundle(local_bundle_path(version), registered=True)
    if model.sha256 != version.sha256:
        raise BundleRejected(f"The stored model file's sha256 {model.sha256[:12]} differs from the recorded one.")
    smoke_test(model)
    metrics.record_model_load("success")
    return model


def _remember(version_id: int, model: LoadedModel) -> None:
    _state.loaded[version_id] = model
    _state.loaded.move_to_end(version_id)
    while len(_state.loaded) > _MAX_LOADED:
        _state.loaded.popitem(last=False)


def smoke_test(model: LoadedModel) -> None:
    """The bundle's input example (or a made-up valid row) must validate and score within [0, 1]."""
    application = model.validate(model.example_inputs())
    probability = model.score_one(application.features).probability
    if not 0.0 <= probability <= 1.0:
        raise BundleRejected(f"The input example scored {probability}, outside [0, 1].")


def local_bundle_path(version: ModelVersion) -> Path:
    """A local folder holding the version's files, copied from the artifact store when it is remote."""
    storage = artifact_storage()
    try:
        return Path(storage.path(version.artifact_path))
    except NotImplementedError:
        pass
    target = Path(tempfile.gettempdir()) / "creditscore-artifacts" / version.sha256
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix="bundle-", dir=target.parent if target.parent.exists() else None))
        for name in version.file_hashes:
            destination = staging / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            with storage.open(f"{version.artifact_path}/{name}", "rb") as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
    return target


def status() -> dict[str, object]:
    """What this process serves, for readiness checks and metrics."""
    current = _state.active
    return {
        "version_id": current.version.pk if current else None,
        "version": str(current.version) if current else None,
        "load_error": _state.load_error,
        "failed_version_id": _state.failed_version_id,
        "switching_to": _state.switching_to,
        "ok": not _state.load_error,
    }


def reset() -> None:
    """Forget everything loaded (tests, and after a fork)."""
    with _state.lock:
        _state.active = None
        _state.checked_at = float("-inf")
        _state.loaded.clear()
        _state.load_error = ""
        _state.failed_version_id = None
        _state.failed_at = float("-inf")
        _state.switching_to = None
        _state.wanted_id = None
        _state.generation += 1


@shared_task(name="scoring.served_model_version")
def served_model_version() -> dict:
    """Which version this worker serves now (readiness checks, the hot-swap bench)."""
    active = get_active()
    return {"version_id": active.version.pk, "pid": os.getpid(), **status()}
