"""Realised performance per model version and monthly vintage, checked against scikit-learn on a seeded history;
flags, overrides, the funnel, the monitoring section, the API and the Prometheus gauges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pytest
from django.core.cache import cache
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from scoring.decisions import services
from scoring.models import Decision, LoanOutcome
from scoring.monitoring import performance
from tests.support.outcomes_history import HISTORY_DB, decisions_in_month, model_version, report
from tests.support.reviews import standing_review

MONTHS = [(2026, 1), (2026, 2), (2026, 3)]
pytestmark = HISTORY_DB


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@dataclass
class History:
    """What the test knows of the history it made, to compute every expected figure itself."""

    loans: list[tuple[date, float, int]] = field(default_factory=list)  # booked loans: vintage, PD, defaulted
    decided: dict[date, int] = field(default_factory=dict)
    approved: dict[date, int] = field(default_factory=dict)
    withdrawn_approved: int = 0
    by_origin: dict[str, list[int]] = field(default_factory=lambda: {"model": [], "referral": [], "decline": []})
    officer_declined: int = 0
    pending_reported: int = 0
    predictions: list = field(default_factory=list)
    outcomes: dict[int, LoanOutcome] = field(default_factory=dict)


def _decision(p: float) -> str:
    return Decision.APPROVE if p < 0.45 else Decision.REFER if p < 0.55 else Decision.DECLINE


def _seed(officer, version, months, per_month: int, seed: int) -> History:
    """Decisions in each month; outcomes drawn from the PD with a seeded RNG for most approvals (a few withdrawn,
    a few not reported yet); officers approve some referrals and declines and decline some approvals."""
    rng = np.random.default_rng(seed)
    history = History()
    for year, month in months:
        vintage = date(year, month, 1)
        p = np.round(rng.beta(2, 5, per_month), 6)
        made = decisions_in_month(
            officer, version, year=year, month=month, probabilities=p, decisions=[_decision(x) for x in p]
        )
        history.predictions += made
        history.decided[vintage] = per_month
        history.approved[vintage] = 0
        for index, prediction in enumerate(made):
            final, origin = prediction.decision, "model"
            if prediction.decision == Decision.REFER and index % 2 == 0:
                standing_review(
                    user=officer,
                    prediction=prediction,
                    outcome="approve",
                    reason_code="collateral",
                    justification="A guarantor signed.",
                )
                final, origin = Decision.APPROVE, "referral"
            elif prediction.decision == Decision.DECLINE and index % 3 == 0:
                standing_review(
                    user=officer,
                    prediction=prediction,
                    outcome="approve",
                    reason_code="relationship",
                    justification="Twenty years with the bank.",
                )
                final, origin = Decision.APPROVE, "decline"
            elif prediction.decision == Decision.APPROVE and index % 25 == 0:
                standing_review(
                    user=officer,
                    prediction=prediction,
                    outcome="decline",
                    reason_code="affordability",
                    justification="Rent not declared.",
                )
                history.officer_declined += 1
                continue
            if final != Decision.APPROVE:
                continue
            history.approved[vintage] += 1
            draw = rng.random()
            if draw < 0.05:
                history.outcomes[prediction.pk] = report(prediction, "withdrawn", user=officer)
                history.withdrawn_approved += 1
            elif draw < 0.92:
                defaulted = int(rng.random() < prediction.probability)
                outcome = rng.choice(["defaulted", "written_off"]) if defaulted else "repaid"
                history.outcomes[prediction.pk] = report(prediction, str(outcome), user=officer)
                history.loans.append((vintage, prediction.probability, defaulted))
                history.by_origin[origin].append(defaulted)
    return history


def _expected(loans):
    y = np.array([d for _, _, d in loans])
    p = np.array([pd_ for _, pd_, _ in loans])
    fpr, tpr, _ = roc_curve(y, p)
    return {
        "auc": roc_auc_score(y, p),
        "ks": float(np.max(tpr - fpr)),
        "brier": brier_score_loss(y, p),
        "default_rate": y.mean(),
        "mean_pd": p.mean(),
        "outcomes": len(y),
        "defaults": int(y.sum()),
    }


@pytest.fixture
def history(officer):
    version = model_version("scorecard-2026", auc=0.99, ks=0.05)
    return version, _seed(officer, version, MONTHS, per_month=160, seed=20260101)


def test_realised_figures_per_vintage_match_scikit_learn(history):
    version, seeded = history

    found = performance.realised_performance(version)

    assert [v.month for v in found.vintages] == [date(y, m, 1) for y, m in MONTHS]
    for vintage in found.vintages:
        expected = _expected([loan for loan in seeded.loans if loan[0] == vintage.month])
        figures = vintage.figures
        assert figures.outcomes == expected["outcomes"] >= 100
        assert figures.decisions == seeded.decided[vintage.month]
        assert figures.approved == seeded.approved[vintage.month]
        assert figures.defaults == expected["defaults"]
        assert figures.default_rate == pytest.approx(expected["default_rate"], abs=1e-4)
        assert figures.mean_pd == pytest.approx(expected["mean_pd"], abs=1e-4)
        assert figures.calibration_gap == pytest.approx(expected["default_rate"] - expected["mean_pd"], abs=1e-4)
        assert figures.auc == pytest.approx(expected["auc"], abs=1e-4)
        assert figures.gini == pytest.approx(2 * expected["auc"] - 1, abs=2e-4)
        assert figures.ks == pytest.approx(expected["ks"], abs=1e-4)
        assert figures.brier == pytest.approx(expected["brier"], abs=1e-4)
    overall = _expected(seeded.loans)
    assert found.overall.auc == pytest.approx(overall["auc"], abs=1e-4)
    assert found.overall.ks == pytest.approx(overall["ks"], abs=1e-4)
    assert found.overall.outcomes == overall["outcomes"]
    assert found.overall.decisions == 480


def test_the_calibration_table_is_the_reliability_by_pd_decile(history):
    version, seeded = history

    table = performance.realised_performance(version).calibration

    ordered = sorted(((p, d) for _, p, d in seeded.loans), key=lambda loan: loan[0])
    deciles = np.array_split(np.arange(len(ordered)), 10)
    assert len(table) == 10
    for row, indices in zip(table, deciles, strict=True):
        pds = np.array([ordered[i][0] for i in indices])
        defaults = np.array([ordered[i][1] for i in indices])
        assert row["count"] == len(indices)
        assert row["mean_pd"] == pytest.approx(pds.mean())
        assert row["default_rate"] == pytest.approx(defaults.mean())
    assert sum(row["defaults"] for row in table) == sum(d for _, _, d in seeded.loans)


def test_the_funnel_runs_from_decision_to_default(history):
    version, seeded = history

    funnel = performance.realised_performance(version).funnel

    assert funnel.decided == 480
    assert funnel.approved == sum(seeded.approved.values())
    assert funnel.reported == len(seeded.loans) + seeded.withdrawn_approved
    assert funnel.booked == len(seeded.loans)
    assert funnel.defaulted == sum(d for _, _, d in seeded.loans)
    assert funnel.reported_not_approved == 0
    assert funnel.decided > funnel.approved > funnel.reported > funnel.booked > funnel.defaulted > 0


def test_officer_approvals_are_tracked_apart_from_the_models(history):
    version, seeded = history

    found = performance.realised_performance(version)

    groups = {g.origin: g for g in found.approvals}
    officer_loans = seeded.by_origin["referral"] + seeded.by_origin["decline"]
    for origin, loans in (
        ("model", seeded.by_origin["model"]),
        ("officer", officer_loans),
        ("officer_referral", seeded.by_origin["referral"]),
        ("officer_decline", seeded.by_origin["decline"]),
    ):
        assert groups[origin].booked == len(loans) > 0
        assert groups[origin].defaulted == sum(loans)
        assert groups[origin].default_rate == pytest.approx(sum(loans) / len(loans), abs=1e-4)
    assert groups["officer"].approved == groups["officer_referral"].approved + groups["officer_decline"].approved
    assert sum(g.approved for o, g in groups.items() if o != "officer") == found.funnel.approved
    assert found.declined_by_officer == seeded.officer_declined > 0
    assert found.declined_by_officer_reported == 0


def test_a_change_waiting_for_approval_is_not_an_approval(officer, settings):
    version = model_version("pending", auc=0.8, ks=0.4)
    (declined,) = decisions_in_month(
        officer, version, year=2026, month=4, probabilities=[0.7], decisions=[Decision.DECLINE]
    )
    settings.OVERRIDE_PD_LIMIT = 0.3
    review = services.record_review(
        user=officer,
        prediction=declined,
        outcome="approve",
        reason_code="collateral",
        justification="A house as collateral.",
    )
    assert review.needs_approval
    report(declined, "repaid", user=officer)

    found = performance.realised_performance(version)

    assert found.funnel.approved == 0 and found.funnel.reported == 0
    assert found.funnel.reported_not_approved == 1
    assert {g.origin: g.booked for g in found.approvals}["officer_decline"] == 0


def test_a_version_below_its_validation_figures_is_flagged(history):
    version, seeded = history

    found = performance.realised_performance(version)

    realised_auc = _expected(seeded.loans)["auc"]
    assert realised_auc < 0.99 - 0.05
    flags = {f.figure: f for f in found.overall.flags}
    assert found.overall.status == performance.FLAGGED and found.flagged
    assert flags["auc"].reference == 0.99 and flags["auc"].limit == pytest.approx(0.94)
    assert flags["auc"].realised == pytest.approx(realised_auc, abs=1e-4)
    assert "ks" not in flags  # realised KS is far above 0.05 - 0.05
    assert all(v.figures.status == performance.FLAGGED for v in found.vintages)


def test_too_few_outcomes_are_not_judged_and_one_class_gives_no_ranking(officer, settings):
    version = model_version("young", auc=0.9, ks=0.6)
    made = decisions_in_month(
        officer, version, year=2026, month=5, probabilities=[0.1] * 20, decisions=[Decision.APPROVE] * 20
    )
    for index, prediction in enumerate(made):
        report(prediction, "defaulted" if index < 10 else "repaid", user=officer)

    few = performance.realised_performance(version)
    settings.PERFORMANCE_MIN_OUTCOMES = 20
    judged = performance.realised_performance(version)

    assert few.overall.status == performance.TOO_FEW and few.overall.flags == ()
    assert few.overall.default_rate == 0.5  # still shown, just not judged
    # Every PD is the same: no ranking at all (AUC 0.5), against 0.9 on the validation sample.
    assert judged.overall.status == performance.FLAGGED
    flags = {f.figure: f for f in judged.overall.flags}
    assert flags["calibration"].realised == 0.5 and flags["calibration"].limit == pytest.approx(0.125)
    assert flags["auc"].realised == 0.5

    only_good = model_version("only-good", auc=0.9, ks=0.6)
    for prediction in decisions_in_month(
        officer, only_good, year=2026, month=5, probabilities=[0.2] * 3, decisions=[Decision.APPROVE] * 3
    ):
        report(prediction, "repaid", user=officer)
    one_class = performance.realised_performance(only_good).overall
    assert one_class.auc is None and one_class.ks is None and one_class.gini is None
    assert one_class.default_rate == 0.0 and one_class.brier == pytest.approx(0.04)


def test_a_version_without_validation_figures_is_judged_on_calibration_only(officer, settings):
    version = model_version("unvalidated", auc=None, ks=None)
    settings.PERFORMANCE_MIN_OUTCOMES = 4
    made = decisions_in_month(
        officer, version, year=2026, month=6, probabilities=[0.1, 0.2, 0.3, 0.4], decisions=[Decision.APPROVE] * 4
    )
    for prediction, outcome in zip(made, ["repaid", "defaulted", "repaid", "defaulted"], strict=True):
        report(prediction, outcome, user=officer)

    found = performance.realised_performance(version)

    assert found.reference_auc is None
    assert [f.figure for f in found.overall.flags] == ["calibration"]  # 0.5 observed against 0.25 predicted


def test_two_versions_are_measured_apart(history, officer):
    version, seeded = history
    other = model_version("challenger-2026", auc=0.7, ks=0.3)
    other_seeded = _seed(officer, other, MONTHS[1:], per_month=40, seed=7)

    first = performance.realised_performance(version)
    second = performance.realised_performance(other)

    assert first.overall.outcomes == len(seeded.loans)
    assert second.overall.outcomes == len(other_seeded.loans)
    assert [v.month for v in second.vintages] == [date(2026, 2, 1), date(2026, 3, 1)]
    assert second.overall.status == performance.TOO_FEW
    assert second.overall.auc == pytest.approx(_expected(other_seeded.loans)["auc"], abs=1e-4)


def test_a_vintage_window_keeps_only_its_months(history):
    version, seeded = history

    found = performance.realised_performance(version, since=date(2026, 2, 1), until=date(2026, 3, 1))

    assert [v.month for v in found.vintages] == [date(2026, 2, 1)]
    assert found.overall.outcomes == len([loan for loan in seeded.loans if loan[0] == date(2026, 2, 1)])
    assert found.funnel.decided == 160


def test_a_correction_supersedes_the_outcome_it_corrects(history, officer):
    version, seeded = history
    before = performance.realised_performance(version)
    repaid = next(
        p for p in seeded.predictions if p.pk in seeded.outcomes and seeded.outcomes[p.pk].outcome == "repaid"
    )

    report(repaid, "defaulted", user=officer, supersedes=seeded.outcomes[repaid.pk])
    after = performance.realised_performance(version)

    assert after.overall.outcomes == before.overall.outcomes
    assert after.overall.defaults == before.overall.defaults + 1
    defaults = sum(d for _, _, d in seeded.loans) + 1
    assert after.overall.default_rate == pytest.approx(defaults / len(seeded.loans), abs=1e-4)
    assert after.funnel.defaulted == before.funnel.defaulted + 1


# --- the monitoring page -------------------------------------------------------------------


def _activate(version):
    """Make a seeded version the active one (as the lifecycle's activation leaves it)."""
    from scoring.models import ModelVersion

    ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).update(status=ModelVersion.Status.RETIRED)
    version.status = ModelVersion.Status.ACTIVE
    version.save(update_fields=["status"])


