"""Model lifecycle services: load a bundle from the Hub, validate it, compare it, activate it, roll back.

These are the only writers of ModelLoad rows and, with ``services``, of
ModelVersion rows. Activation goes through ``services.activate_model_version``
(one transaction, one ModelActivation row) and then tells every process which
version is active through ``registry.publish_active``.
"""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from scoring import hub, registry, services
from scoring.engine import (
    APPROVE,
    BundleRejected,
    InvalidApplication,
    LoadedModel,
    bundle_digest,
    bundle_file_hashes,
    file_sha256,
    load_bundle,
)
from scoring.exceptions import NotAllowed
from scoring.models import ModelActivation, ModelLoad, ModelVersion
from scoring.training import roc_auc

log = logging.getLogger(__name__)

# A model that ranks the held-out reference rows no better than chance is not put forward.
MIN_REFERENCE_AUC = 0.5
# Share of reference rows the new model must accept as valid input (its schema may narrow choices).
MIN_REFERENCE_COVERAGE = 0.9


# --- loading from the Hub ---------------------------------------------------------


def request_load(
    *, repo_id: str, revision: str = "main", subfolder: str = "", user: AbstractBaseUser | None, queue: bool = True
) -> ModelLoad:
    """Record a load request and (unless ``queue`` is false) queue its task once the request is committed."""
    from scoring import tasks_models  # the task module imports this one

    repo_id, revision, subfolder = repo_id.strip(), (revision or "main").strip(), subfolder.strip().strip("/")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValidationError({"repo_id": ["Give the repo as owner/name, for example acme/credit-model."]})
    with transaction.atomic():
        load = ModelLoad.objects.create(repo_id=repo_id, revision=revision, subfolder=subfolder, requested_by=user)
        if queue:
            transaction.on_commit(lambda: tasks_models.load_model_from_hub.delay(load.pk))
    return load


def run_load(*, load_id: int) -> ModelLoad:
    """Resolve, download, store and validate one requested load; safe to run twice (claims the row first)."""
    claimed = ModelLoad.objects.filter(pk=load_id, state=ModelLoad.State.QUEUED).update(state=ModelLoad.State.RUNNING)
    load = ModelLoad.objects.get(pk=load_id)
    if not claimed:
        return load
    try:
        commit = hub.resolve_commit(repo_id=load.repo_id, revision=load.revision)
        load.commit = commit
        existing = ModelVersion.objects.filter(
            source=ModelVersion.Source.HUB, source_uri=load.repo_id, hub_commit=commit, hub_subfolder=load.subfolder
        ).first()
        if existing is not None:
            return _finish(load, version=existing, reused=True)
        with tempfile.TemporaryDirectory(prefix="hub-") as tmp:
            download = hub.download_bundle(
                repo_id=load.repo_id, commit=commit, subfolder=load.subfolder, target=Path(tmp)
            )
            version, created = _register_download(load, download)
        if created:
            validate_version(version=version, user=None)
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
    """Store the downloaded files and record a pending version; the same files already known are reused."""
    hashes = bundle_file_hashes(download.path)
    digest = bundle_digest(hashes)
    existing = ModelVersion.objects.filter(artifact_path=digest).first()
    if existing is not None:
        return existing, False
    folder = _store_files(download.path, hashes, digest)
    model_file = download.path / "model.cb"
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
            sha256=file_sha256(model_file) if model_file.is_file() else "",
            file_hashes=hashes,
            status=ModelVersion.Status.PENDING,
            created_by=load.requested_by,
        )
    return version, True


def _store_files(path: Path, hashes: dict[str, str], folder: str) -> str:
    storage = registry.artifact_storage()
    for name in hashes:
        target = f"{folder}/{name}"
        if storage.exists(target):
            continue
        with (path / name).open("rb") as fh:
            storage.save(target, File(fh, name=name))
    return folder


# --- validation ---------------------------------------------------------------------


