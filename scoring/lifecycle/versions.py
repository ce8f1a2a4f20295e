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
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.engine import (
    BundleRejected,
    InvalidApplication,
    LoadedModel,
    bundle_file_hashes,
    load_bundle,
)
from scoring.engine.policy import check as check_policy
from scoring.engine.policy import word_problems
from scoring.exceptions import ActivationConflict, NotAllowed
from scoring.lifecycle import registry
from scoring.lifecycle.comparison import compare_with_active
from scoring.lifecycle.registry import smoke_test
from scoring.lifecycle.samples import read_sample, sample_checks, score_sample
from scoring.models import ModelActivation, ModelVersion, PolicyVersion
from scoring.monitoring import metrics

log = logging.getLogger(__name__)

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


# The validation report stores each check under its English name; pages show it in the reader's language.
CHECK_NAMES = {
    "files are in the artifact store": _("files are in the artifact store"),
    "files match their recorded sha256": _("files match their recorded sha256"),
    "files load": _("files load"),
    "bundle meets the model contract": _("bundle meets the model contract"),
    "input example scores": _("input example scores"),
    "bundle ships a labelled validation sample": _("bundle ships a labelled validation sample"),
    "validation sample scores": _("validation sample scores"),
    "sample scores within [0, 1]": _("sample scores within [0, 1]"),
    "share of sample rows that are valid input on the bundle's sample": _(
        "share of sample rows that are valid input on the bundle's sample"
    ),
    "AUC on the bundle's sample": _("AUC on the bundle's sample"),
    "KS on the bundle's sample": _("KS on the bundle's sample"),
    "Brier score (calibration) on the bundle's sample": _("Brier score (calibration) on the bundle's sample"),
    "approval rate on the bundle's sample": _("approval rate on the bundle's sample"),
}


def check_name(name: str) -> str:
    """A stored check's name as the reader reads it (a name this version does not know, as stored)."""
    return str(CHECK_NAMES.get(name, name))


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

    try:
        sample = read_sample(model.metadata, path)
    except BundleRejected as exc:
        check("bundle ships a labelled validation sample", False, str(exc))
        return rejected(str(exc))
    check("bundle ships a labelled validation sample", True, f"{sample.file}: {len(sample.frame)} rows")
    try:
        ours = score_sample(model, sample)
    except InvalidApplication as exc:
        check("validation sample scores", False, str(exc))
        return rejected(f"The model cannot score its own validation sample: {exc}")
    report["sample"] = ours.summary
    failed = []
    for item in sample_checks(ours.summary):
        checks.append(item)
        if not item["ok"]:
            failed.append(f"{item['name']}: {item['detail']}")
    if failed:
        return rejected("The model fails validation on its own sample: " + "; ".join(failed) + ".")
    report["comparison"] = compare_with_active(version=version, model=model, sample=sample, scores=ours)
    report["ok"] = True
    return report, "", model


# --- activation -------------------------------------------------------------------


def activate(
    *,
    version: ModelVersion,
    user: AbstractBaseUser | None,
    note: str = "",
    replacing: ModelVersion | None = None,
) -> ModelActivation:
    """Put ``version`` live (four-eyes when configured); every process switches within MODEL_CHECK_INTERVAL.

    ``user`` None is the system itself (``make run``'s demo set-up, tests), never a person. With
    ``replacing``, the switch happens only if that version is still the active one (a roll back decided
    on what the user saw). Two activations at the same moment: one wins, the other raises
    ActivationConflict and changes nothing.
    """
    version.refresh_from_db()
    if version.status == ModelVersion.Status.ACTIVE:
        raise NotAllowed(gettext("%(version)s is already active.") % {"version": version})
    _check_activatable(version)
    _check_live_policy_fits(version)
    if settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN and user is not None:
        involved = {version.created_by_id, version.validated_by_id} - {None}
        if user.pk in involved:
            raise NotAllowed(
                gettext("Four-eyes rule: another model administrator must activate a version you loaded or validated.")
            )
    try:
        with transaction.atomic():
            activation = _switch_active(version=version, user=user, note=note, replacing=replacing)
    except IntegrityError as exc:
        # The one-active-version constraint caught a concurrent activation that committed first: its
        # row was not active yet when this one looked, so only the constraint can tell.
        raise ActivationConflict() from exc
    log.info("model version %s activated by %s", version, user)
    return activation


