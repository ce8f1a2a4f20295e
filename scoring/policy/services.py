"""Drafting, checking, submitting and activating credit policy versions, and moving them as ZEN decision models.

A version is drafted (in Django admin, from a copy of another, or imported from a ZEN decision
model), checked against the active model's schema, simulated on history, submitted, then activated by
a second person: another credit policy manager or a credit manager. Activation is one transaction
(the previous version retires, a timeline row is appended) and every process switches within
``MODEL_CHECK_INTERVAL``, like a model activation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from scoring.engine import LoadedModel
from scoring.engine.policy import PolicyRejected, Rule, check, from_jdm, to_jdm, word_problems
from scoring.exceptions import ActivationConflict, NotAllowed
from scoring.models import PolicyActivation, PolicyCondition, PolicyRule, PolicyVersion
from scoring.policy import registry

log = logging.getLogger(__name__)

ACTIVATE_PERMISSION = "scoring.activate_policyversion"


def model_fields(model: LoadedModel) -> dict[str, Any]:
    """The fields a rule may test in this model: its features and its protected attributes, by name."""
    return {f.name: f for f in (*model.features, *model.protected)}


def band_names(model: LoadedModel) -> list[str]:
    return [str(b["name"]) for b in model.bands]


def problems(rules: Sequence[Rule], model: LoadedModel) -> dict[str, list[str]]:
    """Every problem of the rules against this model's schema, by rule code, in the reader's language;
    empty when they can be used."""
    return word_problems(check(rules, model_fields(model), band_names(model)), gettext)


def check_version(version: PolicyVersion, *, model: LoadedModel, model_version=None) -> dict[str, list[str]]:
    """Check a version's rules against the model; a version that passes records when and against which model."""
    found = problems(version.engine_rules(), model)
    if not found and version.is_draft:
        version.checked_at = timezone.now()
        version.checked_against = model_version
        version.save(update_fields=["checked_at", "checked_against"])
    return found


def create_version(
    *,
    name: str,
    rules: Sequence[Rule],
    user: AbstractBaseUser | None,
    description: str = "",
    model: LoadedModel | None = None,
) -> PolicyVersion:
    """A new draft holding these rules, in order. With ``model``, rules that do not fit it are refused."""
    if model is not None:
        found = problems(rules, model)
        if found:
            raise PolicyRejected(found)
    with transaction.atomic():
        version = PolicyVersion.objects.create(name=name, description=description, created_by=user)
        for position, rule in enumerate(rules, start=1):
            row = PolicyRule.objects.create(
                version=version,
                position=position * 10,
                code=rule.code,
                name=rule.name,
                statement=rule.statement,
                statement_fr=rule.statement_fr,
                outcome=rule.outcome,
                stage=rule.stage,
                legal_basis=rule.legal_basis,
            )
            PolicyCondition.objects.bulk_create(
                [PolicyCondition(rule=row, field=c.field, test=c.test) for c in rule.conditions]
            )
    return version


def copy_to_draft(version: PolicyVersion, *, user: AbstractBaseUser | None, name: str = "") -> PolicyVersion:
    """A new draft with the same rules, to change a version that can no longer change."""
    return create_version(
        name=name or gettext("Copy of %(name)s") % {"name": version.name},
        rules=version.engine_rules(),
        user=user,
        description=gettext("Copied from %(version)s.") % {"version": version.label},
    )


def export_jdm(version: PolicyVersion) -> dict[str, Any]:
    """The version as a ZEN decision model (JSON), which GoRules' editor and engines open."""
    return to_jdm(version.engine_rules(), name=version.name)


def import_jdm(
    document: Mapping[str, Any], *, name: str, user: AbstractBaseUser | None, model: LoadedModel
) -> PolicyVersion:
    """A new draft from a ZEN decision model; raises PolicyRejected naming each rule that does not fit the model."""
    try:
        rules = from_jdm(document)
    except PolicyRejected as exc:
        raise PolicyRejected(word_problems(exc.errors, gettext)) from exc
    return create_version(name=name, rules=rules, user=user, model=model, description=gettext("Imported."))


