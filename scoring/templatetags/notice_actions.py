"""The decision page's notice section: produce an adverse-action notice for a final decline, and the ones issued."""

from __future__ import annotations

from django import template

from accounts import permissions
from scoring.notices import selectors, services

register = template.Library()


@register.inclusion_tag("scoring/notices/_decision_notices.html", takes_context=True)
def decision_notices(context, prediction):
    user = context["user"]
    notices = list(selectors.notice_list(prediction=prediction))
    final_decline = services.final_decision_of(prediction).is_decline
    return {
        "prediction": prediction,
        "notices": notices,
        "final_decline": final_decline,
        "can_issue": final_decline and permissions.can_issue_notice(user, prediction),
    }
