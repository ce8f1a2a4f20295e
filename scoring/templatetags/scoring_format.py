"""Template filters for showing the same fact the same way on every role's pages.

A probability as a percentage with one decimal ("12.1 %"), a moment as "2 Dec 2026, 01:58" in the
site's time zone, a decision by its word ("Approve", "Refer", "Decline") and a person by full name.
"""

from django import template
from django.template.defaultfilters import date as date_filter

from accounts.names import display_name
from scoring.models import Decision

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.1234 -> '12.3 %'; blank for a missing value."""
    if value is None or value == "":
        return ""
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter(expects_localtime=True)
def when(value) -> str:
    """A moment as every page shows it (DATETIME_FORMAT of creditscore/formats); blank for none."""
    if not value:
        return ""
    return date_filter(value, "DATETIME_FORMAT")


@register.filter
def decision_word(value) -> str:
    """'refer' -> 'Refer': the decision's name, the same on every page."""
    if value in Decision.values:
        return Decision(value).label
    return str(value or "")


@register.filter
def person(user, fallback: str = "") -> str:
    """A user by full name, else username; ``fallback`` (say "system") when there is no user."""
    return display_name(user, fallback)
