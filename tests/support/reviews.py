"""Reviews that stand: a change beyond the officer's authority, approved by a credit manager of their team."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.models import Team
from accounts.permissions import CREDIT_MANAGER
from scoring.decisions import services
from scoring.models import Review


def credit_manager_of(officer, username: str = "manager"):
    """A credit manager in a team with ``officer`` (made on first use)."""
    manager, created = get_user_model().objects.get_or_create(username=username, defaults={"first_name": "Mia"})
    if created:
        manager.groups.add(Group.objects.get(name=CREDIT_MANAGER))
    team, _ = Team.objects.get_or_create(name=f"Team of {manager.username}")
    team.members.add(manager, officer)
    return manager


def standing_review(**review) -> Review:
    """services.record_review; when the change needs approval, a credit manager of the team approves it."""
    recorded = services.record_review(**review)
    if recorded.needs_approval:
        manager = credit_manager_of(recorded.user)
        services.decide_approval(user=manager, prediction=recorded.prediction, approved=True, note="Approved.")
    return recorded


def referral_and_approval_rows(officer) -> None:
    """One referral assignment and one credit manager's approval, so those history tables hold rows."""
    from django.test import override_settings

    from scoring.models import Decision
    from tests.support.applications import decided

    services.take_referral(user=officer, prediction=decided(officer, Decision.REFER))
    with override_settings(OVERRIDE_PD_LIMIT=0.0):
        standing_review(
            user=officer,
            prediction=decided(officer, Decision.DECLINE),
            outcome="approve",
            reason_code="collateral",
            justification="A house as collateral.",
        )
