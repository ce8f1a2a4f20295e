"""Writes of the scoring domain: score-and-record, reviews, model registration and activation.

These functions are the only code that creates Prediction, Review and
ModelVersion rows. Each owns its transaction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from scoring import metrics, registry
from scoring.engine import BundleRejected, LoadedModel, load_bundle
from scoring.exceptions import InvalidReview, NotAllowed
from scoring.models import Channel, DailyStat, Decision, ModelActivation, ModelVersion, Prediction, Review


def score_application(
    *,
    user: AbstractBaseUser,
    inputs: Mapping[str, object],
    channel: Channel | str,
    external_ref: str = "",
    idempotency_key: str | None = None,
) -> Prediction:
    """Validate, score, explain and record one application; no decision leaves without its row.

    Raises InvalidApplication (nothing is written) or ModelUnavailable.
    """
    started = time.perf_counter()
    active = registry.get_active()
    application = active.model.validate(inputs)
    score = active.model.score_one(application.features, reason_count=settings.SCORING_REASON_COUNT)
    engine_seconds = time.perf_counter() - started
    with transaction.atomic():
        prediction = Prediction.objects.create(
            user=user,
            channel=channel,
            model_version=active.version,
            inputs=dict(inputs),
            features=application.features,
            protected=application.protected,
            probability=score.probability,
            decision=score.decision,
            threshold=active.model.threshold,
            refer_lower=active.model.refer_lower,
            risk_band=score.risk_band,
            reasons=[r.as_dict() for r in score.reasons],
            external_ref=(external_ref or "").strip(),
            idempotency_key=idempotency_key,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        _count(prediction, count=1, probability_sum=prediction.probability)
    metrics.record_prediction(prediction, engine_seconds=engine_seconds, total_seconds=time.perf_counter() - started)
    return prediction


def record_review(
    *,
    user: AbstractBaseUser,
    prediction: Prediction,
    outcome: Review.Outcome | str,
    reason_code: str = "",
    justification: str = "",
) -> Review:
    """Record an officer's review of their own decision. An override needs a reason and a justification."""
    if prediction.user_id != user.pk:
        raise NotAllowed("Only the officer who made a decision can review it.")
    outcome = Review.Outcome(outcome)
    justification = (justification or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome == Review.Outcome.AGREE:
        if prediction.decision == Decision.REFER:
            errors["outcome"] = ["A referred case needs your decision: approve or decline."]
        final = prediction.decision
    else:
        final = outcome.value
    # Deciding a referred case is the officer's job, not an override of the model; but like an
    # override it needs a reason code and a written basis in the file.
    referred = prediction.decision == Decision.REFER
    overridden = not referred and final != prediction.decision
    if (overridden or referred) and not reason_code:
        errors["reason_code"] = ["Choose a reason for this decision."]
    if reason_code and reason_code not in Review.ReasonCode.values:
        errors["reason_code"] = ["Unknown reason code."]
    if (overridden or referred) and len(justification) < 10:
        what = "An override" if overridden else "A decision on a referred case"
        errors["justification"] = [f"{what} needs a written justification (at least 10 characters)."]
    if outcome != Review.Outcome.AGREE and final == prediction.decision and prediction.decision != Decision.REFER:
        errors["outcome"] = ["That is the model's own decision: choose 'Agree' instead."]
    if errors:
        raise InvalidReview(errors)
    with transaction.atomic():
        first_review = not Review.objects.filter(prediction=prediction).exists()
        previously_overridden = Review.objects.filter(prediction=prediction, overridden=True).exists()
        review = Review.objects.create(
            prediction=prediction,
            user=user,
            outcome=outcome,
            final_decision=final,
            overridden=overridden,
            reason_code=reason_code or "",
            justification=justification,
        )
        _count(
            prediction,
            reviewed=1 if first_review else 0,
            overridden=1 if overridden and not previously_overridden else 0,
        )
    metrics.record_review(review)
    return review


def register_bundle(
    *,
    path: Path,
    name: str = "",
    user: AbstractBaseUser | None = None,
    source: ModelVersion.Source | str = ModelVersion.Source.LOCAL,
    source_uri: str = "",
) -> ModelVersion:
    """Check a local bundle, copy it into the artifact store and record it as a validated version.

    A bundle already registered (same files, whatever its source) is returned, not duplicated.
    """
    try:
        model = load_bundle(path)
        smoke_test(model)
    except BundleRejected:
        metrics.record_validation("rejected")
        raise
    metrics.record_validation("accepted")
    existing = ModelVersion.objects.filter(artifact_path=model.bundle_sha256).first()
    if existing is not None:
        return existing
    artifact_path = store_bundle(path, model)
    return ModelVersion.objects.create(
        name=name or str(model.metadata.get("name") or Path(path).name),
        source=source,
        source_uri=source_uri or str(path),
        artifact_path=artifact_path,
        sha256=model.sha256,
        file_hashes=model.file_hashes,
        metadata=model.metadata | {"schema": model.schema()},
        status=ModelVersion.Status.VALIDATED,
        validation_report={"checks": [{"name": "loads and scores its input example", "ok": True}]},
        created_by=user,
    )


def smoke_test(model: LoadedModel) -> None:
    """The bundle's input example (or a made-up valid row) must validate and score within [0, 1]."""
    application = model.validate(model.example_inputs())
    probability = model.score_one(application.features).probability
    if not 0.0 <= probability <= 1.0:
        raise BundleRejected(f"The input example scored {probability}, outside [0, 1].")


def store_bundle(path: Path, model: LoadedModel) -> str:
    """Copy a bundle's files into the artifact store under its digest; returns the folder name."""
    storage = registry.artifact_storage()
    folder = model.bundle_sha256
    root = Path(path)
    for name in model.file_hashes:
        target = f"{folder}/{name}"
        if storage.exists(target):
            continue
        source = root / name if root.is_dir() else root
        with source.open("rb") as fh:
            storage.save(target, File(fh, name=name))
    return folder


def activate_model_version(*, version: ModelVersion, user: AbstractBaseUser | None, note: str = "") -> ModelActivation:
    """Make ``version`` the one active version, retire the previous one and record the activation."""
    if version.status in (ModelVersion.Status.REJECTED, ModelVersion.Status.PENDING):
        raise BundleRejected(f"{version} is {version.get_status_display().lower()} and cannot be activated.")
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
        # Model lifecycle (issue #8): tell every process once the switch is committed.
        transaction.on_commit(lambda: registry.publish_active(version.pk))
        return ModelActivation.objects.create(version=version, previous=previous, user=user, note=note)


def _count(prediction: Prediction, **increments: float) -> None:
    """Add to the prediction's daily aggregate row (created on first use), in the caller's transaction."""
    increments = {k: v for k, v in increments.items() if v}
    if not increments:
        return
    key = {
        "day": timezone.localdate(prediction.created_at),
        "user_id": prediction.user_id,
        "model_version_id": prediction.model_version_id,
        "channel": prediction.channel,
        "decision": prediction.decision,
        "risk_band": prediction.risk_band,
    }
    updates = {k: F(k) + v for k, v in increments.items()}
    if DailyStat.objects.filter(**key).update(**updates):
        return
    try:
        with transaction.atomic():
            DailyStat.objects.create(**key, **increments)
    except IntegrityError:  # another transaction created the row first
        DailyStat.objects.filter(**key).update(**updates)
