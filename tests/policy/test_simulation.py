"""Simulating a credit policy version on the decision history: the figures against an independent replay in
plain Python (its own rules as lambdas, not ZEN), the window, chunking, a worker that stopped and running again,
the pages and who may use them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from scoring.decisions.services import score_application
from scoring.engine.policy import AFTER_MODEL, BEFORE_MODEL, RECORD, Condition, Rule
from scoring.exceptions import InvalidSimulation
from scoring.lifecycle import registry as model_registry
from scoring.models import Channel, PolicySimulation, Prediction
from scoring.policy import defaults, services, simulation
from tests.support import french_catalog

MIN_GROUP = 5
AGE_BASIS = "Age is recorded for fairness monitoring only; this rule records and decides nothing."
PURPOSES = ("car (used)", "education", "furniture/equipment", "business", "radio/television", "repairs")
CHECKING = (
    "no checking account",
    "... >= 200 DM / salary assignments for at least 1 year",
    "no checking account",
    "0 <= ... < 200 DM",
)
SAVINGS = ("... >= 1000 DM", "unknown/ no savings account", "500 <= ... < 1000 DM")
HISTORIES = ("critical account/ other credits existing (not at this bank)", "existing credits paid back duly till now")
STATUSES = (
    "male : single",
    "female : divorced/separated/married",
    "male : married/widowed",
    "male : divorced/separated",
)

DRAFT_RULES = (
    Rule(
        code="EDUCATION_NOT_OFFERED",
        name="Education loans not offered",
        statement="We do not offer credit for education.",
        outcome="decline",
        stage=BEFORE_MODEL,
        conditions=(Condition(field="purpose", test='"education"'),),
    ),
    Rule(
        code="AMOUNT_ABOVE_5000",
        name="Amount above 5,000 DM",
        statement="The amount needs a credit officer's review.",
        outcome="refer",
        stage=AFTER_MODEL,
        conditions=(Condition(field="credit_amount", test="> 5000"),),
    ),
    Rule(
        code="YOUNG_APPLICANT",
        name="Applicant under 25",
        statement="Recorded for monitoring.",
        outcome=RECORD,
        stage=BEFORE_MODEL,
        conditions=(Condition(field="age_in_years", test="< 25"),),
        legal_basis=AGE_BASIS,
    ),
)

# The same rules, written again in plain Python: (code, outcome, stage, field, predicate).
ACTIVE_PLAIN = (
    ("UNDER_AGE_OF_MAJORITY", "decline", "before", "age_in_years", lambda v: v < 18),
    ("AMOUNT_ABOVE_OFFICER_LIMIT", "refer", "after", "credit_amount", lambda v: v > 20000),
    ("TERM_ABOVE_PRODUCT_LIMIT", "refer", "after", "duration_in_month", lambda v: v > 72),
)
DRAFT_PLAIN = (
    ("EDUCATION_NOT_OFFERED", "decline", "before", "purpose", lambda v: v == "education"),
    ("AMOUNT_ABOVE_5000", "refer", "after", "credit_amount", lambda v: v > 5000),
    ("YOUNG_APPLICANT", "record", "before", "age_in_years", lambda v: v < 25),
)


def _application(base: dict, i: int, *, with_protected: bool) -> dict:
    """Varied applications: about a third approved by the model, a fifth referred, the rest declined."""
    inputs = dict(base, other_debtors_or_guarantors="none", housing="own", present_employment_since="... >= 7 years")
    inputs["credit_amount"] = 400 + (i * 1777) % 24000
    inputs["duration_in_month"] = (6, 12, 18, 24, 30, 36, 48, 78)[i % 8]
    inputs["purpose"] = PURPOSES[i % len(PURPOSES)]
    inputs["status_of_existing_checking_account"] = CHECKING[i % len(CHECKING)]
    inputs["savings_account_and_bonds"] = SAVINGS[i % len(SAVINGS)]
    inputs["credit_history"] = HISTORIES[i % len(HISTORIES)]
    if with_protected:
        inputs["age_in_years"] = 19 + (i * 7) % 50
        inputs["personal_status_and_sex"] = STATUSES[i % len(STATUSES)]
        inputs["foreign_worker"] = ("no", "yes", "no")[i % 3]
    return inputs


@pytest.fixture
def history(active_version, officer, settings):
    """Decisions from before any policy (no age recorded), under the default policy, and a few legacy rows
    recorded before the model's decision was kept (recomputed from their own threshold and refer band)."""
    settings.FAIRNESS_MIN_GROUP = MIN_GROUP
    model = model_registry.get_active().model
    base = model.example_inputs()
    for i in range(10):
        score_application(user=officer, inputs=_application(base, i, with_protected=False), channel=Channel.API)
    policy = services.create_version(name=defaults.NAME, rules=defaults.RULES, user=None, model=model)
    services.activate(policy, user=None, model=model)
    for i in range(10, 90):
        score_application(
            user=officer, inputs=_application(base, i, with_protected=True), channel=Channel.API, external_ref=f"R{i}"
        )
    for k, row in enumerate(Prediction.objects.order_by("-id")[:6]):
        row.pk = None
        row.model_decision, row.policy_version, row.policy_rules, row.deciding_rule = "", None, [], ""
        row.threshold, row.refer_lower = 0.3, (0.15 if k % 2 else None)
        row.idempotency_key = None
        row.save(force_insert=True)
    return Prediction.objects.order_by("created_at", "id")


