"""The outcome CSV: read a file into rows for the service (page and command alike), and write its template.

A file is UTF-8 text (a byte order mark is allowed, as spreadsheets write it) with a header line naming
its columns exactly (lower case, see ``COLUMNS``), separated by commas, or by semicolons when the header
holds semicolons and no comma (as spreadsheets set to French write CSV). Cells are data, never formulas:
"=1+1" is just text that is not an outcome code. What cannot be read is an ``InvalidOutcomeFile`` naming
each problem; nothing is guessed.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _

from scoring.files.csv_export import CsvLines
from scoring.files.uploads import megabytes
from scoring.outcomes.rows import FIELDS, RowError

COLUMNS = FIELDS
REQUIRED = ("outcome", "observed_on")
ONE_OF = ("decision_id", "external_ref")
BOM = b"\xef\xbb\xbf"
# Lines longer than this cannot be a row of this file (a reason is at most 2,000 characters).
_FIELD_LIMIT = 10_000


class InvalidOutcomeFile(Exception):
    """A file that cannot be read as outcome rows; ``errors`` name each problem (row None: the file)."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors))


@dataclass(frozen=True)
class OutcomeFile:
    rows: list[dict[str, str]]
    numbers: list[int]  # each row's number: its record after the header, blank lines counted
    sha256: str
    delimiter: str


def read_outcome_file(fh: IO[bytes], *, max_bytes: int, max_rows: int) -> OutcomeFile:
    """The rows of an outcome CSV as ``{column: cell}`` (absent optional columns are empty)."""
    data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _file_error(_("The file is larger than %(size)s, the limit.") % {"size": megabytes(max_bytes)})
    sha256 = hashlib.sha256(data).hexdigest()
    if not data.strip(BOM + b" \r\n\t"):
        raise _file_error(_("The file is empty: the first line must name the columns."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_error(
            _("The file is not UTF-8 text (line %(line)d); save it as CSV UTF-8.") % {"line": line}
        ) from exc
    if "\x00" in text:
        raise _file_error(_("The file holds a NUL byte: is it a CSV file?"))
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in header_line and "," not in header_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        columns = _check_header(header)
        rows, numbers = [], []
        for number, record in enumerate(reader, start=1):
            if not any(cell.strip() for cell in record):
                continue  # a blank line (spreadsheets often end with one)
            if len(rows) >= max_rows:
                raise _file_error(_("The file has more than %(max)d rows, the limit per file.") % {"max": max_rows})
            if len(record) != len(columns):
                raise InvalidOutcomeFile(
                    [
                        RowError(
                            number,
                            "",
                            _("Expected %(expected)d cells, found %(found)d: check the separators and quotes.")
                            % {"expected": len(columns), "found": len(record)},
                        )
                    ]
                )
            if any(len(cell) > _FIELD_LIMIT for cell in record):
                raise InvalidOutcomeFile([RowError(number, "", _("A cell is too long to be part of this file."))])
            row = dict.fromkeys(COLUMNS, "")
            row.update(zip(columns, record, strict=True))
            rows.append(row)
            numbers.append(number)
    except csv.Error as exc:
        raise _file_error(
            _("Line %(line)d is not valid CSV (%(problem)s).") % {"line": reader.line_num, "problem": exc}
        ) from exc
    if not rows:
        raise _file_error(_("The file has a header but no rows."))
    return OutcomeFile(rows=rows, numbers=numbers, sha256=sha256, delimiter=delimiter)


def _check_header(header: list[str]) -> list[str]:
    errors = []
    unknown = [name for name in header if name not in COLUMNS]
    duplicated = sorted({name for name in header if header.count(name) > 1 and name in COLUMNS})
    missing = [name for name in REQUIRED if name not in header]
    if unknown:
        shown = ", ".join(f"“{name[:40]}”" for name in unknown[:10])
        errors.append(
            _("Unknown column(s): %(names)s. The columns are %(columns)s, named exactly so (lower case).")
            % {"names": shown, "columns": ", ".join(COLUMNS)}
        )
    if missing:
        errors.append(_("Missing column(s): %(names)s.") % {"names": ", ".join(missing)})
    if not any(name in header for name in ONE_OF):
        errors.append(_("Missing column: decision_id or external_ref (or both), to name each decision."))
    if duplicated:
        errors.append(_("Column(s) named twice: %(names)s.") % {"names": ", ".join(duplicated)})
    if errors:
        raise InvalidOutcomeFile([RowError(None, "", message) for message in errors])
    return header


def _file_error(message: str) -> InvalidOutcomeFile:
    return InvalidOutcomeFile([RowError(None, "", message)])


def template_lines() -> list[str]:
    """The CSV template: the header line only. Example rows are in docs/outcomes.md and on the page, not in
    the file: a template uploaded unchanged must not report anything about a real decision."""
    lines = CsvLines()
    lines.row(COLUMNS)
    return [lines.take()]
