"""The one place that decides who may do what: roles are Django groups, checked here for views, API and admin."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

OFFICER = "loan_officer"
AUDITOR = "auditor"
MODEL_ADMIN = "model_admin"
CREDIT_MANAGER = "credit_manager"
POLICY_MANAGER = "credit_policy_manager"
ROLES = (OFFICER, AUDITOR, MODEL_ADMIN, CREDIT_MANAGER, POLICY_MANAGER)
ROLE_LABELS = {
    OFFICER: _("Loan officer"),
    AUDITOR: _("Auditor"),
    MODEL_ADMIN: _("Model administrator"),
    CREDIT_MANAGER: _("Credit manager"),
    POLICY_MANAGER: _("Credit policy manager"),
}


def roles_of(user) -> set[str]:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated or not user.is_active:
        return set()
    cached = getattr(user, "_creditscore_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._creditscore_roles = cached
    return cached


def is_officer(user) -> bool:
    return OFFICER in roles_of(user)


def is_auditor(user) -> bool:
    return AUDITOR in roles_of(user)


def is_model_admin(user) -> bool:
    return MODEL_ADMIN in roles_of(user) or bool(getattr(user, "is_superuser", False) and user.is_active)


def is_credit_manager(user) -> bool:
    return CREDIT_MANAGER in roles_of(user)


def is_policy_manager(user) -> bool:
    return POLICY_MANAGER in roles_of(user)


def can_score(user) -> bool:
    return is_officer(user)


def can_view_all_predictions(user) -> bool:
    return is_auditor(user)


# --- Teams: officers share open referrals; credit managers see their team's cases ---


def teammate_ids(user) -> set[int]:
    """Ids of the users who share a team with this user (not the user); cached on the user object."""
    cached = getattr(user, "_creditscore_teammates", None)
    if cached is None:
        if not roles_of(user):
            cached = set()
        else:
            cached = set(
                get_user_model()
                .objects.filter(teams__members=user)
                .exclude(pk=user.pk)
                .values_list("pk", flat=True)
                .distinct()
            )
        user._creditscore_teammates = cached
    return cached


def _team_referral(user, prediction) -> bool:
    """A teammate's referral that is still open, or that this officer took or decided."""
    if prediction.decision != "refer" or prediction.user_id not in teammate_ids(user):
        return False
    reviews = prediction.reviews.all()
    return (
        not reviews.exists()
        or reviews.filter(user=user).exists()
        or prediction.assignments.filter(assignee=user).exists()
    )


def can_view_prediction(user, prediction) -> bool:
    """Auditors read everything; officers their own decisions and their team's open referrals;
    credit managers their team's decisions."""
    if can_view_all_predictions(user):
        return True
    if is_credit_manager(user) and prediction.user_id in teammate_ids(user):
        return True
    if not is_officer(user):
        return False
    return prediction.user_id == user.pk or _team_referral(user, prediction)


def can_review(user, prediction) -> bool:
    """The officer who made the decision; for a referral still open, any officer of the same team."""
    if not is_officer(user):
        return False
    if prediction.user_id == user.pk:
        return True
    return (
        prediction.decision == "refer" and prediction.user_id in teammate_ids(user) and not prediction.reviews.exists()
    )


def can_take_referral(user, prediction) -> bool:
    return can_review(user, prediction) and prediction.decision == "refer"


def can_view_referral_queue(user) -> bool:
    return is_officer(user) or is_credit_manager(user)


def can_approve_overrides(user) -> bool:
    return is_credit_manager(user) and user.has_perm("scoring.approve_override")


def can_approve(user, review) -> bool:
    """A credit manager of the officer's team, who is neither the officer who asked nor who decided."""
    return (
        can_approve_overrides(user)
        and user.pk not in (review.user_id, review.prediction.user_id)
        and review.user_id in teammate_ids(user)
    )


def can_issue_notice(user, prediction) -> bool:
    """An adverse-action notice is produced by the officer whose case it is, or who decided a teammate's referral."""
    if not is_officer(user):
        return False
    return prediction.user_id == user.pk or (
        prediction.decision == "refer" and prediction.reviews.filter(user=user).exists()
    )


def can_manage_models(user) -> bool:
    return is_model_admin(user)


def can_view_models(user) -> bool:
    return is_model_admin(user) or is_auditor(user)


