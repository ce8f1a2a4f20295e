"""Auditor history: filters, keyset pages, summary strip, detail, streamed CSV export, model timeline."""

from __future__ import annotations

import csv
import io
import shutil
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from scoring.decisions import selectors, services
from scoring.lifecycle import versions
from scoring.models import ExportLog, ModelActivation, Review
from tests.support import DEFAULT_BUNDLE
from tests.support.reviews import standing_review

# Changes to the bundled example application that make the model approve it.
APPROVABLE = {
    "status_of_existing_checking_account": "no checking account",
    "duration_in_month": 6,
    "credit_amount": 1000,
    "credit_history": "critical account/ other credits existing (not at this bank)",
    "savings_account_and_bonds": "... >= 1000 DM",
    "housing": "own",
    "property": "real estate",
    "other_debtors_or_guarantors": "none",
    "present_employment_since": "... >= 7 years",
}


@pytest.fixture
def history(officer, other_officer, example_inputs):
    """Three declines and two approvals by officer (one decline overridden), one decline by officer2."""
    made = {
        "declines": [
            services.score_application(user=officer, inputs=example_inputs, channel="web", external_ref=f"D-{i}")
            for i in range(3)
        ],
        "approvals": [
            services.score_application(user=officer, inputs=example_inputs | APPROVABLE, channel="api")
            for _ in range(2)
        ],
        "other": services.score_application(user=other_officer, inputs=example_inputs, channel="web"),
    }
    assert {p.decision for p in made["declines"]} == {"decline"}
    assert {p.decision for p in made["approvals"]} == {"approve"}
    standing_review(
        user=officer,
        prediction=made["declines"][0],
        outcome="approve",
        reason_code="collateral",
        justification="Guarantor offered a house as collateral.",
    )
    return made


def _ids(response):
    return [p.pk for p in response.context["page"].items]


def test_it_lists_every_decision_newest_first_for_auditors(client, auditor, history):
    client.force_login(auditor)
    response = client.get(reverse("audit:prediction-list"))
    assert response.status_code == 200
    ids = _ids(response)
    assert len(ids) == 6 and ids == sorted(ids, reverse=True)
    assert b"Decision history" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"decision": "approve"}, lambda h: h["approvals"]),
        ({"channel": "api"}, lambda h: h["approvals"]),
        ({"external_ref": "D-1"}, lambda h: [h["declines"][1]]),
        ({"overridden": "yes"}, lambda h: [h["declines"][0]]),
        ({"final_decision": "approve"}, lambda h: [*h["approvals"], h["declines"][0]]),
        ({"overridden": "no", "decision": "decline"}, lambda h: [*h["declines"][1:], h["other"]]),
        ({"risk_band": "E", "channel": "web"}, lambda h: [*h["declines"], h["other"]]),
    ],
)
def test_filters_select_the_matching_decisions(client, auditor, history, query, expected):
    client.force_login(auditor)
    response = client.get(reverse("audit:prediction-list"), query)
    assert response.status_code == 200
    assert sorted(_ids(response)) == sorted(p.pk for p in expected(history))


def test_filter_by_officer_and_model_version(client, auditor, officer, other_officer, history, active_version):
    client.force_login(auditor)
    response = client.get(reverse("audit:prediction-list"), {"officer": other_officer.pk})
    assert _ids(response) == [history["other"].pk]
    response = client.get(reverse("audit:prediction-list"), {"model_version": active_version.pk})
    assert len(_ids(response)) == 6


def test_date_range_is_inclusive_in_local_days(client, auditor, history):
    client.force_login(auditor)
    today = timezone.localdate()
    response = client.get(reverse("audit:prediction-list"), {"date_from": today, "date_to": today})
    assert len(_ids(response)) == 6
    yesterday = today - timedelta(days=1)
    response = client.get(reverse("audit:prediction-list"), {"date_from": yesterday, "date_to": yesterday})
    assert _ids(response) == []


