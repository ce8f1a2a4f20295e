"""PostgreSQL triggers that make the audit tables append-only, and the test-only switch around them.

Every UPDATE, DELETE or TRUNCATE on these tables raises an error inside the
database, whatever code or person issues it. Only the tables' owner can
``ALTER TABLE ... DISABLE TRIGGER``; in production the app's role must not own
them (see docs/audit-and-security.md), so the app cannot switch the protection off.
"""

from __future__ import annotations

APPEND_ONLY_TABLES = (
    "scoring_prediction",
    "scoring_review",
    "scoring_modelactivation",
    "scoring_exportlog",
    "accounts_accessevent",
)
# Rows kept for good that still change (a version's status, a job's counters): no DELETE or TRUNCATE.
# Decisions name their model version and batch job without a foreign key (its check on each of a
# batch's million inserts was a fifth of the job's database time, bench/README.md); since no row of
# these tables can ever go, no decision can point at a missing one.
KEPT_TABLES = ("scoring_modelversion", "scoring_batchjob")


def _function_sql(name: str, message: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{message}', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def _triggers_sql(table: str, kind: str, row_events: str, function: str) -> str:
    """A row trigger for ``row_events`` and a TRUNCATE trigger on ``table``, both calling ``function``."""
    return f"""
CREATE TRIGGER {table}_{kind}_row BEFORE {row_events} ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
CREATE TRIGGER {table}_{kind}_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


def _drop_triggers_sql(table: str, kind: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_{kind}_row ON {table};
DROP TRIGGER IF EXISTS {table}_{kind}_truncate ON {table};
"""


FUNCTION_SQL = _function_sql("creditscore_append_only", "table % is append-only: % is not allowed")
KEPT_FUNCTION_SQL = _function_sql("creditscore_kept", "rows of % are kept for the audit trail: % is not allowed")


def install_sql(table: str) -> str:
    return _triggers_sql(table, "append_only", "UPDATE OR DELETE", "creditscore_append_only")


def uninstall_sql(table: str) -> str:
    return _drop_triggers_sql(table, "append_only")


def install_kept_sql(table: str) -> str:
    return _triggers_sql(table, "kept", "DELETE", "creditscore_kept")


def uninstall_kept_sql(table: str) -> str:
    return _drop_triggers_sql(table, "kept")


def set_triggers_enabled(connection, *, enabled: bool) -> None:
    """Tests only: pytest-django empties tables with TRUNCATE after transactional tests.

    Needs table ownership, which the production app role does not have.
    """
    if connection.vendor != "postgresql":
        return
    wanted = "O" if enabled else "D"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE (t.tgname LIKE %s OR t.tgname LIKE %s) AND t.tgenabled <> %s",
            ["%_append_only_%", "%_kept_%", wanted],
        )
        tables = [row[0] for row in cursor.fetchall() if row[0] in (*APPEND_ONLY_TABLES, *KEPT_TABLES)]
        action = "ENABLE" if enabled else "DISABLE"
        for table in tables:  # identifiers from the two lists above only, never from input
            cursor.execute(f"ALTER TABLE {table} {action} TRIGGER USER")
