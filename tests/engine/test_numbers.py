"""Numbers are scored exactly as written, or refused naming the field: the text grammar, form text, JSON, frames."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring.engine import INTEGER, NUMBER, Feature, InvalidApplication
from scoring.engine.numbers import parse_number, parse_number_texts
from scoring.engine.validation import NOT_A_NUMBER, NOT_A_WHOLE_NUMBER, validate_application, validate_frame

AMOUNT = Feature(name="amount", kind=NUMBER, label="Amount", min=-1000, max=100_000)
MONTHS = Feature(name="months", kind=INTEGER, label="Months", min=1, max=120)

# Each of these is what a looser parser (float(), pd.to_numeric, deleting commas) reads as some number.
NOT_NUMBERS = [
    pytest.param("999,99", id="decimal-comma"),
    pytest.param("1,500", id="comma-grouping"),
    pytest.param("1.500,50", id="dot-grouping-and-comma"),
    pytest.param("1 500", id="space-grouping"),
    pytest.param("1\u00a0500", id="nbsp-grouping"),
    pytest.param("1'500", id="apostrophe-grouping"),
    pytest.param("1_2", id="underscore"),
    pytest.param("1e1", id="exponent"),
    pytest.param("1E-2", id="exponent-upper"),
    pytest.param("0x10", id="hex"),
    pytest.param("\u0663\u0664", id="arabic-indic-digits"),
    pytest.param("\u06f3", id="extended-arabic-indic-digit"),
    pytest.param("\uff11\uff12", id="full-width-digits"),
    pytest.param("\u00b2", id="superscript-two"),
    pytest.param("\u0967", id="devanagari-digit"),
    pytest.param("12abc", id="trailing-junk"),
    pytest.param("abc12", id="leading-junk"),
    pytest.param("12 DM", id="trailing-unit"),
    pytest.param("$12", id="currency-sign"),
    pytest.param("12\n", id="trailing-newline"),
    pytest.param("\u00a012", id="leading-nbsp"),
    pytest.param("NaN", id="nan"),
    pytest.param("nan", id="nan-lower"),
    pytest.param("inf", id="inf"),
    pytest.param("-Infinity", id="minus-infinity"),
    pytest.param("1.", id="point-without-decimals"),
    pytest.param(".5", id="decimals-without-integer-part"),
    pytest.param("1.2.3", id="two-points"),
    pytest.param("+3", id="plus-sign"),
    pytest.param("--3", id="double-minus"),
    pytest.param("\u22123", id="unicode-minus"),
    pytest.param("-", id="sign-only"),
    pytest.param("", id="empty"),
    pytest.param("1" * 41, id="too-long"),
]
NUMBERS = [
    ("12", 12.0),
    ("0", 0.0),
    ("-3", -3.0),
    ("1500.50", 1500.5),
    ("0.25", 0.25),
    ("007", 7.0),
    (" 12\t", 12.0),  # spaces around, as a CSV written with ", " between values has
]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_the_grammar_refuses_anything_but_digits_and_one_point(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(("text", "value"), NUMBERS)
def test_the_grammar_reads_plain_decimals(text, value):
    assert parse_number(text) == value


def test_the_column_parser_agrees_with_the_one_value_parser():
    texts = [p.values[0] for p in NOT_NUMBERS] + [t for t, _ in NUMBERS]
    parsed = parse_number_texts(pd.Series(texts, dtype=object))
    expected = [parse_number(t) for t in texts]
    assert [None if v != v else v for v in parsed.tolist()] == expected


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_form_text_that_is_not_exactly_a_number_is_an_error_naming_the_field(text):
    with pytest.raises(InvalidApplication) as caught:
        validate_application([AMOUNT, MONTHS], [], {"amount": text, "months": text}, text=True)
    errors = caught.value.errors
    if text == "":
        assert errors == {"amount": ["This field is required."], "months": ["This field is required."]}
    else:
        assert errors == {"amount": [NOT_A_NUMBER], "months": [NOT_A_WHOLE_NUMBER]}


def test_form_text_is_scored_as_written():
    application = validate_application([AMOUNT, MONTHS], [], {"amount": "999.99", "months": "24"}, text=True)
    assert application.features == {"amount": 999.99, "months": 24}
    assert isinstance(application.features["months"], int)


@pytest.mark.parametrize("text", ["2.5", "24.01"])
def test_a_fraction_for_a_whole_number_is_refused_not_cut(text):
    with pytest.raises(InvalidApplication) as caught:
        validate_application([MONTHS], [], {"months": text}, text=True)
    assert caught.value.errors == {"months": ["Expected a whole number."]}


def test_a_whole_number_written_with_zero_decimals_is_that_number():
    assert validate_application([MONTHS], [], {"months": "24.0"}, text=True).features == {"months": 24}


@pytest.mark.parametrize("value", ["12", "1500.5", "999,99", " 7"])
def test_json_strings_are_not_numbers(value):
    with pytest.raises(InvalidApplication) as caught:
        validate_application([AMOUNT, MONTHS], [], {"amount": value, "months": value})
    assert caught.value.errors == {
        "amount": ["Expected a number, not a string: send a JSON number, without quotes."],
        "months": ["Expected a whole number, not a string: send a JSON number, without quotes."],
    }


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize("text", [False, True])
def test_booleans_are_not_numbers(value, text):
    with pytest.raises(InvalidApplication) as caught:
        validate_application([AMOUNT, MONTHS], [], {"amount": value, "months": value}, text=text)
    assert caught.value.errors == {
        "amount": ["Expected a number, not true or false."],
        "months": ["Expected a whole number, not true or false."],
    }


def test_json_numbers_are_scored_as_sent():
    application = validate_application([AMOUNT, MONTHS], [], {"amount": 999.99, "months": 24.0})
    assert application.features == {"amount": 999.99, "months": 24}


@pytest.mark.parametrize("value", [1, 1.5])
def test_json_numbers_are_not_text_for_a_categorical_field(value):
    colour = Feature(name="colour", kind="categorical", label="Colour", choices=("1", "1.5"))
    with pytest.raises(InvalidApplication) as caught:
        validate_application([colour], [], {"colour": value})
    assert caught.value.errors == {"colour": ["Expected text."]}


def test_frame_text_follows_the_same_grammar_row_by_row():
    texts = [p.values[0] for p in NOT_NUMBERS if p.values[0]] + [t for t, _ in NUMBERS]
    for dtype in ("category", object):  # a batch file's columns, and the csv module's fallback
        frame = pd.DataFrame({"amount": texts, "months": ["12"] * len(texts)}, dtype=dtype)
        checked = validate_frame([AMOUNT, MONTHS], [], frame)
        bad = len(texts) - len(NUMBERS)
        assert sorted(checked.errors) == list(range(bad))
        assert all(e == {"amount": [NOT_A_NUMBER]} for e in checked.errors.values())
        assert checked.valid["amount"].tolist() == [v for _, v in NUMBERS]


def test_frame_booleans_and_fractions_are_row_errors():
    frame = pd.DataFrame({"amount": [True, 5.0, 7], "months": [12, 2.5, 3]}, dtype=object)
    checked = validate_frame([AMOUNT, MONTHS], [], frame)
    assert checked.errors == {0: {"amount": [NOT_A_NUMBER]}, 1: {"months": ["Expected a whole number."]}}
    assert checked.valid.to_dict("records") == [{"amount": 7.0, "months": 3}]