@pytest.fixture
def draft(history, policy_manager):
    return services.create_version(
        name="Stricter", rules=DRAFT_RULES, user=policy_manager, model=model_registry.get_active().model
    )


# --- the independent replay ----------------------------------------------------------------------


def _model_decision(row) -> str:
    if row.model_decision:
        return row.model_decision
    lower = row.threshold if row.refer_lower is None else row.refer_lower
    return "decline" if row.probability >= row.threshold else "refer" if row.probability >= lower else "approve"


def _value(row, field):
    return row.features.get(field, row.protected.get(field))


def _decide(plain, row, model_decision) -> tuple[str, str, list[str]]:
    fired = [code for code, _, _, field, test in plain if test(_value(row, field))]
    decision, deciding = model_decision, ""
    kind = {code: (outcome, stage) for code, outcome, stage, _, _ in plain}
    before = [c for c in fired if kind[c] == ("decline", "before")]
    if before:
        decision, deciding = "decline", before[0]
    after = [c for c in fired if kind[c] == ("decline", "after")]
    if after and decision != "decline":
        decision, deciding = "decline", after[0]
    refer = [c for c in fired if kind[c][0] == "refer"]
    if refer and decision == "approve":
        decision, deciding = "refer", refer[0]
    return decision, deciding, fired


def _expected(rows):
    fields = {f for plain in (ACTIVE_PLAIN, DRAFT_PLAIN) for *_, f, _ in plain}
    out = {"replayed": len(rows), "evaluated": [], "missing": Counter(), "recomputed": 0}
    for row in rows:
        missing = [f for f in fields if _value(row, f) is None]
        out["missing"].update(missing)
        if missing:
            continue
        model = _model_decision(row)
        out["recomputed"] += not row.model_decision
        out["evaluated"].append((row, _decide(ACTIVE_PLAIN, row, model), _decide(DRAFT_PLAIN, row, model)))
    return out


def _fairness(evaluated, side: int):
    """Per attribute: {group: (decisions, approvals, ratio or None, flagged)} from the plain replay."""
    tables = {}
    for attribute in ("personal_status_and_sex", "age_in_years", "foreign_worker"):
        counts = Counter()
        approved = Counter()
        for row, *sides in evaluated:
            value = row.protected.get(attribute)
            if value is None:
                continue
            group = ("under 25" if value < 25 else "25 and over") if attribute == "age_in_years" else value
            counts[group] += 1
            approved[group] += sides[side - 1][0] == "approve"
        best = max(approved[g] / counts[g] for g in counts if counts[g] >= MIN_GROUP)
        tables[attribute] = {}
        for g in counts:
            ratio = round(approved[g] / counts[g] / best, 4) if counts[g] >= MIN_GROUP else None
            tables[attribute][g] = (counts[g], approved[g], ratio, ratio is not None and ratio < 0.8)
    return tables


