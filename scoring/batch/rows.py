"""One chunk of a batch file turned into Prediction rows: parse, validate, score and encode, all vectorised.

A chunk is a byte range of whole lines. Its lines are checked at once with numpy
(column count from the separators, quotes, empty lines), so only odd lines are
looked at one by one; pandas reads the rest, the engine validates and scores
the frame, and the rows are encoded straight into PostgreSQL's COPY text
format (or dicts for SQLite's bulk_create). Building JSON with templates rather
than a json.dumps per row is most of what makes a million rows take a minute.
Nothing here touches the database; worker.py writes what this returns.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

import numpy as np
import pandas as pd
from django.utils.translation import gettext

from scoring.decisions import references
from scoring.engine import CATEGORICAL, INTEGER, Feature, FrameValidation, LoadedModel
from scoring.engine.policy import CompiledPolicy
from scoring.exceptions import InvalidBatchFile

EXTERNAL_REF = "external_ref"
EXTERNAL_REF_LENGTH = 100
BOM = b"\xef\xbb\xbf"
# Prediction columns a batch writes, in COPY order.
COPY_COLUMNS = (
    "created_at",
    "user_id",
    "channel",
    "model_version_id",
    "inputs",
    "input_line",
    "features",
    "protected",
    "probability",
    "decision",
    "threshold",
    "refer_lower",
    "risk_band",
    "reasons",
    "external_ref",
    "batch_job_id",
    "row_number",
    "policy_version_id",
    "model_decision",
    "policy_rules",
    "deciding_rule",
)
_COPY_SPECIAL = ("\\", "\t", "\n", "\r")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class RowContext:
    """What every row of a chunk shares: who, which job and version, when, and the version's threshold."""

    created_at: datetime
    user_id: int
    model_version_id: int
    batch_job_id: int
    threshold: float
    refer_lower: float
    channel: str = "batch"
    policy_version_id: int | None = None


@dataclass
class JsonObjects:
    """JSON objects with the same keys on every row, kept as a %-template and the encoded value of each key."""

    template: str  # '{"key": "%s", "other": %s}'
    values: list[list[str]]  # per key, the JSON text of its value on each row (text without its quotes)

    def texts(self) -> list[str]:
        return [self.template % row for row in zip(*self.values, strict=True)] if self.values else []