def validate_version(*, version: ModelVersion, user: AbstractBaseUser | None) -> ModelVersion:
    """Run every check on the stored files and record the report; a failed check rejects the version for good.

    An active version is re-checked and reported on, never demoted here.
    """
    report, reason, model = build_report(version)
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        version.validation_report = report
        version.validated_at = timezone.now()
        version.validated_by = user
        fields = ["validation_report", "validated_at", "validated_by"]
        if reason and version.status != ModelVersion.Status.ACTIVE:
            version.status = ModelVersion.Status.REJECTED
            version.rejection_reason = reason
            fields += ["status", "rejection_reason"]
        elif not reason and version.status == ModelVersion.Status.PENDING:
            version.status = ModelVersion.Status.VALIDATED
            fields.append("status")
        if model is not None:
            version.metadata = model.metadata | {"schema": model.schema()}
            fields.append("metadata")
        version.save(update_fields=fields)
    return version


def build_report(version: ModelVersion) -> tuple[dict[str, Any], str, LoadedModel | None]:
    """(report, rejection reason or "", loaded model or None) for a stored version."""
    checks: list[dict[str, Any]] = []
    report: dict[str, Any] = {"checks": checks, "checked_at": timezone.now().isoformat()}

    def check(name: str, ok: bool, detail: str = "") -> bool:
        checks.append({"name": name, "ok": ok, "detail": detail})
        return ok

    def rejected(reason: str) -> tuple[dict[str, Any], str, LoadedModel | None]:
        report["ok"] = False
        return report, reason, None

    try:
        path = registry.local_bundle_path(version)
        stored = bundle_file_hashes(path)
    except OSError as exc:
        check("files are in the artifact store", False, str(exc))
        return rejected(f"The stored files cannot be read: {exc}")
    changed = sorted(n for n in set(stored) | set(version.file_hashes) if stored.get(n) != version.file_hashes.get(n))
    if not check("files match their recorded sha256", not changed, ", ".join(changed) or "all match"):
        return rejected(f"Stored files differ from their recorded sha256: {', '.join(changed)}.")
    try:
        model = load_bundle(path)
    except BundleRejected as exc:
        schema_problem = "schema" in str(exc)
        # The engine checks the schema while loading: a schema error means the files themselves did load.
        check("files load", schema_problem, "" if schema_problem else str(exc))
        if schema_problem:
            check("model features match the declared schema", False, str(exc))
        return rejected(str(exc))
    check("files load", True, f"{len(stored)} files")
    check("model features match the declared schema", True, f"{len(model.features)} features")
    try:
        services.smoke_test(model)
    except (BundleRejected, InvalidApplication) as exc:
        check("input example scores", False, str(exc))
        return rejected(f"The input example does not score: {exc}")
    check("input example scores", True)

    reference = _reference_frame()
    try:
        ours = _score_reference(model, reference)
    except InvalidApplication as exc:
        check("reference sample scores", False, str(exc))
        return rejected(f"The reference sample cannot be scored: {exc}")
    report["reference"] = ours["summary"]
    coverage = ours["summary"]["rows_scored"] / max(len(reference), 1)
    in_range = bool(np.all((ours["p"] >= 0) & (ours["p"] <= 1)))
    auc = ours["summary"]["auc"]
    check("reference sample scores within [0, 1]", in_range, f"{ours['summary']['rows_scored']} rows")
    check(
        f"at least {MIN_REFERENCE_COVERAGE:.0%} of reference rows are valid inputs",
        coverage >= MIN_REFERENCE_COVERAGE,
        f"{coverage:.1%}",
    )
    auc_ok = auc is not None and auc > MIN_REFERENCE_AUC
    check(f"AUC on the reference sample above {MIN_REFERENCE_AUC}", auc_ok, "n/a" if auc is None else f"{auc:.3f}")
    if not in_range:
        return rejected("Some reference scores fall outside [0, 1].")
    if coverage < MIN_REFERENCE_COVERAGE:
        return rejected(f"Only {coverage:.0%} of the reference sample is valid input for this model.")
    if not auc_ok:
        return rejected(f"AUC on the reference sample is {auc}, no better than chance.")
    report["comparison"] = compare_with_active(version=version, model=model, reference=reference, scores=ours)
    report["ok"] = True
    return report, "", model


