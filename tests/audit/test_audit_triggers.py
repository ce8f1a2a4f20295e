"""PostgreSQL refuses to change or remove audit rows, whoever asks; pytest's flush still works.

The suite runs as the app role (tests/support/app_role.py), which holds no UPDATE, DELETE or
TRUNCATE on these tables, so PostgreSQL refuses for want of the privilege; run as the owner,
the triggers refuse. tests/audit/test_database_roles.py shows the triggers refusing the owner.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessEvent
from scoring.append_only import APPEND_ONLY_TABLES, KEPT_TABLES
from scoring.decisions import services
from scoring.models import (
    Backtest,
    BatchJob,
    BatchRowError,
    ExportLog,
    ModelActivation,
    ModelVersion,
    Prediction,
    Review,
)
from scoring.notices import services as notices
from tests.support.challengers import shadow_rows
from tests.support.reviews import referral_and_approval_rows

pytestmark = pytest.mark.postgres
# The refusal of the privilege (app role) or of the trigger (owner).
APPEND_ONLY = "append-only|permission denied for table"
KEPT = "kept for the audit trail|permission denied for table"


@pytest.fixture
def audit_rows(officer, auditor, example_inputs, tmp_path):
    from scoring.lifecycle import registry
    from scoring.policy import defaults
    from scoring.policy import services as policy_services

    model = registry.get_active().model
    policy = policy_services.create_version(name="Standard", rules=defaults.RULES[1:], user=None, model=model)
    policy_services.activate(policy, user=None, model=model)
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    services.record_review(
        user=officer,
        prediction=prediction,
        outcome="approve",
        reason_code="collateral",
        justification="House as collateral.",
    )
    client = Client()
    client.force_login(auditor)
    b"".join(client.get(reverse("audit:prediction-export")).streaming_content)
    client.post(reverse("login"), {"username": "nobody", "password": "guess"})
    assert ExportLog.objects.exists() and AccessEvent.objects.exists() and ModelActivation.objects.exists()
    _row_error(officer)
    declined = services.score_application(user=officer, inputs=example_inputs, channel="web")
    notices.issue_notice(user=officer, prediction=declined, applicant_name="A. Person", applicant_address="1 Road")
    referral_and_approval_rows(officer)
    _outcome_rows(auditor, prediction)
    shadow_rows(prediction, tmp_path)
    return prediction


def _outcome_rows(auditor, prediction) -> None:
    """A loan outcome and its correction, with their upload records."""
    from django.utils import timezone

    from scoring.outcomes import services as outcomes

    for outcome, reason in (("repaid", ""), ("defaulted", "Reported in error.")):
        row = {"decision_id": prediction.pk, "outcome": outcome, "observed_on": timezone.localdate(), "reason": reason}
        assert outcomes.record_outcomes([row], user=auditor, source="api").ok


def _row_error(officer) -> BatchRowError:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from scoring.batch import jobs
    from tests.support.batch_files import csv_bytes, synthetic_frame

    job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("e.csv", csv_bytes(synthetic_frame(2))))
    return BatchRowError.objects.create(job=job, row_number=1, errors={"row": ["bad line"]})


def _refused(sql: str):
    with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_raw_update_delete_and_truncate_fail(audit_rows, table):
    count_before = _count(table)
    assert count_before > 0
    _refused(f"UPDATE {table} SET id = id")
    _refused(f"DELETE FROM {table}")
    with connection.cursor() as cursor:
        # Run the deferred foreign-key checks of this test's inserts, or PostgreSQL refuses TRUNCATE for that.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _refused(f"TRUNCATE {table} CASCADE")
    assert _count(table) == count_before


def test_orm_changes_fail_too(audit_rows):
    with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
        Prediction.objects.filter(pk=audit_rows.pk).update(decision="approve")
    with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
        Review.objects.filter(prediction=audit_rows).delete()
    audit_rows.refresh_from_db()
    assert audit_rows.decision == "decline"


@pytest.mark.parametrize("table", KEPT_TABLES)
def test_model_versions_and_batch_jobs_can_change_but_never_go(audit_rows, officer, table, settings):
    """Decisions name them without a foreign key, so the database keeps every row of theirs."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from scoring.batch import jobs
    from tests.support.batch_files import csv_bytes, synthetic_frame

    jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(3))))
    now = timezone.now()
    Backtest.objects.create(model_version=ModelVersion.objects.first(), date_from=now, date_to=now)
    assert ModelVersion.objects.exists() and BatchJob.objects.exists() and Backtest.objects.exists()
    before = _count(table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET created_at = created_at")  # changing a row is allowed
    for sql in (f"DELETE FROM {table}", f"TRUNCATE {table} CASCADE"):
        refused = pytest.raises(DatabaseError, match=KEPT)
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql)
    assert _count(table) == before


def test_inserts_still_work(audit_rows, officer, example_inputs):
    before = Prediction.objects.count()
    services.score_application(user=officer, inputs=example_inputs, channel="api")
    assert Prediction.objects.count() == before + 1


@pytest.mark.django_db(transaction=True)
def test_triggers_are_on_in_transactional_tests_and_the_flush_still_works(officer, example_inputs):
    """The triggers are off only inside the one transaction of pytest-django's TRUNCATE after this test."""
    services.score_application(user=officer, inputs=example_inputs, channel="web")
    with pytest.raises(DatabaseError, match=APPEND_ONLY), connection.cursor() as cursor:
        cursor.execute("DELETE FROM scoring_prediction")
    assert Prediction.objects.count() == 1


def test_the_next_test_starts_empty_with_triggers_on(db):
    from django.contrib.auth.models import Group

    assert not Prediction.objects.exists()
    # The flush emptied the groups too; post_migrate put the roles back.
    assert set(Group.objects.values_list("name", flat=True)) == {
        "loan_officer",
        "auditor",
        "model_admin",
        "credit_manager",
        "credit_policy_manager",
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s AND tgenabled = 'O'", ["%_append_only_%"])
        assert cursor.fetchone()[0] == 2 * len(APPEND_ONLY_TABLES)
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s AND tgenabled = 'O'", ["%_kept_%"])
        assert cursor.fetchone()[0] == 2 * len(KEPT_TABLES)


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]