@dataclass
class ChunkRows:
    """A chunk scored in memory, ready to be written: the valid rows' columns as text, and the others' errors."""

    context: RowContext
    row_numbers: np.ndarray
    columns: dict[str, list[str]]  # COPY_COLUMNS that vary per row -> one text per valid row (inputs is "{}")
    errors: dict[int, dict[str, list[str]]]
    features: JsonObjects | None = None  # the features column, as a template to write straight into each line
    counts: dict[str, int] = field(default_factory=dict)  # 'decision/band' -> rows
    probability_sums: dict[str, float] = field(default_factory=dict)
    error_refs: dict[int, str] = field(default_factory=dict)  # external_ref of rejected rows that have one

    def __len__(self) -> int:
        return len(self.row_numbers)

    def copy_blocks(self, rows_per_block: int) -> Iterator[str]:
        """The rows in COPY text format (tab-separated, backslash escapes), a block of lines at a time."""
        c = self.context
        assert self.features is not None
        # The features object is written straight into the line: one formatting per row, not two.
        template = (
            f"{c.created_at.isoformat()}\t{c.user_id}\t{c.channel}\t{c.model_version_id}\t{{}}\t%s\t"
            f"{self.features.template.replace(chr(92), chr(92) * 2)}\t%s\t%s\t%s\t"
            f"{c.threshold!r}\t{c.refer_lower!r}\t%s\t%s\t%s\t{c.batch_job_id}\t%s\t"
            f"{c.policy_version_id if c.policy_version_id is not None else chr(92) + 'N'}\t%s\t%s\t%s\n"
        )
        before = [_copy_escaped(self.columns["input_line"])]
        after = ("protected", "probability", "decision", "risk_band", "reasons", "external_ref")
        columns = [
            *before,
            *(_copy_escaped(v) for v in self.features.values),
            *(_copy_escaped(self.columns[n]) for n in after),
        ]
        columns.append(self.row_numbers.astype(str).tolist())
        columns.extend(_copy_escaped(self.columns[n]) for n in ("model_decision", "policy_rules", "deciding_rule"))
        for start in range(0, len(self), rows_per_block):
            stop = start + rows_per_block
            yield "".join(template % row for row in zip(*(col[start:stop] for col in columns), strict=True))

    def records(self) -> Iterator[dict[str, object]]:
        """The rows as Prediction field values (JSON parsed), for databases without COPY."""
        c = self.context
        features = self.features.texts() if self.features is not None else []
        for k, number in enumerate(self.row_numbers.tolist()):
            yield {
                "created_at": c.created_at,
                "user_id": c.user_id,
                "channel": c.channel,
                "model_version_id": c.model_version_id,
                "inputs": {},
                "input_line": self.columns["input_line"][k],
                "features": json.loads(features[k]),
                "protected": json.loads(self.columns["protected"][k]),
                "probability": float(self.columns["probability"][k]),
                "decision": self.columns["decision"][k],
                "threshold": c.threshold,
                "refer_lower": c.refer_lower,
                "risk_band": self.columns["risk_band"][k],
                "reasons": json.loads(self.columns["reasons"][k]),
                "external_ref": self.columns["external_ref"][k],
                "batch_job_id": c.batch_job_id,
                "row_number": number,
                "policy_version_id": c.policy_version_id,
                "model_decision": self.columns["model_decision"][k],
                "policy_rules": json.loads(self.columns["policy_rules"][k]),
                "deciding_rule": self.columns["deciding_rule"][k],
            }


# --- parsing -------------------------------------------------------------------------


def parse_lines(
    data: bytes, *, columns: list[str], first_row: int
) -> tuple[pd.DataFrame, dict[int, dict], list[str], dict[int, str]]:
    """A chunk's rows as a frame of text indexed by row number, the errors of lines that are not rows,
    the rows' lines as text (in frame order), and the references of the refused lines that have one.

    Lines are cut at LF (a CR before it is dropped). Every line's column count comes from the
    separators outside quotes, counted with numpy; only lines that do not come out as a row of the
    right width, or hold a byte no row may hold (NUL, a CR inside the line, text that is not
    UTF-8), are looked at one by one, for their error message. No line can make this raise.
    """
    if first_row == 1 and data.startswith(BOM):
        data = data[len(BOM) :]
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    if raw.size and raw[-1] != ord("\n"):
        ends = np.append(ends, raw.size)
    starts = np.concatenate(([0], ends[:-1] + 1)) if ends.size else ends
    stops = ends.copy()
    nonempty = ends > starts
    carriage = raw[ends[nonempty] - 1] == ord("\r")
    stops[nonempty] -= carriage
    carriage_returns = bool(carriage.any())
    commas = np.flatnonzero(raw == ord(","))
    comma_line = np.searchsorted(ends, commas)
    quotes = np.flatnonzero(raw == ord('"'))
    quote_counts = np.searchsorted(quotes, stops) - np.searchsorted(quotes, starts)
    if quotes.size:  # a comma between quotes of its own line is text, not a separator
        before = np.searchsorted(quotes, commas) - np.searchsorted(quotes, starts)[comma_line]
        comma_line = comma_line[before % 2 == 0]
    width = len(columns)
    separators = np.bincount(comma_line, minlength=ends.size)
    good = (separators == width - 1) & (quote_counts % 2 == 0) & (stops > starts)
    odd = ~good | _lines_with_odd_bytes(data, raw, ends, stops)

    errors: dict[int, dict[str, list[str]]] = {}
    refs: dict[int, str] = {}
    ref_at = columns.index(EXTERNAL_REF) if EXTERNAL_REF in columns else None
    for k in np.flatnonzero(odd).tolist():
        number = first_row + k
        problem, text = _line_problem(data[starts[k] : stops[k]], width, number)
        good[k] = problem is None
        if problem:
            errors[number] = {"row": [problem]}
            ref = line_external_ref(text, ref_at)
            if ref:
                refs[number] = ref
    numbers = first_row + np.flatnonzero(good)
    if not numbers.size:
        return pd.DataFrame(columns=columns, dtype=object), errors, [], refs
    if good.all():
        text = data
    else:
        text = b"\n".join(data[s:e] for s, e in zip(starts[good].tolist(), stops[good].tolist(), strict=True))
    lines = text.decode("utf-8").split("\n")  # every kept line was checked to be UTF-8
    if lines and not lines[-1] and len(lines) > numbers.size:
        lines.pop()  # after the last line's LF
    if carriage_returns:
        lines = [line.removesuffix("\r") for line in lines]
    # Categorical columns: each distinct text is parsed and checked once (a file has few of them);
    # the external reference is unique per row, so it stays plain text.
    try:
        frame = pd.read_csv(
            io.BytesIO(text),
            header=None,
            names=columns,
            dtype={c: str if c == EXTERNAL_REF else "category" for c in columns},
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8",
            engine="c",
        )
    except (pd.errors.ParserError, ValueError, csv.Error):
        frame = None  # a quote inside a field that pandas reads as a separator: one line at a time
    if frame is None or len(frame) != numbers.size:
        return _rows_one_by_one(lines, numbers, columns, errors, refs)
    frame.index = pd.Index(numbers, dtype="int64")
    return frame, errors, lines, refs


