"""Model versions: register a bundle, validate it, compare it with the active one, activate it, roll back.

One path for every entry point (Django admin, the API, ``load_model``, ``activate_bundle``,
Hub loads): a bundle's files are stored under their digest, recorded as a pending
version, validated by ``validate_version`` (the full report), and put live only by
``activate``, which applies the four-eyes rule when configured and switches the active
version in one transaction. These functions and ``loads`` are the only writers of
ModelVersion and ModelActivation rows.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from scoring.engine import (
    APPROVE,
    BundleRejected,
    InvalidApplication,
    LoadedModel,
    bundle_file_hashes,
    load_bundle,
)
from scoring.engine.training import roc_auc
from scoring.exceptions import NotAllowed
from scoring.lifecycle import registry
from scoring.models import ModelActivation, ModelVersion
from scoring.monitoring import metrics

log = logging.getLogger(__name__)

# A model that ranks the held-out reference rows no better than chance is not put forward.
MIN_REFERENCE_AUC = 0.5
# Share of reference rows the new model must accept as valid input (its schema may narrow choices).
MIN_REFERENCE_COVERAGE = 0.9


# --- registration -----------------------------------------------------------------


def register_bundle(
    *,
    path: Path,
    name: str = "",
    user: AbstractBaseUser | None = None,
    source: ModelVersion.Source | str = ModelVersion.Source.LOCAL,
    source_uri: str = "",
) -> ModelVersion:
    """Store a local bundle's files, record it as a pending version and validate it like a Hub load.

    Files that do not load as a bundle raise BundleRejected and record nothing. The same files
    already registered (whatever their source) return the existing version, not a duplicate.
    A bundle that loads but fails a check is recorded as rejected, with its report.
    """
    try:
        model = load_bundle(path)
    except BundleRejected:
        metrics.record_validation("rejected")
        raise
    existing = ModelVersion.objects.filter(artifact_path=model.bundle_sha256).first()
    if existing is not None:
        return existing
    folder = store_files(Path(path), model.file_hashes, model.bundle_sha256)
    version = ModelVersion.objects.create(
        name=(name or str(model.metadata.get("name") or Path(path).name))[:200],
        source=source,
        source_uri=source_uri or str(path),
        artifact_path=folder,
        sha256=model.sha256,
        file_hashes=model.file_hashes,
        metadata=model.metadata | {"schema": model.schema()},
        status=ModelVersion.Status.PENDING,
        created_by=user,
    )
    return validate_version(version=version, user=user)


def store_files(path: Path, hashes: dict[str, str], folder: str) -> str:
    """Copy a bundle's files (a folder, or one bare model file) into the artifact store under ``folder``."""
    storage = registry.artifact_storage()
    for name in hashes:
        target = f"{folder}/{name}"
        if storage.exists(target):
            continue
        source = path / name if path.is_dir() else path
        with source.open("rb") as fh:
            storage.save(target, File(fh, name=name))
    return folder


def smoke_test(model: LoadedModel) -> None:
    """The bundle's input example (or a made-up valid row) must validate and score within [0, 1]."""
    application = model.validate(model.example_inputs())
    probability = model.score_one(application.features).probability
    if not 0.0 <= probability <= 1.0:
        raise BundleRejected(f"The input example scored {probability}, outside [0, 1].")


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
        # Written once: a Hub load registers the files before anything reads them. After that the
        # metadata is part of the version's identity, which the database keeps fixed.
        if model is not None and not version.metadata:
            version.metadata = model.metadata | {"schema": model.schema()}
            fields.append("metadata")
        version.save(update_fields=fields)
    metrics.record_validation("rejected" if reason else "accepted")
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
        # The engine checks the contract while loading; unless CatBoost or YAML could not read them, the files loaded.
        problems = exc.problems or [str(exc)]
        unreadable = [p for p in problems if "could not be loaded" in p or p.startswith("MLmodel:")]
        check("files load", not unreadable, "; ".join(unreadable))
        if not unreadable:
            check("bundle meets the model contract", False, str(exc))
        return rejected(str(exc))
    check("files load", True, f"{len(stored)} files")
    check("bundle meets the model contract", True, f"{len(model.features)} features")
    try:
        smoke_test(model)
    except (BundleRejected, InvalidApplication) as exc:
        check("input example scores", False, str(exc))
        return rejected(f"The input example does not score: {exc}")
    check("input example scores", True)

    own_sample = _own_sample_name(model)
    if own_sample and own_sample not in stored:
        check("validation sample is among the bundle's files", False, own_sample)
        return rejected(f"The validation sample {own_sample!r} named in the metadata is not among the bundle's files.")
    reference = _reference_frame(path / own_sample if own_sample else None)
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
    try:
        theirs = _score_reference(active, reference)
    except InvalidApplication as exc:
        return {"active_version_id": active_version.pk, "error": f"The active version cannot score this sample: {exc}"}
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


def _own_sample_name(model: LoadedModel) -> str:
    """The labelled validation sample a bundle ships (metadata ``validation_sample.file``), or ""."""
    sample = model.metadata.get("validation_sample") or {}
    return str(sample.get("file") or "") if isinstance(sample, dict) else ""


def _reference_frame(own_sample: Path | None = None) -> pd.DataFrame:
    """The bundle's own labelled sample when it ships one, else the German-credit reference sample."""
    source = own_sample or settings.REFERENCE_SAMPLE_PATH
    return pd.read_csv(source, dtype=str, keep_default_na=False)


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
    """Put ``version`` live (four-eyes when configured); every process switches within MODEL_CHECK_INTERVAL.

    ``user`` None is the system itself (``make run``'s demo set-up, tests), never a person.
    """
    version.refresh_from_db()
    if version.status == ModelVersion.Status.ACTIVE:
        raise NotAllowed(f"{version} is already active.")
    if version.status in (ModelVersion.Status.REJECTED, ModelVersion.Status.PENDING):
        raise BundleRejected(f"{version} is {version.get_status_display().lower()} and cannot be activated.")
    if settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN and user is not None:
        involved = {version.created_by_id, version.validated_by_id} - {None}
        if user.pk in involved:
            raise NotAllowed(
                "Four-eyes rule: another model administrator must activate a version you loaded or validated."
            )
    with transaction.atomic():
        previous = (
            ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk)
        ).first()
        if previous is not None:
            previous.status = ModelVersion.Status.RETIRED
            previous.save(update_fields=["status"])
        version.status = ModelVersion.Status.ACTIVE
        version.activated_at = timezone.now()
        version.activated_by = user
        version.save(update_fields=["status", "activated_at", "activated_by"])
        # Tell every process once the switch is committed.
        transaction.on_commit(lambda: registry.publish_active(version.pk))
        activation = ModelActivation.objects.create(version=version, previous=previous, user=user, note=note)
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