def test_the_page_shows_the_active_versions_realised_performance(client, auditor, history):
    from bs4 import BeautifulSoup

    version, seeded = history
    _activate(version)
    client.force_login(auditor)

    response = client.get("/monitoring/")

    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    section = page.find("section", id="performance")
    assert section.find("select").find("option", selected=True)["value"] == str(version.pk)
    rows = section.find("table", class_="vintages").find("tbody").find_all("tr")
    assert [row.th.get_text(strip=True) for row in rows] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    first = _expected([loan for loan in seeded.loans if loan[0] == date(2026, 1, 1)])
    cells = [td.get_text(strip=True) for td in rows[0].find_all("td")]
    assert cells[2] == str(first["outcomes"])
    assert cells[3] == f"{first['default_rate'] * 100:.1f}%"
    assert cells[6] == f"{first['auc']:.3f}"
    assert "flagged" in cells[-1] and "AUC" in cells[-1]
    assert "Realised AUC" in section.find("ul", class_="flags").get_text()
    funnel = {
        r.th.get_text(strip=True): r.td.get_text(strip=True)
        for r in section.find("table", class_="funnel").tbody.find_all("tr")
    }
    assert funnel["Decided"] == "480" and funnel["Booked"] == str(len(seeded.loans))
    assert section.find("tr", class_="origin-officer_decline").find_all("td")[1].get_text() == str(
        len(seeded.by_origin["decline"])
    )
    chart = section.find("svg")
    assert chart.find("title").get_text() and chart.find("desc").get_text()
    assert len(chart.find_all("circle")) == 10
    assert len(section.find("table", class_="reliability").tbody.find_all("tr")) == 10


