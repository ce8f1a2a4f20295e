"""Backtesting a model version and a credit policy on stored decisions: the figures against an independent replay
(the engine's probabilities, decisions from the bundle's own threshold, the policy in plain Python, the swap matrix
and outcome figures with pandas), decisions that cannot be replayed, chunks and progress, failures, reruns of a
stopped backtest, and who may use the pages."""

from __future__ import annotations

import shutil
import threading
from contextlib import closing
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from django.db import OperationalError, transaction
from django.urls import reverse
from django.utils import timezone

from scoring.backtests import services
from scoring.backtests.tally import BacktestTally, histogram_auc
from scoring.decisions.services import score_application
from scoring.engine import BundleRejected
from scoring.engine.training import COST_APPROVE_BAD, COST_DECLINE_GOOD, roc_auc
from scoring.exceptions import InvalidBacktest
from scoring.lifecycle import registry as model_registry
from scoring.lifecycle import versions
from scoring.models import Backtest, Channel, LoanOutcome, ModelVersion, PolicyVersion, Prediction
from scoring.monitoring.replay import read_ahead
from scoring.policy import defaults
from scoring.policy import services as policies
from tests.policy.test_simulation import ACTIVE_PLAIN, DRAFT_PLAIN, DRAFT_RULES, _application, _decide
from tests.support import DEFAULT_BUNDLE

MIN_GROUP = 5
BAD = ("defaulted", "written_off")
DECISIONS = ["approve", "refer", "decline"]


@pytest.fixture
def history(active_version, officer, settings):
    """Decisions before any policy (no protected fields recorded) and under the default policy, two rows that
    cannot be replayed (a feature missing, a value the schema refuses) and outcomes on about half of them, one
    corrected and one withdrawn."""
    settings.FAIRNESS_MIN_GROUP = MIN_GROUP
    model = model_registry.get_active().model
    base = model.example_inputs()
    for i in range(8):
        score_application(user=officer, inputs=_application(base, i, with_protected=False), channel=Channel.API)
    policy = policies.create_version(name=defaults.NAME, rules=defaults.RULES, user=None, model=model)
    policies.activate(policy, user=None, model=model)
    for i in range(8, 70):
        score_application(user=officer, inputs=_application(base, i, with_protected=True), channel=Channel.API)
    for k, row in enumerate(Prediction.objects.order_by("-id")[:2]):
        row.pk, row.idempotency_key = None, None
        if k == 0:
            row.features.pop("credit_amount")
        else:
            row.features["purpose"] = "a spaceship"
        row.save(force_insert=True)
    for n, row in enumerate(Prediction.objects.order_by("id")):
        if n % 2:
            continue
        outcome = "defaulted" if row.probability > 0.15 or n % 7 == 0 else "repaid"
        if n == 10:
            outcome = "withdrawn"
        first = LoanOutcome.objects.create(
            prediction=row, outcome=outcome, observed_on=timezone.localdate(), source="command", created_by=officer
        )
        if n == 4:  # a correction: the later row stands
            LoanOutcome.objects.create(
                prediction=row,
                outcome="written_off" if outcome == "repaid" else "repaid",
                observed_on=timezone.localdate(),
                source="command",
                created_by=officer,
                supersedes=first,
                reason="Reported wrongly.",
            )
    return Prediction.objects.order_by("created_at", "id")


@pytest.fixture
def stricter_version(active_version, tmp_path):
    """The same model with a lower threshold and refer band (0.1096 and 0.068), registered and validated."""
    folder = tmp_path / "stricter"
    shutil.copytree(DEFAULT_BUNDLE, folder)
    mlmodel = folder / "MLmodel"
    text = mlmodel.read_text(encoding="utf-8")
    old = "  threshold: 0.1695\n  refer_band:\n    lower: 0.1096\n    upper: 0.1695\n"
    assert old in text
    mlmodel.write_text(
        text.replace(old, "  threshold: 0.1096\n  refer_band:\n    lower: 0.068\n    upper: 0.1096\n"), encoding="utf-8"
    )
    version = versions.register_bundle(path=folder, name="stricter")
    return versions.validate_version(version=version, user=None)


