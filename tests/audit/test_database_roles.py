"""The app's PostgreSQL role, made by deploy/postgres-roles.sql: what it may not do, and that the app still works.

These tests run as ``creditscore_app`` (tests/support/app_role.py), the role the web processes and
workers use in production; each attack is one an app-role credential could try with raw SQL.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import AccessEvent
from scoring.append_only import APPEND_ONLY_TABLES, KEPT_TABLES, STAMPED_TABLES
from scoring.batch import jobs
from scoring.decisions import services
from scoring.lifecycle import registry, versions
from scoring.models import BatchJob, BatchRowError, ModelVersion, Prediction, Review
from scoring.notices import services as notices
from tests.support import DEFAULT_BUNDLE, app_role
from tests.support.batch_files import csv_bytes, synthetic_frame
from tests.support.challengers import shadow_rows
from tests.support.lifecycle_fixtures import bundle_variant
from tests.support.reviews import referral_and_approval_rows

pytestmark = [pytest.mark.postgres, pytest.mark.app_role]


def _sql(statement: str, params=None):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def _refused(statement: str, match: str, params=None):
    with pytest.raises(DatabaseError, match=match):
        _sql(statement, params)


def test_the_suite_runs_as_the_app_role_which_owns_nothing(db):
    user, superuser = _sql("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")[0]
    assert (user, superuser) == ("creditscore_app", False)
    assert _sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user") == [(0,)]
    _refused("ALTER TABLE scoring_prediction DISABLE TRIGGER USER", "must be owner")
    _refused("CREATE TABLE scoring_shadow (id int)", "permission denied for schema public")


def test_the_app_role_holds_exactly_the_recipes_grants(db):
    def can(table: str, privilege: str) -> bool:
        return _sql("SELECT has_table_privilege(current_user, %s, %s)", [table, privilege])[0][0]

    for table in APPEND_ONLY_TABLES:
        assert [p for p in ("SELECT", "INSERT") if can(table, p)] == ["SELECT", "INSERT"], table
        assert not [p for p in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER") if can(table, p)], table
    for table in KEPT_TABLES:
        assert can(table, "UPDATE"), table
        assert not [p for p in ("DELETE", "TRUNCATE", "TRIGGER") if can(table, p)], table
    # Tables the app changes as usual (sessions, counters, batch chunks) keep their grants.
    assert can("scoring_batchchunk", "UPDATE") and can("django_session", "DELETE")
    assert not can("django_migrations", "INSERT")


# --- A model version's identity ------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        "sha256 = repeat('f', 64)",
        'file_hashes = \'{"model.cb": "forged"}\'::jsonb',
        "metadata = metadata || '{\"threshold\": 0.9}'::jsonb",
        "source_uri = 'acme/forged'",
        "hub_commit = repeat('a', 40)",
        "artifact_path = 'elsewhere'",
        "created_at = created_at - interval '1 day'",
        "created_by_id = (SELECT max(id) FROM auth_user)",
    ],
)
def test_a_model_versions_identity_cannot_be_rewritten(active_version, auditor, change):
    _refused(f"UPDATE scoring_modelversion SET {change} WHERE id = %s", "fixed once", [active_version.pk])
    client = Client()
    client.force_login(auditor)
    page = client.get(reverse("audit:model-timeline"))
    assert ModelVersion.objects.get(pk=active_version.pk).sha256 == active_version.sha256
    assert "ffffffff" not in page.content.decode()


@pytest.mark.parametrize(
    ("before", "after"),
    [("rejected", "active"), ("rejected", "validated"), ("pending", "active"), ("active", "validated")],
)
def test_a_model_versions_status_moves_only_along_the_lifecycle(active_version, before, after):
    if before == "active":
        version = active_version
    else:
        version = ModelVersion.objects.create(name="x", sha256="0" * 64, status=before)
    _refused(
        "UPDATE scoring_modelversion SET status = %s WHERE id = %s",
        f"cannot change from {before} to {after}",
        [after, version.pk],
    )
    version.refresh_from_db()
    assert version.status == before


# --- Times come from the database ----------------------------------------------------


@pytest.mark.parametrize("shift", ["- interval '1 day'", "- interval '6 minutes'", "+ interval '1 hour'"])
def test_a_back_dated_or_post_dated_access_event_is_refused(db, shift):
    _refused(
        f"INSERT INTO accounts_accessevent (created_at, kind, username, user_agent, path) "
        f"VALUES (now() {shift}, 'login', 'alice', '', '')",
        "must be the time of writing",
    )
    assert not AccessEvent.objects.filter(username="alice").exists()
    _sql(
        "INSERT INTO accounts_accessevent (created_at, kind, username, user_agent, path) "
        "VALUES (now(), 'login', 'alice', '', '')"
    )
    assert AccessEvent.objects.filter(username="alice").count() == 1


@pytest.mark.parametrize("table", STAMPED_TABLES)
def test_no_audit_row_can_be_back_dated(officer, auditor, example_inputs, table, tmp_path):
    """A copy of a real row with only its time moved a day back: every stamped table refuses it."""
    from scoring.lifecycle import registry
    from scoring.policy import defaults
    from scoring.policy import services as policy_services

    model = registry.get_active().model
    policy = policy_services.create_version(name="Standard", rules=defaults.RULES[1:], user=None, model=model)
    policy_services.activate(policy, user=None, model=model)
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    services.record_review(user=officer, prediction=prediction, outcome="agree", reason_code="", justification="")
    notices.issue_notice(user=officer, prediction=prediction, applicant_name="A. Person", applicant_address="1 Road")
    referral_and_approval_rows(officer)
    shadow_rows(prediction, tmp_path)
    from django.utils import timezone

    from scoring.outcomes import services as outcomes

    row = {"decision_id": prediction.pk, "outcome": "repaid", "observed_on": timezone.localdate()}
    assert outcomes.record_outcomes([row], user=auditor, source="api").ok  # an outcome and its upload record
    client = Client()
    client.force_login(auditor)
    b"".join(client.get(reverse("audit:prediction-export")).streaming_content)
    columns = [
        name
        for (name,) in _sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id' "
            "ORDER BY ordinal_position",
            [table],
        )
    ]
    assert _sql(f"SELECT count(*) FROM {table}")[0][0] > 0
    chosen = ", ".join("created_at - interval '1 day'" if c == "created_at" else c for c in columns)
    _refused(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {chosen} FROM {table} LIMIT 1",
        "must be the time of writing",
    )


# --- Batch row errors are kept like decisions -----------------------------------------


def test_batch_row_errors_can_be_neither_deleted_nor_changed(officer, active_version):
    job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(2))))
    BatchRowError.objects.create(job=job, row_number=1, errors={"row": ["bad line"]})
    _refused("DELETE FROM scoring_batchrowerror", "permission denied for table")
    _refused("UPDATE scoring_batchrowerror SET errors = '{}'::jsonb", "permission denied for table")
    assert BatchRowError.objects.get(job=job).errors == {"row": ["bad line"]}


@pytest.mark.django_db(transaction=True)
def test_the_triggers_refuse_even_the_owner(officer, model_admin, example_inputs):
    """Grants aside, the database itself refuses: the owner's UPDATE and DELETE fail on committed rows."""
    version = versions.register_bundle(path=DEFAULT_BUNDLE, user=model_admin)
    if version.status != ModelVersion.Status.ACTIVE:
        versions.activate(version=version, user=None)
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(2))))
    BatchRowError.objects.create(job=job, row_number=1, errors={"row": ["bad line"]})
    attempts = [
        ("DELETE FROM scoring_batchrowerror", "append-only"),
        ("UPDATE scoring_batchrowerror SET errors = '{}'::jsonb", "append-only"),
        (f"UPDATE scoring_prediction SET decision = 'approve' WHERE id = {prediction.pk}", "append-only"),
        (f"UPDATE scoring_modelversion SET sha256 = repeat('f', 64) WHERE id = {version.pk}", "fixed once"),
        (f"UPDATE scoring_modelversion SET status = 'validated' WHERE id = {version.pk}", "cannot change"),
        (
            "INSERT INTO accounts_accessevent (created_at, kind, username, user_agent, path) "
            "VALUES (now() - interval '1 day', 'login', 'x', '', '')",
            "time of writing",
        ),
    ]
    for statement, message in attempts:
        with app_role.owner_connection() as owner, pytest.raises(Exception, match=message):
            owner.execute(statement)
    assert BatchRowError.objects.count() == 1
    assert ModelVersion.objects.get(pk=version.pk).sha256 == version.sha256