def compare_with_active(
    *, version: ModelVersion, model: LoadedModel, reference: pd.DataFrame, scores: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """What changes if this version replaces the active one: schema, threshold, approvals, flipped decisions."""
    active_version = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).first()
    if active_version is None:
        return None
    try:
        active = registry.get_loaded(active_version)
    except (BundleRejected, OSError) as exc:
        return {"active_version_id": active_version.pk, "error": f"The active version cannot be loaded: {exc}"}
    ours = scores or _score_reference(model, reference)
    theirs = _score_reference(active, reference)
    new_kinds = {f.name: f.kind for f in model.features}
    old_kinds = {f.name: f.kind for f in active.features}
    both = ours["index"].intersection(theirs["index"])
    new_decisions = pd.Series(ours["decisions"], index=ours["index"]).loc[both]
    old_decisions = pd.Series(theirs["decisions"], index=theirs["index"]).loc[both]
    return {
        "active_version_id": active_version.pk,
        "active_version": str(active_version),
        "features_added": sorted(set(new_kinds) - set(old_kinds)),
        "features_removed": sorted(set(old_kinds) - set(new_kinds)),
        "features_changed_kind": {
            n: {"from": old_kinds[n], "to": new_kinds[n]}
            for n in sorted(set(new_kinds) & set(old_kinds))
            if new_kinds[n] != old_kinds[n]
        },
        "threshold": {"from": active.threshold, "to": model.threshold},
        "refer_lower": {"from": active.refer_lower, "to": model.refer_lower},
        "approval_rate": {"from": theirs["summary"]["approval_rate"], "to": ours["summary"]["approval_rate"]},
        "auc": {"from": theirs["summary"]["auc"], "to": ours["summary"]["auc"]},
        "rows_compared": len(both),
        "decisions_flipped": int((new_decisions != old_decisions).sum()),
        "flip_rate": round(float((new_decisions != old_decisions).mean()), 4) if len(both) else None,
    }


def _reference_frame() -> pd.DataFrame:
    return pd.read_csv(settings.REFERENCE_SAMPLE_PATH, dtype=str, keep_default_na=False)


def _score_reference(model: LoadedModel, reference: pd.DataFrame) -> dict[str, Any]:
    checked = model.validate_frame(reference)
    valid = checked.valid
    scored = model.score_frame(valid, reasons_for="none") if len(valid) else None
    p = scored.probabilities if scored is not None else np.array([])
    decisions = scored.decisions if scored is not None else np.array([], dtype=object)
    target = (model.metadata.get("target") or {}).get("name", "creditability")
    positive = (model.metadata.get("target") or {}).get("positive_class", "bad")
    auc = None
    if target in reference.columns and len(valid):
        y = (reference.loc[valid.index, target].astype(str) == str(positive)).to_numpy(dtype=int)
        value = roc_auc(y, p)
        auc = None if math.isnan(value) else round(value, 4)
    return {
        "index": valid.index,
        "p": p,
        "decisions": decisions,
        "summary": {
            "rows": len(reference),
            "rows_scored": len(valid),
            "rows_invalid": len(checked.errors),
            "auc": auc,
            "approval_rate": round(float(np.mean(decisions == APPROVE)), 4) if len(valid) else None,
            "min_probability": round(float(p.min()), 6) if len(p) else None,
            "max_probability": round(float(p.max()), 6) if len(p) else None,
        },
    }


# --- activation -------------------------------------------------------------------


def activate(*, version: ModelVersion, user: AbstractBaseUser | None, note: str = "") -> ModelActivation:
    """Put ``version`` live (four-eyes when configured); every process switches within MODEL_CHECK_INTERVAL."""
    version.refresh_from_db()
    if version.status == ModelVersion.Status.ACTIVE:
        raise NotAllowed(f"{version} is already active.")
    if settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN and user is not None:
        involved = {version.created_by_id, version.validated_by_id} - {None}
        if user.pk in involved:
            raise NotAllowed(
                "Four-eyes rule: another model administrator must activate a version you loaded or validated."
            )
    activation = services.activate_model_version(version=version, user=user, note=note)
    log.info("model version %s activated by %s", version, user)
    return activation


def previous_version(version: ModelVersion) -> ModelVersion | None:
    """The version ``version`` replaced when it last went live."""
    last = ModelActivation.objects.filter(version=version).select_related("previous").first()
    return last.previous if last else None


def roll_back(*, user: AbstractBaseUser | None, note: str = "") -> ModelActivation:
    """Activate the version the active one replaced (the same path as any activation)."""
    current = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    target = previous_version(current) if current else None
    if target is None:
        raise NotAllowed("There is no previous version to roll back to.")
    return activate(version=target, user=user, note=note or f"roll back from #{current.pk}")