def submit(version: PolicyVersion, *, user: AbstractBaseUser, model: LoadedModel, model_version=None) -> PolicyVersion:
    """Freeze a draft and ask a second person to activate it. Refused unless its rules fit the active model."""
    version.refresh_from_db()
    if not version.is_draft:
        raise NotAllowed(
            gettext("%(version)s is %(status)s: only a draft is submitted.")
            % {"version": version.label, "status": version.get_status_display().lower()}
        )
    if not version.rules.exists():
        raise PolicyRejected({"policy": [gettext("A policy version needs at least one rule.")]})
    found = check_version(version, model=model, model_version=model_version)
    if found:
        raise PolicyRejected(found)
    version.status = PolicyVersion.Status.SUBMITTED
    version.submitted_at = timezone.now()
    version.submitted_by = user
    version.save(update_fields=["status", "submitted_at", "submitted_by"])
    return version


def withdraw(version: PolicyVersion, *, user: AbstractBaseUser) -> PolicyVersion:
    """A submitted version goes back to draft (its submitter or any policy manager), e.g. to fix a rule."""
    version.refresh_from_db()
    if version.status != PolicyVersion.Status.SUBMITTED:
        raise NotAllowed(gettext("%(version)s is not waiting for activation.") % {"version": version.label})
    version.status = PolicyVersion.Status.DRAFT
    version.submitted_at = None
    version.submitted_by = None
    version.save(update_fields=["status", "submitted_at", "submitted_by"])
    return version


def activate(
    version: PolicyVersion,
    *,
    user: AbstractBaseUser | None,
    model: LoadedModel,
    note: str = "",
) -> PolicyActivation:
    """Put a submitted version live. ``user`` must hold the activate permission and not be its submitter
    (four eyes); None is the system itself (``make run``'s default policy, tests), never a person."""
    version.refresh_from_db()
    if version.status == PolicyVersion.Status.ACTIVE:
        raise NotAllowed(gettext("%(version)s is already active.") % {"version": version.label})
    if user is not None:
        if not user.has_perm(ACTIVATE_PERMISSION):
            raise NotAllowed(gettext("Only a credit policy manager or a credit manager activates a credit policy."))
        if version.status != PolicyVersion.Status.SUBMITTED:
            raise NotAllowed(
                gettext("%(version)s must be submitted for activation first.") % {"version": version.label}
            )
        if user.pk in {version.submitted_by_id, version.created_by_id}:
            raise NotAllowed(
                gettext(
                    "Four-eyes rule: another credit policy manager or a credit manager activates a version you "
                    "drafted or submitted."
                )
            )
    found = problems(version.engine_rules(), model)
    if found:
        raise PolicyRejected(found)
    try:
        with transaction.atomic():
            locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
            if locked.status == PolicyVersion.Status.ACTIVE:
                raise ActivationConflict()
            previous = (
                PolicyVersion.objects.select_for_update()
                .filter(status=PolicyVersion.Status.ACTIVE)
                .exclude(pk=version.pk)
                .first()
            )
            if previous is not None:
                previous.status = PolicyVersion.Status.RETIRED
                previous.save(update_fields=["status"])
            version.status = PolicyVersion.Status.ACTIVE
            version.activated_at = timezone.now()
            version.activated_by = user
            version.save(update_fields=["status", "activated_at", "activated_by"])
            activation = PolicyActivation.objects.create(
                version=version, previous=previous, requested_by=version.submitted_by, user=user, note=note
            )
            transaction.on_commit(lambda: _published(version.pk))
    except IntegrityError as exc:  # the one-active-version constraint caught a concurrent activation
        raise ActivationConflict() from exc
    log.info("credit policy %s activated by %s", version.label, user)
    return activation


def _published(version_id: int) -> None:
    registry.publish_active(version_id)
    registry.reset()
