"""The outcome service: every rule, all or nothing, idempotent re-sends, corrections, who may report."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from scoring.exceptions import IdempotencyConflict, NotAllowed
from scoring.models import LoanOutcome, OutcomeUpload
from scoring.outcomes.services import record_outcomes
from tests.support.outcomes import seed_outcomes

TODAY = timezone.localdate


def row(**fields) -> dict[str, object]:
    """A CSV-like row: every column present, as text."""
    base = dict.fromkeys(("decision_id", "external_ref", "outcome", "observed_on", "days_past_due", "reason"), "")
    base.update({"outcome": "repaid", "observed_on": TODAY().isoformat()})
    base.update({k: str(v) for k, v in fields.items()})
    return base


def record(rows, user, **kwargs):
    return record_outcomes(rows, user=user, source=LoanOutcome.Source.UPLOAD, source_ref="test.csv", **kwargs)


def errors_of(result) -> list[tuple[int | None, str]]:
    return [(e.row, e.field) for e in result.errors]


def test_it_stores_new_outcomes_by_id_and_by_reference(decisions, auditor):
    first, second = decisions[0], decisions[1]
    result = record(
        [row(decision_id=first.pk), row(external_ref="LOAN-2", outcome="defaulted", days_past_due=95)], auditor
    )

    assert result.ok and (result.stored, result.corrected, result.unchanged) == (2, 0, 0)
    stored = {o.prediction_id: o for o in LoanOutcome.objects.all()}
    assert stored[first.pk].outcome == "repaid" and stored[first.pk].days_past_due is None
    assert stored[second.pk].outcome == "defaulted" and stored[second.pk].days_past_due == 95
    assert stored[second.pk].external_ref == "LOAN-2"
    upload = OutcomeUpload.objects.get()
    assert result.upload == upload and upload.file_name == "test.csv" and upload.created_by == auditor
    assert {o.source_ref for o in stored.values()} == {str(upload.pk)}
    assert (upload.row_count, upload.stored, upload.corrected, upload.unchanged) == (2, 2, 0, 0)


def test_sending_the_same_rows_again_stores_nothing_new(decisions, model_admin):
    rows = [row(decision_id=decisions[0].pk, days_past_due=0), row(external_ref="LOAN-2", outcome="withdrawn")]
    record(rows, model_admin)

    again = record(rows, model_admin)

    assert again.ok and (again.stored, again.corrected, again.unchanged) == (0, 0, 2)
    assert again.upload is None
    assert LoanOutcome.objects.count() == 2 and OutcomeUpload.objects.count() == 1


def test_a_different_row_is_a_correction_that_needs_a_reason(decisions, auditor, model_admin):
    decision = decisions[0]
    record([row(decision_id=decision.pk, outcome="defaulted", days_past_due=30)], auditor)

    refused = record([row(decision_id=decision.pk, outcome="repaid")], model_admin)
    assert errors_of(refused) == [(1, "reason")]
    assert "already has an outcome (Defaulted, observed" in refused.errors[0].message
    assert "30 days past due" in refused.errors[0].message
    assert LoanOutcome.objects.count() == 1

    corrected = record(
        [row(decision_id=decision.pk, outcome="repaid", reason="Paid after the grace period.")], model_admin
    )
    assert corrected.ok and (corrected.stored, corrected.corrected) == (0, 1)
    first, correction = LoanOutcome.objects.order_by("id")
    assert correction.supersedes == first and correction.created_by == model_admin
    assert correction.reason == "Paid after the grace period."
    assert list(LoanOutcome.objects.current()) == [correction]


def test_a_blank_reason_is_no_reason(decisions, auditor):
    record([row(decision_id=decisions[0].pk)], auditor)

    result = record([row(decision_id=decisions[0].pk, outcome="defaulted", reason="   ")], auditor)

    assert errors_of(result) == [(1, "reason")]


def test_one_bad_row_stores_nothing_and_every_error_is_returned(decisions, auditor):
    tomorrow = (TODAY() + timedelta(days=1)).isoformat()
    rows = [
        row(decision_id=decisions[0].pk),  # valid
        row(decision_id=decisions[1].pk, observed_on=tomorrow),
        row(external_ref="NOPE"),
        row(external_ref="DUP"),
        row(decision_id=999999),
    ]

    result = record(rows, auditor)

    assert errors_of(result) == [(2, "observed_on"), (3, "external_ref"), (4, "external_ref"), (5, "decision_id")]
    messages = [e.message for e in result.errors]
    assert "in the future" in messages[0]
    assert "matches no decision" in messages[1]
    assert "matches 2 decisions; give the decision id" in messages[2]
    assert "No decision #999999" in messages[3]
    assert (result.stored, result.corrected, result.unchanged) == (0, 0, 0)
    assert not LoanOutcome.objects.exists() and not OutcomeUpload.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"days_past_due": "1.0"}, "days_past_due", "whole number"),
        ({"days_past_due": "-3"}, "days_past_due", "whole number"),
        ({"days_past_due": " 3"}, "days_past_due", "whole number"),
        ({"outcome": "Repaid"}, "outcome", "lower case"),
        ({"outcome": "paid"}, "outcome", "not an outcome code"),
        ({"outcome": ""}, "outcome", "Give the outcome"),
        ({"observed_on": "2024-1-5"}, "observed_on", "YYYY-MM-DD"),
        ({"observed_on": "05/01/2024"}, "observed_on", "YYYY-MM-DD"),
        ({"observed_on": "2024-02-30"}, "observed_on", "YYYY-MM-DD"),
        ({"observed_on": ""}, "observed_on", "Give the date"),
        ({"outcome": "withdrawn", "days_past_due": "0"}, "days_past_due", "withdrawn"),
        ({"decision_id": "1e3"}, "decision_id", "digits only"),
        ({"decision_id": "=1+1"}, "decision_id", "digits only"),
        ({"external_ref": "x" * 101}, "external_ref", "At most 100"),
    ],
)
def test_each_bad_value_is_an_error_naming_its_field(decisions, auditor, fields, field, words):
    fields = {"external_ref": "LOAN-1"} | fields if "decision_id" not in fields else fields
    result = record([row(**fields)], auditor)

    assert field in [e.field for e in result.errors], result.errors
    assert any(words in e.message for e in result.errors if e.field == field), result.errors
    assert not LoanOutcome.objects.exists()


def test_a_row_names_its_decision_once(decisions, auditor):
    both = record([row(decision_id=decisions[0].pk, external_ref="LOAN-1")], auditor)
    neither = record([row()], auditor)

    assert errors_of(both) == [(1, "external_ref")] and "not both" in both.errors[0].message
    assert errors_of(neither) == [(1, "decision_id")]


def test_two_rows_for_one_decision_are_refused(decisions, auditor):
    result = record([row(decision_id=decisions[0].pk), row(external_ref="LOAN-1", outcome="defaulted")], auditor)

    assert errors_of(result) == [(2, "external_ref")]
    assert "Row 1 is about the same decision" in result.errors[0].message
    assert not LoanOutcome.objects.exists()


def test_an_outcome_cannot_be_observed_before_the_decision(decisions, auditor):
    before = (timezone.localdate(decisions[0].created_at) - timedelta(days=1)).isoformat()

    result = record([row(decision_id=decisions[0].pk, observed_on=before)], auditor)

    assert errors_of(result) == [(1, "observed_on")] and "before the decision" in result.errors[0].message


def test_typed_values_from_the_api_are_taken_as_they_are(decisions, auditor):
    typed = {"decision_id": decisions[0].pk, "outcome": "defaulted", "observed_on": TODAY(), "days_past_due": 12}

    result = record_outcomes([typed], user=auditor, source=LoanOutcome.Source.API)

    assert result.ok and LoanOutcome.objects.get().days_past_due == 12


def test_errors_use_the_row_numbers_given(decisions, auditor):
    result = record([row(outcome="bad", external_ref="LOAN-1")], auditor, numbers=[7])

    assert errors_of(result) == [(7, "outcome")]


def test_officers_may_not_report_outcomes(decisions, officer):
    with pytest.raises(NotAllowed):
        record([row(decision_id=decisions[0].pk)], officer)
    assert not LoanOutcome.objects.exists()


def test_an_idempotency_key_replays_its_result_and_refuses_another_set(decisions, auditor):
    rows = [{"decision_id": decisions[0].pk, "outcome": "repaid", "observed_on": TODAY()}]
    first = record_outcomes(rows, user=auditor, source=LoanOutcome.Source.API, idempotency_key="k-1")

    replay = record_outcomes(rows, user=auditor, source=LoanOutcome.Source.API, idempotency_key="k-1")

    assert replay.replayed and replay.upload == first.upload and replay.stored == 1
    other = [{"decision_id": decisions[1].pk, "outcome": "repaid", "observed_on": TODAY()}]
    with pytest.raises(IdempotencyConflict):
        record_outcomes(other, user=auditor, source=LoanOutcome.Source.API, idempotency_key="k-1")
    assert LoanOutcome.objects.count() == 1


def test_seeded_outcomes_are_valid_standing_outcomes(decisions):
    seeded = seed_outcomes(decisions, random.Random(7))

    assert len(seeded) == len(decisions) == LoanOutcome.objects.current().count()
    for outcome in LoanOutcome.objects.all():
        assert outcome.outcome in LoanOutcome.Outcome.values
        assert timezone.localdate(outcome.prediction.created_at) <= outcome.observed_on <= TODAY()
        assert (outcome.days_past_due is None) == (outcome.outcome == LoanOutcome.Outcome.WITHDRAWN)
    assert [o.outcome for o in seed_outcomes(decisions, random.Random(7))] == [o.outcome for o in seeded]


def test_the_insert_writes_every_column_of_the_table():
    from scoring.outcomes.services import _INSERT_COLUMNS

    columns = {f.column for f in LoanOutcome._meta.concrete_fields} - {LoanOutcome._meta.pk.column}
    assert set(_INSERT_COLUMNS) == columns and len(_INSERT_COLUMNS) == len(columns)
