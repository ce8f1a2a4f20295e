"""Backtesting a model version (and a credit policy) on the stored decisions of a period; its Celery task sits here.

A model administrator asks for a version, an optional policy version and a period (whole days). A Celery task
reads every decision of the period in keyset chunks (``scoring.monitoring.replay.decision_chunks``, the reader
policy simulations use; in a worker on PostgreSQL the next chunk and its outcomes are read ahead in a thread while
this one is counted), scores each decision's recorded features with the version, applies the policy (the
one asked for, else the policy active when the task runs, else none: the model alone) and adds to running
counts (``tally.BacktestTally``), writing its progress and heartbeat after every chunk. The report compares
what the version would have decided with what was decided live. Nothing is decided again; history is not
touched. A running backtest whose heartbeat stopped had a worker that died: it can be run again.
"""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import date, datetime, time, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from scoring.backtests.tally import ROW_FIELDS, BacktestTally, Costs
from scoring.engine import BundleRejected, LoadedModel
from scoring.engine.policy import CompiledPolicy
from scoring.engine.training import COST_APPROVE_BAD, COST_DECLINE_GOOD
from scoring.exceptions import InvalidBacktest
from scoring.lifecycle import registry as model_registry
from scoring.models import Backtest, LoanOutcome, ModelVersion, PolicyVersion, Prediction
from scoring.monitoring.replay import (
    TRANSIENT_ERRORS,
    collector_set_aside,
    decision_chunks,
    mark_stopped,
    protected_attributes,
    read_ahead,
    run_claimed,
)
from scoring.monitoring.replay import is_stale as replay_is_stale
from scoring.policy import registry as policy_registry
from scoring.policy.services import problems

log = logging.getLogger(__name__)

# A backtest covers at most two years of decisions.
MAX_DAYS = 731
# Decisions read, scored and counted at a time: memory depends on this, not on the period.
CHUNK_SIZE = 20_000
# Versions whose files were checked and can be loaded: pending and rejected ones cannot be scored with.
TESTABLE = (ModelVersion.Status.VALIDATED, ModelVersion.Status.ACTIVE, ModelVersion.Status.RETIRED)


# --- asking for a backtest ---------------------------------------------------------------------


def request_backtest(
    *,
    model_version: ModelVersion,
    user: AbstractBaseUser | None,
    date_from: date | None,
    date_to: date | None,
    policy_version: PolicyVersion | None = None,
) -> Backtest:
    """Queue a backtest of ``model_version`` (with ``policy_version``, or the policy active when it runs) on the
    decisions of ``date_from`` to ``date_to`` (whole local days, both included).

    Raises InvalidBacktest (by field) for a version that cannot be scored with, a bad period, or a policy that
    tests fields the version does not have; nothing is written then. The task is sent once the row is committed.
    """
    errors: dict[str, list[str]] = {}
    if model_version.status not in TESTABLE:
        errors["model_version"] = [
            _("Only a validated, active or retired model version can be backtested (this one is %(status)s).")
            % {"status": model_version.get_status_display()}
        ]
    try:
        start, end = backtest_period(date_from=date_from, date_to=date_to, now=timezone.now())
    except InvalidBacktest as exc:
        errors.update(exc.errors)
    if not errors and policy_version is not None:
        errors.update(_policy_problems(model_version, policy_version))
    if errors:
        raise InvalidBacktest(errors)
    return _queue(model_version=model_version, policy_version=policy_version, user=user, period=(start, end))


def _queue(
    *,
    model_version: ModelVersion,
    policy_version: PolicyVersion | None,
    user: AbstractBaseUser | None,
    period: tuple[datetime, datetime],
    rerun_of: Backtest | None = None,
) -> Backtest:
    with transaction.atomic():
        backtest = Backtest.objects.create(
            model_version=model_version,
            policy_version=policy_version,
            requested_by=user,
            rerun_of=rerun_of,
            date_from=period[0],
            date_to=period[1],
        )
        transaction.on_commit(lambda: _send(backtest.pk))
    return backtest


