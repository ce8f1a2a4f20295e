"""The one place that decides who may do what: roles are Django groups, checked here for views, API and admin."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

OFFICER = "loan_officer"
AUDITOR = "auditor"
MODEL_ADMIN = "model_admin"
ROLES = (OFFICER, AUDITOR, MODEL_ADMIN)
ROLE_LABELS = {OFFICER: "Loan officer", AUDITOR: "Auditor", MODEL_ADMIN: "Model administrator"}


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


def can_score(user) -> bool:
    return is_officer(user)


def can_view_all_predictions(user) -> bool:
    return is_auditor(user)


def can_view_prediction(user, prediction) -> bool:
    return can_view_all_predictions(user) or (is_officer(user) and prediction.user_id == user.pk)


def can_review(user, prediction) -> bool:
    return is_officer(user) and prediction.user_id == user.pk


def can_issue_notice(user, prediction) -> bool:
    """An adverse-action notice is produced by the officer whose case it is."""
    return is_officer(user) and prediction.user_id == user.pk


def can_manage_models(user) -> bool:
    return is_model_admin(user)


def can_view_models(user) -> bool:
    return is_model_admin(user) or is_auditor(user)


def can_view_monitoring(user) -> bool:
    """Monitoring (rates, drift, fairness) is for auditors and model administrators."""
    return is_auditor(user) or is_model_admin(user)


def visible_predictions(user, queryset: QuerySet) -> QuerySet:
    """The predictions a user may see: all for auditors, their own for officers, none otherwise."""
    if can_view_all_predictions(user):
        return queryset
    if is_officer(user):
        return queryset.filter(user=user)
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