@pytest.fixture
def draft(history, policy_manager):
    return policies.create_version(
        name="Stricter", rules=DRAFT_RULES, user=policy_manager, model=model_registry.get_active().model
    )


def _today():
    return timezone.localdate()


def _backtest(version, user, *, policy=None, chunk_size=None) -> Backtest:
    found = services.request_backtest(
        model_version=version, policy_version=policy, user=user, date_from=_today(), date_to=_today()
    )
    return services.run(backtest_id=found.pk, chunk_size=chunk_size)


# --- the independent replay ----------------------------------------------------------------------


def _bundle_policy(version: ModelVersion) -> tuple[float, float]:
    """The threshold and refer band as the bundle's MLmodel file says, read here with PyYAML."""
    path = Path(model_registry.local_bundle_path(version)) / "MLmodel"
    metadata = yaml.safe_load(path.read_text(encoding="utf-8"))["metadata"]
    return float(metadata["threshold"]), float(metadata["refer_band"]["lower"])


def _expected(version: ModelVersion, plain) -> dict:
    model = model_registry.get_loaded(version)
    threshold, lower = _bundle_policy(version)
    rows = list(Prediction.objects.order_by("created_at", "id"))
    tested = {field for *_, field, _ in plain}
    kept, missing, invalid = [], {}, {}
    for row in rows:
        absent = [f for f in model.feature_names if row.features.get(f) is None]
        absent += [f for f in tested - set(model.feature_names) if row.protected.get(f) in (None, "")]
        refused = [f.name for f in model.features if f.choices and row.features.get(f.name) not in (*f.choices, None)]
        for name in absent:
            missing[name] = missing.get(name, 0) + 1
        for name in refused:
            invalid[name] = invalid.get(name, 0) + 1
        if not absent and not refused:
            kept.append(row)
    frame = pd.DataFrame([r.features for r in kept])[model.feature_names]
    p = model.probabilities(frame)
    model_decisions = np.where(p >= threshold, "decline", np.where(p >= lower, "refer", "approve"))
    values = [_decide(plain, row, str(m))[0] if plain else str(m) for row, m in zip(kept, model_decisions, strict=True)]
    standing = {}
    for o in LoanOutcome.objects.order_by("id"):
        standing[o.prediction_id] = o.outcome
    table = pd.DataFrame(
        {
            "live": [r.decision for r in kept],
            "backtest": values,
            "p_live": [r.probability for r in kept],
            "p_backtest": p,
            "outcome": [standing.get(r.pk) for r in kept],
            "sex": [r.protected.get("personal_status_and_sex") for r in kept],
        }
    )
    return {"table": table, "missing": missing, "invalid": invalid, "not_replayable": len(rows) - len(kept)}


def _side_figures(table: pd.DataFrame, side: str) -> dict:
    labelled = table[table.outcome.notna() & (table.outcome != "withdrawn")]
    bad = labelled.outcome.isin(BAD)
    approved = table[side] == "approve"
    approved_labelled = labelled[labelled[side] == "approve"]
    defaults_ = int(approved_labelled.outcome.isin(BAD).sum())
    repaid_declined = int(((labelled[side] == "decline") & ~bad).sum())
    return {
        "approved": int(approved.sum()),
        "approved_with_outcome": len(approved_labelled),
        "approved_defaults": defaults_,
        "declined_repaid": repaid_declined,
        "expected_loss": COST_APPROVE_BAD * float(table.loc[approved, f"p_{side}"].sum()),
        "realised_cost": COST_APPROVE_BAD * defaults_ + COST_DECLINE_GOOD * repaid_declined,
        "auc": roc_auc(bad.to_numpy(dtype=int), labelled[f"p_{side}"].to_numpy()),
    }