def backtest_period(*, date_from: date | None, date_to: date | None, now: datetime) -> tuple[datetime, datetime]:
    """The period as [start, end): whole local days from ``date_from`` to ``date_to``, up to now at most."""
    errors: dict[str, list[str]] = {}
    if date_from is None:
        errors["date_from"] = [_("Give the first day of the period.")]
    if date_to is None:
        errors["date_to"] = [_("Give the last day of the period.")]
    if errors:
        raise InvalidBacktest(errors)
    today = timezone.localdate(now)
    if date_from > today:
        errors["date_from"] = [_("The first day cannot be in the future.")]
    if date_to > today:
        errors["date_to"] = [_("The last day cannot be in the future.")]
    if date_from > date_to:
        errors.setdefault("date_to", []).append(_("The last day must be on or after the first day."))
    elif (date_to - date_from).days + 1 > MAX_DAYS:
        errors.setdefault("date_to", []).append(
            _("A backtest covers at most %(days)s days.") % {"days": f"{MAX_DAYS:,}"}
        )
    if errors:
        raise InvalidBacktest(errors)
    zone = timezone.get_current_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = min(datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone), now)
    return start, end


def _policy_problems(model_version: ModelVersion, policy_version: PolicyVersion) -> dict[str, list[str]]:
    """A policy that tests fields the version lacks would fail every row: refuse it up front (when the version
    loads here; the task checks again with the rules it runs)."""
    try:
        model = model_registry.get_loaded(model_version)
    except (BundleRejected, OSError) as exc:
        return {"model_version": [_("This version's files cannot be loaded: %(error)s") % {"error": exc}]}
    found = problems(policy_version.engine_rules(), model)
    return {"policy_version": [f"{code}: {' '.join(messages)}" for code, messages in found.items()]} if found else {}


def rerun_backtest(*, backtest: Backtest, user: AbstractBaseUser | None) -> Backtest:
    """Ask again for a backtest that failed, finished, or stopped (a worker that died: no heartbeat for
    ``BACKTEST_STALE_SECONDS``). A stopped one is first marked failed, saying so. Raises InvalidBacktest for
    one still running or queued with a live heartbeat."""
    if backtest.state in (Backtest.State.QUEUED, Backtest.State.RUNNING):
        if not is_stale(backtest):
            raise InvalidBacktest(
                {"backtest": [_("This backtest is still running; it can be run again once it stops.")]}
            )
        _mark_stopped(backtest)
    if backtest.model_version.status not in TESTABLE:
        raise InvalidBacktest(
            {"model_version": [_("This model version can no longer be backtested: it was rejected.")]}
        )
    return _queue(
        model_version=backtest.model_version,
        policy_version=backtest.policy_version,
        user=user,
        period=(backtest.date_from, backtest.date_to),  # the same decisions, even for a period that ended "now"
        rerun_of=backtest,
    )


class Stopped(Exception):
    """The backtest was marked stopped (and run again) while this worker still ran it."""


def stale_after() -> timedelta:
    return timedelta(seconds=settings.BACKTEST_STALE_SECONDS)


def is_stale(backtest: Backtest, *, now: datetime | None = None) -> bool:
    """Queued or running with no sign of life (heartbeat, start or request) for ``BACKTEST_STALE_SECONDS``."""
    return replay_is_stale(backtest, after=stale_after(), now=now)


def _mark_stopped(backtest: Backtest) -> None:
    mark_stopped(backtest, after=stale_after(), never_started=_("It was never started by a worker."))


def _send(backtest_id: int) -> None:
    try:
        run_backtest.delay(backtest_id)
    except Exception:  # a broker outage leaves the row queued (stale after a while: rerun); the request succeeded
        log.warning("could not send backtest %s to the broker", backtest_id, exc_info=True)


@shared_task(
    name="scoring.tasks.run_backtest",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=10,
    ignore_result=True,
)
def run_backtest(backtest_id: int) -> None:
    run(backtest_id=backtest_id)


# --- running one -------------------------------------------------------------------------------


def run(*, backtest_id: int, chunk_size: int | None = None) -> Backtest | None:
    """Claim a queued backtest and replay its period; None when another worker has it or it is finished.

    A database outage puts it back in the queue (the task retries); any other error fails it with the message,
    since running it again would fail the same way.
    """
    now = timezone.now()
    return run_claimed(
        Backtest,
        backtest_id,
        work=lambda backtest: replay(backtest, chunk_size=chunk_size or CHUNK_SIZE),
        report_field="result",
        claimed={"started_at": now, "heartbeat_at": now},
        failure=failure_message,
    )