def test_bad_filters_get_a_400_with_the_field_errors(client, auditor, history):
    client.force_login(auditor)
    response = client.get(
        reverse("audit:prediction-list"), {"date_from": "2026-02-10", "date_to": "2026-02-01", "batch_job": "x"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "date_to" in errors and "batch_job" in errors
    assert b"The end date is before the start date." in response.content
    response = client.get(reverse("audit:prediction-list"), {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert b"This page link is not valid" in response.content


def test_keyset_pages_walk_the_whole_history_without_repeats(client, auditor, history, settings):
    settings.AUDIT_PAGE_SIZE = 3
    client.force_login(auditor)
    first = client.get(reverse("audit:prediction-list"), {"channel": "web"})
    assert len(_ids(first)) == 3 and first.context["page"].next_cursor
    second = client.get(
        reverse("audit:prediction-list"), {"channel": "web", "cursor": first.context["page"].next_cursor}
    )
    assert second.context["page"].next_cursor is None
    assert _ids(first) + _ids(second) == sorted([p.pk for p in [*history["declines"], history["other"]]], reverse=True)
    assert b"Next page" in first.content and b"channel=web" in first.content


def test_oldest_first_sort_pages_forwards(client, auditor, history, settings):
    settings.AUDIT_PAGE_SIZE = 4
    client.force_login(auditor)
    first = client.get(reverse("audit:prediction-list"), {"order": "oldest"})
    second = client.get(
        reverse("audit:prediction-list"), {"order": "oldest", "cursor": first.context["page"].next_cursor}
    )
    assert _ids(first) + _ids(second) == sorted(_ids(first) + _ids(second))
    assert len(_ids(first) + _ids(second)) == 6


def test_summary_strip_comes_from_the_daily_totals(client, auditor, officer, history):
    client.force_login(auditor)
    response = client.get(reverse("audit:prediction-list"))
    summary = response.context["summary"]
    assert summary.source == "totals"
    assert (summary.count, summary.approved, summary.overridden) == (6, 2, 1)
    assert b"33.3%" in response.content and b"16.7%" in response.content
    by_channel = client.get(reverse("audit:prediction-list"), {"channel": "api"}).context["summary"]
    assert (by_channel.count, by_channel.approved, by_channel.overridden) == (2, 2, 0)
    by_officer = client.get(reverse("audit:prediction-list"), {"officer": officer.pk}).context["summary"]
    assert (by_officer.count, by_officer.approved, by_officer.overridden) == (5, 2, 1)


def _truth(user, filters) -> tuple[int, int, int]:
    """Count, model approvals and overridden decisions, counted from the decisions themselves."""
    rows = selectors.prediction_list(user=user, filters=filters)
    overridden = Review.objects.filter(prediction__in=rows, overridden=True).values("prediction").distinct()
    return rows.count(), rows.filter(decision="approve").count(), overridden.count()


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"overridden": True},
        {"overridden": False},
        {"reviewed": True},
        {"reviewed": False},
        {"final_decision": "approve"},
        {"final_decision": "decline"},
        {"final_decision": "refer"},
        {"decision": "decline", "overridden": True},
        {"channel": "web", "final_decision": "approve"},
    ],
)
def test_summary_counts_match_the_decisions_after_reviews_change_them(auditor, officer, history, filters):
    declines = history["declines"]
    # an override reverted by a later agreement, and a second opinion on an approval
    standing_review(
        user=officer,
        prediction=declines[1],
        outcome="approve",
        reason_code="collateral",
        justification="House offered as collateral.",
    )
    standing_review(user=officer, prediction=declines[1], outcome="agree")
    services.record_review(user=officer, prediction=history["approvals"][0], outcome="agree")
    f = selectors.PredictionFilters(**filters)
    summary = selectors.prediction_summary(user=auditor, filters=f)
    assert summary.source == "totals"
    count, approved, overridden = _truth(auditor, f)
    assert (summary.count, summary.approved) == (count, approved)
    if "final_decision" not in filters:  # for a final outcome: the overrides that led to it
        assert summary.overridden == (
            0 if filters.get("overridden") is False or filters.get("reviewed") is False else overridden
        )


def test_finer_filters_are_counted_on_the_page_or_not_at_all(client, auditor, history, settings):
    client.force_login(auditor)
    response = client.get(reverse("audit:prediction-list"), {"external_ref": "D-0"})
    summary = response.context["summary"]
    assert summary.source == "page" and (summary.count, summary.approved, summary.overridden) == (1, 0, 1)
    assert b"every match is on this page" in response.content
    settings.AUDIT_PAGE_SIZE = 2
    response = client.get(reverse("audit:prediction-list"), {"overridden": "no", "final_decision": "decline"})
    assert response.context["summary"].source == "none" and response.context["summary"].count is None
    assert b"never scanned for a summary" in response.content


def test_detail_shows_inputs_model_reasons_and_reviews(client, auditor, history, active_version):
    client.force_login(auditor)
    prediction = history["declines"][0]
    response = client.get(reverse("audit:prediction-detail", args=[prediction.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert active_version.sha256 in body
    assert f"{prediction.threshold * 100:.1f}%" in body  # as a percentage, as on every page
    assert "Guarantor offered a house as collateral." in body
    # Each reason: its code, its statement and the value that drove it.
    first = prediction.reasons[0]
    assert f"<code>{first['code']}</code> {escape(first['sentence'])}" in body
    # Inputs by their label; a choice shows its label beside the value as received.
    assert "Loan amount" in body and "7882" in body
    residence = prediction.given_inputs["present_residence_since"]
    labels = {"under_1_year": "Less than 1 year", "1_to_4_years": "1 to 4 years"}
    labels |= {"4_to_7_years": "4 to 7 years", "7_years_or_more": "7 years or more"}
    assert f"{labels[residence]} <code>{residence}</code>" in body
    assert client.get(reverse("audit:prediction-detail", args=[999999])).status_code == 404


def _export(client, query=None):
    response = client.get(reverse("audit:prediction-export"), query or {})
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return response, list(csv.DictReader(io.StringIO(text)))


def test_export_streams_one_row_per_decision_with_reviews_summarised(client, auditor, history):
    client.force_login(auditor)
    response, rows = _export(client)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert len(rows) == 6
    overridden = next(r for r in rows if r["id"] == str(history["declines"][0].pk))
    assert overridden["overridden"] == "yes" and overridden["final_decision"] == "approve"
    assert overridden["review_count"] == "1" and overridden["last_review_by"] == "officer"
    assert overridden["decision"] == "decline" and overridden["model_sha256"]
    # Reasons: "CODE: statement \u2014 value", in order, separated by " | ".
    recorded = history["declines"][0].reasons
    assert overridden["reasons"] == " | ".join(f"{r['code']}: {r['sentence']}" for r in recorded)
    untouched = next(r for r in rows if r["id"] == str(history["other"].pk))
    assert untouched["review_count"] == "0" and untouched["final_decision"] == "decline"


def test_export_follows_the_filter_and_is_logged(client, auditor, history):
    client.force_login(auditor)
    _, rows = _export(client, {"channel": "api"})
    assert sorted(int(r["id"]) for r in rows) == sorted(p.pk for p in history["approvals"])
    log = ExportLog.objects.get()
    assert log.user == auditor and log.row_count == 2 and log.filters == {"channel": "api"}
    assert log.last_prediction_id == history["approvals"][-1].pk


def test_export_with_final_outcome_filter(client, auditor, history):
    client.force_login(auditor)
    _, rows = _export(client, {"final_decision": "approve"})
    assert len(rows) == 3 and {r["final_decision"] for r in rows} == {"approve"}


def test_export_neutralises_spreadsheet_formulas(client, auditor, officer, example_inputs):
    services.score_application(user=officer, inputs=example_inputs, channel="web", external_ref="=HYPERLINK(1)")
    client.force_login(auditor)
    _, rows = _export(client)
    assert rows[0]["external_ref"] == "'=HYPERLINK(1)"


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_writes_the_same_export_as_python(
    officer, other_officer, auditor, history, example_inputs, django_capture_on_commit_callbacks
):
    """COPY ... TO STDOUT (PostgreSQL) and the csv module (other databases) agree cell for cell."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from scoring.audit import exports
    from scoring.batch import jobs
    from tests.support.batch_files import csv_bytes, synthetic_frame

    tricky = ["=1+1", "-5", "+1e3", '"quoted", with comma', "@home", "ünïcode ✓", "line\nbreak"]
    for ref in tricky:
        services.score_application(user=other_officer, inputs=example_inputs, channel="api", external_ref=ref)
    services.record_review(
        user=officer,
        prediction=history["declines"][1],
        outcome="agree",
        justification='=SUM(A1) "and" a second line\nof text',
    )
    standing_review(user=officer, prediction=history["declines"][0], outcome="agree")
    frame = synthetic_frame(5)
    frame.loc[2, "external_ref"] = "-APP, with comma"
    with django_capture_on_commit_callbacks(execute=True):  # the chunk is scored in-process (eager Celery)
        jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("b.csv", csv_bytes(frame)))
    _, rows = exports.start_export(user=auditor, filters=selectors.PredictionFilters())

    def parsed(lines):
        return list(csv.reader(io.StringIO(b"".join(lines).decode())))

    by_postgres, by_python = parsed(exports._copy_csv(rows)), parsed(exports._python_csv(rows))
    assert len(by_postgres) == 1 + 6 + len(tricky) + 5
    for ours, theirs in zip(by_postgres, by_python, strict=True):
        assert ours == theirs
    header = by_postgres[0]
    cells = [dict(zip(header, row, strict=True)) for row in by_postgres[1:]]
    refs = {c["external_ref"] for c in cells}
    assert {"'=1+1", "-5", "+1e3", "'@home", "ünïcode ✓", "'-APP, with comma"} <= refs
    batch_rows = [c for c in cells if c["batch_job"]]
    assert len(batch_rows) == 5 and all(c["input_line"] and c["inputs"] == "{}" for c in batch_rows)
    reviewed = next(c for c in cells if c["id"] == str(history["declines"][0].pk))
    assert reviewed["review_count"] == "2" and reviewed["overridden"] == "yes"
    assert reviewed["last_review_outcome"] == "agree"


def test_export_of_a_bad_filter_is_refused_and_not_logged(client, auditor, history):
    client.force_login(auditor)
    response = client.get(reverse("audit:prediction-export"), {"date_from": "yesterday"})
    assert response.status_code == 400
    assert not ExportLog.objects.exists()


def test_model_timeline_answers_which_version_was_live(client, auditor, active_version, model_admin, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, copy)
    with (copy / "MLmodel").open("a") as fh:
        fh.write("# a retrained copy\n")
    second = versions.register_bundle(path=copy, name="second")
    assert second != active_version
    # The form asks to the second: pick the first whole second after the first activation,
    # and activate the second version only once that second has passed.
    first = ModelActivation.objects.get(version=active_version)
    before_second = first.created_at.replace(microsecond=0) + timedelta(seconds=1)
    time.sleep(max(0.0, (before_second - timezone.now()).total_seconds() + 0.05))
    activation = versions.activate(version=second, user=model_admin, note="roll forward")
    client.force_login(auditor)
    response = client.get(reverse("audit:model-timeline"))
    assert response.status_code == 200
    assert response.context["activations"][0].pk == activation.pk
    at_then = client.get(reverse("audit:model-timeline"), {"at": timezone.localtime(before_second).isoformat()[:19]})
    assert at_then.context["live"].version == active_version
    at_now = client.get(
        reverse("audit:model-timeline"),
        {"at": timezone.localtime(timezone.now() + timedelta(minutes=1)).isoformat()[:16]},
    )
    assert at_now.context["live"].version == second
    assert b"roll forward" in at_now.content
    before_all = client.get(reverse("audit:model-timeline"), {"at": "2000-01-01T00:00"})
    assert before_all.context["live"] is None and b"No model had been activated" in before_all.content
    assert client.get(reverse("audit:model-timeline"), {"at": "soon"}).status_code == 400


def test_reviews_stay_rows_not_edits(officer, history):
    prediction = history["declines"][1]
    for outcome, final in [("approve", "approve"), ("agree", "decline")]:
        reason = "collateral" if outcome == "approve" else ""
        standing_review(
            user=officer, prediction=prediction, outcome=outcome, reason_code=reason, justification="Second look at it."
        )
        assert Review.objects.filter(prediction=prediction).latest("id").final_decision == final
    assert Review.objects.filter(prediction=prediction).count() == 2


def test_cursor_position_matches_row_order_including_ties(auditor, history):
    from scoring.models import Prediction

    rows = list(Prediction.objects.values_list("created_at", "id"))
    for created_at, pk in rows:
        newer_first = set(
            Prediction.objects.filter(selectors.after_position(created_at, pk)).values_list("id", flat=True)
        )
        assert newer_first == {i for c, i in rows if (c, i) < (created_at, pk)}
        # A tie on created_at is broken by id, both ways.
        tie = selectors.after_position(created_at, pk + 1)
        assert pk in set(Prediction.objects.filter(tie).values_list("id", flat=True))
        older_first = set(
            Prediction.objects.filter(selectors.after_position(created_at, pk, oldest_first=True)).values_list(
                "id", flat=True
            )
        )
        assert older_first == {i for c, i in rows if (c, i) > (created_at, pk)}


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (None, None),
        ("2026-01-01", "2026-03-31"),
        ("2026-01-15", "2026-03-31"),
        ("2026-01-01", "2026-03-15"),
        ("2026-01-15", "2026-01-20"),
        ("2026-01-15", "2026-02-10"),
        (None, "2026-02-27"),
        ("2025-12-31", None),
    ],
)
def test_a_range_splits_into_whole_months_and_edge_days(first, last):
    from datetime import date, timedelta

    first = date.fromisoformat(first) if first else None
    last = date.fromisoformat(last) if last else None
    months, days = selectors.month_split(first, last)
    covered = set()
    probe_from, probe_to = date(2025, 11, 1), date(2026, 5, 31)
    for d in (probe_from + timedelta(days=i) for i in range((probe_to - probe_from).days + 1)):
        in_days = any((a is None or a <= d) and (b is None or d <= b) for a, b in days)
        in_months = (
            months is not None and (months[0] is None or months[0] <= d) and (months[1] is None or d < months[1])
        )
        assert not (in_days and in_months), d  # counted once
        if in_days or in_months:
            covered.add(d)
        if months is not None and in_months:
            assert (months[0] is None or months[0].day == 1) and (months[1] is None or months[1].day == 1)
    expected = {
        d
        for d in (probe_from + timedelta(days=i) for i in range(212))
        if (first is None or first <= d) and (last is None or d <= last)
    }
    assert covered == expected


def test_an_officers_summary_over_months_matches_the_decisions(auditor, officer, history):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    for first, last in (
        (None, None),
        (today.replace(day=1), None),
        (today, today),
        (today - timedelta(days=40), today),
    ):
        f = selectors.PredictionFilters(user_id=officer.pk, date_from=first, date_to=last)
        summary = selectors.prediction_summary(user=auditor, filters=f)
        assert (summary.count, summary.approved, summary.overridden) == _truth(auditor, f)


def test_an_impossible_pair_of_filters_shows_an_empty_page_without_searching(
    client, auditor, history, django_assert_max_num_queries
):
    client.force_login(auditor)
    response = client.get(reverse("audit:prediction-list"), {"decision": "approve", "risk_band": "E"})
    assert response.status_code == 200
    assert response.context["page"].items == [] and response.context["summary"].count == 0