@pytest.mark.parametrize("with_draft", [True, False], ids=["draft policy", "active policy"])
def test_the_figures_match_an_independent_replay(history, draft, active_version, model_admin, with_draft):
    found = _backtest(active_version, model_admin, policy=draft if with_draft else None)
    assert found.state == Backtest.State.DONE, found.error
    report = found.result
    expected = _expected(active_version, DRAFT_PLAIN if with_draft else ACTIVE_PLAIN)
    table = expected["table"]

    assert found.applied_policy_id == (draft.pk if with_draft else PolicyVersion.objects.get(status="active").pk)
    assert report["read"] == history.count() == found.rows_total == found.rows_done
    assert report["replayed"] == len(table)
    assert report["not_replayable"] == expected["not_replayable"]
    assert report["missing_fields"] == expected["missing"]
    assert report["invalid_fields"] == expected["invalid"] == {"purpose": 1}
    assert expected["missing"]["credit_amount"] == 1
    if with_draft:  # the draft tests the applicant's age, which the first decisions did not record
        assert expected["missing"]["age_in_years"] == 8
    for side in ("live", "backtest"):
        counts = table[side].value_counts()
        for decision in ("approve", "refer", "decline"):
            assert report["sides"][side]["counts"][decision] == int(counts.get(decision, 0))
            assert report["sides"][side]["rates"][decision] == pytest.approx(counts.get(decision, 0) / len(table))

    crossed = pd.crosstab(table.live, table.backtest)
    for cell in report["swap_matrix"]:
        want = crossed.reindex(index=DECISIONS, columns=DECISIONS, fill_value=0).loc[cell["live"], cell["backtest"]]
        assert cell["count"] == want, cell
    assert report["swap_in"] == int(((table.live != "approve") & (table.backtest == "approve")).sum())
    assert report["swap_out"] == int(((table.live == "approve") & (table.backtest != "approve")).sum())
    assert report["changed"] == int((table.live != table.backtest).sum())
    if with_draft:
        assert report["changed"] > 0  # the draft declines education loans and refers amounts above 5,000

    for side in ("live", "backtest"):
        realised = report["sides"][side]["realised"]
        want = _side_figures(table, side)
        for key in ("approved", "approved_with_outcome", "approved_defaults", "declined_repaid"):
            assert realised[key] == want[key], (side, key)
        assert realised["expected_loss"] == pytest.approx(want["expected_loss"])
        assert realised["realised_cost"] == pytest.approx(want["realised_cost"])
        assert abs(realised["auc"] - want["auc"]) <= realised["auc_tied_share"] / 2 + 1e-9
    assert report["costs"] == {"approve_bad": COST_APPROVE_BAD, "decline_good": COST_DECLINE_GOOD, "source": "bundle"}
    assert report["outcomes"]["withdrawn"] == 1

    sex = next(t for t in report["sides"]["backtest"]["fairness"] if t["attribute"] == "personal_status_and_sex")
    recorded = table[table.sex.notna()]
    groups = recorded.groupby("sex")["backtest"].agg(count="size", approved=lambda s: int((s == "approve").sum()))
    assert {g["name"]: (g["count"], g["approved"]) for g in sex["groups"]} == {
        name: (int(r["count"]), int(r["approved"])) for name, r in groups.iterrows()
    }
    assert sex["not_recorded"] == int(table.sex.isna().sum())


def test_another_version_decides_with_its_own_threshold_and_refer_band(history, stricter_version, model_admin):
    assert stricter_version.status == ModelVersion.Status.VALIDATED, stricter_version.validation_report
    found = _backtest(stricter_version, model_admin)
    assert found.state == Backtest.State.DONE, found.error
    report = found.result
    assert report["thresholds"] == {"threshold": 0.1096, "refer_lower": 0.068}
    table = _expected(stricter_version, ACTIVE_PLAIN)["table"]
    counts = table.backtest.value_counts()
    for decision in ("approve", "refer", "decline"):
        assert report["sides"]["backtest"]["counts"][decision] == int(counts.get(decision, 0))
    crossed = pd.crosstab(table.live, table.backtest).reindex(index=DECISIONS, columns=DECISIONS, fill_value=0)
    assert {(c["live"], c["backtest"]): c["count"] for c in report["swap_matrix"]} == {
        (a, b): int(crossed.loc[a, b]) for a in DECISIONS for b in DECISIONS
    }
    assert report["swap_out"] > 0 and report["swap_in"] == 0  # a lower threshold only takes approvals away


def test_the_same_version_without_a_policy_change_swaps_only_what_the_policy_changed(
    history, active_version, model_admin
):
    """With the active policy and the live version, every replayable decision is the live one again."""
    report = _backtest(active_version, model_admin).result
    assert report["changed"] == 0
    assert report["swap_in"] == report["swap_out"] == 0
    live, backtest = report["sides"]["live"]["realised"], report["sides"]["backtest"]["realised"]
    assert backtest["auc"] == pytest.approx(live["auc"], abs=1e-9)