def _check_live_policy_fits(version: ModelVersion) -> None:
    """A model goes live only under a credit policy whose every rule it can answer: a rule on a field the
    new model lacks would otherwise stop every decision. The policy changes first, then the model."""
    live = PolicyVersion.objects.filter(status=PolicyVersion.Status.ACTIVE).first()
    if live is None:
        return
    model = registry.get_loaded(version)
    fields = {f.name: f for f in (*model.features, *model.protected)}
    found = word_problems(check_policy(live.engine_rules(), fields, [str(b["name"]) for b in model.bands]), gettext)
    if found:
        problems = "; ".join(f"{code}: {' '.join(messages)}" for code, messages in found.items())
        raise BundleRejected(
            gettext(
                "The live credit policy %(policy)s does not fit this model (%(problems)s). A credit policy manager "
                "must first activate a policy whose rules this model can answer."
            )
            % {"policy": live.label, "problems": problems}
        )


def _check_activatable(version: ModelVersion) -> None:
    if version.status in (ModelVersion.Status.REJECTED, ModelVersion.Status.PENDING):
        raise BundleRejected(
            gettext("%(version)s is %(status)s and cannot be activated.")
            % {"version": version, "status": version.get_status_display().lower()}
        )


def _switch_active(
    *, version: ModelVersion, user: AbstractBaseUser | None, note: str, replacing: ModelVersion | None
) -> ModelActivation:
    """Inside the activation's transaction: re-check under row locks, retire the active version, record."""
    locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status == ModelVersion.Status.ACTIVE:
        raise ActivationConflict()  # the same version, activated by someone else meanwhile
    _check_activatable(locked)
    previous = (
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk)
    ).first()
    if replacing is not None and (previous is None or previous.pk != replacing.pk):
        raise ActivationConflict()
    if previous is not None:
        previous.status = ModelVersion.Status.RETIRED
        previous.save(update_fields=["status"])
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = timezone.now()
    version.activated_by = user
    version.save(update_fields=["status", "activated_at", "activated_by"])
    # Tell every process once the switch is committed.
    transaction.on_commit(lambda: registry.publish_active(version.pk))
    return ModelActivation.objects.create(version=version, previous=previous, user=user, note=note)


def live_history() -> list[int]:
    """The ids of the versions a roll back can return through, oldest first; the last one is live.

    The activation history read as a stack: an activation pushes its version, except when it puts
    back the version just under the top (a roll back, or the same thing done by hand), which pops.
    An activation made when nothing was live (or whose previous version is not the top, which only
    hand-edited history could give) starts a new stack.
    """
    return _replay_activations()[0]


def roll_back_activation_ids() -> set[int]:
    """The ids of the activations that put back the version live before (roll backs, by button or by hand)."""
    return _replay_activations()[1]


def _replay_activations() -> tuple[list[int], set[int]]:
    """(the stack ``live_history`` describes, the activations that popped it)."""
    stack: list[int] = []
    popped: set[int] = set()
    activations = ModelActivation.objects.order_by("id").values_list("id", "version_id", "previous_id")
    for activation_id, version_id, previous_id in activations:
        if not stack or stack[-1] != previous_id:
            stack = [previous_id] if previous_id is not None else []
        if len(stack) >= 2 and stack[-2] == version_id:
            stack.pop()
            popped.add(activation_id)
        else:
            stack.append(version_id)
    return stack, popped


def rollback_target() -> ModelVersion | None:
    """The version "Roll back to previous" would put live: the one under the live version on the stack."""
    stack = live_history()
    active_id = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).values_list("pk", flat=True).first()
    if len(stack) < 2 or stack[-1] != active_id:
        return None
    return ModelVersion.objects.filter(pk=stack[-2]).first()


def roll_back(*, user: AbstractBaseUser | None, note: str = "", current: ModelVersion | None = None) -> ModelActivation:
    """Undo the latest activation not yet undone (the same path as any activation).

    ``current`` is the version the user saw live: if another activation happened since, nothing changes.
    """
    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    if current is not None and (active is None or active.pk != current.pk):
        raise ActivationConflict()
    target = rollback_target()
    if active is None or target is None:
        raise NotAllowed(gettext("There is no previous version to roll back to."))
    return activate(version=target, user=user, note=note or f"roll back from #{active.pk}", replacing=active)