def test_the_page_shows_another_version_and_too_few_outcomes(client, model_admin, history, officer):
    other = model_version("challenger-2026", auc=0.7, ks=0.3)
    _seed(officer, other, MONTHS[2:], per_month=30, seed=3)
    client.force_login(model_admin)

    response = client.get("/monitoring/", {"version": other.pk})

    text = response.content.decode()
    assert response.status_code == 200
    assert "too few outcomes" in text and "too few to judge" in text
    assert f'<option value="{other.pk}" selected>' in text


def test_an_unknown_version_is_a_form_error_not_another_versions_figures(client, auditor, history):
    client.force_login(auditor)

    response = client.get("/monitoring/", {"version": "999999"})

    text = response.content.decode()
    assert response.status_code == 200
    assert "Choose one of the listed model versions" in text
    assert 'class="data vintages"' not in text


def test_officers_may_not_see_it(client, officer, history):
    client.force_login(officer)
    assert client.get("/monitoring/").status_code == 403


def test_the_page_says_when_no_version_has_decided(client, auditor):
    client.force_login(auditor)
    response = client.get("/monitoring/")
    assert "No model version has made decisions yet." in response.content.decode()


# --- the API -------------------------------------------------------------------------------


def test_the_api_gives_the_pages_figures_to_auditors_and_model_admins(auditor_api, model_admin_api, history):
    version, seeded = history
    _activate(version)

    by_id = auditor_api.get(f"/api/v1/models/{version.pk}/performance")
    active = model_admin_api.get("/api/v1/models/active/performance")

    assert by_id.status_code == 200 and active.status_code == 200
    body = by_id.json()
    assert body == active.json()
    assert body["version_id"] == version.pk and body["flagged"] is True
    assert body["overall"]["auc"] == pytest.approx(_expected(seeded.loans)["auc"], abs=1e-4)
    assert [v["month"] for v in body["vintages"]] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert body["overall"]["flags"][0]["figure"] == "auc"
    assert body["funnel"]["decided"] == 480
    assert {g["origin"] for g in body["approvals"]} == {"model", "officer", "officer_referral", "officer_decline"}
    assert len(body["calibration"]) == 10