def test_small_chunks_give_the_same_report_and_write_progress_each_chunk(
    history, draft, active_version, model_admin, monkeypatch
):
    one = _backtest(active_version, model_admin, policy=draft).result
    progress = []
    add = BacktestTally.add

    def watched(self, rows, outcomes):
        running = Backtest.objects.get(state=Backtest.State.RUNNING)
        progress.append((running.rows_done, running.rows_total, running.heartbeat_at))
        add(self, rows, outcomes)

    monkeypatch.setattr(BacktestTally, "add", watched)
    many = _backtest(active_version, model_admin, policy=draft, chunk_size=9)
    assert many.state == Backtest.State.DONE
    total = history.count()
    # Seen as each chunk starts: the chunks before it are counted, with a heartbeat that moves on.
    assert [done for done, _, _ in progress] == [9 * k for k in range(-(-total // 9))]
    assert all(t == total for _, t, _ in progress)
    beats = [beat for _, _, beat in progress]
    assert all(a <= b for a, b in pairwise(beats))
    assert many.rows_done == total and many.heartbeat_at >= beats[-1]
    for report in (one, many.result):
        report.pop("period")
    assert _rounded(many.result) == _rounded(one)  # sums of probabilities differ in the last bits by chunking


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_reads_the_next_chunk_ahead_in_a_thread_and_reports_the_same(
    history, draft, active_version, model_admin, monkeypatch
):
    """In a worker (PostgreSQL, autocommit) each chunk and its outcomes are read in a thread of its own, one chunk
    ahead; inside a transaction, where another connection would not see the rows, they are read in turn."""
    readers = []
    outcomes = services.standing_outcomes

    def watched(ids):
        readers.append(threading.current_thread().name)
        return outcomes(ids)

    monkeypatch.setattr(services, "standing_outcomes", watched)
    start, end = services.backtest_period(date_from=_today(), date_to=_today(), now=timezone.now())

    def backtest():
        made = Backtest.objects.create(
            model_version=active_version, policy_version=draft, requested_by=model_admin, date_from=start, date_to=end
        )
        return services.run(backtest_id=made.pk, chunk_size=9)

    ahead = backtest()
    assert set(readers) == {"replay-read-ahead"} and len(readers) == -(-history.count() // 9)
    assert "replay-read-ahead" not in {t.name for t in threading.enumerate()}  # the thread ended with the run
    readers.clear()
    with transaction.atomic():
        in_turn = backtest()
    assert set(readers) == {threading.current_thread().name}
    assert ahead.state == in_turn.state == Backtest.State.DONE
    assert ahead.rows_done == in_turn.rows_done == history.count()
    assert _rounded(ahead.result) == _rounded(in_turn.result)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reading_ahead_raises_a_read_error_in_the_caller_and_stops_when_the_caller_does():
    def chunks(fail_after):
        for k in range(5):
            if k == fail_after:
                raise OperationalError("the server closed the connection")
            yield [k]

    seen = []
    with pytest.raises(OperationalError, match="closed the connection"):
        for chunk in read_ahead(chunks(fail_after=2)):
            seen.append(chunk)
    assert seen == [[0], [1]]
    with closing(read_ahead(chunks(fail_after=None))) as ahead:
        assert next(ahead) == [0]
    assert "replay-read-ahead" not in {t.name for t in threading.enumerate()}


def _rounded(value):
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


# --- what cannot be run, and failures ------------------------------------------------------------


def test_a_failure_is_recorded_with_a_clear_error(history, active_version, model_admin, monkeypatch):
    def broken(version):
        raise BundleRejected("model.cb: sha256 differs from the recorded one")

    found = services.request_backtest(
        model_version=active_version, policy_version=None, user=model_admin, date_from=_today(), date_to=_today()
    )
    monkeypatch.setattr(services.model_registry, "get_loaded", broken)
    done = services.run(backtest_id=found.pk)
    assert done.state == Backtest.State.FAILED
    assert done.error == "The model version's files could not be loaded: model.cb: sha256 differs from the recorded one"
    assert done.finished_at is not None and done.result == {}
    assert services.run(backtest_id=found.pk) is None  # a failed backtest is not claimed again


def test_a_policy_that_does_not_fit_the_version_fails_the_run_saying_so(history, active_version, model_admin):
    odd = PolicyVersion.objects.create(name="Odd")
    rule = odd.rules.create(code="NO_SUCH", name="Income", statement="x", outcome="decline", stage="before_model")
    rule.conditions.create(field="monthly_income", test="> 1")
    with pytest.raises(InvalidBacktest) as caught:
        services.request_backtest(
            model_version=active_version, policy_version=odd, user=model_admin, date_from=_today(), date_to=_today()
        )
    assert "policy_version" in caught.value.errors
    assert not Backtest.objects.exists()


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"date_from": None, "date_to": None}, "date_from"),
        ({"date_from": timezone.localdate() + timedelta(days=1), "date_to": timezone.localdate()}, "date_from"),
        ({"date_from": timezone.localdate(), "date_to": timezone.localdate() - timedelta(days=1)}, "date_to"),
        ({"date_from": timezone.localdate() - timedelta(days=800), "date_to": timezone.localdate()}, "date_to"),
    ],
)
def test_a_bad_period_is_refused_by_field_and_nothing_is_stored(active_version, model_admin, window, field):
    with pytest.raises(InvalidBacktest) as caught:
        services.request_backtest(model_version=active_version, policy_version=None, user=model_admin, **window)
    assert field in caught.value.errors
    assert not Backtest.objects.exists()


