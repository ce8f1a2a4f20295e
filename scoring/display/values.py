"""One way to show each kind of value on pages, printed notices and model cards, in the active language.

English: "12.1%", "9,055 DM", "9,055", "2 Dec 2026", "2 Dec 2026, 01:58".
French: "12,1 %", "9 055 DM", "9 055", "2 déc. 2026", "2 déc. 2026, 01:58" (the space inside numbers
and before "%" is the narrow no-break space of creditscore/formats/fr). The separators and date patterns
come from creditscore/formats/<language>/formats.py; nothing here knows a language by name.

Machine formats (API JSON, CSV exports) never go through here: they keep ISO dates and dot decimals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django.utils import formats, timezone
from django.utils.translation import get_language

from scoring.engine.labels import localized


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def number(value: object, digits: int | None = None) -> str:
    """A number with the language's decimal and thousands separators; ``digits`` fixed decimals (None: as is)."""
    if value is None or value == "":
        return ""
    if not _is_number(value):
        return str(value)
    if digits is None and isinstance(value, float) and value.is_integer():
        value = int(value)
    if digits is not None:
        # Rounded as Python rounds (half to even on the float's exact value, as every f-string in the app
        # does); Django's number_format cuts extra digits off a float instead of rounding them.
        value = Decimal(f"{float(value):.{int(digits)}f}")
    return formats.number_format(value, decimal_pos=digits, use_l10n=True, force_grouping=True)


def integer(value: object) -> str:
    """A whole number, grouped: "9,055" / "9 055"."""
    if value is None or value == "":
        return ""
    if not _is_number(value):
        return str(value)
    return number(round(float(value)), 0)


def percent(value: object, digits: int = 1) -> str:
    """A share (0.121) as a percentage: "12.1%" / "12,1 %"; blank for a missing value."""
    if value is None or value == "":
        return ""
    return f"{number(float(value) * 100, int(digits))}{formats.get_format('PERCENT_SPACE')}%"


def money(value: object, unit: str = "") -> str:
    """An amount and its unit: "9,055 DM" / "9 055 DM" (French: a no-break space before the unit)."""
    text = number(value)
    return f"{text}{formats.get_format('UNIT_SPACE')}{unit}" if text and unit else text


def date(value: dt.date | dt.datetime | None) -> str:
    """A day: "2 Dec 2026" / "2 déc. 2026" (a moment is shown as its day in the site's time zone)."""
    if not value:
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATE_FORMAT")


def moment(value: dt.datetime | None) -> str:
    """A date and time in the site's time zone: "2 Dec 2026, 01:58" / "2 déc. 2026, 01:58"."""
    if not value:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATETIME_FORMAT")


def text(value: str | Mapping[str, str] | None) -> str:
    """A bundle text (label, unit, reason statement) in the active language, with the engine's fallback."""
    return localized(value, get_language() or "en")
