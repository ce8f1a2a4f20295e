"""The engine's validation messages in the reader's language.

The engine knows no Django, so it words its messages in English (``scoring.engine.validation.Message``: the
English text, with its template and values kept). Pages and the API say them again here, through the French
catalog; a limit is written the language's way with its unit ("Doit être au plus 72 mois."). A message this
module does not know is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from scoring.display.values import money
from scoring.engine import validation as v
from scoring.engine.labels import FALLBACK_LANGUAGE
from scoring.engine.schema import unit_for

TRANSLATED = {
    v.REQUIRED: _("This field is required."),
    v.UNKNOWN: _("Unknown field."),
    v.NOT_AN_OBJECT: _("Expected an object of field names to values."),
    v.NOT_TEXT: _("Expected text."),
    v.TOO_LONG: _("At most %(count)s characters."),
    v.NOT_A_CHOICE: _("'%(value)s' is not one of the allowed choices."),
    v.NOT_ONE_OF_THE_CHOICES: _("Not one of the allowed choices."),
    v.AT_LEAST: _("Must be at least %(limit)s."),
    v.AT_MOST: _("Must be at most %(limit)s."),
    v.WHOLE_NOT_BOOLEAN: _("Expected a whole number, not true or false."),
    v.NUMBER_NOT_BOOLEAN: _("Expected a number, not true or false."),
    v.WHOLE_NOT_STRING: _("Expected a whole number, not a string: send a JSON number, without quotes."),
    v.NUMBER_NOT_STRING: _("Expected a number, not a string: send a JSON number, without quotes."),
    v.NUMBER_EXPECTED: _("Expected a number."),
    v.NOT_A_NUMBER: _("Expected a number: digits, with '.' before any decimals; no spaces or thousands separators."),
    v.NOT_A_WHOLE_NUMBER: _("Expected a whole number: digits only, no spaces or thousands separators."),
    v.FRACTION: _("Expected a whole number."),
}


def engine_message(message: object) -> str:
    """One engine message in the active language (as it is when it carries no template this module knows)."""
    template = getattr(message, "template", None)
    if template not in TRANSLATED:
        return str(message)
    params = dict(message.params)
    if message.bound is not None:
        number, feature = message.bound
        shown = feature.in_language(get_language() or FALLBACK_LANGUAGE)
        params["limit"] = money(number, unit_for(number, shown.unit))
    text = str(TRANSLATED[template])
    return text % params if params else text


def engine_errors(errors: Mapping[str, Sequence[object]]) -> dict[str, list[str]]:
    """Field -> messages, each in the active language."""
    return {name: [engine_message(m) for m in messages] for name, messages in errors.items()}