def failure_message(exc: Exception) -> str:
    if isinstance(exc, BundleRejected | OSError):
        return _("The model version's files could not be loaded: %(error)s") % {"error": exc}
    if isinstance(exc, InvalidBacktest):
        return " ".join(" ".join(str(m) for m in messages) for messages in exc.errors.values())
    return f"{type(exc).__name__}: {exc}"


def replay(backtest: Backtest, *, chunk_size: int = CHUNK_SIZE) -> dict[str, Any]:
    """The report of one backtest: every decision of its period scored with its version, beside the live one."""
    model = model_registry.get_loaded(backtest.model_version)
    policy = _policy_for(backtest, model)
    window = Prediction.objects.filter(created_at__gte=backtest.date_from, created_at__lt=backtest.date_to)
    Backtest.objects.filter(pk=backtest.pk).update(rows_total=window.count(), rows_done=0)
    tally = BacktestTally(
        model=model,
        policy=policy,
        attributes=protected_attributes(backtest.model_version.metadata or {}),
        costs=costs_of(model),
    )
    chunks = decision_chunks(backtest.date_from, backtest.date_to, size=chunk_size, fields=ROW_FIELDS)
    # Each chunk with its standing outcomes, read one ahead while the one before is scored and counted.
    ahead = read_ahead((rows, standing_outcomes({row[0] for row in rows})) for rows in chunks)
    with collector_set_aside(), closing(ahead):
        for rows, outcomes in ahead:
            tally.add(rows, outcomes)
            del rows, outcomes  # let go before the next chunk is taken: at most three are held
            running = Backtest.objects.filter(pk=backtest.pk, state=Backtest.State.RUNNING)
            if not running.update(rows_done=tally.read, heartbeat_at=timezone.now()):
                raise Stopped(backtest.pk)  # marked stopped while this worker was slow: its rerun replaces it
    Backtest.objects.filter(pk=backtest.pk).update(rows_total=tally.read)
    return tally.report(min_group=getattr(settings, "FAIRNESS_MIN_GROUP", 30)) | {
        "period": {"from": backtest.date_from.isoformat(), "to": backtest.date_to.isoformat()},
        "model_version": {"id": backtest.model_version_id, "label": str(backtest.model_version)},
        "policy": {"id": policy.version_id, "label": policy.label} if policy is not None else None,
        "thresholds": {"threshold": model.threshold, "refer_lower": model.refer_lower},
    }


def _policy_for(backtest: Backtest, model: LoadedModel) -> CompiledPolicy | None:
    """The policy asked for, else the one active now (recorded on the backtest); its rules must fit the version."""
    version_id = backtest.policy_version_id or policy_registry.active_policy_id()
    Backtest.objects.filter(pk=backtest.pk).update(applied_policy_id=version_id)
    if version_id is None:
        return None
    version = PolicyVersion.objects.get(pk=version_id)
    found = problems(version.engine_rules(), model)
    if found:
        raise InvalidBacktest(
            {
                "policy_version": [
                    _("%(policy)s does not fit this model version: %(problems)s")
                    % {
                        "policy": version.label,
                        "problems": "; ".join(f"{code}: {' '.join(m)}" for code, m in found.items()),
                    }
                ]
            }
        )
    return policy_registry.compiled(version)


def costs_of(model: LoadedModel) -> Costs:
    """The version's cost ratio from its training metadata, else the engine's training defaults (said so)."""
    training = model.metadata.get("training") or {}
    bad, good = training.get("cost_approve_bad"), training.get("cost_decline_good")
    if isinstance(bad, int | float) and isinstance(good, int | float) and bad > 0 and good > 0:
        return Costs(approve_bad=float(bad), decline_good=float(good), source="bundle")
    return Costs(approve_bad=COST_APPROVE_BAD, decline_good=COST_DECLINE_GOOD, source="engine")


def standing_outcomes(ids: set[int]) -> dict[int, str]:
    """The standing outcome of each decision of a chunk (by id), read over the chunk's id range (one indexed
    range scan rather than a list of 20,000 ids)."""
    rows = LoanOutcome.objects.filter(prediction_id__gte=min(ids), prediction_id__lte=max(ids)).current()
    return {pid: outcome for pid, outcome in rows.values_list("prediction_id", "outcome") if pid in ids}