def test_a_version_that_was_not_validated_cannot_be_backtested(active_version, model_admin):
    pending = ModelVersion.objects.create(
        name="pending", sha256="1" * 64, status=ModelVersion.Status.PENDING, metadata={}
    )
    with pytest.raises(InvalidBacktest) as caught:
        services.request_backtest(
            model_version=pending, policy_version=None, user=model_admin, date_from=_today(), date_to=_today()
        )
    assert "model_version" in caught.value.errors


def test_histogram_auc_counts_ties_half():
    bad = np.zeros(11, dtype=np.int64)
    good = np.zeros(11, dtype=np.int64)
    bad[[8, 5]] = 1
    good[[2, 5]] = 1
    auc, ties = histogram_auc(bad, good)
    assert auc == pytest.approx(3.5 / 4) and ties == pytest.approx(1 / 4)
    assert histogram_auc(bad, np.zeros(11, dtype=np.int64)) == (None, None)


# --- a stopped worker, and running again ---------------------------------------------------------


def test_a_running_backtest_without_heartbeat_is_shown_stopped_and_can_be_run_again(
    history, active_version, model_admin, client
):
    found = services.request_backtest(
        model_version=active_version, policy_version=None, user=model_admin, date_from=_today(), date_to=_today()
    )
    long_ago = timezone.now() - services.stale_after() - timedelta(minutes=1)
    Backtest.objects.filter(pk=found.pk).update(state="running", started_at=long_ago, heartbeat_at=long_ago)
    client.force_login(model_admin)
    page = client.get(reverse("scoring:backtest-detail", args=[found.pk]))
    assert b"Run it again" in page.content and b'http-equiv="refresh"' not in page.content
    answer = client.post(reverse("scoring:backtest-rerun", args=[found.pk]))
    again = Backtest.objects.exclude(pk=found.pk).get()
    assert answer.status_code == 302 and answer["Location"] == reverse("scoring:backtest-detail", args=[again.pk])
    found.refresh_from_db()
    assert found.state == Backtest.State.FAILED and found.error.startswith("Its worker stopped: no progress since")
    assert again.rerun_of == found and again.state == Backtest.State.QUEUED
    assert (again.date_from, again.date_to, again.model_version_id) == (
        found.date_from,
        found.date_to,
        found.model_version_id,
    )