# --- The app's own flows, as the app role -------------------------------------------


def test_register_validate_activate_roll_back_review_and_batch_work_as_the_app_role(
    officer, model_admin, other_model_admin, active_version, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = True
    second = versions.register_bundle(path=bundle_variant(tmp_path / "v2", threshold="0.2"), user=model_admin)
    assert second.status == ModelVersion.Status.VALIDATED
    second = versions.validate_version(version=second, user=model_admin)  # again: the metadata stays as it was
    versions.activate(version=second, user=other_model_admin)
    versions.roll_back(user=other_model_admin)
    assert ModelVersion.objects.get(pk=active_version.pk).status == ModelVersion.Status.ACTIVE
    assert ModelVersion.objects.get(pk=second.pk).status == ModelVersion.Status.RETIRED
    example_inputs = registry.get_active().model.example_inputs()

    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    client = Client()
    client.force_login(officer)
    response = client.post(
        reverse("scoring:prediction-review", args=[prediction.pk]),
        {
            "outcome": "approve" if prediction.decision == "decline" else "decline",
            "reason_code": "collateral",
            "justification": "House as collateral.",
        },
    )
    assert response.status_code == 302
    assert Review.objects.filter(prediction=prediction).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("b.csv", csv_bytes(synthetic_frame(5))))
    job.refresh_from_db()
    assert job.state == BatchJob.State.SUCCEEDED
    assert Prediction.objects.filter(batch_job_id=job.pk).count() == 5
