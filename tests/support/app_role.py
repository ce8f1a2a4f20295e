"""The PostgreSQL test database as production has it: made and migrated by the owner, used by the app role.

With ``DATABASE_OWNER_URL`` set, ``DATABASE_URL`` names the app's login role (``creditscore_app``)
and every test runs as it. The owner's URL names a login that may create databases and SET ROLE
to ``creditscore_owner`` (``?assume_role=creditscore_owner``). The test database gets
``deploy/postgres-roles.sql`` (the very recipe of the docs) before and after its migrations, which
run as the owner. What the app role must not do, the suite does through the owner: empty the
tables after a transactional test (with the append-only triggers off inside that one transaction)
and install the test-only fault trigger.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import environ
import psycopg
import pytest
from django.conf import settings
from django.db import connections
from psycopg import sql

from scoring.append_only import APPEND_ONLY_TABLES, KEPT_TABLES

ROLES_SQL = settings.BASE_DIR / "deploy" / "postgres-roles.sql"

# Test only: a trigger that fails writes to the table named by the transaction-local setting
# ``creditscore.test_fault``, so a test can make the database refuse a decision's write without
# the privilege to create triggers (the app role has none).
FAULT_SQL = """
CREATE OR REPLACE FUNCTION creditscore_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('creditscore.test_fault', true) = TG_TABLE_NAME THEN
        RAISE EXCEPTION 'no space left on device' USING ERRCODE = 'disk_full';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_fault BEFORE INSERT OR UPDATE ON scoring_prediction
    FOR EACH ROW EXECUTE FUNCTION creditscore_test_fault();
CREATE TRIGGER test_fault BEFORE INSERT OR UPDATE ON scoring_dailytotal
    FOR EACH ROW EXECUTE FUNCTION creditscore_test_fault();
"""


def enabled() -> bool:
    return bool(settings.DATABASE_IS_POSTGRES and settings.DATABASE_OWNER_URL)


def owner_settings() -> dict:
    return environ.Env.db_url_config(settings.DATABASE_OWNER_URL)


def _login(owner: dict, dbname: str) -> dict:
    """The owner URL's login itself, without SET ROLE: it creates and drops the test database."""
    return {
        "dbname": dbname,
        "user": owner["USER"],
        "password": owner["PASSWORD"] or None,
        "host": owner["HOST"] or None,
        "port": owner["PORT"] or None,
    }


@contextmanager
def owner_connection() -> Iterator[psycopg.Connection]:
    """A connection to the test database as the owner role, in one transaction committed on success."""
    owner = owner_settings()
    with psycopg.connect(**_login(owner, connections["default"].settings_dict["NAME"])) as conn:
        role = owner["OPTIONS"].get("assume_role")
        if role:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        yield conn


def apply_roles(owner: dict, dbname: str) -> None:
    """Run deploy/postgres-roles.sql with psql, as the docs tell an operator to."""
    login = _login(owner, dbname)
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dbname, "-f", str(ROLES_SQL)]
    for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if login[key]:
            command[1:1] = [flag, str(login[key])]
    env = {**os.environ, "PGPASSWORD": login["password"] or ""}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"deploy/postgres-roles.sql failed: {done.stderr}")


def flush_as_owner(sql_list: Sequence[str]) -> None:
    """pytest-django's flush after a transactional test, as the owner: the app role may not TRUNCATE.

    The append-only triggers refuse TRUNCATE; they are off only inside this one transaction.
    """
    with owner_connection() as conn, conn.transaction():
        tables = [*APPEND_ONLY_TABLES, *KEPT_TABLES]  # identifiers from our own lists, never from input
        for table in tables:
            conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table)))
        for statement in sql_list:
            conn.execute(statement)
        for table in tables:
            conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(table)))


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """Replaces pytest-django's: the owner creates and migrates the test database, the app role uses it."""
    from django.test.utils import setup_databases

    default = connections["default"]
    app_login = {key: default.settings_dict[key] for key in ("USER", "PASSWORD", "OPTIONS")}
    owner = owner_settings()
    name = default.creation._get_test_db_name()
    keep = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        with psycopg.connect(**_login(owner, "postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and not keep:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            if not exists or not keep:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        apply_roles(owner, name)  # roles, ownership and default privileges before the first table
        default.close()
        default.settings_dict.update(
            USER=owner["USER"],
            PASSWORD=owner["PASSWORD"],
            OPTIONS={**app_login["OPTIONS"], **owner["OPTIONS"]},
        )
        try:
            # keepdb: the database exists already (made above); Django only migrates it, as the owner.
            setup_databases(
                verbosity=request.config.option.verbose,
                interactive=False,
                keepdb=True,
                aliases={"default"},
                serialized_aliases=set(),
            )
        finally:
            default.close()
            default.settings_dict.update(app_login)
        apply_roles(owner, name)  # the grants and revokes on the tables migrate made
        with owner_connection() as conn:
            installed = conn.execute("SELECT 1 FROM pg_trigger WHERE tgname = 'test_fault'").fetchone()
            if not installed:
                conn.execute(FAULT_SQL)
    flush = type(default.ops).execute_sql_flush
    type(default.ops).execute_sql_flush = lambda ops, sql_list: flush_as_owner(sql_list)
    yield
    type(default.ops).execute_sql_flush = flush
    if not keep:
        with django_db_blocker.unblock():
            connections.close_all()
            with psycopg.connect(**_login(owner, "postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
