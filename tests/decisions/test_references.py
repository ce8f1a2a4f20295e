"""The reference rule is stated once and means the same as the schema's ECMA pattern, the API, forms and batch files."""

from __future__ import annotations

import jsonschema_rs
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.batch import rows as batch_rows
from scoring.decisions import references
from scoring.engine import load_bundle
from scoring.models import Prediction
from tests.batch.test_batch_rows import _context
from tests.support import DEFAULT_BUNDLE
from tests.support.batch_files import csv_bytes, synthetic_frame

HOSTILE = ["a\x07\x1b[31mb", "line\nbreak", "tab\there", "del\x7f", "c1\x85", "sep\u2028", "\ufffe"]
# What jsonschema-rs (the validator schemathesis uses) makes of the schema's pattern: ECMA-262 semantics.
ECMA = jsonschema_rs.validator_for({"type": "string", "pattern": references.PATTERN})


def test_the_pattern_and_the_check_agree_on_every_code_point_of_the_bmp():
    disagree = []
    for code in range(0x10000):
        char = chr(code)
        server = references.reference_problem(char) is None
        if 0xD800 <= code <= 0xDFFF:
            # A lone surrogate is not a string in JSON or Rust; the server refuses it, which is what matters.
            if server:
                disagree.append(code)
            continue
        if server != ECMA.is_valid(char):
            disagree.append(code)
    assert disagree == []


def test_the_rule_is_the_one_stated():
    allowed = {c for c in range(0x10000) if references.reference_problem(chr(c)) is None}

    assert len(references.PATTERN) < 80  # one short character class, readable in the schema
    assert not allowed & (set(range(0x20)) | set(range(0x7F, 0xA0)))  # C0, DEL, C1
    assert not allowed & ({0x2028, 0x2029, 0xFFFE, 0xFFFF} | set(range(0xD800, 0xE000)))
    assert {ord(" "), ord("é"), 0x3042, 0xE000, 0xFFFD} <= allowed


@given(st.text(max_size=120))
def test_any_text_is_valid_for_the_server_exactly_when_the_schema_says_so(text):
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert references.reference_problem(text) is not None
        return
    schema_says = ECMA.is_valid(text) and len(text.encode("utf-16-le")) // 2 <= references.MAX_LENGTH
    assert (references.reference_problem(text) is None) == schema_says


@given(st.from_regex(references.PATTERN, fullmatch=True))
def test_text_generated_from_the_pattern_passes_the_check(text):
    # The fuzzer generates from the pattern the same way; an unparsable or astral pattern would fail here.
    assert references.reference_problem(text[: references.MAX_LENGTH]) is None


@pytest.mark.parametrize("ref", HOSTILE)
def test_the_api_refuses_control_characters_in_a_reference(officer_api, active_version, example_inputs, ref):
    one = officer_api.post("/api/v1/score", {"inputs": example_inputs, "external_ref": ref}, format="json")
    many = officer_api.post(
        "/api/v1/score/many", {"applications": [{"inputs": example_inputs, "external_ref": ref}]}, format="json"
    )

    assert one.status_code == 400
    assert "external_ref" in one.json()["errors"]
    assert many.status_code == 200
    assert "external_ref" in many.json()["results"][0]["errors"]
    assert Prediction.objects.count() == 0


def test_the_api_takes_printable_references_and_trims_spaces(officer_api, active_version, example_inputs):
    for ref, stored in [
        (" Müller-Straße 5 ", "Müller-Straße 5"),
        ("日本-" + "x" * 97, "日本-" + "x" * 97),
        ("   ", ""),
    ]:
        body = {"inputs": example_inputs, "external_ref": ref, "force": True}  # the same inputs each time
        response = officer_api.post("/api/v1/score", body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["external_ref"] == stored


@pytest.mark.parametrize("ref", ["x" * 101, 12, ["a"]])
def test_the_api_refuses_long_or_non_text_references(officer_api, active_version, example_inputs, ref):
    response = officer_api.post("/api/v1/score", {"inputs": example_inputs, "external_ref": ref}, format="json")

    assert response.status_code == 400
    assert "external_ref" in response.json()["errors"]


def test_the_schema_states_the_rule_the_server_uses(officer_api, active_version):
    schema = officer_api.get("/api/v1/schema/?format=json").json()
    ref = schema["components"]["schemas"]["ScoreRequest"]["properties"]["external_ref"]

    assert (ref["type"], ref["pattern"], ref["maxLength"]) == ("string", references.PATTERN, references.MAX_LENGTH)
    assert "oneOf" not in ref  # a blank reference matches the pattern itself


@pytest.mark.parametrize("ref", HOSTILE[:4])
def test_the_web_form_refuses_control_characters_in_a_reference(submit_reference, ref):
    response = submit_reference(ref)

    assert response.status_code == 200  # the form again, with the error next to the field
    assert "printable" in response.content.decode()
    assert Prediction.objects.count() == 0


@pytest.fixture
def submit_reference(client, officer, active_version, example_inputs):
    from tests.decisions.test_officer_pages import submit

    client.force_login(officer)
    return lambda ref: submit(client, example_inputs, external_ref=ref)


def test_a_batch_row_with_a_control_character_in_its_reference_is_a_row_error():
    model = load_bundle(DEFAULT_BUNDLE)
    frame = synthetic_frame(4)
    frame.loc[1, "external_ref"] = "a\x07\x1b[31mb"
    frame.loc[2, "external_ref"] = "y" * 101
    content = csv_bytes(frame)
    header, _, data = content.partition(b"\n")
    rows = batch_rows.score_chunk(
        model, context=_context(model), columns=header.decode().split(","), data=data, first_row=1, reason_count=4
    )

    assert set(rows.errors) == {2, 3}
    assert "U+0007" in rows.errors[2]["external_ref"][0]
    assert "101" in rows.errors[3]["external_ref"][0]
    assert len(rows) == 2
    records = list(rows.records())
    assert [r["external_ref"] for r in records] == list(pd.Series(frame["external_ref"]).iloc[[0, 3]])
