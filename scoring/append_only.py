"""PostgreSQL triggers that make the audit tables append-only, and the test-only switch around them.

Every UPDATE, DELETE or TRUNCATE on these tables raises an error inside the
database, whatever code or person issues it. Only the tables' owner can
``ALTER TABLE ... DISABLE TRIGGER``; in production the app's role must not own
them (see README, "Audit trail"), so the app cannot switch the protection off.
"""

from __future__ import annotations

APPEND_ONLY_TABLES = (
    "scoring_prediction",
    "scoring_review",
    "scoring_modelactivation",
    "scoring_exportlog",
    "accounts_accessevent",
)

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION creditscore_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def install_sql(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_append_only_row BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION creditscore_append_only();
CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION creditscore_append_only();
"""


def uninstall_sql(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_append_only_row ON {table};
DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table};
"""


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
            "WHERE t.tgname LIKE %s AND t.tgenabled <> %s",
            ["%_append_only_%", wanted],
        )
        tables = [row[0] for row in cursor.fetchall() if row[0] in APPEND_ONLY_TABLES]
        action = "ENABLE" if enabled else "DISABLE"
        for table in tables:  # identifiers from APPEND_ONLY_TABLES only, never from input
            cursor.execute(f"ALTER TABLE {table} {action} TRIGGER USER")
