"""What the auditor's, the model administrator's and the credit policy people's home pages start with: recent
activity, open items, the live model's health and the live credit policy. Reads only; each list is one query
whatever its length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef

from accounts import permissions
from scoring.decisions import selectors
from scoring.models import (
    BatchJob,
    Decision,
    DriftReport,
    ModelActivation,
    ModelLoad,
    ModelVersion,
    PolicyActivation,
    PolicyVersion,
    Prediction,
    Review,
)

RECENT = 5


@dataclass(frozen=True)
class ModelHealth:
    """The active version, its figures on its own validation sample, its latest drift report and activation."""

    version: ModelVersion | None
    sample: dict[str, Any]
    drift: DriftReport | None
    activation: ModelActivation | None

    @property
    def drift_alert(self) -> bool:
        return self.drift is not None and self.drift.act_count > 0


def model_health() -> ModelHealth:
    version = ModelVersion.objects.select_related("activated_by").filter(status=ModelVersion.Status.ACTIVE).first()
    if version is None:
        return ModelHealth(version=None, sample={}, drift=None, activation=None)
    drift = DriftReport.objects.filter(model_version=version).order_by("-created_at", "-id").first()
    activation = (
        ModelActivation.objects.select_related("user", "previous")
        .filter(version=version)
        .order_by("-created_at", "-id")
        .first()
    )
    sample = (version.validation_report or {}).get("sample") or {}
    return ModelHealth(version=version, sample=sample, drift=drift, activation=activation)


@dataclass(frozen=True)
class AuditorStart:
    recent_decisions: list[Prediction]
    recent_reviews: list[Review]
    open_referrals: int
    pending_approvals: list[Review]
    failed_batches: list[BatchJob]
    health: ModelHealth


def auditor_start(*, user) -> AuditorStart:
    visible = selectors.prediction_list(user=user)
    recent = list(selectors.history_rows(visible)[:RECENT])
    reviews = list(
        Review.objects.filter(prediction__in=visible.values("pk"))
        .select_related("user", "prediction")
        .only(
            "id",
            "created_at",
            "outcome",
            "final_decision",
            "overridden",
            "user__username",
            "user__first_name",
            "user__last_name",
            "prediction__id",
            "prediction__decision",
            "prediction__external_ref",
        )
        .order_by("-created_at", "-id")[:RECENT]
    )
    open_referrals = (
        visible.filter(decision=Decision.REFER)
        .exclude(Exists(Review.objects.filter(prediction=OuterRef("pk"))))
        .count()
    )
    # Overrides beyond an officer's authority, waiting for a credit manager: oldest first.
    pending = list(
        selectors.PENDING_REVIEWS.filter(prediction__in=visible.values("pk"))
        .select_related("user", "prediction")
        .order_by("created_at", "id")[:RECENT]
    )
    failed = list(
        permissions.visible_batch_jobs(user, BatchJob.objects.select_related("user"))
        .filter(state=BatchJob.State.FAILED)
        .order_by("-created_at", "-id")[:RECENT]
    )
    return AuditorStart(
        recent_decisions=recent,
        recent_reviews=reviews,
        open_referrals=open_referrals,
        pending_approvals=pending,
        failed_batches=failed,
        health=model_health(),
    )


@dataclass(frozen=True)
class AwaitingVersion:
    version: ModelVersion
    # Four-eyes: whoever loaded or validated a version leaves its activation to another administrator.
    needs_another_admin: bool


@dataclass(frozen=True)
class ModelAdminStart:
    health: ModelHealth
    awaiting: list[AwaitingVersion]
    loads: list[ModelLoad]
    failed_loads: int


def model_admin_start(*, user) -> ModelAdminStart:
    validated = (
        ModelVersion.objects.filter(status=ModelVersion.Status.VALIDATED)
        .defer("metadata", "validation_report", "file_hashes")
        .order_by("-created_at", "-id")
    )
    four_eyes = settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN
    awaiting = [
        AwaitingVersion(v, needs_another_admin=four_eyes and user.pk in {v.created_by_id, v.validated_by_id})
        for v in validated[:RECENT]
    ]
    loads = list(
        ModelLoad.objects.select_related("requested_by", "version")
        .defer("version__metadata", "version__validation_report", "version__file_hashes")
        .order_by("-created_at", "-id")[:RECENT]
    )
    return ModelAdminStart(
        health=model_health(),
        awaiting=awaiting,
        loads=loads,
        failed_loads=ModelLoad.objects.filter(state=ModelLoad.State.FAILED).count(),
    )


@dataclass(frozen=True)
class AwaitingPolicy:
    version: PolicyVersion
    # Four-eyes: whoever drafted or submitted a policy version leaves its activation to someone else.
    needs_another_person: bool


@dataclass(frozen=True)
class PolicyStart:
    active: PolicyVersion | None
    activation: PolicyActivation | None
    awaiting: list[AwaitingPolicy]
    drafts: list[PolicyVersion]
    in_admin: bool  # the editor and the approve button are in Django admin, for staff accounts


def policy_start(*, user) -> PolicyStart:
    """The live credit policy, versions waiting for a second person, and (for policy managers) open drafts."""
    active = PolicyVersion.objects.select_related("activated_by").filter(status=PolicyVersion.Status.ACTIVE).first()
    activation = (
        PolicyActivation.objects.select_related("user", "requested_by").filter(version=active).first()
        if active
        else None
    )
    submitted = PolicyVersion.objects.filter(status=PolicyVersion.Status.SUBMITTED).select_related("submitted_by")
    awaiting = [
        AwaitingPolicy(v, needs_another_person=user.pk in {v.created_by_id, v.submitted_by_id})
        for v in submitted.order_by("submitted_at", "id")[:RECENT]
    ]
    drafts = []
    if permissions.can_edit_policies(user):
        drafts = list(PolicyVersion.objects.filter(status=PolicyVersion.Status.DRAFT).order_by("-created_at")[:RECENT])
    return PolicyStart(active=active, activation=activation, awaiting=awaiting, drafts=drafts, in_admin=user.is_staff)


def home_sections(user) -> dict[str, object]:
    """The home page's parts for an auditor, a model administrator and the people who draft or approve the
    credit policy (a user may hold several roles)."""
    policy_people = permissions.can_edit_policies(user) or permissions.can_activate_policies(user)
    return {
        "auditor_start": auditor_start(user=user) if permissions.is_auditor(user) else None,
        "model_admin_start": model_admin_start(user=user) if permissions.is_model_admin(user) else None,
        "policy_start": policy_start(user=user) if policy_people else None,
    }
