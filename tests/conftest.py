"""Shared fixtures: the three personas, the bundled model made active, and the CI rules for skips."""

from __future__ import annotations

import os
import zlib

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group

from accounts.permissions import AUDITOR, MODEL_ADMIN, OFFICER, POLICY_MANAGER
from scoring.decisions import services
from scoring.lifecycle import challengers, registry, versions
from scoring.policy import registry as policy_registry

# The local Hub fixtures (local_hub, hub_settings).
from tests.support import DEFAULT_BUNDLE, app_role
from tests.support.reviews import credit_manager_of
from tests.support.shared_loads import bundle_loads_shared

pytest_plugins = ["tests.support.lifecycle_fixtures"]

if app_role.enabled():
    # PostgreSQL as production runs it: the tests connect as the app role (tests/support/app_role.py).
    from tests.support.app_role import django_db_setup  # noqa: F401


# What a test asks for to reach the test database (directly or through a fixture that does).
DATABASE_FIXTURES = frozenset(
    {"django_db_setup", "_django_db_helper", "db", "transactional_db", "django_db_reset_sequences", "live_server"}
)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects, so it sees the db_independent marks
def pytest_collection_modifyitems(config, items):
    """Tests that use no database are marked ``db_independent``: their result cannot change with the
    database, so CI runs them once, on PostgreSQL, and deselects them on SQLite.

    PostgreSQL-only tests are deselected (not skipped) when the suite runs on SQLite, and tests of
    the app's database role when it runs as the owner. CI runs PostgreSQL as the app role only."""
    for item in items:
        if not item.get_closest_marker("django_db") and not DATABASE_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.db_independent)
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if django_settings.DATABASE_IS_POSTGRES and in_ci and not app_role.enabled():
        raise pytest.UsageError("CI=true: run the PostgreSQL suite as the app role (set DATABASE_OWNER_URL).")
    unavailable = {"app_role"} if django_settings.DATABASE_IS_POSTGRES else {"postgres", "app_role"}
    if app_role.enabled():
        unavailable = set()
    kept, deselected = [], []
    for item in items:
        (deselected if any(item.get_closest_marker(m) for m in unavailable) else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test is a failure: nothing that needs a service may pass by not running."""
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped; every test must run in CI.", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The production hasher (PBKDF2, 1,000,000 rounds) costs ~0.6 s per password here, and most tests
    create two or three users; a fast hasher first, the real ones still there to verify their hashes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *django_settings.PASSWORD_HASHERS]


@pytest.fixture(autouse=True)
def _english_between_tests():
    """A request activates its language in the thread and Django leaves it active afterwards: a French
    page in one test must not make the next test's service calls French. Each test starts in English."""
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _isolated_registry(settings, tmp_path_factory):
    """Each test starts with an empty model cache, checks the active version on every call (loading a
    new one inline), and keeps artifacts and uploads out of the project folder."""
    settings.MODEL_CHECK_INTERVAL = 0
    # A switch is seen by the next call, not after a background load (tests of that load turn it back on).
    settings.MODEL_SWITCH_IN_BACKGROUND = False
    settings.ARTIFACT_ROOT = tmp_path_factory.getbasetemp() / "artifacts"
    settings.MEDIA_ROOT = tmp_path_factory.getbasetemp() / "media"
    registry.reset()
    challengers.reset()
    policy_registry.reset()
    yield
    registry.reset()
    challengers.reset()
    policy_registry.reset()


@pytest.fixture(autouse=True)
def _own_auth_failure_counts(monkeypatch, request):
    """The API's failed-authentication counts live in the cache, which outlives a test: each test counts
    its own, so the 401s of earlier tests (all from 127.0.0.1) never add up to a 429 in a later one."""
    from scoring.api import auth_failures

    own = f"{zlib.crc32(request.node.nodeid.encode()):08x}"  # cache keys may not hold a node id's spaces
    monkeypatch.setattr(auth_failures, "KEY_PREFIX", f"{auth_failures.KEY_PREFIX}:{own}")


def _user(django_user_model, username: str, role: str | None, **extra):
    user = django_user_model.objects.create_user(username=username, password="a-long-test-password", **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def officer(db, django_user_model):
    return _user(django_user_model, "officer", OFFICER, first_name="Olivia")


@pytest.fixture
def other_officer(db, django_user_model):
    return _user(django_user_model, "officer2", OFFICER)


@pytest.fixture
def auditor(db, django_user_model):
    return _user(django_user_model, "auditor", AUDITOR)


@pytest.fixture
def model_admin(db, django_user_model):
    return _user(django_user_model, "modeladmin", MODEL_ADMIN, is_staff=True)


@pytest.fixture
def other_model_admin(db, django_user_model):
    """A second model administrator, for the four-eyes rule."""
    return _user(django_user_model, "modeladmin2", MODEL_ADMIN, is_staff=True)


@pytest.fixture
def policy_manager(db, django_user_model):
    return _user(django_user_model, "policy", POLICY_MANAGER, is_staff=True, first_name="Paula", last_name="Policy")


@pytest.fixture
def other_policy_manager(db, django_user_model):
    """A second credit policy manager, for the four-eyes rule."""
    return _user(django_user_model, "policy2", POLICY_MANAGER, is_staff=True)


@pytest.fixture
def credit_manager(db, officer):
    """A credit manager in a team with `officer` (not with `other_officer`)."""
    manager = credit_manager_of(officer)
    manager.last_name = "Manager"
    manager.save()
    return manager


@pytest.fixture
def active_version(db):
    """The committed default bundle, registered and active (its files parsed once per session)."""
    with bundle_loads_shared():
        version = versions.register_bundle(path=DEFAULT_BUNDLE)
    versions.activate(version=version, user=None)
    version.refresh_from_db()
    return version


@pytest.fixture
def example_inputs(active_version):
    return registry.get_active().model.example_inputs()


# --- API clients: authenticated with real API tokens -----------------------------


def token_client(user):
    from rest_framework.test import APIClient

    from accounts.tokens import issue_api_token

    _, key = issue_api_token(user=user, name="tests")
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def officer_api(officer):
    return token_client(officer)


@pytest.fixture
def other_officer_api(other_officer):
    return token_client(other_officer)


@pytest.fixture
def auditor_api(auditor):
    return token_client(auditor)


@pytest.fixture
def model_admin_api(model_admin):
    return token_client(model_admin)


# --- Append-only audit tables under pytest-django ---------------------


@pytest.fixture(autouse=True)
def _append_only_triggers(request):
    """Keep PostgreSQL's append-only triggers on during every test, off only for pytest-django's flush.

    After a transactional test (transactional_db, live_server, django_db(transaction=True))
    pytest-django empties every table with TRUNCATE, which the triggers refuse. The test
    database is owned by the test role, so it may switch them off for that flush; the
    production app role does not own the tables and cannot (see docs/audit-and-security.md).
    Requesting the database helper from here makes this fixture's teardown run before the flush.
    """
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    uses_db = marker or names & {"_django_db_helper", "db", "transactional_db", "live_server"}
    if not django_settings.DATABASE_IS_POSTGRES or not uses_db or app_role.enabled():
        # As the app role the triggers cannot be switched off at all; the owner flushes (app_role.py).
        yield
        return
    request.getfixturevalue("_django_db_helper")  # also decides transactional for live_server tests
    from django.db import connection

    from scoring.append_only import set_triggers_enabled

    set_triggers_enabled(connection, enabled=True)
    yield
    transactional = bool(names & {"transactional_db", "live_server"})
    if transactional or (marker and marker.kwargs.get("transaction")):
        set_triggers_enabled(connection, enabled=False)


# --- Failures inside a decision's write, on either database -----------------


@pytest.fixture
def failing_write(monkeypatch):
    """``failing_write("prediction" | "aggregates")`` makes that part of recording a decision fail.

    On PostgreSQL a decision is one statement, so the failure is raised by the database itself
    (a test-only trigger armed for this test's transaction); elsewhere the ORM call fails.
    """
    from django.db import OperationalError, connection

    from scoring.models import DailyTotal, Prediction

    def arm(part: str) -> None:
        table = {"prediction": "scoring_prediction", "aggregates": "scoring_dailytotal"}[part]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = 'test_fault'")
                if not cursor.fetchone():  # the test database's owner, not the app role: dropped with the test
                    cursor.execute(app_role.FAULT_SQL)
                cursor.execute("SELECT set_config('creditscore.test_fault', %s, true)", [table])
            return

        def refuse(*args, **kwargs):
            raise OperationalError("no space left on device")

        if part == "prediction":
            monkeypatch.setattr(Prediction, "save", refuse)
        else:
            real_add = services._add
            monkeypatch.setattr(
                services, "_add", lambda model, *a, **k: refuse() if model is DailyTotal else real_add(model, *a, **k)
            )

    return arm