def test_the_api_refuses_officers_and_names_unknown_versions(officer_api, auditor_api, history):
    version, _ = history

    assert officer_api.get(f"/api/v1/models/{version.pk}/performance").status_code == 403
    assert officer_api.get("/api/v1/models/active/performance").status_code == 403
    missing = auditor_api.get("/api/v1/models/999999/performance")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    assert auditor_api.get("/api/v1/models/active/performance").status_code == 404  # none active


# --- Prometheus and the cache ------------------------------------------------------------------


def test_the_scrape_exports_the_gauges_from_the_cached_figures(
    client, settings, history, django_assert_max_num_queries
):
    version, seeded = history
    settings.METRICS_TOKEN = "a-metrics-token-for-tests-0123456789"
    performance.refresh_realised_performance()

    with django_assert_max_num_queries(3):  # versions with decisions; figures from the cache (and drift)
        body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer a-metrics-token-for-tests-0123456789").content
    text = body.decode()

    expected = _expected(seeded.loans)
    label = f'{{model_version="{version.pk}"}}'
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.endswith(tuple("0123456789")) and label in line
    }
    assert values[f"creditscore_realised_auc{label}"] == pytest.approx(expected["auc"], abs=1e-4)
    assert values[f"creditscore_realised_ks{label}"] == pytest.approx(expected["ks"], abs=1e-4)
    assert values[f"creditscore_realised_default_rate{label}"] == pytest.approx(expected["default_rate"], abs=1e-4)
    assert values[f"creditscore_predicted_pd_mean{label}"] == pytest.approx(expected["mean_pd"], abs=1e-4)
    assert values[f"creditscore_outcomes_count{label}"] == len(seeded.loans)
    assert values[f"creditscore_realised_performance_flag{label}"] == 1.0


def test_the_cached_figures_are_refreshed_by_the_task(history, officer):
    version, seeded = history
    cached = performance.cached_realised_performance(version)
    repaid = next(
        p for p in seeded.predictions if p.pk in seeded.outcomes and seeded.outcomes[p.pk].outcome == "repaid"
    )
    report(repaid, "defaulted", user=officer, supersedes=seeded.outcomes[repaid.pk])

    assert performance.cached_realised_performance(version).overall.defaults == cached.overall.defaults
    assert performance.refresh_realised_performance() == [version.pk]
    assert performance.cached_realised_performance(version).overall.defaults == cached.overall.defaults + 1
