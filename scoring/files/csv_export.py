"""The one CSV writer of the app: formula-safe cells, and UTF-8 downloads with an optional BOM.

Every CSV the app hands out (audit export, batch results on the web and in the
API) is written here, so a cell a client or an officer typed can never run as
a spreadsheet formula, whichever page it leaves by. The rule, in Python for the
csv module and in SQL for PostgreSQL's ``COPY``:

- a text cell whose first character is ``= + - @``, a tab or a carriage return
  (or their full-width forms, which some spreadsheets read the same way) is
  prefixed with an apostrophe, so a spreadsheet shows it as text;
- unless the whole cell is a plain number (``-0.5``, ``+1e3``, ``-12``): a
  spreadsheet reads it as that number and nothing else, and reference numbers
  and negative values stay readable and sortable;
- numbers given as numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

from django.http import QueryDict, StreamingHttpResponse

# The full-width forms are written as escapes so they cannot be mistaken for the ASCII ones.
FORMULA_START = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
PLAIN_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_PLAIN_NUMBER_RE = re.compile(PLAIN_NUMBER)

CONTENT_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff".encode()
BOM_PARAMETER = "bom"
BOM_HELP = "1 (or true) to start the file with a UTF-8 byte order mark, which some spreadsheets need to read accents."
_BOM_VALUES = {"1": True, "true": True, "0": False, "false": False}


def safe_cell(value: object) -> object:
    """The cell as a spreadsheet should show it: text that would start a formula is kept as text."""
    if isinstance(value, str) and value[:1] and value[0] in FORMULA_START and not _PLAIN_NUMBER_RE.match(value):
        return "'" + value
    return value


def safe_cell_sql(expression: str) -> str:
    """The same rule as ``safe_cell`` for a text ``expression`` in PostgreSQL; empty as NULL (COPY writes "").

    The first-character test is cheap and rarely true, so the number pattern runs only for those cells.
    """
    starts = ", ".join(_sql_literal(c) for c in FORMULA_START)
    return (
        f"CASE WHEN left({expression}, 1) IN ({starts}) AND {expression} !~ '{PLAIN_NUMBER}' "
        f"THEN '''' || {expression} ELSE NULLIF({expression}, '') END"
    )


def _sql_literal(char: str) -> str:
    return {"\t": "E'\\t'", "\r": "E'\\r'"}.get(char, f"'{char}'")


class CsvLines:
    """A csv writer into memory that neutralises every cell and hands back the lines written since the last take."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def row(self, cells: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in cells])

    def take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def bom_requested(query: QueryDict) -> bool:
    """Whether the query string asks for a BOM; ValueError with the message to show when its value is not 1/0."""
    values = query.getlist(BOM_PARAMETER)
    if not values:
        return False
    if len(values) == 1 and values[0].lower() in _BOM_VALUES:
        return _BOM_VALUES[values[0].lower()]
    raise ValueError("Use bom=1 (or true) for a byte order mark, bom=0 (or false) or leave it out for none.")


def csv_download(lines: Iterable[str | bytes], *, filename: str, bom: bool = False) -> StreamingHttpResponse:
    """A streamed CSV attachment in UTF-8 (what the Content-Type says), with a BOM first when asked for."""
    response = StreamingHttpResponse(_encoded(lines, bom=bom), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _encoded(lines: Iterable[str | bytes], *, bom: bool) -> Iterator[bytes]:
    if bom:
        yield BOM
    for block in lines:
        yield block.encode() if isinstance(block, str) else block