def test_a_slow_worker_whose_backtest_was_marked_stopped_leaves_it_as_it_is(
    history, active_version, model_admin, monkeypatch
):
    found = services.request_backtest(
        model_version=active_version, policy_version=None, user=model_admin, date_from=_today(), date_to=_today()
    )
    add = BacktestTally.add

    def marked_meanwhile(self, rows, outcomes):
        add(self, rows, outcomes)
        Backtest.objects.filter(pk=found.pk).update(state="failed", error="Its worker stopped: no progress since then.")

    monkeypatch.setattr(BacktestTally, "add", marked_meanwhile)
    done = services.run(backtest_id=found.pk, chunk_size=10)
    assert done.state == Backtest.State.FAILED
    assert done.error == "Its worker stopped: no progress since then."
    assert done.result == {} and done.rows_done == 0


def test_a_backtest_still_running_cannot_be_run_again(history, active_version, model_admin, client):
    found = services.request_backtest(
        model_version=active_version, policy_version=None, user=model_admin, date_from=_today(), date_to=_today()
    )
    Backtest.objects.filter(pk=found.pk).update(state="running", heartbeat_at=timezone.now())
    client.force_login(model_admin)
    page = client.get(reverse("scoring:backtest-detail", args=[found.pk]))
    assert b'http-equiv="refresh"' in page.content and b"Run it again" not in page.content
    # Followed by a script (no meta refresh for readers with JavaScript: axe's critical meta-refresh finding).
    assert b'<noscript><meta http-equiv="refresh"' in page.content and b"data-follow-progress" in page.content
    answer = client.post(reverse("scoring:backtest-rerun", args=[found.pk]))
    assert answer.status_code == 400 and b"still running" in answer.content
    assert Backtest.objects.count() == 1


# --- pages and permissions -----------------------------------------------------------------------


def test_model_admins_ask_for_a_backtest_and_read_its_report(history, draft, active_version, model_admin, client):
    client.force_login(model_admin)
    listing = client.get(reverse("scoring:backtests"), {"model_version": active_version.pk})
    assert listing.status_code == 200 and b"Run the backtest" in listing.content
    answer = client.post(
        reverse("scoring:backtests"),
        {"model_version": active_version.pk, "policy_version": draft.pk, "date_from": _today(), "date_to": _today()},
    )
    found = Backtest.objects.get()
    assert answer.status_code == 302 and found.policy_version == draft and found.requested_by == model_admin
    services.run(backtest_id=found.pk)
    page = client.get(reverse("scoring:backtest-detail", args=[found.pk]))
    assert page.status_code == 200
    for text in (
        b"Swap matrix",
        b"Swap-ins",
        b"Realised default rate of the approved",
        b"Approval rates by protected group",
    ):
        assert text in page.content
    assert b'http-equiv="refresh"' not in page.content


def test_a_bad_request_keeps_the_form_with_errors_next_to_the_fields(active_version, model_admin, client):
    client.force_login(model_admin)
    answer = client.post(
        reverse("scoring:backtests"),
        {"model_version": active_version.pk, "date_from": _today(), "date_to": _today() - timedelta(days=3)},
    )
    assert answer.status_code == 400
    assert answer.context["form"].errors["date_to"] == ["The last day must be on or after the first day."]
    assert not Backtest.objects.exists()


def test_auditors_read_backtests_but_cannot_ask_for_one(history, active_version, model_admin, auditor, client):
    found = _backtest(active_version, model_admin)
    client.force_login(auditor)
    assert client.get(reverse("scoring:backtests")).status_code == 200
    page = client.get(reverse("scoring:backtest-detail", args=[found.pk]))
    assert page.status_code == 200 and b"Run it again" not in page.content
    post = {"model_version": active_version.pk, "date_from": _today(), "date_to": _today()}
    assert client.post(reverse("scoring:backtests"), post).status_code == 403
    assert client.post(reverse("scoring:backtest-rerun", args=[found.pk])).status_code == 403
    assert Backtest.objects.count() == 1


@pytest.mark.parametrize("persona", ["officer", "policy_manager"])
def test_other_roles_get_403(history, active_version, model_admin, client, request, persona):
    found = _backtest(active_version, model_admin)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("scoring:backtests")).status_code == 403
    assert client.get(reverse("scoring:backtest-detail", args=[found.pk])).status_code == 403


def test_the_monitoring_page_links_to_backtests(active_version, auditor, client):
    client.force_login(auditor)
    page = client.get(reverse("scoring:monitoring"))
    assert reverse("scoring:backtests").encode() in page.content
