"""Template filters for the monitoring pages: a drift level ("stable", "watch", "act", "no data") in words."""

from django import template

from scoring.monitoring.reports import level_word as _level_word

register = template.Library()


@register.filter
def level_word(value) -> str:
    """'act' -> 'act' in English, 'agir' in French; the stored level stays the CSS class."""
    return _level_word(value)