def _run(draft, user, django_capture_on_commit_callbacks, **window):
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: the replay runs on commit
        found = simulation.request_simulation(version=draft, user=user, **window)
    found.refresh_from_db()
    assert found.state == PolicySimulation.State.DONE, found.error
    return found


# --- the figures ---------------------------------------------------------------------------------


def test_counts_and_changes_equal_an_independent_replay(
    draft, policy_manager, history, django_capture_on_commit_callbacks
):
    report = _run(draft, policy_manager, django_capture_on_commit_callbacks, days=1).report
    expected = _expected(list(history))
    evaluated = expected["evaluated"]

    assert report["replayed"] == expected["replayed"] == 96
    assert report["evaluated"] == len(evaluated)
    assert report["not_evaluated"] == expected["replayed"] - len(evaluated) > 0  # the rows without an age
    assert report["missing_fields"] == dict(expected["missing"])
    assert report["recomputed_model_decisions"] == expected["recomputed"] == 6
    for name, side in (("active", 1), ("draft", 2)):
        counts = Counter(sides[side - 1][0] for _, *sides in evaluated)
        assert report["sides"][name]["counts"] == {d: counts[d] for d in ("approve", "refer", "decline")}
        assert report["sides"][name]["rates"]["approve"] == pytest.approx(counts["approve"] / len(evaluated))
        fired = Counter(c for _, *sides in evaluated for c in sides[side - 1][2])
        decided = Counter(sides[side - 1][1] for _, *sides in evaluated if sides[side - 1][1])
        plain = ACTIVE_PLAIN if name == "active" else DRAFT_PLAIN
        assert {r["code"]: (r["fired"], r["decided"]) for r in report["sides"][name]["rules"]} == {
            code: (fired[code], decided[code]) for code, *_ in plain
        }
    changed = [(row, a, d) for row, a, d in evaluated if a[0] != d[0]]
    transitions = Counter((a[0], d[0]) for _, a, d in changed)
    assert {(t["from"], t["to"]): t["count"] for t in report["transitions"]} == dict(transitions)
    assert report["changed_count"] == len(changed) > 10
    assert [(c["id"], c["from"], c["to"], c["draft_rule"], c["active_rule"]) for c in report["changed"]] == [
        (row.pk, a[0], d[0], d[1], a[1]) for row, a, d in changed
    ]
    assert {c["external_ref"] for c in report["changed"]} <= {row.external_ref for row in history}


def test_adverse_impact_ratios_equal_an_independent_computation(
    draft, policy_manager, history, django_capture_on_commit_callbacks
):
    report = _run(draft, policy_manager, django_capture_on_commit_callbacks, days=1).report
    evaluated = _expected(list(history))["evaluated"]

    for name, side in (("active", 1), ("draft", 2)):
        expected = _fairness(evaluated, side)
        tables = {t["attribute"]: t for t in report["sides"][name]["fairness"]}
        assert set(tables) == set(expected)
        for attribute, groups in expected.items():
            got = {
                g["name"]: (g["count"], g["approved"], g["ratio"], g["flagged"]) for g in tables[attribute]["groups"]
            }
            assert got == groups
            assert tables[attribute]["flagged"] == any(flag for *_, flag in groups.values())
    ages = {
        g["name"] for t in report["sides"]["draft"]["fairness"] if t["attribute"] == "age_in_years" for g in t["groups"]
    }
    assert ages == {"under 25", "25 and over"}


def test_the_window_is_respected(draft, policy_manager, history):
    rows = list(history)
    start, end = rows[20].created_at, rows[61].created_at
    found = PolicySimulation.objects.create(version=draft, requested_by=policy_manager, date_from=start, date_to=end)

    report = simulation.run_simulation(simulation_id=found.pk).report

    inside = [row for row in rows if start <= row.created_at < end]
    assert report["replayed"] == len(inside) == 41
    assert report["evaluated"] == len(_expected(inside)["evaluated"])
    assert {c["id"] for c in report["changed"]} <= {row.pk for row in inside}


