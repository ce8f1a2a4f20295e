"""The monitoring page: who may see it, daily rates from the aggregate table, drift table and charts, fairness."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.templatetags.static import static
from django.test.utils import CaptureQueriesContext

from scoring.decisions import services
from scoring.monitoring import reports
from scoring.monitoring.reports import fairness_from_rows, group_of
from tests.support.monitoring_data import holdout_frame, record_population
from tests.support.reviews import standing_review

URL = "/monitoring/"


def _rows(sex: str, count: int, approved: int, **extra):
    status = {"male": "male : single", "female": "female : divorced/separated/married"}[sex]
    return [
        ({"personal_status_and_sex": status, **extra}, "approve" if i < approved else "decline") for i in range(count)
    ]


def test_protected_fields_map_to_groups():
    assert group_of("sex", {"personal_status_and_sex": "female : divorced/separated/married"}) == "female"
    assert group_of("sex", {"personal_status_and_sex": "male : single"}) == "male"
    assert group_of("sex", {}) is None
    assert group_of("age_band", {"age_in_years": 24}) == "18-24"
    assert group_of("age_band", {"age_in_years": 25}) == "25-34"
    assert group_of("age_band", {"age_in_years": 70}) == "65+"
    assert group_of("age_band", {"age_in_years": "n/a"}) is None
    assert group_of("foreign_worker", {"foreign_worker": "yes"}) == "yes"


def test_a_known_disparity_is_flagged_and_small_groups_are_not_judged():
    rows = (
        _rows("male", 100, 60, age_in_years=30, foreign_worker="no")
        + _rows("female", 100, 40, age_in_years=40, foreign_worker="no")
        + _rows("female", 5, 0, age_in_years=70, foreign_worker="yes")
        + [({}, "approve")] * 3
    )

    tables = {t.attribute: t for t in fairness_from_rows(rows, min_group=30)}

    sex = {g.name: g for g in tables["sex"].groups}
    assert sex["male"].approval_rate == pytest.approx(0.6) and sex["male"].reference
    assert sex["female"].count == 105
    assert sex["female"].ratio == pytest.approx((40 / 105) / 0.6, abs=1e-4)
    assert sex["female"].flagged and not sex["male"].flagged
    assert tables["sex"].flagged and tables["sex"].not_recorded == 3

    age = {g.name: g for g in tables["age_band"].groups}
    assert age["65+"].too_few and age["65+"].ratio is None and not age["65+"].flagged
    assert age["35-44"].ratio == pytest.approx(0.4 / 0.6, abs=1e-4) and age["35-44"].flagged
    assert [g.name for g in tables["age_band"].groups] == ["25-34", "35-44", "65+"]

    foreign = {g.name: g for g in tables["foreign_worker"].groups}
    assert foreign["yes"].too_few and not tables["foreign_worker"].flagged


def test_within_four_fifths_nothing_is_flagged():
    rows = _rows("male", 50, 25) + _rows("female", 50, 21)  # ratio 0.84
    sex = {g.name: g for g in fairness_from_rows(rows, min_group=30)[0].groups}
    assert sex["female"].ratio == pytest.approx(0.84) and not sex["female"].flagged


@pytest.mark.parametrize("persona, status", [("officer", 403), ("auditor", 200), ("model_admin", 200)])
def test_only_auditors_and_model_admins_see_monitoring(db, client, request, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(URL).status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_works_without_any_data(client, auditor):
    client.force_login(auditor)
    page = client.get(URL).content.decode()
    assert "No drift report yet" in page and "No fairness figures yet" in page
    assert "No data in this period" in page


def test_the_page_reads_fairness_from_the_stored_report_not_from_decisions(client, auditor, officer, active_version):
    record_population(officer, holdout_frame(1))
    report = reports.create_drift_report()
    assert report.fairness["decisions"] == 250
    client.force_login(auditor)

    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "scoring_prediction" in q["sql"]]


def test_daily_rates_come_from_the_aggregate_table(officer, active_version, example_inputs):
    decisions = [services.score_application(user=officer, inputs=example_inputs, channel="web") for _ in range(3)]
    outcome = "decline" if decisions[0].decision != "decline" else "approve"
    standing_review(  # beyond the officer's limit it counts once approved
        user=officer,
        prediction=decisions[0],
        outcome=outcome,
        reason_code="policy",
        justification="Credit policy rule 7.",
    )

    today = reports.daily_rates(days=7)[-1]

    assert today.volume == 3
    assert today.approved == sum(d.decision == "approve" for d in decisions)
    assert today.overridden == 1 and today.override_rate == pytest.approx(1 / 3)
    assert today.mean_probability == pytest.approx(sum(d.probability for d in decisions) / 3)
    assert len(reports.daily_rates(days=7)) == 7


def test_the_page_shows_rates_drift_and_fairness(client, auditor, officer, active_version, example_inputs, settings):
    settings.FAIRNESS_MIN_GROUP = 20
    services.score_application(user=officer, inputs=example_inputs, channel="web")
    frame = holdout_frame(1)
    frame["duration_in_month"] = 60
    males = frame["personal_status_and_sex"].str.startswith("male").tolist()
    # A known disparity: every man approved, one woman in four.
    record_population(officer, frame, decide=lambda i: "approve" if males[i] or i % 4 == 0 else "decline")
    reports.create_drift_report()
    client.force_login(auditor)

    page = client.get(URL).content.decode()

    assert page.count("<svg") >= 3 + 18  # three activity charts, one per feature and the score
    assert "<title" in page and "Daily volume" in page and "Approval and override rates" in page
    assert "style=" not in page and "<style" not in page
    # scripts only from files (the CSP forbids inline ones); the charts themselves need none
    assert re.findall(r"<script[^>]*>", page) == [f'<script src="{static("js/app.js")}" defer>']
    row = re.search(
        r'<tr class="row-act">\s*<th scope="row">Loan duration <code class="field-name">duration_in_month</code>',
        page,
    )
    assert row, "duration_in_month should be flagged act in the PSI table"
    assert "below four-fifths" in page
    assert "female" in page and "most favoured" in page
    # Approval rates read as percentages with one decimal, as on every page; every man approved.
    assert re.search(r'<td class="num">100\.0%</td>', page)


def test_small_groups_show_as_too_few_to_judge(client, auditor, officer, active_version, settings):
    settings.FAIRNESS_MIN_GROUP = 1000
    record_population(officer, holdout_frame(1))
    reports.create_drift_report()
    client.force_login(auditor)
    page = client.get(URL).content.decode()
    assert "too few to judge" in page and "below four-fifths" not in page
