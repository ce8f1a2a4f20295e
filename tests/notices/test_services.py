"""Issuing adverse-action notices: only for final declines, the reasons as statements, kept exactly as issued."""

from __future__ import annotations

import hashlib
import threading

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from scoring.decisions import services as decision_services
from scoring.exceptions import InvalidNotice, NotAllowed, NotFinalDecline
from scoring.models import AdverseActionNotice, NoticeIsFinal
from scoring.notices import services
from tests.support.applications import decided

ADDRESS = "Hauptstrasse 5\n10115 Berlin"


def issue(officer, prediction, **kwargs):
    fields = {"applicant_name": "Anna Schmidt", "applicant_address": ADDRESS} | kwargs
    return services.issue_notice(user=officer, prediction=prediction, **fields)


def test_it_issues_a_notice_for_a_model_decline_with_its_reasons_as_statements(officer, active_version, settings):
    settings.LENDER_NAME = "Musterbank AG"
    settings.LENDER_ADDRESS = "Bankplatz 1, 60311 Frankfurt"
    settings.ADVERSE_ACTION_STATUTORY_TEXT = "You may ask for the reasons.\n\nYou may contest the decision."
    prediction = decided(officer, "decline")
    notice = issue(officer, prediction)
    content = notice.content
    assert content["lender"] == {"name": "Musterbank AG", "address": "Bankplatz 1, 60311 Frankfurt"}
    assert content["applicant"] == {"name": "Anna Schmidt", "address": ["Hauptstrasse 5", "10115 Berlin"]}
    assert content["action"] == "Your application for a loan of 7,882 DM over 42 months has been declined."
    assert content["statutory_text"] == ["You may ask for the reasons.", "You may contest the decision."]
    assert content["reasons"] == [r["statement"] for r in prediction.reasons][:4]
    assert len(content["reasons"]) == 4
    assert notice.user == officer and notice.review is None and notice.prediction == prediction
    for text in ("Musterbank AG", "Anna Schmidt", "10115 Berlin", "You may contest the decision.", content["action"]):
        assert text in notice.body_html
    assert notice.sha256 == hashlib.sha256(notice.body_html.encode()).hexdigest()


def test_reasons_prefer_statements_skip_risk_lowering_ones_and_stop_at_four(officer, active_version):
    prediction = decided(officer, "decline")
    prediction.reasons = [
        {
            "feature": "a",
            "code": "A1",
            "statement": "Balance of checking account too low",
            "sentence": "x",
            "contribution": 0.9,
        },
        {"feature": "b", "sentence": "Loan duration: 42 months raised the risk of default.", "contribution": 0.5},
        {"feature": "c", "code": "C1", "statement": "Savings too low", "contribution": -0.2},
        {"feature": "d", "code": "A1", "statement": "Balance of checking account too low", "contribution": 0.4},
        {"feature": "e", "code": "E1", "statement": "Length of employment too short", "contribution": 0.3},
        {"feature": "f", "code": "F1", "statement": "Too many existing credits", "contribution": 0.2},
        {"feature": "g", "code": "G1", "statement": "Purpose of the loan", "contribution": 0.1},
    ]
    assert services.applicant_reasons(prediction) == [
        "Balance of checking account too low",
        "Loan duration: 42 months raised the risk of default.",
        "Length of employment too short",
        "Too many existing credits",
    ]


def test_it_refuses_a_decision_that_is_not_a_final_decline(officer, active_version):
    approved = decided(officer, "approve")
    with pytest.raises(NotFinalDecline):
        issue(officer, approved)
    declined = decided(officer, "decline")
    decision_services.record_review(
        user=officer,
        prediction=declined,
        outcome="approve",
        reason_code="collateral",
        justification="Guarantor signed.",
    )
    with pytest.raises(NotFinalDecline):
        issue(officer, declined)
    assert not AdverseActionNotice.objects.exists()


def test_a_review_that_declines_makes_a_final_decline(officer, active_version):
    referred = decided(officer, "refer")
    review = decision_services.record_review(
        user=officer,
        prediction=referred,
        outcome="decline",
        reason_code="affordability",
        justification="Rent too high.",
    )
    assert services.final_decision_of(referred).is_decline
    notice = issue(officer, referred)
    assert notice.review == review


def test_only_the_officer_of_the_case_issues_it(officer, other_officer, auditor, active_version):
    prediction = decided(officer, "decline")
    for user in (other_officer, auditor):
        with pytest.raises(NotAllowed):
            issue(user, prediction)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"applicant_name": "  "}, "applicant_name"),
        ({"applicant_name": "A" * 201}, "applicant_name"),
        ({"applicant_name": "Anna\tSchmidt"}, "applicant_name"),
        ({"applicant_address": ""}, "applicant_address"),
        ({"applicant_address": "x" * 501}, "applicant_address"),
        ({"applicant_address": "Street 1\x07\nBerlin"}, "applicant_address"),
        ({"applicant_address": "\n".join(["line"] * 9)}, "applicant_address"),
    ],
)
def test_it_refuses_unusable_applicant_details_naming_the_field(officer, active_version, fields, field):
    prediction = decided(officer, "decline")
    with pytest.raises(InvalidNotice) as caught:
        issue(officer, prediction, **fields)
    assert list(caught.value.errors) == [field]


def test_an_issued_notice_cannot_be_changed_or_deleted(officer, active_version):
    notice = issue(officer, decided(officer, "decline"))
    notice.body_html = "something else"
    with pytest.raises(NoticeIsFinal):
        notice.save()
    with pytest.raises(NoticeIsFinal):
        notice.delete()
    notice.refresh_from_db()
    assert "Anna Schmidt" in notice.body_html


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_a_notice(officer, active_version):
    notice = issue(officer, decided(officer, "decline"))
    for statement in (
        "UPDATE scoring_adverseactionnotice SET body_html = 'x' WHERE id = %s",
        "DELETE FROM scoring_adverseactionnotice WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match=r"append-only|permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [notice.pk])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_review_being_recorded_while_the_notice_is_asked_for_wins(officer, active_version, settings):
    settings.OVERRIDE_PD_LIMIT = 1.0  # the officer may override this case alone
    prediction = decided(officer, "decline")
    locked, release = threading.Event(), threading.Event()

    def override_in_progress():
        try:
            with transaction.atomic():
                decision_services.lock_reviews_of(prediction)
                locked.set()
                release.wait(5)
                decision_services.record_review(
                    user=officer,
                    prediction=prediction,
                    outcome="approve",
                    reason_code="collateral",
                    justification="House pledged.",
                )
        finally:
            connection.close()

    reviewer = threading.Thread(target=override_in_progress)
    reviewer.start()
    assert locked.wait(5)
    threading.Timer(0.5, release.set).start()
    with pytest.raises(NotFinalDecline):  # it waited for the review, then saw an approval
        issue(officer, prediction)
    reviewer.join(5)
    assert not AdverseActionNotice.objects.exists()
