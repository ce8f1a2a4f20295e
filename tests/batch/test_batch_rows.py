"""The vectorised batch path writes exactly what the one-application path would: same JSON, same reasons."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from scoring.batch import rows as batch_rows
from scoring.engine import load_bundle
from scoring.engine.validation import NOT_A_WHOLE_NUMBER
from tests.support import DEFAULT_BUNDLE
from tests.support.batch_files import csv_bytes, synthetic_frame


@pytest.fixture(scope="module")
def model():
    return load_bundle(DEFAULT_BUNDLE)


def _context(model):
    return batch_rows.RowContext(
        created_at=timezone.now(),
        user_id=1,
        model_version_id=2,
        batch_job_id=3,
        threshold=model.threshold,
        refer_lower=model.refer_lower,
    )


def _chunk(frame: pd.DataFrame) -> tuple[list[str], bytes]:
    content = csv_bytes(frame)
    header, _, data = content.partition(b"\n")
    return next(csv.reader([header.decode()])), data


def test_reasons_as_json_are_the_reason_objects_json(model):
    frame = synthetic_frame(400)
    valid = model.validate_frame(frame).valid
    as_objects = model.score_frame(valid, reasons_for="all")
    as_text = model.score_frame(valid, reasons_for="all", reasons_as_json=True)
    assert np.array_equal(as_objects.probabilities, as_text.probabilities)
    for reasons, text in zip(as_objects.reasons, as_text.reasons_json, strict=True):
        assert text == json.dumps([r.as_dict() for r in reasons])
    declines = model.score_frame(valid, reasons_as_json=True)
    assert all((t != "[]") == (d == "decline") for t, d in zip(declines.reasons_json, declines.decisions, strict=True))


def test_a_frames_reasons_equal_one_application_at_a_time(model):
    frame = synthetic_frame(30)
    valid = model.validate_frame(frame).valid
    many = model.score_frame(valid, reasons_for="all")
    for k, (_, row) in enumerate(valid.iterrows()):
        one = model.score_one(model.validate(row.to_dict()).features)
        assert [r.as_dict() for r in one.reasons] == [r.as_dict() for r in many.reasons[k]]


def test_json_objects_equal_json_dumps_whatever_the_text():
    texts = np.array(["plain", 'with "quotes"', "back\\slash", "tab\there", "ünï ✓", "100%", ""], dtype=object)
    ints = np.arange(len(texts), dtype=np.int64) * 1000
    floats = np.array([0.1, 1e-7, 2.5, -0.0, 1e20, 3.0, 12.25])

    class Kind:
        def __init__(self, kind):
            self.kind = kind

    objects = batch_rows.json_objects(
        ["text", "a%key", "n"],
        [texts, ints, floats],
        [Kind("categorical"), Kind("integer"), Kind("number")],
        clean=False,  # a chunk holding such text is never "clean": each column is checked
    )
    for k, text in enumerate(objects.texts()):
        assert json.loads(text) == {"text": texts[k], "a%key": int(ints[k]), "n": float(floats[k])}
        assert text == json.dumps({"text": texts[k], "a%key": int(ints[k]), "n": float(floats[k])}, ensure_ascii=False)


def test_a_chunk_with_odd_text_round_trips_through_copy_text(model):
    frame = synthetic_frame(6)
    frame.loc[1, "external_ref"] = "Müller-Straße 5/7 ; 日本"
    frame.loc[2, "external_ref"] = "back\\slash"
    frame.loc[3, "external_ref"] = 'say "hi", twice'
    columns, data = _chunk(frame)
    rows = batch_rows.score_chunk(
        model, context=_context(model), columns=columns, data=data, first_row=1, reason_count=4
    )
    assert len(rows) == 6 and not rows.errors
    lines = "".join(rows.copy_blocks(4)).split("\n")[:-1]
    assert len(lines) == 6
    for line, record in zip(lines, rows.records(), strict=True):
        cells = [_copy_unescape(c) for c in line.split("\t")]
        assert len(cells) == len(batch_rows.COPY_COLUMNS)
        by_name = dict(zip(batch_rows.COPY_COLUMNS, cells, strict=True))
        assert json.loads(by_name["features"]) == record["features"]
        assert json.loads(by_name["reasons"]) == record["reasons"]
        assert by_name["external_ref"] == record["external_ref"]
        assert by_name["input_line"] == record["input_line"]
        assert by_name["policy_version_id"] is None and record["policy_version_id"] is None
        assert by_name["model_decision"] == record["model_decision"] == record["decision"]
        assert json.loads(by_name["policy_rules"]) == record["policy_rules"] == []
        assert by_name["deciding_rule"] == record["deciding_rule"] == ""
    refs = [r["external_ref"] for r in rows.records()]
    assert refs[1:4] == ["Müller-Straße 5/7 ; 日本", "back\\slash", 'say "hi", twice']
    assert next(csv.reader([list(rows.records())[3]["input_line"]]))[0] == 'say "hi", twice'


def _copy_unescape(cell: str) -> str | None:
    if cell == "\\N":  # COPY's NULL
        return None
    out, i = [], 0
    escapes = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    while i < len(cell):
        if cell[i] == "\\" and i + 1 < len(cell):
            out.append(escapes[cell[i + 1]])
            i += 2
        else:
            out.append(cell[i])
            i += 1
    return "".join(out)


def test_lines_are_checked_with_numpy_and_odd_ones_read_one_by_one(model):
    frame = synthetic_frame(3)
    columns, data = _chunk(frame)
    good = data.decode().splitlines()
    quoted = io.StringIO()
    csv.writer(quoted, lineterminator="").writerow(["A, quoted ref", *next(csv.reader([good[0]]))[1:]])
    text = "\r\n".join(
        [good[0], "", quoted.getvalue(), good[1] + ",extra", '"unbalanced,' + good[2], "   ", good[2]]
    ).encode()
    parsed, errors, lines, _ = batch_rows.parse_lines(b"\xef\xbb\xbf" + text, columns=columns, first_row=1)
    assert list(parsed.index) == [1, 3, 7]
    assert parsed.loc[3, "external_ref"] == "A, quoted ref"
    assert lines == [good[0], quoted.getvalue(), good[2]]  # exactly as in the file, without CR or BOM
    assert errors == {
        2: {"row": ["Empty line."]},
        4: {"row": [f"Expected {len(columns)} columns, found {len(columns) + 1}."]},
        5: {"row": ["Unbalanced quotes."]},
        6: {"row": ["Empty line."]},
    }


# What pandas' to_numeric (the reader before) took as a number, and what deleting commas would invent.
NUMBERS_WRITTEN_WRONG = ["999,99", "1,500", "1_500", "1e3", "+1500", ".5e4", "\u0661\u0665\u0660\u0660", "inf", "15 00"]


def test_each_number_written_wrong_is_its_rows_error_and_the_other_rows_are_scored(model):
    frame = synthetic_frame(len(NUMBERS_WRITTEN_WRONG) + 2)
    frame["credit_amount"] = ["2500", *NUMBERS_WRITTEN_WRONG, " 1500 "]
    frame.loc[len(frame) - 1, "duration_in_month"] = "2.5"  # a fraction of a whole number: refused, not cut
    columns, data = _chunk(frame)

    rows = batch_rows.score_chunk(
        model, context=_context(model), columns=columns, data=data, first_row=1, reason_count=4
    )

    wrong = {n: {"credit_amount": [NOT_A_WHOLE_NUMBER]} for n in range(2, len(NUMBERS_WRITTEN_WRONG) + 2)}
    assert rows.errors == wrong | {len(frame): {"duration_in_month": ["Expected a whole number."]}}
    assert rows.row_numbers.tolist() == [1]
    assert json.loads(rows.features.texts()[0])["credit_amount"] == 2500
    assert rows.error_refs == {n: frame.loc[n - 1, "external_ref"] for n in [*wrong, len(frame)]}


def _mutated(line: bytes, rng: np.random.Generator) -> bytes:
    """A good line with a few bytes changed, inserted or deleted; the bytes CSV readers trip over are favoured."""
    data = bytearray(line)
    for _ in range(int(rng.integers(1, 5))):
        at = int(rng.integers(0, len(data) + 1))
        byte = int(
            rng.choice([0, ord("\r"), ord('"'), ord(","), ord("\\"), 0xC3, 0xFC, 0xFF, int(rng.integers(1, 256))])
        )
        if byte == ord("\n"):
            byte = ord(" ")
        action = rng.integers(0, 3)
        if action == 0 and at < len(data):
            data[at] = byte
        elif action == 1:
            data.insert(at, byte)
        elif at < len(data):
            del data[at]
    return bytes(data)


def test_no_chunk_of_mutated_lines_makes_scoring_raise(model):
    """Fuzz: every line is a scored row or a row error, the COPY text never holds a NUL, and nothing raises."""
    frame = synthetic_frame(40, seed=3)
    columns, data = _chunk(frame)
    good = data.splitlines()
    rng = np.random.default_rng(2024)
    for _ in range(150):
        lines = [_mutated(line, rng) if rng.random() < 0.4 else line for line in good]
        if rng.random() < 0.3:
            lines.insert(int(rng.integers(0, len(lines))), rng.bytes(int(rng.integers(1, 120))).replace(b"\n", b""))
        chunk = b"\n".join(lines) + b"\n"
        result = batch_rows.score_chunk(
            model, context=_context(model), columns=columns, data=chunk, first_row=1, reason_count=4
        )
        assert len(result) + len(result.errors) == len(lines)
        if len(result):
            text = "".join(result.copy_blocks(1000))
            assert "\x00" not in text and "\ufffd" not in text
            assert sum(1 for _ in result.records()) == len(result)
