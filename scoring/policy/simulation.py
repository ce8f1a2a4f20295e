"""Simulating a credit policy version on the decision history, beside the active policy.

A policy manager asks for a window (the last N days, or a date range); a Celery task replays every
stored decision of that window under the version and under the policy active when the task runs,
and stores one report: decisions by outcome under each, the decisions that would change, the rules
that fire most, and approval rates by protected group with their adverse impact ratios.

The replay needs no model: each decision recorded its features, protected fields, probability, risk
band and the model's own decision (for decisions from before the policy existed, the model's decision
is recomputed from the probability with the threshold and refer band recorded on the row). Rows are
read in keyset chunks by (created_at, id), so memory stays flat whatever the window holds, and each
chunk is evaluated with ``CompiledPolicy.evaluate_frame``. A row that lacks a field a rule tests is
counted as not evaluated (and by which field), never guessed.

The run writes its progress and a heartbeat after every chunk. A queued or running simulation with no sign of life
for ``POLICY_SIMULATION_STALE_SECONDS`` had a worker that died (or never got the task): it can be run again.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from scoring.engine.policy import CompiledPolicy
from scoring.exceptions import InvalidSimulation, ModelUnavailable
from scoring.lifecycle import registry as model_registry
from scoring.models import PolicySimulation, PolicyVersion, Prediction
from scoring.monitoring.replay import TRANSIENT_ERRORS, decision_chunks, mark_stopped, protected_attributes, run_claimed
from scoring.monitoring.replay import is_stale as replay_is_stale
from scoring.policy import registry
from scoring.policy.replay import ROW_FIELDS, Tally
from scoring.policy.services import problems

log = logging.getLogger(__name__)

MAX_DAYS = 366
# Rows read and evaluated at a time: about 90 MB of Python objects at the peak, whatever the window holds.
CHUNK_SIZE = 20_000


# --- asking for a simulation -------------------------------------------------------------------


def request_simulation(
    *,
    version: PolicyVersion,
    user: AbstractBaseUser | None,
    days: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> PolicySimulation:
    """Queue a replay of the decisions of the last ``days`` days, or of ``date_from`` to ``date_to``
    (whole days, both included), under ``version`` beside the active policy.

    Raises InvalidSimulation (by field) for a bad window or rules that do not fit the active model;
    nothing is written then. The task is sent once the row is committed.
    """
    start, end = simulation_window(days=days, date_from=date_from, date_to=date_to, now=timezone.now())
    _check_rules(version)
    return _queue(version=version, user=user, window=(start, end))


def _queue(
    *,
    version: PolicyVersion,
    user: AbstractBaseUser | None,
    window: tuple[datetime, datetime],
    rerun_of: PolicySimulation | None = None,
) -> PolicySimulation:
    with transaction.atomic():
        simulation = PolicySimulation.objects.create(
            version=version,
            requested_by=user,
            rerun_of=rerun_of,
            date_from=window[0],
            date_to=window[1],
            state=PolicySimulation.State.QUEUED,
        )
        transaction.on_commit(lambda: _send(simulation.pk))
    return simulation


def simulation_window(
    *, days: int | None, date_from: date | None, date_to: date | None, now: datetime
) -> tuple[datetime, datetime]:
    """The window as [start, end): the last ``days`` days up to now, or whole local days up to now at most."""
    if days is not None and (date_from is not None or date_to is not None):
        raise InvalidSimulation({"days": [gettext("Give either a number of days or a date range, not both.")]})
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int):
            raise InvalidSimulation({"days": [gettext("The number of days must be a whole number.")]})
        if not 1 <= days <= MAX_DAYS:
            raise InvalidSimulation(
                {"days": [gettext("The number of days must be between 1 and %(max)s.") % {"max": MAX_DAYS}]}
            )
        return now - timedelta(days=days), now
    errors: dict[str, list[str]] = {}
    if date_from is None:
        errors["date_from"] = [gettext("Give the first day of the range (or a number of days).")]
    if date_to is None:
        errors["date_to"] = [gettext("Give the last day of the range (or a number of days).")]
    if errors:
        raise InvalidSimulation(errors)
    today = timezone.localdate(now)
    if date_from > today:
        errors["date_from"] = [gettext("The first day cannot be in the future.")]
    if date_to > today:
        errors["date_to"] = [gettext("The last day cannot be in the future.")]
    if date_from > date_to:
        errors.setdefault("date_to", []).append(gettext("The last day must be on or after the first day."))
    if errors:
        raise InvalidSimulation(errors)
    zone = timezone.get_current_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = min(datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone), now)
    return start, end


def _check_rules(version: PolicyVersion) -> None:
    """A version whose rules do not fit the active model would fail on every row: refuse it up front."""
    rules = version.engine_rules()
    try:
        model = model_registry.get_active().model
    except ModelUnavailable:
        model = None
    found = problems(rules, model) if model is not None else {}
    if not found:
        try:
            CompiledPolicy(rules)
        except Exception as exc:  # ZEN's parser raises RuntimeError with its message
            found = {"policy": [gettext("The rules cannot be compiled: %(error)s") % {"error": exc}]}
    if found:
        raise InvalidSimulation({"policy": [f"{code}: {' '.join(messages)}" for code, messages in found.items()]})


# --- a worker that stopped, and running again -----------------------------------------------------

ALIVE = (PolicySimulation.State.QUEUED, PolicySimulation.State.RUNNING)


class Stopped(Exception):
    """The simulation was marked stopped (and run again) while this worker still ran it."""


def stale_after() -> timedelta:
    return timedelta(seconds=settings.POLICY_SIMULATION_STALE_SECONDS)


def is_stale(simulation: PolicySimulation, *, now: datetime | None = None) -> bool:
    """Queued or running with no sign of life (heartbeat, start or request) for ``POLICY_SIMULATION_STALE_SECONDS``."""
    return replay_is_stale(simulation, after=stale_after(), now=now)


def rerun_simulation(*, simulation: PolicySimulation, user: AbstractBaseUser | None) -> PolicySimulation:
    """Ask again for a simulation that failed or stopped (no sign of life for ``POLICY_SIMULATION_STALE_SECONDS``):
    a new one of the same version and window, ``rerun_of`` it. A stopped one is first marked failed, saying so.

    Raises InvalidSimulation for one still queued or running with a live heartbeat (or that finished meanwhile),
    for a finished one (its report stands: ask for a new simulation instead), and for rules that no longer fit the
    active model.
    """
    alive = simulation.state in ALIVE and not (is_stale(simulation) and _mark_stopped(simulation))
    if alive:
        simulation.refresh_from_db()  # it may have finished or failed since it was read
        if simulation.state in ALIVE:
            raise InvalidSimulation(
                {"simulation": [gettext("This simulation is still running; it can be run again once it stops.")]}
            )
    if simulation.state != PolicySimulation.State.FAILED:
        raise InvalidSimulation(
            {"simulation": [gettext("Only a failed simulation, or one whose worker stopped, can be run again.")]}
        )
    _check_rules(simulation.version)
    return _queue(
        version=simulation.version,
        user=user,
        window=(simulation.date_from, simulation.date_to),  # the same decisions, even for "the last N days"
        rerun_of=simulation,
    )


def _mark_stopped(simulation: PolicySimulation) -> bool:
    return mark_stopped(
        simulation, after=stale_after(), never_started=gettext("No worker ever started this simulation.")
    )


def _send(simulation_id: int) -> None:
    try:
        run_policy_simulation.delay(simulation_id)
    except Exception:  # a broker outage leaves the row queued (stale after a while: rerun); the request succeeded
        log.warning("could not send policy simulation %s to the broker", simulation_id, exc_info=True)


@shared_task(
    name="scoring.tasks.run_policy_simulation",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=10,
    ignore_result=True,
)
def run_policy_simulation(simulation_id: int) -> None:
    run_simulation(simulation_id=simulation_id)


# --- running one -------------------------------------------------------------------------------


def run_simulation(*, simulation_id: int, chunk_size: int | None = None) -> PolicySimulation | None:
    """Claim a queued simulation and replay its window; None when another worker has it or it is done.

    A database outage puts the simulation back in the queue (the task retries); any other error fails it
    with the message, since running it again would fail the same way.
    """
    now = timezone.now()
    return run_claimed(
        PolicySimulation,
        simulation_id,
        work=lambda simulation: replay(simulation, chunk_size=chunk_size or CHUNK_SIZE),
        report_field="report",
        claimed={"started_at": now, "heartbeat_at": now},
    )


def replay(simulation: PolicySimulation, *, chunk_size: int = CHUNK_SIZE) -> dict[str, Any]:
    """The report of one simulation: every decision of its window replayed under its version and the active policy."""
    draft = registry.compiled(simulation.version)
    active_id = registry.active_policy_id()
    active = registry.compiled(active_id) if active_id else None
    window = Prediction.objects.filter(created_at__gte=simulation.date_from, created_at__lt=simulation.date_to)
    total = window.count()
    tally = Tally(draft=draft, active=active, attributes=protected_attributes())
    for rows in decision_chunks(simulation.date_from, simulation.date_to, size=chunk_size, fields=ROW_FIELDS):
        tally.add(rows)
        del rows  # before the next chunk is read
        running = PolicySimulation.objects.filter(pk=simulation.pk, state=PolicySimulation.State.RUNNING)
        if not running.update(
            report={"progress": {"done": tally.replayed, "total": max(total, tally.replayed)}},
            heartbeat_at=timezone.now(),
        ):
            raise Stopped(simulation.pk)  # marked stopped while this worker was slow: its rerun replaces it
    return tally.report(min_group=getattr(settings, "FAIRNESS_MIN_GROUP", 30)) | {
        "window": {"from": simulation.date_from.isoformat(), "to": simulation.date_to.isoformat()},
        "progress": {"done": tally.replayed, "total": tally.replayed},
    }
