"""French formats on every page: "2 déc. 2026", "2 déc. 2026, 01:58", "9 055", "12,1 %".

The thousands separator and the space before "%" are one character, the narrow no-break space (U+202F,
"espace fine insécable"), so a number never breaks across lines. Typed numbers may use it, a no-break
space or a plain space between groups (scoring/decisions/numbers.py).
"""

DATE_FORMAT = "j N Y"  # 2 déc. 2026 (N: the abbreviated month with its full stop, "mai" and "juin" whole)
DATETIME_FORMAT = "j N Y, H:i"  # 2 déc. 2026, 01:58
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\u202f"
NUMBER_GROUPING = 3
PERCENT_SPACE = "\u202f"
# Between a number and its unit: a no-break space ("9 055 DM" never breaks before "DM").
UNIT_SPACE = "\u00a0"
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
