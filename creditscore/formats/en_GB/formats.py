"""One way to show a date and a time on every page, the admin's included (LANGUAGE_CODE is en-gb).

Django takes these over its own en-GB formats; the API and CSV exports keep ISO 8601.
"""

DATE_FORMAT = "j M Y"  # 2 Dec 2026
DATETIME_FORMAT = "j M Y, H:i"  # 2 Dec 2026, 01:58
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