def test_a_range_of_past_days_holds_no_decision_of_today(
    draft, policy_manager, history, django_capture_on_commit_callbacks
):
    yesterday = timezone.localdate() - timedelta(days=1)
    report = _run(
        draft,
        policy_manager,
        django_capture_on_commit_callbacks,
        date_from=yesterday - timedelta(days=3),
        date_to=yesterday,
    ).report
    assert report["replayed"] == 0 and report["changed_count"] == 0


def test_small_chunks_give_the_same_report_as_one(draft, policy_manager, history, monkeypatch):
    def simulate(chunk_size):
        found = PolicySimulation.objects.create(
            version=draft,
            requested_by=policy_manager,
            date_from=timezone.now() - timedelta(days=1),
            date_to=timezone.now(),
        )
        return simulation.run_simulation(simulation_id=found.pk, chunk_size=chunk_size).report

    chunks = []
    original = simulation.decision_chunks
    monkeypatch.setattr(
        simulation, "decision_chunks", lambda *a, **k: (chunks.append(len(c)) or c for c in original(*a, **k))
    )
    one = simulate(10_000)
    assert chunks == [96]
    chunks.clear()
    many = simulate(7)
    assert len(chunks) == 14 and sum(chunks) == 96
    for report in (one, many):
        report.pop("window")
    assert many == one


# --- asking for one -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 367}, "days"),
        ({"days": 30, "date_from": timezone.localdate()}, "days"),
        ({"date_from": timezone.localdate()}, "date_to"),
        ({"date_from": timezone.localdate(), "date_to": timezone.localdate() - timedelta(days=1)}, "date_to"),
        ({"date_from": timezone.localdate(), "date_to": timezone.localdate() + timedelta(days=1)}, "date_to"),
    ],
)
def test_a_bad_window_is_refused_naming_the_field(draft, policy_manager, window, field):
    with pytest.raises(InvalidSimulation) as caught:
        simulation.request_simulation(version=draft, user=policy_manager, **window)
    assert field in caught.value.errors
    assert not PolicySimulation.objects.exists()


def test_rules_that_do_not_fit_the_model_are_refused_up_front(history, policy_manager):
    bad = services.create_version(
        name="Bad",
        rules=[Rule("NO_FIELD", "No field", "No.", "refer", AFTER_MODEL, (Condition("shoe_size", "> 40"),))],
        user=policy_manager,
    )
    with pytest.raises(InvalidSimulation) as caught:
        simulation.request_simulation(version=bad, user=policy_manager, days=7)
    assert "shoe_size" in " ".join(caught.value.errors["policy"])
    assert not PolicySimulation.objects.exists()


def test_a_failure_is_recorded_with_its_message(draft, policy_manager, history, monkeypatch):
    def broken(self, rows):
        raise ValueError("the replay broke")

    monkeypatch.setattr(simulation.Tally, "add", broken)
    found = PolicySimulation.objects.create(
        version=draft, requested_by=policy_manager, date_from=timezone.now() - timedelta(days=1), date_to=timezone.now()
    )
    done = simulation.run_simulation(simulation_id=found.pk)
    assert done.state == PolicySimulation.State.FAILED and done.error == "the replay broke" and done.finished_at
    assert simulation.run_simulation(simulation_id=found.pk) is None  # not claimed twice


# --- pages and permissions ---------------------------------------------------------------------


