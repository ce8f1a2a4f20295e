"""English formats on every page, the admin's included: "2 Dec 2026", "2 Dec 2026, 01:58", "9,055", "12.1".

Django takes these over its own "en" formats (US dates). The API and CSV exports keep ISO 8601 dates and
dot decimals whatever the language (scoring/files/csv_export.py).
"""

DATE_FORMAT = "j M Y"  # 2 Dec 2026
DATETIME_FORMAT = "j M Y, H:i"  # 2 Dec 2026, 01:58
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
# What comes between a number and "%" (none in English: "12.1%").
PERCENT_SPACE = ""
# Between a number and its unit ("9,055 DM"; French keeps them on one line with a no-break space).
UNIT_SPACE = " "
# Dates typed in filter forms: ISO first (the date picker sends it), then the British day-first form.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