def _rows_one_by_one(
    lines: list[str], numbers: np.ndarray, columns: list[str], errors: dict, refs: dict
) -> tuple[pd.DataFrame, dict[int, dict], list[str], dict[int, str]]:
    """The csv module's reading of lines pandas could not read as one frame; a line that is not a row
    of the header's width becomes that row's error."""
    width = len(columns)
    ref_at = columns.index(EXTERNAL_REF) if EXTERNAL_REF in columns else None
    kept_rows: list[list[str]] = []
    kept_lines: list[str] = []
    kept_numbers: list[int] = []
    for number, line in zip(numbers.tolist(), lines, strict=True):
        fields = _csv_fields(line)
        if fields is None or len(fields) != width:
            if fields is None:
                message = gettext("Expected %(width)d columns, could not be read as CSV.") % {"width": width}
            else:
                message = gettext("Expected %(width)d columns, found %(found)d.") % {
                    "width": width,
                    "found": len(fields),
                }
            errors[number] = {"row": [message]}
            ref = line_external_ref(line, ref_at)
            if ref:
                refs[number] = ref
            continue
        kept_rows.append(fields)
        kept_lines.append(line)
        kept_numbers.append(number)
    frame = pd.DataFrame(kept_rows, columns=columns, dtype=object)
    frame.index = pd.Index(kept_numbers, dtype="int64")
    return frame, dict(sorted(errors.items())), kept_lines, refs


def _lines_with_odd_bytes(data: bytes, raw: np.ndarray, ends: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Lines holding a NUL, a CR before their end, or a byte above ASCII in a chunk that is not all UTF-8."""
    flagged = np.zeros(ends.size, dtype=bool)
    if not ends.size:
        return flagged
    flagged[np.searchsorted(ends, np.flatnonzero(raw == 0))] = True
    carriage = np.flatnonzero(raw == ord("\r"))
    line = np.searchsorted(ends, carriage)
    flagged[line[carriage < stops[line]]] = True
    high = np.flatnonzero(raw >= 0x80)
    if high.size:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            flagged[np.searchsorted(ends, high)] = True  # each such line is decoded alone
    return flagged


def _line_problem(line: bytes, width: int, number: int) -> tuple[str | None, str | None]:
    """Why a line cannot be a row (None when it is one after all, e.g. quoted commas), and its text if it has one."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            gettext(
                "Row %(row)d is not valid UTF-8 text (byte %(byte)d of the line); "
                "save the file as UTF-8. The line was not scored or stored."
            )
            % {"row": number, "byte": exc.start + 1},
            None,
        )
    if "\x00" in text:
        return gettext("The line holds a NUL byte, which no field may hold."), text
    if "\r" in text:
        return (
            gettext("The line holds a carriage return (CR): lines end with LF or CRLF and no field may span lines."),
            text,
        )
    if not text.strip():
        return gettext("Empty line."), text
    if text.count('"') % 2:
        return gettext("Unbalanced quotes."), text
    fields = _csv_fields(text) if '"' in text else text.split(",")
    if fields is None:
        return gettext("The line is not valid CSV."), text
    if len(fields) != width:
        return gettext("Expected %(width)d columns, found %(found)d.") % {"width": width, "found": len(fields)}, text
    return None, text