def can_view_backtests(user) -> bool:
    """Backtests of model versions and their reports: model administrators and auditors (read-only)."""
    return is_model_admin(user) or is_auditor(user)


def can_request_backtests(user) -> bool:
    """Asking for a backtest, or for one again: model administrators."""
    return is_model_admin(user)


def can_view_monitoring(user) -> bool:
    """Monitoring (rates, drift, fairness) is for auditors and model administrators."""
    return is_auditor(user) or is_model_admin(user)


def visible_predictions(user, queryset: QuerySet) -> QuerySet:
    """The predictions a user may see (as can_view_prediction): all for auditors, their team's for
    credit managers, their own and their team's open referrals for officers, none otherwise."""
    if can_view_all_predictions(user):
        return queryset
    if is_credit_manager(user):
        return queryset.filter(user_id__in=teammate_ids(user))
    if is_officer(user):
        team = teammate_ids(user)
        if not team:
            return queryset.filter(user=user)
        model = queryset.model
        reviews = model.reviews.rel.related_model.objects.filter(prediction=OuterRef("pk"))
        assignments = model.assignments.rel.related_model.objects.filter(prediction=OuterRef("pk"), assignee=user)
        shared = Q(user_id__in=team, decision="refer") & (
            ~Exists(reviews) | Exists(reviews.filter(user=user)) | Exists(assignments)
        )
        return queryset.filter(Q(user=user) | shared)
    return queryset.none()


# --- API -----------------------------------------------------------------


def has_any_role(user) -> bool:
    """Any of the three roles: enough to read the active model's input schema."""
    return bool(roles_of(user)) or is_model_admin(user)


# --- Batch jobs ---------------------------------------------------------


def can_submit_batch(user) -> bool:
    return is_officer(user)


def can_cancel_batch_job(user, job) -> bool:
    return is_officer(user) and job.user_id == user.pk


def visible_batch_jobs(user, queryset: QuerySet) -> QuerySet:
    """Batch jobs a user may see: all for auditors, their own for officers, none otherwise."""
    if can_view_all_predictions(user):
        return queryset
    if is_officer(user):
        return queryset.filter(user=user)
    return queryset.none()


# --- Credit policy -------------------------------------------------


def can_view_policies(user) -> bool:
    """Policy versions, their rules and activations: the people who draft, approve or audit them."""
    return is_policy_manager(user) or is_credit_manager(user) or is_auditor(user)


def can_edit_policies(user) -> bool:
    """Drafting, checking, submitting, importing and copying versions: credit policy managers."""
    return is_policy_manager(user)


def can_activate_policies(user) -> bool:
    """The second person of a policy activation (the service also refuses its creator and submitter)."""
    return (is_policy_manager(user) or is_credit_manager(user)) and user.has_perm("scoring.activate_policyversion")


def can_view_policy_simulations(user) -> bool:
    """Policy simulations and their reports: credit policy managers, credit managers and auditors."""
    return bool(user.is_authenticated and user.has_perm("scoring.view_policysimulation"))


def can_simulate_policy(user) -> bool:
    """Asking for a simulation: credit policy managers."""
    return bool(user.is_authenticated and user.has_perm("scoring.simulate_policyversion"))


# --- Loan outcomes -----------------------------------------------------


def can_record_outcomes(user) -> bool:
    """Reporting what happened to decided loans (CSV, API, command): auditors and model administrators.

    An outcome is an observed fact about a decision, not a decision: auditors, who otherwise change
    nothing, may record it (accounts.middleware lets these requests through; see docs/outcomes.md)."""
    return is_auditor(user) or is_model_admin(user)


def outcome_predictions(user, queryset: QuerySet) -> QuerySet:
    """The decisions a user may report outcomes for: every one for auditors and model administrators (who see
    the whole history for monitoring), otherwise the ones they may see."""
    if can_record_outcomes(user):
        return queryset
    return visible_predictions(user, queryset)


# --- Audit and access log -------------------------------------------


def can_audit(user) -> bool:
    """The auditor pages: full history, exports, model timeline."""
    return is_auditor(user)


def can_view_access_log(user) -> bool:
    return is_auditor(user) or bool(getattr(user, "is_superuser", False) and user.is_active)


def is_read_only(user) -> bool:
    """Auditors with no other role change nothing anywhere (enforced by accounts.middleware)."""
    roles = roles_of(user)
    return AUDITOR in roles and not (roles - {AUDITOR}) and not getattr(user, "is_superuser", False)
