"""Template filters for showing the same fact the same way on every role's pages, in the page's language.

Each is scoring.display's one formatter for its kind of value: a probability as a percentage with one
decimal ("12.1%", "12,1 %"), an amount with its unit ("9,055 DM", "9 055 DM"), a whole number, a day
("2 Dec 2026", "2 déc. 2026") and a moment ("2 Dec 2026, 01:58") in the site's time zone; a decision by
its word and a person by full name; a bundle text (label, unit, statement) in the page's language.
"""

from django import template

from accounts.names import display_name
from scoring import display
from scoring.models import Decision

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.1234 -> '12.3%' ('12,3 %' in French); blank for a missing value."""
    return display.percent(value, digits)


@register.filter
def money(value, unit: str = "") -> str:
    """9055 -> '9,055 DM' ('9 055 DM' in French)."""
    return display.money(value, unit)


@register.filter
def integer(value) -> str:
    """9055 -> '9,055' ('9 055' in French)."""
    return display.integer(value)


@register.filter
def day(value) -> str:
    """A date, or a moment's day in the site's time zone: '2 Dec 2026' ('2 déc. 2026')."""
    return display.date(value)


@register.filter
def when(value) -> str:
    """A moment as every page shows it (DATETIME_FORMAT of creditscore/formats); blank for none."""
    return display.moment(value)


@register.filter
def localized(value) -> str:
    """A bundle text given as plain text or per language ({en: ..., fr: ...}) in the page's language."""
    return display.text(value)


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