def _csv_fields(text: str) -> list[str] | None:
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None


def line_external_ref(text: str | None, ref_at: int | None) -> str:
    """The reference column of a line that is not a row, when the line parses far enough to have one."""
    if text is None or ref_at is None:
        return ""
    # Up to the first byte the csv module refuses: the reference counts only if its field ended before it.
    readable = text.split("\r", 1)[0].split("\x00", 1)[0]
    fields = _csv_fields(readable)
    complete = len(fields or ()) if readable == text else len(fields or ()) - 1
    if not fields or complete <= ref_at:
        return ""
    ref = fields[ref_at].strip()[:EXTERNAL_REF_LENGTH]
    return ref if ref.isprintable() else ""


# --- scoring and encoding ------------------------------------------------------------


def score_chunk(
    model: LoadedModel,
    *,
    context: RowContext,
    columns: list[str],
    data: bytes,
    first_row: int,
    reason_count: int,
    policy: CompiledPolicy | None = None,
) -> ChunkRows:
    """Parse, validate and score a chunk vectorised; bad rows become per-row errors, never a failed job.

    With a credit ``policy`` (the job's pinned version), its rules decide with the model, vectorised."""
    frame, errors, lines, refs = parse_lines(data, columns=columns, first_row=first_row)
    # A reference that breaks the rule is not echoed with its row's error either.
    refs = {n: ref for n, ref in refs.items() if references.reference_problem(ref) is None}
    if EXTERNAL_REF in frame.columns:
        frame, lines = _without_bad_references(frame, lines, errors)
    checked = model.validate_frame(frame)
    if policy is not None:
        checked = _with_policy_fields(checked, policy, model)
    errors.update({int(n): e for n, e in checked.errors.items()})
    errors = dict(sorted(errors.items()))
    if checked.errors and EXTERNAL_REF in frame.columns:
        bad = _external_refs(frame.loc[list(checked.errors), EXTERNAL_REF])
        refs.update({int(n): ref for n, ref in zip(checked.errors, bad, strict=True) if ref})
    valid = checked.valid
    numbers = valid.index.to_numpy(dtype=np.int64)
    if valid.empty:
        return ChunkRows(context=context, row_numbers=numbers, columns={}, errors=errors, error_refs=refs)
    scores = model.score_frame(
        valid,
        reasons_for="decline",
        reason_count=reason_count,
        reasons_as_json=True,
        policy=policy,
        protected={n: checked.protected[n].to_numpy() for n in checked.protected.columns},
    )
    given = frame if len(valid) == len(frame) else frame.loc[valid.index]
    if len(valid) != len(frame):
        kept = ~frame.index.isin(list(checked.errors))
        lines = [line for line, keep in zip(lines, kept.tolist(), strict=True) if keep]
    clean = _plain_text(data)
    probabilities = scores.probabilities
    decisions = scores.decisions
    bands = scores.risk_bands
    text_columns = {
        "input_line": lines,
        "protected": _protected_json(checked.protected, model.protected, clean=clean),
        "probability": [repr(p) for p in probabilities.tolist()],
        "decision": decisions.tolist(),
        "risk_band": bands.tolist(),
        "reasons": scores.reasons_json.tolist(),
        "external_ref": (_external_refs(given[EXTERNAL_REF]) if EXTERNAL_REF in given.columns else [""] * len(valid)),
        "model_decision": scores.model_decisions.tolist(),
        "policy_rules": scores.policy.fired_json() if scores.policy is not None else ["[]"] * len(valid),
        "deciding_rule": scores.policy.deciding_codes() if scores.policy is not None else [""] * len(valid),
    }
    keys, positions = np.unique(decisions.astype(str) + "/" + bands.astype(str), return_inverse=True)
    counts = np.bincount(positions, minlength=len(keys))
    sums = np.bincount(positions, weights=probabilities, minlength=len(keys))
    return ChunkRows(
        context=context,
        row_numbers=numbers,
        columns=text_columns,
        features=json_objects(
            model.feature_names, [valid[n].to_numpy() for n in model.feature_names], model.features, clean=clean
        ),
        errors=errors,
        counts={str(k): int(n) for k, n in zip(keys, counts, strict=True)},
        probability_sums={str(k): float(s) for k, s in zip(keys, sums, strict=True)},
        error_refs=refs,
    )


