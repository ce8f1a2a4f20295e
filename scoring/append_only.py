"""PostgreSQL triggers that keep the audit trail true: append-only tables, stamped times, fixed model identities.

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
    "scoring_batchrowerror",
    "scoring_adverseactionnotice",
    "scoring_referralassignment",
    "scoring_overrideapproval",
    "scoring_policyactivation",
    "scoring_loanoutcome",
    "scoring_outcomeupload",
    "scoring_challengerassignment",
    "scoring_shadowscore",
)
# Append-only tables whose rows carry the time they were written: the database refuses a created_at
# far from its own clock, so nobody can back-date (or post-date) a record. Not a plain
# ``created_at := now()``: the app files a decision under the day of its created_at in the aggregate
# tables in the same statement, and both must agree. The margin covers clock skew between hosts and
# a batch chunk's scoring between the stamp and its COPY.
STAMPED_TABLES = (
    "scoring_prediction",
    "scoring_review",
    "scoring_modelactivation",
    "scoring_exportlog",
    "accounts_accessevent",
    "scoring_adverseactionnotice",
    "scoring_referralassignment",
    "scoring_overrideapproval",
    "scoring_policyactivation",
    "scoring_loanoutcome",
    "scoring_outcomeupload",
    "scoring_challengerassignment",
    "scoring_shadowscore",
)
STAMP_MARGIN = "5 minutes"
# The status changes scoring.lifecycle.versions makes (validate_version, activate, roll_back); the
# database refuses any other, e.g. a rejected version put live or an active one quietly "validated".
MODEL_VERSION_TRANSITIONS = (
    ("pending", "validated"),
    ("pending", "rejected"),
    ("validated", "rejected"),
    ("validated", "active"),
    ("active", "retired"),
    ("retired", "active"),
    ("retired", "rejected"),
)
# What a model version is: where it came from and the files it is. Fixed once registered. The
# metadata is written once: at registration, or by the first validation of a Hub load (which
# registers the files before reading them).
MODEL_VERSION_IDENTITY = (
    "name",
    "source",
    "source_uri",
    "hub_revision",
    "hub_commit",
    "hub_subfolder",
    "artifact_path",
    "sha256",
    "file_hashes",
    "created_at",
    "created_by_id",
)
# Rows kept for good that still change (a version's status, a job's counters): no DELETE or TRUNCATE.
# Decisions name their model version and batch job without a foreign key (its check on each of a
# batch's million inserts was a fifth of the job's database time, bench/README.md); since no row of
# these tables can ever go, no decision can point at a missing one.
KEPT_TABLES = ("scoring_modelversion", "scoring_batchjob", "scoring_policyversion", "scoring_backtest")


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


STAMPED_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION creditscore_stamped() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.created_at IS NULL
       OR NEW.created_at < now() - interval '{STAMP_MARGIN}'
       OR NEW.created_at > clock_timestamp() + interval '{STAMP_MARGIN}' THEN
        RAISE EXCEPTION 'created_at of a new % row must be the time of writing, not %', TG_TABLE_NAME, NEW.created_at
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
"""


def install_stamped_sql(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_stamped BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION creditscore_stamped();
"""


def uninstall_stamped_sql(table: str) -> str:
    return f"DROP TRIGGER IF EXISTS {table}_stamped ON {table};"


def _row(prefix: str) -> str:
    return "(" + ", ".join(f"{prefix}.{column}" for column in MODEL_VERSION_IDENTITY) + ")"


_TRANSITIONS = ", ".join(f"'{old}>{new}'" for old, new in MODEL_VERSION_TRANSITIONS)
MODEL_VERSION_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION creditscore_model_version_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF {_row("NEW")} IS DISTINCT FROM {_row("OLD")} THEN
        RAISE EXCEPTION 'model version %: its identity (files, hashes, source) is fixed once registered', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.metadata IS DISTINCT FROM OLD.metadata AND OLD.metadata <> '{{}}'::jsonb THEN
        RAISE EXCEPTION 'model version %: its metadata is fixed once written', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT (OLD.status || '>' || NEW.status) = ANY (ARRAY[{_TRANSITIONS}]) THEN
        RAISE EXCEPTION 'model version %: status cannot change from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER scoring_modelversion_fixed BEFORE UPDATE ON scoring_modelversion
    FOR EACH ROW EXECUTE FUNCTION creditscore_model_version_fixed();
"""
UNINSTALL_MODEL_VERSION_SQL = "DROP TRIGGER IF EXISTS scoring_modelversion_fixed ON scoring_modelversion;"


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
