"""Writes of the scoring domain: score-and-record, reviews, model registration and activation.

These functions are the only code that creates Prediction, Review and
ModelVersion rows. Each owns its transaction.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from scoring import metrics, registry
from scoring.engine import BundleRejected, InvalidApplication, LoadedModel, frame_from_records, load_bundle
from scoring.exceptions import IdempotencyConflict, InvalidReview, NotAllowed
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


# --- API scoring (issue 6): idempotent single scoring and vectorised many -----------------


def score_application_once(
    *,
    user: AbstractBaseUser,
    inputs: Mapping[str, object],
    channel: Channel | str,
    idempotency_key: str,
    external_ref: str = "",
) -> tuple[Prediction, bool]:
    """Score once per (user, idempotency key): a repeat returns the stored prediction and ``False``.

    The unique constraint decides between concurrent requests, not a check-then-insert:
    the loser's insert fails and it returns the winner's row. Reusing a key for a
    different request raises IdempotencyConflict.
    """
    stored = _idempotent_replay(user=user, key=idempotency_key, inputs=inputs, external_ref=external_ref)
    if stored is not None:
        return stored, False
    try:
        prediction = score_application(
            user=user, inputs=inputs, channel=channel, external_ref=external_ref, idempotency_key=idempotency_key
        )
    except IntegrityError:
        stored = _idempotent_replay(user=user, key=idempotency_key, inputs=inputs, external_ref=external_ref)
        if stored is None:
            raise
        return stored, False
    return prediction, True


def _idempotent_replay(
    *, user: AbstractBaseUser, key: str, inputs: Mapping[str, object], external_ref: str
) -> Prediction | None:
    stored = Prediction.objects.filter(user=user, idempotency_key=key).select_related("model_version", "user").first()
    if stored is None:
        return None
    if stored.inputs != dict(inputs) or stored.external_ref != (external_ref or "").strip():
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different request; use a new key for a new application."
        )
    return stored


def score_applications(
    *,
    user: AbstractBaseUser,
    applications: Sequence[tuple[Mapping[str, object], str]],
    channel: Channel | str,
) -> list[Prediction | InvalidApplication]:
    """Score many (inputs, external_ref) pairs at once; one result per item, in order.

    Each item is validated on its own (an invalid one becomes its InvalidApplication);
    the valid ones are scored in one vectorised call and stored with one bulk insert,
    together with their daily counts, in one transaction.
    """
    started = time.perf_counter()
    active = registry.get_active()
    model = active.model
    results: list[Prediction | InvalidApplication | None] = [None] * len(applications)
    valid: list[tuple[int, object]] = []
    for index, (inputs, _ref) in enumerate(applications):
        try:
            valid.append((index, model.validate(inputs)))
        except InvalidApplication as exc:
            results[index] = exc
    if valid:
        frame = frame_from_records(model, [application.features for _, application in valid])
        scores = model.score_frame(frame, reasons_for="all", reason_count=settings.SCORING_REASON_COUNT)
        latency_ms = round((time.perf_counter() - started) * 1000 / len(valid), 3)
        rows = [
            Prediction(
                user=user,
                channel=channel,
                model_version=active.version,
                inputs=dict(applications[index][0]),
                features=application.features,
                protected=application.protected,
                probability=float(scores.probabilities[k]),
                decision=str(scores.decisions[k]),
                threshold=model.threshold,
                refer_lower=model.refer_lower,
                risk_band=str(scores.risk_bands[k]),
                reasons=[r.as_dict() for r in scores.reasons[k] or ()],
                external_ref=(applications[index][1] or "").strip(),
                latency_ms=latency_ms,
            )
            for k, (index, application) in enumerate(valid)
        ]
        with transaction.atomic():
            created = Prediction.objects.bulk_create(rows)
            groups: dict[tuple, list] = defaultdict(lambda: [0, 0.0, None])
            for prediction in created:
                group = groups[(timezone.localdate(prediction.created_at), prediction.decision, prediction.risk_band)]
                group[0] += 1
                group[1] += prediction.probability
                group[2] = prediction
            for count, probability_sum, sample in groups.values():
                _count(sample, count=count, probability_sum=probability_sum)
        for count, _, sample in groups.values():
            metrics.record_predictions(
                decision=sample.decision,
                risk_band=sample.risk_band,
                channel=str(channel),
                model_version=active.version.pk,
                count=count,
            )
        for (index, _), prediction in zip(valid, created, strict=True):
            results[index] = prediction
    return results  # type: ignore[return-value]


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
