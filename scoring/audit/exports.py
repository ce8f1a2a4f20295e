"""Streamed CSV export of the decision history: one row per decision, constant memory, each export logged.

On PostgreSQL the database writes the CSV itself (``COPY (SELECT ...) TO STDOUT``):
one statement reads the filtered history newest first, summarises each decision's
reviews with two index probes (LATERAL joins) and renders every cell as text, and
the app only passes blocks of bytes on. That is what keeps a million-row export
to seconds. Other databases (the SQLite demo) get the same columns from the ORM,
written by Python's csv module. Both render every value the same way: the tests
compare them row for row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max, QuerySet
from psycopg import sql

from scoring.decisions.presentation import DecisionView, approval_of
from scoring.decisions.selectors import PredictionFilters, prediction_list
from scoring.files.csv_export import CsvLines, safe_cell_sql
from scoring.models import ExportLog, OverrideApproval, Prediction, Review

HEADER = [
    "id",
    "created_at",
    "officer",
    "channel",
    "external_ref",
    "batch_job",
    "batch_row",
    "model_version",
    "model_name",
    "model_sha256",
    "probability_of_default",
    "threshold",
    "decision",
    "risk_band",
    "model_decision",
    "policy_version",
    "policy_rules",
    "deciding_rule",
    "final_decision",
    "overridden",
    "review_count",
    "last_review_outcome",
    "last_review_reason",
    "last_review_justification",
    "last_review_by",
    "last_review_at",
    "last_review_approval",
    "reasons",
    "inputs",
    "input_line",
]


def start_export(*, user: AbstractBaseUser, filters: PredictionFilters) -> tuple[ExportLog, QuerySet[Prediction]]:
    """Record an export and return the exact rows it covers.

    The rows are pinned to predictions that exist now (id <= the newest one), so the
    logged row count is what the file holds even while new decisions arrive.
    """
    qs = prediction_list(user=user, filters=filters)
    with transaction.atomic():
        last_id = qs.aggregate(last=Max("id"))["last"]
        if last_id is not None:
            qs = qs.filter(id__lte=last_id)
        log = ExportLog.objects.create(
            user=user, filters=filters.as_dict(), row_count=qs.count(), last_prediction_id=last_id
        )
    return log, qs


def csv_lines(rows: QuerySet[Prediction]) -> Iterator[bytes]:
    """The CSV (UTF-8) in blocks: written by PostgreSQL when the database is PostgreSQL, else by Python."""
    if connection.vendor == "postgresql":
        return _copy_csv(rows)
    return _python_csv(rows)


# --- PostgreSQL: the database writes the CSV ---------------------------------------------


def _text_sql(expression: str) -> str:
    return f"NULLIF({expression}, '')"


def _iso_sql(expression: str) -> str:
    return f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def _export_sql(rows: QuerySet[Prediction]) -> tuple[sql.Composed, tuple]:
    """One SELECT rendering every export cell as text, driven by the filtered history query (newest first).

    Only table names and this module's constants go into the text; every filter value stays a
    parameter of the ORM query it comes from.
    """
    picked = rows.values(
        "id",
        "created_at",
        "user_id",
        "channel",
        "external_ref",
        "batch_job_id",
        "row_number",
        "model_version_id",
        "probability",
        "threshold",
        "decision",
        "risk_band",
        "model_decision",
        "policy_version_id",
        "policy_rules",
        "deciding_rule",
        "reasons",
        "inputs",
        "input_line",
    ).order_by("-created_at", "-id")
    inner, params = picked.query.sql_with_params()
    # json_to_recordset reads each reason once (json_array_elements + ->> would parse every element twice);
    # a set-returning function scan feeds the aggregate in array order.
    reasons = sql.SQL(
        "(SELECT string_agg(COALESCE(NULLIF(r.code, '') || ': ', '') "
        "|| COALESCE(NULLIF(r.sentence, ''), NULLIF(r.label, ''), r.feature, ''), ' | ') "
        "FROM json_to_recordset(p.reasons) AS r(code text, sentence text, label text, feature text))"
    )
    cells = [
        "p.id",
        _iso_sql("p.created_at"),
        safe_cell_sql("u.username"),
        _text_sql("p.channel"),
        safe_cell_sql("p.external_ref"),
        "p.batch_job_id",
        "p.row_number",
        "p.model_version_id",
        safe_cell_sql("mv.name"),
        _text_sql("mv.sha256"),
        "to_char(p.probability, 'FM0.000000')",
        "p.threshold",
        _text_sql("p.decision"),
        safe_cell_sql("p.risk_band"),
        _text_sql("p.model_decision"),
        "p.policy_version_id",
        safe_cell_sql("(SELECT string_agg(code, ' | ') FROM json_array_elements_text(p.policy_rules) AS code)"),
        safe_cell_sql("p.deciding_rule"),
        _text_sql("COALESCE(standing.final_decision, p.decision)"),
        "CASE WHEN last.overridden THEN 'yes' ELSE 'no' END",
        "COALESCE(last.reviews, 0)",
        _text_sql("last.outcome"),
        _text_sql("last.reason_code"),
        safe_cell_sql("last.justification"),
        safe_cell_sql("last.username"),
        _iso_sql("last.created_at"),
        safe_cell_sql(
            "CASE WHEN last.needs_approval IS NOT TRUE THEN '' WHEN last.approved IS NULL THEN 'pending' "
            "WHEN last.approved THEN 'approved by ' || last.approved_by ELSE 'rejected by ' || last.approved_by END"
        ),
        safe_cell_sql(reasons.as_string()),
        "p.inputs::text",
        safe_cell_sql("p.input_line"),
    ]
    users = sql.Identifier(Prediction._meta.get_field("user").related_model._meta.db_table)
    versions = sql.Identifier(Prediction._meta.get_field("model_version").related_model._meta.db_table)
    reviews = sql.Identifier(Review._meta.db_table)
    approvals = sql.Identifier(OverrideApproval._meta.db_table)
    statement = sql.SQL(
        "SELECT {cells} FROM ({inner}) AS p "
        "JOIN {users} u ON u.id = p.user_id "
        "JOIN {versions} mv ON mv.id = p.model_version_id "
        # The latest review with the count and any-override of all of them: one index probe per decision.
        "LEFT JOIN LATERAL (SELECT r.outcome, r.final_decision, r.reason_code, r.justification, r.created_at, "
        "  by_user.username, count(*) OVER () AS reviews, bool_or(r.overridden) OVER () AS overridden, "
        "  r.needs_approval, a.approved, a_user.username AS approved_by "
        "  FROM {reviews} r JOIN {users} by_user ON by_user.id = r.user_id "
        "  LEFT JOIN {approvals} a ON a.review_id = r.id LEFT JOIN {users} a_user ON a_user.id = a.user_id "
        "  WHERE r.prediction_id = p.id ORDER BY r.created_at DESC, r.id DESC LIMIT 1) last ON true "
        # The final outcome: the latest review that stands (presentation.DecisionView.final_decision).
        "LEFT JOIN LATERAL (SELECT sr.final_decision FROM {reviews} sr "
        "  LEFT JOIN {approvals} sa ON sa.review_id = sr.id "
        "  WHERE sr.prediction_id = p.id AND (NOT sr.needs_approval OR sa.approved) "
        "  ORDER BY sr.created_at DESC, sr.id DESC LIMIT 1) standing ON true "
        "ORDER BY p.created_at DESC, p.id DESC"
    ).format(
        cells=sql.SQL(", ").join(sql.SQL(c) for c in cells),
        inner=sql.SQL(inner),
        users=users,
        versions=versions,
        reviews=reviews,
        approvals=approvals,
    )
    return statement, params


def _copy_csv(rows: QuerySet[Prediction]) -> Iterator[bytes]:
    select, params = _export_sql(rows)
    yield _header_line()
    connection.ensure_connection()
    statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(select)
    with connection.connection.cursor() as cursor, cursor.copy(statement, params) as copy:
        for block in copy:
            yield bytes(block)


# --- other databases: the same cells from the ORM, written by Python ---------------------


def _python_csv(rows: QuerySet[Prediction]) -> Iterator[bytes]:
    from scoring.decisions.selectors import prediction_export_rows

    writer = CsvLines()
    yield _header_line()
    batch: list[str] = []
    for p in prediction_export_rows(rows).iterator(chunk_size=settings.AUDIT_EXPORT_CHUNK_SIZE):
        reviews = p.reviews.all()  # prefetched per chunk, oldest first, with their approvals
        last = reviews[len(reviews) - 1] if reviews else None
        cells = {
            "id": p.pk,
            "created_at": _iso(p.created_at),
            "officer": p.user.get_username(),
            "channel": p.channel,
            "external_ref": p.external_ref,
            "batch_job": p.batch_job_id,
            "batch_row": p.row_number,
            "model_version": p.model_version_id,
            "model_name": p.model_version.name,
            "model_sha256": p.model_version.sha256,
            "probability_of_default": f"{p.probability:.6f}",
            "threshold": p.threshold,
            "decision": p.decision,
            "risk_band": p.risk_band,
            "model_decision": p.model_decision,
            "policy_version": p.policy_version_id,
            "policy_rules": " | ".join(str(code) for code in p.policy_rules or ()),
            "deciding_rule": p.deciding_rule,
            "final_decision": DecisionView(p, list(reviews)).final_decision,
            "overridden": "yes" if any(r.overridden for r in reviews) else "no",
            "review_count": len(reviews),
            "last_review_outcome": last.outcome if last else "",
            "last_review_reason": last.reason_code if last else "",
            "last_review_justification": last.justification if last else "",
            "last_review_by": last.user.get_username() if last else "",
            "last_review_at": _iso(last.created_at) if last else "",
            "last_review_approval": _approval_text(last),
            "reasons": " | ".join(_reason_text(r) for r in p.reasons or []),
            "inputs": p.inputs_text,
            "input_line": p.input_line,
        }
        writer.row(cells[name] for name in HEADER)
        batch.append(writer.take())
        if len(batch) >= 1000:
            yield "".join(batch).encode()
            batch.clear()
    if batch:
        yield "".join(batch).encode()


def _header_line() -> bytes:
    return (",".join(HEADER) + "\n").encode()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _reason_text(reason: object) -> str:
    """``CODE: statement — value`` (decisions recorded before reason codes: their sentence)."""
    if isinstance(reason, dict):
        text = str(reason.get("sentence") or reason.get("label") or reason.get("feature") or "")
        return f"{reason['code']}: {text}" if reason.get("code") else text
    return str(reason)


def _approval_text(review: Review | None) -> str:
    """A review's approval state in the export: blank (none needed), pending, approved or rejected by whom."""
    if review is None or not review.needs_approval:
        return ""
    approval = approval_of(review)
    if approval is None:
        return "pending"
    return f"{'approved' if approval.approved else 'rejected'} by {approval.user.get_username()}"
