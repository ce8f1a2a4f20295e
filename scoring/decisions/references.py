"""The rule for an application's reference (``external_ref``), stated once for the API schema, forms and batch files.

A reference is at most ``MAX_LENGTH`` printable characters of the Basic Multilingual
Plane: no C0 or C1 control characters, no DEL, no surrogates, no line or paragraph
separators, no non-characters U+FFFE/U+FFFF. Escape sequences in a reference would
reach terminals, logs and spreadsheets that show it; a reference is an identifier,
not text to be laid out.

The rule is a list of code point ranges, so that it can be said exactly both as an
ECMA-262 regular expression (the OpenAPI schema's ``pattern``, which generated
clients and the fuzzer evaluate) and as the server's check. Staying in the BMP also
makes lengths agree: JavaScript counts UTF-16 code units, Python counts code points,
and for BMP text they are the same number.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext

MAX_LENGTH = 100

# Inclusive code point ranges a reference may use.
ALLOWED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # printable ASCII, space included
    (0x00A0, 0x2027),  # after the C1 controls, up to the line separator
    (0x202A, 0xD7FF),  # after the paragraph separator, up to the surrogates
    (0xE000, 0xFFFD),  # private use and the rest of the BMP, without the two non-characters
)

_CLASS = "[" + "".join(f"\\u{low:04X}-\\u{high:04X}" for low, high in ALLOWED_RANGES) + "]"
# The schema's pattern: ECMA-262 syntax that Python's re reads the same way (four-hex-digit \u escapes, one class).
PATTERN = f"^{_CLASS}*$"
_ALLOWED = re.compile(f"{_CLASS}*")

RULE_TEXT = (
    f"At most {MAX_LENGTH} printable characters: no control characters, line breaks or tabs. "
    "Leading and trailing spaces are trimmed."
)


def reference_problem(value: str) -> str | None:
    """Why ``value`` is not a valid reference, or None when it is."""
    if len(value) > MAX_LENGTH:
        return gettext("Use at most %(max)d characters (it has %(length)d).") % {
            "max": MAX_LENGTH,
            "length": len(value),
        }
    if _ALLOWED.fullmatch(value) is None:
        bad = next(c for c in value if _ALLOWED.fullmatch(c) is None)
        return gettext("Use printable characters only: U+%(code)s is a control or unprintable character.") % {
            "code": f"{ord(bad):04X}"
        }
    return None


def problems(values: list[str]) -> dict[int, str]:
    """The problem of each invalid value by position; one regex pass over the lot when all are valid (batch chunks)."""
    if max(map(len, values), default=0) <= MAX_LENGTH and _ALLOWED.fullmatch("".join(values)):
        return {}
    found = ((i, reference_problem(v)) for i, v in enumerate(values))
    return {i: problem for i, problem in found if problem}
