"""The challenger comparison page: its numbers against an independent computation on a seeded set, and who sees it."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from sklearn.metrics import roc_auc_score

from scoring.decisions import services
from scoring.lifecycle import challengers, versions
from scoring.models import LoanOutcome, ShadowScore
from tests.support.challengers import lenient_bundle, typed_applications

PAGE = reverse("scoring:monitoring-challenger")
KINDS = ("approve", "refer", "decline")


@pytest.fixture
def seeded(active_version, tmp_path, officer, model_admin):
    """60 live decisions; a challenger's scores drawn at random for them; outcomes for 40 of them."""
    challenger = versions.register_bundle(path=lenient_bundle(tmp_path / "lenient"))
    challengers.start_challenger(version=challenger, user=model_admin)
    results = services.score_applications(
        user=officer, applications=[(inputs, ref) for ref, inputs in typed_applications(60, seed=3)], channel="api"
    )
    rng = np.random.default_rng(42)
    probabilities = rng.uniform(0, 0.6, len(results))
    decisions = rng.choice(KINDS, len(results))
    ShadowScore.objects.bulk_create(
        ShadowScore(
            prediction=p,
            model_version=challenger,
            probability=float(probabilities[i]),
            decision=str(decisions[i]),
            threshold=0.3,
            refer_lower=0.2,
            risk_band="C",
        )
        for i, p in enumerate(results)
    )
    outcome_kinds = rng.choice(["repaid", "defaulted", "written_off", "withdrawn"], 40, p=[0.55, 0.25, 0.1, 0.1])
    for p, outcome in zip(results[:40], outcome_kinds, strict=True):
        LoanOutcome.objects.create(
            prediction=p,
            outcome=str(outcome),
            observed_on=datetime.date(2026, 11, 30),
            source="api",
            created_by=officer,
        )
    return challenger, results, probabilities, decisions, outcome_kinds


def ks(y, p) -> float:
    """The largest gap between the score distributions of bad and good loans, by hand."""
    cuts = np.unique(p)
    bad, good = p[y == 1], p[y == 0]
    return max(abs((bad <= c).mean() - (good <= c).mean()) for c in cuts)


def test_the_page_numbers_equal_an_independent_computation(client, auditor, seeded):
    challenger, results, probabilities, decisions, outcome_kinds = seeded
    champion = np.array([p.model_decision or p.decision for p in results])
    client.force_login(auditor)
    response = client.get(PAGE)
    assert response.status_code == 200
    shown = response.context["comparison"]
    assert shown.version == challenger
    assert shown.scored == 60
    assert shown.agreed == int((champion == decisions).sum())
    assert shown.agreement_rate == pytest.approx((champion == decisions).mean())
    swap_in = (champion == "decline") & (decisions == "approve")
    swap_out = (champion == "approve") & (decisions == "decline")
    assert (shown.swap_in, shown.swap_out) == (int(swap_in.sum()), int(swap_out.sum()))
    assert shown.swap_in and shown.swap_out  # the seeded set has both, so the check means something
    ids = np.array([p.pk for p in results])
    assert shown.swap_in_examples == sorted(ids[swap_in].tolist(), reverse=True)[:5]
    assert shown.swap_out_examples == sorted(ids[swap_out].tolist(), reverse=True)[:5]
    assert shown.approval_rate("champion") == pytest.approx((champion == "approve").mean())
    assert shown.approval_rate("challenger") == pytest.approx((decisions == "approve").mean())
    champion_p = np.array([p.probability for p in results])
    edges = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
    assert shown.challenger_pd_counts == np.histogram(probabilities, bins=edges)[0].tolist()
    assert shown.champion_pd_counts == np.histogram(champion_p, bins=edges)[0].tolist()

    booked = outcome_kinds != "withdrawn"
    y = np.isin(outcome_kinds[booked], ["defaulted", "written_off"]).astype(int)
    assert shown.labelled == int(booked.sum())
    for performance, approved_rate, p, said in (
        (shown.challenger_performance, shown.challenger_approved_default_rate, probabilities, decisions),
        (shown.champion_performance, shown.champion_approved_default_rate, champion_p, champion),
    ):
        p, said = p[:40][booked], said[:40][booked]
        assert performance.auc == pytest.approx(roc_auc_score(y, p), abs=1e-4)
        assert performance.ks == pytest.approx(ks(y, p), abs=1e-4)
        assert performance.bad_rate == pytest.approx(y.mean(), abs=1e-4)
        assert approved_rate == pytest.approx(y[said == "approve"].mean())

    page = BeautifulSoup(response.content, "html.parser")
    kpis = {dt.get_text(strip=True): dt.find_next("dd").get_text(strip=True) for dt in page.select("dl.kpis dt")}
    assert kpis["Decisions scored"] == "60"
    assert kpis["Agreement"] == f"{(champion == decisions).mean() * 100:.1f}%"
    assert kpis["Swap-in"] == str(int(swap_in.sum()))
    links = [a["href"] for a in page.select("ul.examples a")]
    assert reverse("audit:prediction-detail", args=[shown.swap_in_examples[0]]) in links
    matrix = [[int(td.get_text()) for td in tr.select("td")] for tr in page.select("table.matrix tbody tr")]
    assert matrix == [[int(((champion == a) & (decisions == b)).sum()) for b in KINDS] for a in KINDS]
    assert page.select_one("svg.chart") is not None
    realised = {
        tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.select("td")]
        for tr in page.select("#outcomes-h ~ div table tbody tr")
    }
    champion_auc, challenger_auc = shown.champion_performance.auc, shown.challenger_performance.auc
    assert realised["AUC"] == [f"{champion_auc:.3f}", f"{challenger_auc:.3f}"]


def test_a_past_challenger_can_be_chosen_and_a_bad_choice_is_an_error(client, model_admin, seeded):
    challenger = seeded[0]
    challengers.stop_challenger(user=model_admin)
    client.force_login(model_admin)
    response = client.get(PAGE, {"version": challenger.pk})
    assert response.status_code == 200 and response.context["comparison"].scored == 60
    assert "Stopped" in response.content.decode()
    refused = client.get(PAGE, {"version": "999999"})
    assert refused.status_code == 200 and refused.context["comparison"] is None
    assert "Select a valid choice" in refused.content.decode()


def test_with_no_challenger_yet_the_page_says_so(client, auditor, active_version):
    client.force_login(auditor)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "No version has been a challenger yet" in response.content.decode()


def test_the_monitoring_page_links_to_it(client, auditor, active_version):
    client.force_login(auditor)
    assert f'href="{PAGE}"' in client.get(reverse("scoring:monitoring")).content.decode()


def test_officers_may_not_see_it(client, officer, active_version):
    client.force_login(officer)
    assert client.get(PAGE).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]
