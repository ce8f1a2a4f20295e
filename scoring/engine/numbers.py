"""Numbers written as text (the form, batch files): one strict grammar, so a value is scored as written or refused.

The grammar is JSON's number without its exponent: ASCII digits, an optional
leading "-", at most one "." followed by digits ("12", "-3", "1500.50"; not
"1.", ".5", "+3"). Spaces or tabs around the number are allowed, nothing
inside it. Everything a looser parser would guess at is refused rather than
rewritten: thousands separators ("1,500", "1 500"), a decimal comma ("999,99"
is 999.99 to one reader and 99999 to another), underscores and exponents
(which Python's ``float`` accepts), digits of other scripts (Arabic-Indic,
full-width, superscripts), NaN and infinity. Leading zeros are harmless
("007" can only mean 7) and are accepted.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# [0-9], not \d: \d matches every script's digits, which is exactly what must be refused.
_NUMBER = re.compile(r"[ \t]*(-?[0-9]+(?:\.[0-9]+)?)[ \t]*")
# Longer texts are refused before any work: no credit input needs 40 characters of digits.
MAX_NUMBER_TEXT = 40


def parse_number(text: str) -> float | None:
    """The number ``text`` writes, or None when it is not exactly a number in the grammar above."""
    if len(text) > MAX_NUMBER_TEXT:
        return None
    match = _NUMBER.fullmatch(text)
    return float(match.group(1)) if match else None


def parse_number_texts(texts: pd.Series) -> np.ndarray:
    """``parse_number`` over a column of texts: floats, NaN where a text is not a number.

    A plain loop over the compiled pattern: about 1.6 µs a text (pandas' looser to_numeric takes
    0.9), a third of what the ``.str`` accessor's fullmatch and strip cost. Batch columns are
    categorical, so each distinct text of a chunk is parsed once.
    """
    values = [parse_number(text) for text in texts.astype(str).tolist()]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def canonical_number_text(text: str, *, decimal: str, groups: str | tuple[str, ...]) -> str | None:
    """A number typed the way a language writes it, as the grammar above writes it; None when it is not one.

    ``decimal`` is the language's decimal separator ("." or ","), ``groups`` the thousands separator(s) it
    takes between groups of exactly three digits ("," in English; the narrow no-break space, the no-break
    space or a space in French). "1,234.5" (English) and "1 234,5" (French) are both "1234.5"; a group
    separator must be used between every group of three and the same one throughout, so "1,23,456",
    "12,34" or "1.234,5" in English are refused, not guessed at. Nothing is ever deleted to make a number.
    """
    if len(text) > MAX_NUMBER_TEXT:
        return None
    seps = (groups,) if isinstance(groups, str) else tuple(groups)
    group = "|".join(re.escape(s) for s in seps if s and s != decimal)
    grouped = rf"[0-9]{{1,3}}(?P<sep>{group})[0-9]{{3}}(?:(?P=sep)[0-9]{{3}})*" if group else r"(?!)"
    pattern = rf"[ \t]*(?P<sign>-?)(?P<whole>[0-9]+|{grouped})(?:{re.escape(decimal)}(?P<fraction>[0-9]+))?[ \t]*"
    match = re.fullmatch(pattern, text)
    if not match:
        return None
    whole = re.sub(r"[^0-9]", "", match.group("whole"))  # the matched group separators, nothing else
    fraction = match.group("fraction")
    return f"{match.group('sign')}{whole}" + (f".{fraction}" if fraction else "")