def _with_policy_fields(checked: FrameValidation, policy: CompiledPolicy, model: LoadedModel) -> FrameValidation:
    """Rows that leave out a protected attribute a policy rule tests become that row's error (the rule cannot
    be evaluated on nothing, and is never assumed to pass)."""
    required = policy.required([p.name for p in model.protected])
    if not required or checked.valid.empty:
        return checked
    errors = dict(checked.errors)
    bad = np.zeros(len(checked.valid), dtype=bool)
    for name, message in required.items():
        if name in checked.protected.columns:
            missing = pd.isna(checked.protected[name]).to_numpy()
        else:
            missing = np.ones(len(checked.valid), dtype=bool)
        for number in checked.valid.index[missing].tolist():
            errors.setdefault(number, {})[name] = [message]
        bad |= missing
    if not bad.any():
        return checked
    return FrameValidation(
        valid=checked.valid[~bad], protected=checked.protected[~bad], errors=dict(sorted(errors.items()))
    )


def json_objects(
    names: Sequence[str], columns: Sequence[np.ndarray], features: Sequence[Feature] | None, *, clean: bool
) -> JsonObjects:
    """One JSON object per row of ``columns`` (same keys for every row), as a template and its values.

    Text goes in as it is when ``clean`` (the chunk has no quote, backslash or control byte) or
    when the column turns out to need no escaping; numbers are written as ints or floats by the
    feature's kind. Its texts() equal json.dumps(dict, ensure_ascii=False) row by row.
    """
    pieces: list[str] = []
    values: list[list[str]] = []
    for k, name in enumerate(names):
        kind = features[k].kind if features is not None else CATEGORICAL
        key = json.dumps(name, ensure_ascii=False).replace("%", "%%")
        column = columns[k]
        if kind == CATEGORICAL:
            texts = column.tolist()
            if clean or not _needs_json_escape(texts):
                pieces.append(f'{key}: "%s"')
            else:
                pieces.append(f"{key}: %s")
                texts = [json.dumps(str(t), ensure_ascii=False) for t in texts]
        elif kind == INTEGER:
            pieces.append(f"{key}: %s")
            texts = np.asarray(column, dtype=np.int64).astype(str).tolist()
        else:
            pieces.append(f"{key}: %s")
            texts = [repr(v) for v in np.asarray(column, dtype=float).tolist()]
        values.append(texts)
    return JsonObjects(template="{" + ", ".join(pieces) + "}", values=values)