def test_a_policy_manager_asks_on_the_page_and_reads_the_report(
    client, draft, policy_manager, history, django_capture_on_commit_callbacks
):
    client.force_login(policy_manager)
    url = f"/policy/{draft.pk}/simulate/"
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"days": "7"})
    found = PolicySimulation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/policy/simulations/{found.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Decisions that would change" in page and "AMOUNT_ABOVE_5000" in page
    assert f"#{found.report['changed'][0]['id']}" in page
    assert "below four-fifths" in page or "most favoured" in page
    assert f'href="/policy/simulations/{found.pk}/"' in client.get(url).content.decode()


def test_changed_decisions_link_to_their_audit_page_for_auditors(
    client, draft, policy_manager, auditor, history, django_capture_on_commit_callbacks
):
    found = _run(draft, policy_manager, django_capture_on_commit_callbacks, days=1)
    client.force_login(auditor)
    page = client.get(f"/policy/simulations/{found.pk}/").content.decode()
    for row in found.report["changed"]:
        assert f'href="/audit/predictions/{row["id"]}/"' in page
    assert client.get(f"/audit/predictions/{found.report['changed'][0]['id']}/").status_code == 200


def test_a_bad_window_on_the_page_is_shown_next_to_the_field(client, draft, policy_manager):
    client.force_login(policy_manager)
    response = client.post(f"/policy/{draft.pk}/simulate/", {"days": "400"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not PolicySimulation.objects.exists()


@pytest.mark.parametrize("persona", ["officer", "model_admin"])
def test_officers_and_model_admins_cannot_see_or_ask(client, draft, policy_manager, request, persona):
    found = PolicySimulation.objects.create(
        version=draft, requested_by=policy_manager, date_from=timezone.now(), date_to=timezone.now()
    )
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"/policy/{draft.pk}/simulate/").status_code == 403
    assert client.post(f"/policy/{draft.pk}/simulate/", {"days": "7"}).status_code == 403
    assert client.get(f"/policy/simulations/{found.pk}/").status_code == 403
    assert PolicySimulation.objects.count() == 1


@pytest.mark.parametrize("persona", ["credit_manager", "auditor"])
def test_credit_managers_and_auditors_read_but_do_not_ask(client, draft, policy_manager, request, persona):
    found = PolicySimulation.objects.create(
        version=draft, requested_by=policy_manager, date_from=timezone.now(), date_to=timezone.now()
    )
    client.force_login(request.getfixturevalue(persona))
    page = client.get(f"/policy/{draft.pk}/simulate/")
    assert page.status_code == 200 and "Simulate on history" not in page.content.decode()
    assert client.get(f"/policy/simulations/{found.pk}/").status_code == 200
    assert client.post(f"/policy/{draft.pk}/simulate/", {"days": "7"}).status_code == 403
    assert PolicySimulation.objects.count() == 1


def test_a_queued_simulation_page_refreshes_itself(client, draft, policy_manager):
    found = PolicySimulation.objects.create(
        version=draft, requested_by=policy_manager, date_from=timezone.now(), date_to=timezone.now()
    )
    client.force_login(policy_manager)
    page = client.get(f"/policy/simulations/{found.pk}/").content.decode()
    assert 'http-equiv="refresh"' in page and "Queued" in page
    assert '<noscript><meta http-equiv="refresh"' in page and "data-follow-progress" in page


# --- a worker that stopped, and running again ----------------------------------------------------


def _simulation(draft, user, *, state="queued", quiet_for=None, started=True):
    """A simulation of the last day in ``state``; with ``quiet_for``, its last sign of life that long ago."""
    found = PolicySimulation.objects.create(
        version=draft, requested_by=user, date_from=timezone.now() - timedelta(days=1), date_to=timezone.now()
    )
    fields = {"state": state}
    if quiet_for is not None:
        then = timezone.now() - quiet_for
        fields |= {"created_at": then} | ({"started_at": then, "heartbeat_at": then} if started else {})
    PolicySimulation.objects.filter(pk=found.pk).update(**fields)
    found.refresh_from_db()
    return found


def _long_ago():
    return simulation.stale_after() + timedelta(minutes=1)


def test_a_run_records_its_start_and_a_heartbeat_after_every_chunk(
    draft, policy_manager, history, django_capture_on_commit_callbacks, monkeypatch
):
    beats = []
    add = simulation.Tally.add

    def counted(self, rows):
        add(self, rows)
        beats.append(PolicySimulation.objects.values_list("heartbeat_at", flat=True).get())

    monkeypatch.setattr(simulation.Tally, "add", counted)
    monkeypatch.setattr(simulation, "CHUNK_SIZE", 40)
    found = _run(draft, policy_manager, django_capture_on_commit_callbacks, days=1)
    assert found.started_at is not None and found.started_at <= found.heartbeat_at <= found.finished_at
    # The heartbeat read while a chunk is counted is the one the chunk before it wrote.
    assert len(beats) == 3 and beats[0] == found.started_at and beats[0] < beats[1] < beats[2] < found.heartbeat_at
    assert not simulation.is_stale(found)


def test_only_a_queued_or_running_simulation_without_sign_of_life_is_stale(draft, policy_manager, settings):
    settings.POLICY_SIMULATION_STALE_SECONDS = 60
    assert simulation.stale_after() == timedelta(seconds=60)
    assert not simulation.is_stale(_simulation(draft, policy_manager))  # asked just now
    assert simulation.is_stale(_simulation(draft, policy_manager, quiet_for=timedelta(minutes=2), started=False))
    running = _simulation(draft, policy_manager, state="running", quiet_for=timedelta(minutes=2))
    assert simulation.is_stale(running)
    assert not simulation.is_stale(running, now=running.heartbeat_at + timedelta(seconds=30))
    for state in ("done", "failed"):
        assert not simulation.is_stale(_simulation(draft, policy_manager, state=state, quiet_for=timedelta(days=1)))


def test_a_stopped_simulation_is_shown_stopped_and_can_be_run_again(client, draft, policy_manager):
    found = _simulation(draft, policy_manager, state="running", quiet_for=_long_ago())
    client.force_login(policy_manager)
    page = client.get(reverse("scoring:policy-simulation", args=[found.pk])).content.decode()
    assert "No progress for a long while: the worker running it has probably stopped." in page
    assert "Run it again" in page and reverse("scoring:policy-simulation-rerun", args=[found.pk]) in page
    assert 'http-equiv="refresh"' not in page and "data-follow-progress" not in page

    answer = client.post(reverse("scoring:policy-simulation-rerun", args=[found.pk]))
    again = PolicySimulation.objects.exclude(pk=found.pk).get()
    assert answer.status_code == 302 and answer["Location"] == reverse("scoring:policy-simulation", args=[again.pk])
    found.refresh_from_db()
    assert found.state == PolicySimulation.State.FAILED and found.finished_at is not None
    assert found.error.startswith("Its worker stopped: no progress since")
    assert again.rerun_of == found and again.state == PolicySimulation.State.QUEUED
    assert again.requested_by == policy_manager and again.started_at is None and again.heartbeat_at is None
    assert (again.version_id, again.date_from, again.date_to) == (found.version_id, found.date_from, found.date_to)
    assert list(found.reruns.all()) == [again]
    page = client.get(answer["Location"]).content.decode()
    assert f"run again from simulation {found.pk}" in page and "data-follow-progress" in page


def test_a_simulation_no_worker_ever_started_says_so_when_run_again(draft, policy_manager):
    found = _simulation(draft, policy_manager, quiet_for=_long_ago(), started=False)
    again = simulation.rerun_simulation(simulation=found, user=policy_manager)
    found.refresh_from_db()
    assert found.state == PolicySimulation.State.FAILED and found.error == "No worker ever started this simulation."
    assert again.rerun_of == found


def test_a_failed_simulation_can_be_run_again(client, draft, policy_manager, django_capture_on_commit_callbacks):
    found = _simulation(draft, policy_manager, state="failed")
    PolicySimulation.objects.filter(pk=found.pk).update(error="the replay broke", finished_at=timezone.now())
    client.force_login(policy_manager)
    page = client.get(reverse("scoring:policy-simulation", args=[found.pk])).content.decode()
    assert "the replay broke" in page and "Run it again" in page and "No progress for a long while" not in page
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: the rerun runs on commit
        answer = client.post(reverse("scoring:policy-simulation-rerun", args=[found.pk]))
    again = PolicySimulation.objects.get(rerun_of=found)
    assert answer.status_code == 302 and again.state == PolicySimulation.State.DONE, again.error
    found.refresh_from_db()
    assert found.error == "the replay broke"  # a failure already recorded is left as it was


def test_a_live_simulation_cannot_be_run_again(client, draft, policy_manager):
    found = _simulation(draft, policy_manager, state="running")
    PolicySimulation.objects.filter(pk=found.pk).update(heartbeat_at=timezone.now())
    client.force_login(policy_manager)
    page = client.get(reverse("scoring:policy-simulation", args=[found.pk])).content.decode()
    assert "Run it again" not in page and "data-follow-progress" in page and "No progress for a long while" not in page
    answer = client.post(reverse("scoring:policy-simulation-rerun", args=[found.pk]))
    assert answer.status_code == 400 and "still running; it can be run again once it stops" in answer.content.decode()
    found.refresh_from_db()
    assert found.state == PolicySimulation.State.RUNNING and not found.error
    assert PolicySimulation.objects.count() == 1


def test_a_run_that_showed_life_or_finished_since_it_was_read_is_not_overwritten(draft, policy_manager):
    read_stale = _simulation(draft, policy_manager, state="running", quiet_for=_long_ago())
    assert simulation.is_stale(read_stale)
    # Its worker wrote a heartbeat after the page read the row: the conditional UPDATE leaves it running.
    PolicySimulation.objects.filter(pk=read_stale.pk).update(heartbeat_at=timezone.now())
    with pytest.raises(InvalidSimulation, match="still running"):
        simulation.rerun_simulation(simulation=read_stale, user=policy_manager)
    # Then it finished: its report stands, and a finished simulation is not run again.
    report = {"replayed": 3}
    PolicySimulation.objects.filter(pk=read_stale.pk).update(state="done", report=report)
    read_stale.state, read_stale.heartbeat_at = PolicySimulation.State.RUNNING, timezone.now() - _long_ago()
    with pytest.raises(InvalidSimulation, match="Only a failed simulation"):
        simulation.rerun_simulation(simulation=read_stale, user=policy_manager)
    read_stale.refresh_from_db()
    assert read_stale.state == PolicySimulation.State.DONE and read_stale.report == report and not read_stale.error
    assert PolicySimulation.objects.count() == 1


def test_a_slow_worker_whose_simulation_was_marked_stopped_leaves_it_as_it_is(draft, policy_manager, monkeypatch):
    found = _simulation(draft, policy_manager)
    add = simulation.Tally.add

    def marked_meanwhile(self, rows):
        add(self, rows)
        PolicySimulation.objects.filter(pk=found.pk).update(state="failed", error="Its worker stopped: then.")

    monkeypatch.setattr(simulation.Tally, "add", marked_meanwhile)
    done = simulation.run_simulation(simulation_id=found.pk, chunk_size=10)
    assert done.state == PolicySimulation.State.FAILED and done.error == "Its worker stopped: then."
    assert done.report == {}


@pytest.mark.parametrize("persona", ["officer", "auditor", "credit_manager", "model_admin"])
def test_only_those_who_ask_for_simulations_may_run_one_again(client, draft, policy_manager, request, persona):
    found = _simulation(draft, policy_manager, state="running", quiet_for=_long_ago())
    client.force_login(request.getfixturevalue(persona))
    assert client.post(reverse("scoring:policy-simulation-rerun", args=[found.pk])).status_code == 403
    if persona in ("auditor", "credit_manager"):  # they read the page, without the button
        page = client.get(reverse("scoring:policy-simulation", args=[found.pk])).content.decode()
        assert "No progress for a long while" in page and "Run it again" not in page
    found.refresh_from_db()
    assert found.state == PolicySimulation.State.RUNNING and PolicySimulation.objects.count() == 1


def test_a_stopped_simulation_reads_in_french(client, draft, policy_manager, settings, tmp_path):
    found = _simulation(draft, policy_manager, state="running", quiet_for=_long_ago())
    settings.LOCALE_PATHS = [french_catalog.install(tmp_path)]
    client.force_login(policy_manager)
    with translation.override("fr"):
        page = client.get(
            reverse("scoring:policy-simulation", args=[found.pk]), HTTP_ACCEPT_LANGUAGE="fr"
        ).content.decode()
        answer = client.post(reverse("scoring:policy-simulation-rerun", args=[found.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    assert "Aucune progression depuis longtemps : le processus qui l'exécutait s'est probablement arrêté." in page
    assert "La relancer" in page and "Dernière progression" in page
    assert "No progress for a long while" not in page and "Run it again" not in page
    assert answer.status_code == 302
    found.refresh_from_db()
    assert found.error.startswith("Son processus de traitement s'est arrêté : aucune progression depuis le")
