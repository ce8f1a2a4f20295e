"""Template context for every page: the navigation a user's roles allow (accounts.permissions) and the lender."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from accounts import permissions


def _link(url_name: str, label: str) -> dict[str, str] | None:
    """A nav entry, or None while the page belongs to a feature this build does not have yet."""
    try:
        return {"url": reverse(url_name), "label": label, "name": url_name}
    except NoReverseMatch:
        return None


def navigation(request) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": [], "nav_roles": []}
    candidates: list[tuple[bool, str, str]] = [
        (True, "scoring:home", _("Home")),
        (permissions.can_score(user), "scoring:application-new", _("New application")),
        (permissions.is_officer(user), "scoring:prediction-mine", _("My decisions")),
        (permissions.can_view_referral_queue(user), "scoring:referral-queue", _("Referrals")),
        (
            permissions.is_officer(user) or permissions.can_view_all_predictions(user),
            "scoring:batch-list",
            _("Batch jobs"),
        ),
        (permissions.can_audit(user), "audit:prediction-list", _("Audit history")),
        (permissions.can_view_monitoring(user), "scoring:monitoring", _("Monitoring")),
        (permissions.can_manage_models(user) and user.is_staff, "admin:index", _("Model admin")),
        # The policy editor and the approve button are in admin; without admin access, the policy's timeline.
        (
            permissions.can_view_policies(user) and user.is_staff,
            "admin:scoring_policyversion_changelist",
            _("Credit policy"),
        ),
        (permissions.can_view_policies(user) and not user.is_staff, "audit:policy-timeline", _("Credit policy")),
    ]
    links = [link for allowed, name, label in candidates if allowed and (link := _link(name, label))]
    current = getattr(getattr(request, "resolver_match", None), "view_name", "")
    for link in links:
        link["current"] = link["name"] == current
    roles = [permissions.ROLE_LABELS[r] for r in permissions.ROLES if r in permissions.roles_of(user)]
    return {"nav_links": links, "nav_roles": roles}


def lender(request) -> dict[str, str]:
    """The lender as printed copies name it (print header of the decision and audit pages)."""
    return {"lender_name": settings.LENDER_NAME, "lender_address": settings.LENDER_ADDRESS}