def _protected_json(frame: pd.DataFrame, fields: Sequence[Feature], *, clean: bool) -> list[str]:
    """Protected attributes per row, leaving out the blank ones (they are optional), as the form path does."""
    present = [f for f in fields if f.name in frame.columns]
    if not present:
        return ["{}"] * len(frame)
    blank = np.zeros((len(frame), len(present)), dtype=bool)
    for k, f in enumerate(present):
        column = frame[f.name]
        blank[:, k] = (column == "").to_numpy() if f.kind == CATEGORICAL else column.isna().to_numpy()
    columns = [
        frame[f.name].to_numpy() if f.kind == CATEGORICAL else np.where(blank[:, k], 0, frame[f.name].to_numpy())
        for k, f in enumerate(present)
    ]
    lines = json_objects([f.name for f in present], columns, present, clean=clean).texts()
    for row in np.flatnonzero(blank.any(axis=1)).tolist():
        record = {f.name: _typed(f, columns[k][row]) for k, f in enumerate(present) if not blank[row, k]}
        lines[row] = json.dumps(record, ensure_ascii=False)
    return lines


def _typed(f: Feature, value: object) -> object:
    """A value as one application's validation would have stored it: text, int or float by the field's kind."""
    if f.kind == CATEGORICAL:
        return str(value)
    return int(value) if f.kind == INTEGER else float(value)


def _without_bad_references(
    frame: pd.DataFrame, lines: list[str], errors: dict[int, dict[str, list[str]]]
) -> tuple[pd.DataFrame, list[str]]:
    """The rows whose reference follows the API's rule (and their lines); the others become row errors."""
    bad = references.problems(frame[EXTERNAL_REF].astype(str).tolist())
    if not bad:
        return frame, lines
    numbers = frame.index.tolist()
    for position, problem in bad.items():
        errors[int(numbers[position])] = {EXTERNAL_REF: [problem]}
    keep = [position not in bad for position in range(len(frame))]
    return frame[keep], [line for line, kept in zip(lines, keep, strict=True) if kept]


def _external_refs(column: pd.Series) -> list[str]:
    return column.astype(str).str.strip().str.slice(0, EXTERNAL_REF_LENGTH).tolist()


def _plain_text(data: bytes) -> bool:
    """True when no byte of the chunk needs escaping in JSON (so no value can): no quote, backslash or control."""
    raw = np.frombuffer(data, dtype=np.uint8)
    control = (raw < 0x20) & (raw != ord("\n")) & (raw != ord("\r"))
    return not (control.any() or (raw == ord('"')).any() or (raw == ord("\\")).any() or (raw == 0x7F).any())


def _copy_escaped(texts: list[str]) -> list[str]:
    """Values escaped for COPY's text format, touching a column only when one of its values needs it."""
    joined = "\x00".join(texts)
    if not any(special in joined for special in _COPY_SPECIAL):
        return texts
    return [t.translate(_COPY_ESCAPES) for t in texts]


def _needs_json_escape(texts: list) -> bool:
    """True when a value has a quote, a backslash or an unprintable character (then json.dumps quotes each)."""
    joined = "".join(map(str, texts))
    return '"' in joined or "\\" in joined or not joined.isprintable()


def read_header(fh: IO[bytes]) -> list[str]:
    """The column names of a CSV's first line (a UTF-8 byte-order mark is ignored)."""
    first = fh.readline()
    if not first.strip():
        raise InvalidBatchFile({"file": [gettext("The file is empty: the first line must name the columns.")]})
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidBatchFile({"file": [gettext("The header is not UTF-8 text: is this a CSV file?")]}) from exc
    text = text.removesuffix("\n").removesuffix("\r")
    if "\r" in text or "\x00" in text:
        # A file whose lines end with a bare CR (old Mac style) reads as one line: say so, not a 500.
        raise InvalidBatchFile(
            {
                "file": [
                    gettext("The first line holds a carriage return (CR) or NUL byte: lines must end with LF or CRLF.")
                ]
            }
        )
    try:
        names = next(csv.reader([text]), [])
    except csv.Error as exc:
        raise InvalidBatchFile(
            {"file": [gettext("The header line is not valid CSV (%(error)s).") % {"error": exc}]}
        ) from exc
    return [name.strip() for name in names]
